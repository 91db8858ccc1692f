// Package awsgen writes synthetic CloudTrail log files and GuardDuty
// findings in the shapes AWS documents, for the workshop example and the
// awslogs benchmarks. Nothing in it is meant for real data.
package awsgen

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

// Identity is a userIdentity element.
type Identity struct {
	Type           string          `json:"type"`
	PrincipalID    string          `json:"principalId,omitempty"`
	ARN            string          `json:"arn,omitempty"`
	AccountID      string          `json:"accountId,omitempty"`
	AccessKeyID    string          `json:"accessKeyId,omitempty"`
	UserName       string          `json:"userName,omitempty"`
	InvokedBy      string          `json:"invokedBy,omitempty"`
	SessionContext *SessionContext `json:"sessionContext,omitempty"`
}

// SessionContext is a userIdentity's sessionContext.
type SessionContext struct {
	SessionIssuer *Issuer         `json:"sessionIssuer,omitempty"`
	Attributes    SessionAttrs    `json:"attributes"`
	WebIDData     *map[string]any `json:"webIdFederationData,omitempty"`
}

// Issuer is a sessionContext's sessionIssuer.
type Issuer struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	ARN         string `json:"arn"`
	AccountID   string `json:"accountId"`
	UserName    string `json:"userName"`
}

// SessionAttrs is a sessionContext's attributes.
type SessionAttrs struct {
	CreationDate     string `json:"creationDate"`
	MFAAuthenticated string `json:"mfaAuthenticated"`
}

// IAMUser returns the identity of an IAM user.
func IAMUser(account, name, id, key string) *Identity {
	return &Identity{Type: "IAMUser", PrincipalID: id, ARN: "arn:aws:iam::" + account + ":user/" + name, AccountID: account, AccessKeyID: key, UserName: name}
}

// AssumedRole returns the identity of a session of a role.
func AssumedRole(account, role, roleID, session, key string, created time.Time) *Identity {
	return &Identity{
		Type: "AssumedRole", PrincipalID: roleID + ":" + session, AccountID: account, AccessKeyID: key,
		ARN: "arn:aws:sts::" + account + ":assumed-role/" + role + "/" + session,
		SessionContext: &SessionContext{
			SessionIssuer: &Issuer{Type: "Role", PrincipalID: roleID, ARN: "arn:aws:iam::" + account + ":role/" + role, AccountID: account, UserName: role},
			Attributes:    SessionAttrs{CreationDate: created.UTC().Format(time.RFC3339), MFAAuthenticated: "false"},
		},
	}
}

// Event is one CloudTrail event to write.
type Event struct {
	Time        time.Time
	Identity    *Identity // nil for an Insights event
	Source      string    // sourceIPAddress: an address, a service DNS name or "AWS Internal"
	EventSource string
	EventName   string
	ReadOnly    bool
	Region      string
	Account     string
	UserAgent   string
	Params      map[string]any // requestParameters
}

type record struct {
	EventVersion       string            `json:"eventVersion"`
	UserIdentity       *Identity         `json:"userIdentity,omitempty"`
	EventTime          string            `json:"eventTime"`
	EventSource        string            `json:"eventSource"`
	EventName          string            `json:"eventName"`
	AWSRegion          string            `json:"awsRegion"`
	SourceIPAddress    string            `json:"sourceIPAddress,omitempty"`
	UserAgent          string            `json:"userAgent,omitempty"`
	RequestParameters  map[string]any    `json:"requestParameters"`
	ResponseElements   map[string]any    `json:"responseElements"`
	RequestID          string            `json:"requestID"`
	EventID            string            `json:"eventID"`
	ReadOnly           bool              `json:"readOnly"`
	EventType          string            `json:"eventType"`
	ManagementEvent    bool              `json:"managementEvent"`
	RecipientAccountID string            `json:"recipientAccountId"`
	EventCategory      string            `json:"eventCategory"`
	TLSDetails         map[string]string `json:"tlsDetails,omitempty"`
	InsightDetails     map[string]any    `json:"insightDetails,omitempty"`
}

