package awslogs

import (
	"errors"
	"fmt"
	"io"
)

// Record is one CloudTrail event: the fields of it this package uses.
type Record struct {
	EventVersion    string        `json:"eventVersion"`
	EventTime       string        `json:"eventTime"`
	EventSource     string        `json:"eventSource"`
	EventName       string        `json:"eventName"`
	EventType       string        `json:"eventType"`
	EventID         string        `json:"eventID"`
	SourceIPAddress string        `json:"sourceIPAddress"`
	ReadOnly        OptionalBool  `json:"readOnly"`
	UserIdentity    *UserIdentity `json:"userIdentity"`
}

// looksLikeEvent reports whether r has any of the fields every CloudTrail
// event has.
func (r *Record) looksLikeEvent() bool {
	return r.EventVersion != "" || r.EventTime != "" || r.EventName != "" || r.EventID != ""
}

// OptionalBool is a JSON boolean that may be missing. It also accepts the
// strings "true" and "false", as some exports write them.
type OptionalBool struct {
	Set, Value bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (b *OptionalBool) UnmarshalJSON(data []byte) error {
	switch string(data) {
	case "true", `"true"`:
		*b = OptionalBool{Set: true, Value: true}
	case "false", `"false"`:
		*b = OptionalBool{Set: true, Value: false}
	case "null":
		*b = OptionalBool{}
	default:
		return fmt.Errorf("readOnly: %s is not a boolean", data)
	}
	return nil
}

// CloudTrailDecoder reads CloudTrail records one at a time from a log
// file ({"Records": [...]}, as CloudTrail delivers them to S3), a JSON
// array of records, or JSON lines of records (one record per line, as
// exports and CloudTrail Lake queries write them). Gzip-compressed input is
// recognised by its content.
type CloudTrailDecoder struct {
	s         *stream
	rec       Record
	ptr       *Record
	malformed error
}

// NewCloudTrailDecoder returns a decoder of r; name is used in errors.
func NewCloudTrailDecoder(r io.Reader, name string) *CloudTrailDecoder {
	return &CloudTrailDecoder{s: newStream(r, name, "Records")}
}

// Next decodes the next record. It returns false at the end of the input
// or at an error that stops it (see Err). A record that is valid JSON but
// does not have the shape of a CloudTrail event (a field of the wrong
// type, a null) is returned with Malformed set.
func (d *CloudTrailDecoder) Next() bool {
	d.rec = Record{}
	d.ptr = &d.rec
	ok, err := d.s.next(&d.ptr)
	if !ok {
		return false
	}
	d.malformed = err
	if err == nil && d.ptr == nil {
		d.malformed = errors.New("null record")
	}
	if d.s.n == 1 && d.s.mode == modeLines && d.malformed == nil && !d.rec.looksLikeEvent() {
		d.s.fail(ErrNotCloudTrail, 0)
		return false
	}
	return true
}

// Record returns the current record; it is overwritten by Next.
func (d *CloudTrailDecoder) Record() *Record { return &d.rec }

// Malformed returns why the current record is malformed, or nil.
func (d *CloudTrailDecoder) Malformed() error { return d.malformed }

// Index returns the 1-based index of the current record in the input.
func (d *CloudTrailDecoder) Index() int { return d.s.n }

// Err returns the error that stopped Next (a *FileError), or nil at the
// end of the input.
func (d *CloudTrailDecoder) Err() error { return d.s.err }
