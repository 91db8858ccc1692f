package awslogs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Finding is one GuardDuty finding: the fields of it this package uses.
// Keys are matched without regard to case, so the camelCase of the API
// and EventBridge and the PascalCase of the AWS CLI both decode.
type Finding struct {
	ID        string           `json:"id"`
	Type      string           `json:"type"`
	Severity  json.Number      `json:"severity"`
	AccountID string           `json:"accountId"`
	Partition string           `json:"partition"`
	Resource  *FindingResource `json:"resource"`
	Service   *FindingService  `json:"service"`
}

// FindingResource is a finding's resource element.
type FindingResource struct {
	ResourceType     string            `json:"resourceType"`
	AccessKeyDetails *AccessKeyDetails `json:"accessKeyDetails"`
}

// AccessKeyDetails is resource.accessKeyDetails: the IAM principal whose
// credentials the finding is about.
type AccessKeyDetails struct {
	AccessKeyID string `json:"accessKeyId"`
	PrincipalID string `json:"principalId"`
	UserName    string `json:"userName"`
	UserType    string `json:"userType"`
}

// FindingService is a finding's service element.
type FindingService struct {
	Action *Action `json:"action"`
}

// Action is service.action: what GuardDuty saw. Only the actions that
// carry a remote address are decoded.
type Action struct {
	ActionType              string           `json:"actionType"`
	AWSAPICallAction        *RemoteAction    `json:"awsApiCallAction"`
	NetworkConnectionAction *RemoteAction    `json:"networkConnectionAction"`
	PortProbeAction         *PortProbeAction `json:"portProbeAction"`
}

// RemoteAction is an AWS_API_CALL or NETWORK_CONNECTION action: the
// remote address involved.
type RemoteAction struct {
	RemoteIPDetails *RemoteIPDetails `json:"remoteIpDetails"`
}

// PortProbeAction is a PORT_PROBE action: one detail per probing address.
type PortProbeAction struct {
	PortProbeDetails []RemoteAction `json:"portProbeDetails"`
}

// RemoteIPDetails is a remoteIpDetails element.
type RemoteIPDetails struct {
	IPAddressV4 string `json:"ipAddressV4"`
	IPAddressV6 string `json:"ipAddressV6"`
}

func (f *Finding) looksLikeFinding() bool {
	return f.ID != "" || f.Type != "" || f.Resource != nil || f.Service != nil
}

// remoteDetails returns the remoteIpDetails of the finding's action, or
// the reason there are none.
func (f *Finding) remoteDetails() ([]*RemoteIPDetails, Reason) {
	if f.Service == nil || f.Service.Action == nil {
		return nil, NoRemoteAddress
	}
	a := f.Service.Action
	typ := a.ActionType
	if typ == "" { // infer it from the element present
		switch {
		case a.AWSAPICallAction != nil:
			typ = "AWS_API_CALL"
		case a.NetworkConnectionAction != nil:
			typ = "NETWORK_CONNECTION"
		case a.PortProbeAction != nil:
			typ = "PORT_PROBE"
		}
	}
	var out []*RemoteIPDetails
	switch typ {
	case "AWS_API_CALL":
		if a.AWSAPICallAction != nil && a.AWSAPICallAction.RemoteIPDetails != nil {
			out = append(out, a.AWSAPICallAction.RemoteIPDetails)
		}
	case "NETWORK_CONNECTION":
		if a.NetworkConnectionAction != nil && a.NetworkConnectionAction.RemoteIPDetails != nil {
			out = append(out, a.NetworkConnectionAction.RemoteIPDetails)
		}
	case "PORT_PROBE":
		if a.PortProbeAction != nil {
			for i := range a.PortProbeAction.PortProbeDetails {
				if d := a.PortProbeAction.PortProbeDetails[i].RemoteIPDetails; d != nil {
					out = append(out, d)
				}
			}
		}
	default:
		return nil, OtherAction
	}
	if len(out) == 0 {
		return nil, NoRemoteAddress
	}
	return out, 0
}

// identity maps accessKeyDetails onto a userIdentity, so that principal
// keys treat both sides alike. GuardDuty gives no ARN; for KeyARN one is
// built from the account, partition, user type and user name (a user's or
// role's path is not in the finding, so keys of identities with a path
// differ from CloudTrail's).
func (a *AccessKeyDetails) identity(account, partition string) UserIdentity {
	u := UserIdentity{Type: a.UserType, PrincipalID: a.PrincipalID, AccessKeyID: a.AccessKeyID, UserName: a.UserName, AccountID: account}
	if partition == "" {
		partition = "aws"
	}
	prefix := "arn:" + partition + ":"
	named := account != "" && a.UserName != ""
	switch a.UserType {
	case "IAMUser":
		if named {
			u.ARN = prefix + "iam::" + account + ":user/" + a.UserName
		}
	case "AssumedRole", "Role":
		role, _, _ := strings.Cut(a.PrincipalID, ":")
		is := &SessionIssuer{Type: "Role", PrincipalID: role, AccountID: account, UserName: a.UserName}
		if named {
			is.ARN = prefix + "iam::" + account + ":role/" + a.UserName
		}
		u.SessionContext = &SessionContext{SessionIssuer: is}
		if a.UserType == "Role" {
			u.ARN = is.ARN
		}
	case "Root":
		if account != "" {
			u.ARN = prefix + "iam::" + account + ":root"
		}
	case "FederatedUser":
		if named {
			u.ARN = prefix + "sts::" + account + ":federated-user/" + a.UserName
		}
	}
	return u
}

