package awslogs

import (
	"fmt"
	"strings"
)

// PrincipalKey is the rule that turns an identity into the entity string
// of a tuple. The same rule applies to CloudTrail records and to GuardDuty
// findings, so that a finding's principal matches its training data. The
// package documentation lists what each rule gives for every
// userIdentity.type.
type PrincipalKey int

// The principal keys.
const (
	// KeyIdentity, the default, keys an assumed role by its role (the part
	// of principalId before the colon, or sessionContext.sessionIssuer),
	// an IAM Identity Center user by onBehalfOf.userId, and every other
	// identity by its whole principalId.
	KeyIdentity PrincipalKey = iota
	// KeyWorkshop is the rule of the SEC405 workshop's CloudTrail code:
	// principalId cut at its first colon, for every identity type.
	KeyWorkshop
	// KeyARN keys an identity by its ARN; an assumed role by the ARN of its
	// role (sessionContext.sessionIssuer.arn).
	KeyARN
	// KeyAccessKey keys an identity by the access key id that signed the
	// request.
	KeyAccessKey
)

var keyNames = [...]string{KeyIdentity: "identity", KeyWorkshop: "workshop", KeyARN: "arn", KeyAccessKey: "access-key"}

// String returns the rule's name as ParsePrincipalKey accepts it.
func (k PrincipalKey) String() string {
	if k >= 0 && int(k) < len(keyNames) {
		return keyNames[k]
	}
	return fmt.Sprintf("PrincipalKey(%d)", int(k))
}

// PrincipalKeyNames lists the names ParsePrincipalKey accepts.
func PrincipalKeyNames() []string { return append([]string(nil), keyNames[:]...) }

// ParsePrincipalKey parses a rule name: identity, workshop, arn or
// access-key.
func ParsePrincipalKey(s string) (PrincipalKey, error) {
	for i, n := range keyNames {
		if s == n {
			return PrincipalKey(i), nil
		}
	}
	return 0, fmt.Errorf("awslogs: unknown principal key %q (want one of %s)", s, strings.Join(keyNames[:], ", "))
}

// UserIdentity is CloudTrail's userIdentity element, the fields of it that
// principal keys use. GuardDuty's resource.accessKeyDetails is mapped onto
// it (see the package documentation).
type UserIdentity struct {
	Type           string          `json:"type"`
	PrincipalID    string          `json:"principalId"`
	ARN            string          `json:"arn"`
	AccountID      string          `json:"accountId"`
	AccessKeyID    string          `json:"accessKeyId"`
	UserName       string          `json:"userName"`
	InvokedBy      string          `json:"invokedBy"`
	SessionContext *SessionContext `json:"sessionContext"`
	// OnBehalfOf identifies the IAM Identity Center user of an
	// IdentityCenterUser identity, which has no principalId.
	OnBehalfOf *OnBehalfOf `json:"onBehalfOf"`
}

// SessionContext is the sessionContext element of a userIdentity.
type SessionContext struct {
	SessionIssuer *SessionIssuer `json:"sessionIssuer"`
}

// SessionIssuer says how temporary credentials were obtained: for an
// assumed role, the role.
type SessionIssuer struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	ARN         string `json:"arn"`
	AccountID   string `json:"accountId"`
	UserName    string `json:"userName"`
}

// OnBehalfOf is the onBehalfOf element of an IdentityCenterUser identity.
type OnBehalfOf struct {
	UserID           string `json:"userId"`
	IdentityStoreARN string `json:"identityStoreArn"`
}

func (u *UserIdentity) issuer() *SessionIssuer {
	if u.SessionContext == nil {
		return nil
	}
	return u.SessionContext.SessionIssuer
}

// Key returns the entity string of u under rule k, or "" when u has nothing
// the rule can use.
func (k PrincipalKey) Key(u *UserIdentity) string {
	if u == nil {
		return ""
	}
	switch k {
	case KeyWorkshop:
		id, _, _ := strings.Cut(u.PrincipalID, ":")
		return id
	case KeyARN:
		return arnKey(u)
	case KeyAccessKey:
		return u.AccessKeyID
	default:
		return identityKey(u)
	}
}

func identityKey(u *UserIdentity) string {
	switch u.Type {
	case "AssumedRole":
		if role, _, ok := strings.Cut(u.PrincipalID, ":"); ok && role != "" {
			return role
		}
		if is := u.issuer(); is != nil && is.PrincipalID != "" {
			return is.PrincipalID
		}
		return u.PrincipalID
	case "IdentityCenterUser":
		if u.OnBehalfOf != nil && u.OnBehalfOf.UserID != "" {
			return u.OnBehalfOf.UserID
		}
		return u.PrincipalID
	default:
		return u.PrincipalID
	}
}

func arnKey(u *UserIdentity) string {
	switch u.Type {
	case "AssumedRole":
		if is := u.issuer(); is != nil && is.ARN != "" {
			return is.ARN
		}
		return roleARNFromSession(u.ARN)
	case "IdentityCenterUser":
		if u.ARN == "" && u.OnBehalfOf != nil {
			return u.OnBehalfOf.UserID
		}
	}
	return u.ARN
}

// roleARNFromSession turns arn:P:sts::A:assumed-role/R/S into
// arn:P:iam::A:role/R. It returns "" for anything else. The role's path,
// which the session ARN does not carry, is lost.
func roleARNFromSession(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "sts" {
		return ""
	}
	rest, ok := strings.CutPrefix(parts[5], "assumed-role/")
	if !ok {
		return ""
	}
	role, _, _ := strings.Cut(rest, "/")
	if role == "" {
		return ""
	}
	return "arn:" + parts[1] + ":iam::" + parts[4] + ":role/" + role
}
