package synth

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/ipinsights/ipinsights-go/rng"
)

// Identity is a CloudTrail userIdentity element, in CloudTrail's JSON.
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

// SessionContext is the sessionContext element of a userIdentity that
// holds temporary credentials.
type SessionContext struct {
	SessionIssuer *SessionIssuer    `json:"sessionIssuer,omitempty"`
	Attributes    SessionAttributes `json:"attributes"`
}

// SessionIssuer is a sessionContext's sessionIssuer: for an assumed
// role, the role.
type SessionIssuer struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	ARN         string `json:"arn"`
	AccountID   string `json:"accountId"`
	UserName    string `json:"userName"`
}

// SessionAttributes is a sessionContext's attributes element.
type SessionAttributes struct {
	CreationDate     string `json:"creationDate"`
	MFAAuthenticated string `json:"mfaAuthenticated"`
}

// ServiceIdentity returns the identity of an AWS service acting on its
// own, such as "ec2.amazonaws.com".
func ServiceIdentity(service string) *Identity {
	return &Identity{Type: "AWSService", InvokedBy: service}
}

// Event is one CloudTrail event. Encoded with encoding/json, it is the
// record CloudTrail writes: an AwsApiCall management event, an
// AwsConsoleSignIn for EventName "ConsoleLogin", or a CloudTrail Insights
// event (which has no identity and no source) when Identity is nil.
type Event struct {
	// ID and RequestID are the eventID and requestID, UUIDs (see UUID).
	ID, RequestID string
	Time          time.Time
	Identity      *Identity
	// SourceIPAddress is an address, an AWS service's DNS name, or
	// "AWS Internal", as CloudTrail writes it.
	SourceIPAddress        string
	EventSource, EventName string
	ReadOnly               bool
	Region, Account        string
	UserAgent              string
	RequestParameters      map[string]any
}

// record is an Event in CloudTrail's JSON.
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
	RequestID          string            `json:"requestID,omitempty"`
	EventID            string            `json:"eventID"`
	ReadOnly           bool              `json:"readOnly"`
	EventType          string            `json:"eventType"`
	ManagementEvent    bool              `json:"managementEvent"`
	RecipientAccountID string            `json:"recipientAccountId"`
	EventCategory      string            `json:"eventCategory"`
	TLSDetails         map[string]string `json:"tlsDetails,omitempty"`
	InsightDetails     map[string]any    `json:"insightDetails,omitempty"`
}

// MarshalJSON returns the CloudTrail record of e.
func (e Event) MarshalJSON() ([]byte, error) {
	rec := record{
		EventVersion: "1.09", UserIdentity: e.Identity, EventTime: e.Time.UTC().Format(time.RFC3339),
		EventSource: e.EventSource, EventName: e.EventName, AWSRegion: e.Region, SourceIPAddress: e.SourceIPAddress,
		UserAgent: e.UserAgent, RequestParameters: e.RequestParameters, RequestID: e.RequestID, EventID: e.ID,
		ReadOnly: e.ReadOnly, EventType: "AwsApiCall", ManagementEvent: true, RecipientAccountID: e.Account, EventCategory: "Management",
	}
	switch {
	case e.Identity == nil:
		rec.EventType, rec.EventCategory, rec.UserAgent, rec.SourceIPAddress, rec.RequestID = "AwsCloudTrailInsight", "Insight", "", "", ""
		rec.InsightDetails = map[string]any{"state": "Start", "eventSource": e.EventSource, "eventName": e.EventName, "insightType": "ApiCallRateInsight"}
	case e.EventName == "ConsoleLogin":
		rec.EventType = "AwsConsoleSignIn"
		rec.ResponseElements = map[string]any{"ConsoleLogin": "Success"}
	default:
		rec.TLSDetails = map[string]string{"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": e.EventSource}
	}
	return json.Marshal(rec)
}

// UUID returns a random version 4 UUID drawn from r, as CloudTrail's
// eventID and requestID are.
func UUID(r *rng.RNG) string {
	var b [16]byte
	for i := 0; i < 16; i += 8 {
		x := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(x >> (8 * j))
		}
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// LogFile is one CloudTrail log file: the events of one account and
// region that CloudTrail delivered together.
type LogFile struct {
	Account, Region string
	// Time is the time in the file's name (minutes, UTC).
	Time time.Time
	// Unique is the unique string that ends the file's name.
	Unique string
	Events []Event
}

// Path returns the file's path in CloudTrail's S3 layout:
// AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<YYYYMMDDTHHmm>Z_<unique>.json.gz.
func (f *LogFile) Path() string {
	t := f.Time.UTC()
	return filepath.Join("AWSLogs", f.Account, "CloudTrail", f.Region, t.Format("2006"), t.Format("01"), t.Format("02"),
		fmt.Sprintf("%s_CloudTrail_%s_%sZ_%s.json.gz", f.Account, f.Region, t.Format("20060102T1504"), f.Unique))
}

// WriteTo writes the file as CloudTrail delivers it: {"Records": [...]},
// gzip compressed. It returns the number of compressed bytes written.
func (f *LogFile) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	zw := gzip.NewWriter(cw)
	if err := json.NewEncoder(zw).Encode(struct {
		Records []Event
	}{f.Events}); err != nil {
		return cw.n, err
	}
	err := zw.Close()
	return cw.n, err
}

// WriteFile writes the file under root at its Path, creating the
// directories, and returns the path written.
func (f *LogFile) WriteFile(root string) (string, error) {
	path := filepath.Join(root, f.Path())
	return path, writeFile(path, f.WriteTo)
}

// writeFile creates path and its directories and writes it with write.
func writeFile(path string, write func(io.Writer) (int64, error)) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(out)
	if _, err := write(bw); err != nil {
		out.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