// gdValue is a top-level value of a GuardDuty input: a finding, an
// EventBridge event wrapping one, or GetFindings output.
type gdValue struct {
	Finding
	Findings   []Finding `json:"findings"`
	DetailType string    `json:"detail-type"`
	Detail     *Finding  `json:"detail"`
}

// GuardDutyDecoder reads GuardDuty findings one at a time from a JSON
// array of findings, GetFindings output ({"Findings": [...]}, streamed),
// EventBridge events ("detail-type": "GuardDuty Finding"), or JSON lines
// of findings or events (S3 exports). Gzip-compressed input is recognised
// by its content.
type GuardDutyDecoder struct {
	s         *stream
	val       gdValue
	ptr       *gdValue
	pending   []Finding
	cur       *Finding
	n         int
	malformed error
	reason    Reason
}

// NewGuardDutyDecoder returns a decoder of r; name is used in errors.
func NewGuardDutyDecoder(r io.Reader, name string) *GuardDutyDecoder {
	return &GuardDutyDecoder{s: newStream(r, name, "Findings")}
}

// Next decodes the next finding. It returns false at the end of the input
// or at an error that stops it (see Err). A value that is valid JSON but
// not a finding is returned with Malformed or Skip set.
func (d *GuardDutyDecoder) Next() bool {
	d.malformed, d.reason, d.cur = nil, 0, nil
	if len(d.pending) > 0 {
		d.cur = &d.pending[0]
		d.pending = d.pending[1:]
		d.n++
		return true
	}
	for {
		d.val = gdValue{}
		d.ptr = &d.val
		ok, err := d.s.next(&d.ptr)
		if !ok {
			return false
		}
		var te *json.UnmarshalTypeError
		switch v := d.ptr; {
		case d.n == 0 && errors.As(err, &te) && te.Field == "":
			// The first value is not an object: not findings at all.
			d.s.fail(fmt.Errorf("%w: the first value is %s", ErrNotGuardDuty, article(te.Value)), 1)
			return false
		case d.n == 0 && err == nil && v == nil:
			d.s.fail(fmt.Errorf("%w: the first value is null", ErrNotGuardDuty), 1)
			return false
		case err != nil:
			d.malformed = err
		case v == nil:
			d.malformed = errors.New("null finding")
		case v.DetailType != "" || v.Detail != nil:
			switch {
			case v.DetailType != "" && v.DetailType != "GuardDuty Finding":
				d.reason = NotAFinding
			case v.Detail == nil:
				d.malformed = errors.New("event without detail")
			default:
				d.cur = v.Detail
			}
		case v.Findings != nil:
			if len(v.Findings) == 0 {
				continue
			}
			d.cur = &v.Findings[0]
			d.pending = v.Findings[1:]
		case v.looksLikeFinding():
			d.cur = &v.Finding
		default:
			if d.n == 0 {
				d.s.fail(fmt.Errorf("%w: the first value is an object without id, type, resource or service", ErrNotGuardDuty), 1)
				return false
			}
			d.malformed = errors.New("not a finding")
		}
		break
	}
	d.n++
	return true
}

// article puts "a" or "an" before a JSON type name.
func article(kind string) string {
	if kind != "" && strings.ContainsRune("aeiou", rune(kind[0])) {
		return "an " + kind
	}
	return "a " + kind
}

// Finding returns the current finding, or nil when the current value is
// malformed or skipped.
func (d *GuardDutyDecoder) Finding() *Finding { return d.cur }

// Malformed returns why the current value is not a finding, or nil.
func (d *GuardDutyDecoder) Malformed() error { return d.malformed }

// Skip returns the reason the current value is passed over (NotAFinding
// for an EventBridge event of another kind), or 0.
func (d *GuardDutyDecoder) Skip() Reason { return d.reason }

// Index returns the 1-based index of the current finding in the input.
func (d *GuardDutyDecoder) Index() int { return d.n }

// Err returns the error that stopped Next (a *FileError), or nil at the
// end of the input.
func (d *GuardDutyDecoder) Err() error { return d.s.err }