// UUID returns a random version 4 UUID from r.
func UUID(r *rand.Rand) string {
	var b [16]byte
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Record returns the CloudTrail record of e, with random request and
// event ids from r.
func Record(e *Event, r *rand.Rand) any {
	rec := record{
		EventVersion: "1.09", UserIdentity: e.Identity, EventTime: e.Time.UTC().Format(time.RFC3339),
		EventSource: e.EventSource, EventName: e.EventName, AWSRegion: e.Region, SourceIPAddress: e.Source,
		UserAgent: e.UserAgent, RequestParameters: e.Params, RequestID: UUID(r), EventID: UUID(r),
		ReadOnly: e.ReadOnly, EventType: "AwsApiCall", ManagementEvent: true, RecipientAccountID: e.Account, EventCategory: "Management",
	}
	switch {
	case e.Identity == nil:
		rec.EventType, rec.EventCategory, rec.UserAgent, rec.SourceIPAddress = "AwsCloudTrailInsight", "Insight", "", ""
		rec.InsightDetails = map[string]any{"state": "Start", "eventSource": e.EventSource, "eventName": e.EventName, "insightType": "ApiCallRateInsight"}
	case e.EventName == "ConsoleLogin":
		rec.EventType = "AwsConsoleSignIn"
		rec.ResponseElements = map[string]any{"ConsoleLogin": "Success"}
	default:
		rec.TLSDetails = map[string]string{"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": e.EventSource}
	}
	return rec
}

// LogFile renders records as a CloudTrail log file, {"Records": [...]},
// gzip compressed as CloudTrail delivers it.
func LogFile(records []any) ([]byte, error) {
	data, err := json.Marshal(map[string]any{"Records": records})
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// LogPath returns the path of a log file under root in CloudTrail's S3
// layout: AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<name>.json.gz.
func LogPath(root, account, region string, t time.Time, unique string) string {
	t = t.UTC()
	return filepath.Join(root, "AWSLogs", account, "CloudTrail", region, t.Format("2006"), t.Format("01"), t.Format("02"),
		fmt.Sprintf("%s_CloudTrail_%s_%sZ_%s.json.gz", account, region, t.Format("20060102T1504"), unique))
}

// WriteFile writes data to path, creating its directories.
func WriteFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// Finding describes a GuardDuty finding about an access key used from a
// remote address (an AWS_API_CALL action).
type Finding struct {
	ID, Type, Title   string
	Severity          float64
	Account, Region   string
	Time              time.Time
	AccessKeyID       string
	PrincipalID       string
	UserName          string
	UserType          string
	API, ServiceName  string
	RemoteIP, Country string
}

// JSON returns the finding in the GuardDuty finding format (camelCase, as
// the API and EventBridge write it).
func (f *Finding) JSON() map[string]any {
	ts := f.Time.UTC().Format("2006-01-02T15:04:05.000Z")
	return map[string]any{
		"schemaVersion": "2.0", "accountId": f.Account, "region": f.Region, "partition": "aws", "id": f.ID,
		"arn":  "arn:aws:guardduty:" + f.Region + ":" + f.Account + ":detector/12abc34d567e8fa901bc2d34e56789f0/finding/" + f.ID,
		"type": f.Type, "title": f.Title, "description": f.Title, "severity": f.Severity, "createdAt": ts, "updatedAt": ts,
		"resource": map[string]any{"resourceType": "AccessKey", "accessKeyDetails": map[string]any{
			"accessKeyId": f.AccessKeyID, "principalId": f.PrincipalID, "userName": f.UserName, "userType": f.UserType}},
		"service": map[string]any{
			"serviceName": "guardduty", "detectorId": "12abc34d567e8fa901bc2d34e56789f0", "archived": false, "count": 1,
			"eventFirstSeen": ts, "eventLastSeen": ts, "resourceRole": "TARGET",
			"action": map[string]any{"actionType": "AWS_API_CALL", "awsApiCallAction": map[string]any{
				"api": f.API, "serviceName": f.ServiceName, "callerType": "Remote IP",
				"remoteIpDetails": map[string]any{"ipAddressV4": f.RemoteIP, "country": map[string]any{"countryName": f.Country},
					"organization": map[string]any{"asn": "64500", "asnOrg": "EXAMPLE-HOSTING", "isp": "Example Hosting", "org": "Example Hosting"}},
			}},
		},
	}
}

// EventBridge wraps a finding in the EventBridge event GuardDuty sends.
func (f *Finding) EventBridge(r *rand.Rand) map[string]any {
	return map[string]any{"version": "0", "id": UUID(r), "detail-type": "GuardDuty Finding", "source": "aws.guardduty",
		"account": f.Account, "time": f.Time.UTC().Format(time.RFC3339), "region": f.Region, "resources": []any{}, "detail": f.JSON()}
}
