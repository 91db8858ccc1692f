package awslogs

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ipinsights/ipinsights-go/internal/maybegzip"
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
// recognised by its content. Keys are matched exactly (CloudTrail's
// camelCase). The whole input is checked for valid JSON as it is read.
type CloudTrailDecoder struct {
	name string
	src  errTracker
	r    io.Reader
	buf  []byte
	pos  int   // start of the unread data in buf
	end  int   // end of the data in buf
	off  int64 // stream offset of buf[0]
	eof  bool

	state     int
	container bool
	n         int
	err       error

	// cur is the current record as parsed: its strings are views of buf
	// (see viewString), valid until the next call of Next.
	cur recordStore
	// out is cur copied out of buf, made by Record on demand; copied says
	// it is made for the current record.
	out       recordStore
	copied    bool
	malformed error
	lead      byte // the first byte of the current record
}

// recordStore holds a Record and the elements its pointers point to, so
// that decoding a record allocates none of them.
type recordStore struct {
	rec Record
	id  UserIdentity
	sc  SessionContext
	is  SessionIssuer
	obo OnBehalfOf
}

// copyOf sets s to a deep copy of v whose strings share no memory with
// v's.
func (s *recordStore) copyOf(v *recordStore) {
	c := strings.Clone
	r := &v.rec
	s.rec = Record{
		EventVersion: c(r.EventVersion), EventTime: c(r.EventTime), EventSource: c(r.EventSource),
		EventName: c(r.EventName), EventType: c(r.EventType), EventID: c(r.EventID),
		SourceIPAddress: c(r.SourceIPAddress), ReadOnly: r.ReadOnly,
	}
	u := r.UserIdentity
	if u == nil {
		return
	}
	s.id = UserIdentity{
		Type: c(u.Type), PrincipalID: c(u.PrincipalID), ARN: c(u.ARN), AccountID: c(u.AccountID),
		AccessKeyID: c(u.AccessKeyID), UserName: c(u.UserName), InvokedBy: c(u.InvokedBy),
	}
	s.rec.UserIdentity = &s.id
	if sc := u.SessionContext; sc != nil {
		s.sc = SessionContext{}
		s.id.SessionContext = &s.sc
		if is := sc.SessionIssuer; is != nil {
			s.is = SessionIssuer{Type: c(is.Type), PrincipalID: c(is.PrincipalID), ARN: c(is.ARN), AccountID: c(is.AccountID), UserName: c(is.UserName)}
			s.sc.SessionIssuer = &s.is
		}
	}
	if o := u.OnBehalfOf; o != nil {
		s.obo = OnBehalfOf{UserID: c(o.UserID), IdentityStoreARN: c(o.IdentityStoreARN)}
		s.id.OnBehalfOf = &s.obo
	}
}

// The states of a CloudTrailDecoder.
const (
	ctStart      = iota
	ctFirst      // after '[': a record or ']'
	ctAfter      // after a record in an array: ',' or ']'
	ctAfterArray // after the array's ']'
	ctTrailer    // after the end of the data: only white space may follow
	ctLines      // JSON lines: white space, then a record or the end
	ctDone
)

// The read buffer starts at ctFirstBuf bytes and doubles, up to ctBufSize,
// each time the input read so far reaches four times its size (CloudTrail
// delivers many small files, and large ones soon get the full size), and
// beyond when a record does not fit, up to maxRecordSz.
const (
	ctFirstBuf  = 16 << 10
	ctBufSize   = 256 << 10
	maxRecordSz = 64 << 20
)

// NewCloudTrailDecoder returns a decoder of r; name is used in errors.
func NewCloudTrailDecoder(r io.Reader, name string) *CloudTrailDecoder {
	d := &CloudTrailDecoder{name: name}
	d.src.r = r
	return d
}

// fill reads more input into the buffer, growing it when it is full. It
// reports false when there is no more input (d.eof) or on error (d.err).
func (d *CloudTrailDecoder) fill() bool {
	if d.eof {
		return false
	}
	if d.pos > 0 {
		n := copy(d.buf, d.buf[d.pos:d.end])
		d.off += int64(d.pos)
		d.end, d.pos = n, 0
	}
	full := d.end == len(d.buf)
	if full && len(d.buf) >= maxRecordSz {
		d.fail(fmt.Errorf("a record is longer than %d MiB", maxRecordSz>>20), d.n+1, 0)
		return false
	}
	if full || len(d.buf) < ctBufSize && d.off >= 4*int64(len(d.buf)) {
		nb := make([]byte, max(2*len(d.buf), ctFirstBuf))
		copy(nb, d.buf[:d.end])
		d.buf = nb
	}
	for {
		n, err := d.r.Read(d.buf[d.end:])
		d.end += n
		if err == io.EOF {
			d.eof = true
			return true
		}
		if err != nil {
			d.fail(err, d.n+1, 0)
			return false
		}
		if n > 0 {
			return true
		}
	}
}

func (d *CloudTrailDecoder) fail(err error, record, at int) {
	if d.src.err != nil {
		err = d.src.err
	}
	d.err = &FileError{File: d.name, Record: record, Offset: d.off + int64(d.pos+at), Err: err}
	d.state = ctDone
}

// Next decodes the next record. It returns false at the end of the input
// or at an error that stops it (see Err). A record that is valid JSON but
// does not have the shape of a CloudTrail event (a field of the wrong
// type, a null) is returned with Malformed set.
func (d *CloudTrailDecoder) Next() bool {
	if d.state == ctStart {
		r, err := maybegzip.NewReader(&d.src)
		if err != nil {
			d.fail(err, 0, 0)
			return false
		}
		d.r = r
	}
	for d.state != ctDone {
		p := parser{data: d.buf[d.pos:d.end], final: d.eof}
		got := d.step(&p)
		switch {
		case p.err == errNeedMore:
			d.fill() // on a read error d.state is now ctDone
			continue
		case p.err != nil:
			record := d.n + 1
			if d.state == ctStart {
				record = 0
			}
			d.fail(p.err, record, p.i)
			return false
		}
		d.pos += p.i
		if got {
			d.n++
			if d.n == 1 {
				if why := d.notEvent(); why != "" {
					d.fail(fmt.Errorf("%w: %s", ErrNotCloudTrail, why), 0, -p.i)
					return false
				}
			}
			return true
		}
	}
	return false
}

// notEvent says why the first record shows that the input is not a
// CloudTrail log, or returns "": every CloudTrail event is an object with
// eventVersion, eventTime, eventName and eventID, so a first record that
// is not an object, or has none of them, is something else (a digest
// file, another service's JSON, numbers of a CSV file). Later records of
// a wrong shape are counted as malformed instead.
func (d *CloudTrailDecoder) notEvent() string {
	where := "it does not start with a Records array, and its first value"
	switch {
	case d.container:
		where = "the first element of its Records array"
	case d.state != ctLines:
		where = "the first element of the array"
	}
	switch d.lead {
	case '{':
		if d.cur.rec.looksLikeEvent() {
			return ""
		}
		return where + " is an object without eventVersion, eventTime, eventName or eventID"
	case 'n':
		return where + " is null"
	case '"':
		return where + " is a string"
	case '[':
		return where + " is an array"
	case 't', 'f':
		return where + " is a boolean"
	}
	return where + " is a number"
}

// step advances by one record or one piece of framing. It reports whether
// it read a record; on p.err it made no progress worth keeping.
func (d *CloudTrailDecoder) step(p *parser) bool {
	switch d.state {
	case ctStart:
		if len(p.data) < 3 && !p.final {
			p.eof()
			return false
		}
		if len(p.data) >= 3 && string(p.data[:3]) == "\xef\xbb\xbf" {
			p.i = 3
		}
		switch p.peek() {
		case 0:
			if p.err == errUnexpectedEOF {
				p.err = errors.New("empty input")
			}
		case '[':
			p.i++
			d.state = ctFirst
		case '{':
			q := *p
			q.i++
			if key, esc := q.rawString(); q.err == nil && !esc && string(key) == "Records" && q.expect(':') {
				if q.peek() != '[' {
					if q.err == nil {
						q.fail(`"Records" is not an array`)
					}
					*p = q
					return false
				}
				q.i++
				*p = q
				d.state, d.container = ctFirst, true
				return false
			} else if q.err == errNeedMore {
				p.err = errNeedMore
				return false
			}
			d.state = ctLines
		case 'n', 't', 'f', '"', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			d.state = ctLines
		default:
			p.err = fmt.Errorf("%w: not JSON: invalid character %s looking for beginning of value", ErrNotCloudTrail, quoteChar(p.data[p.i]))
		}
		return false
	case ctFirst:
		if p.peek() == ']' {
			p.i++
			d.state = ctAfterArray
			return false
		}
		if p.err != nil {
			return false
		}
		d.record(p)
		if p.err == nil {
			d.state = ctAfter
		}
		return p.err == nil
	case ctAfter:
		switch p.peek() {
		case ',':
			p.i++
			d.record(p)
			return p.err == nil
		case ']':
			p.i++
			d.state = ctAfterArray
		case 0:
		default:
			p.fail("invalid character %s after array element, expected comma", quoteChar(p.data[p.i]))
		}
		return false
	case ctAfterArray:
		if !d.container {
			d.state = ctTrailer
			return false
		}
		for p.err == nil {
			switch p.peek() {
			case '}':
				p.i++
				d.state = ctTrailer
				return false
			case ',':
				p.i++
				if _, _ = p.rawString(); p.err == nil && p.expect(':') {
					p.skip()
				}
			case 0:
			default:
				p.fail("invalid character %s after the Records array", quoteChar(p.data[p.i]))
			}
		}
		return false
	case ctTrailer:
		p.ws()
		switch {
		case p.i < len(p.data):
			p.fail("invalid character %s after the end of the data", quoteChar(p.data[p.i]))
		case !p.final:
			p.err = errNeedMore
		default:
			d.state = ctDone
		}
		return false
	case ctLines:
		p.ws()
		if p.i >= len(p.data) {
			if p.final {
				d.state = ctDone
			} else {
				p.err = errNeedMore
			}
			return false
		}
		d.record(p)
		return p.err == nil
	}
	return false
}

// record parses one record into d.cur.
func (d *CloudTrailDecoder) record(p *parser) {
	d.cur = recordStore{}
	d.copied = false
	d.malformed = nil
	d.lead = p.peek()
	switch d.lead {
	case '{':
	case 0:
		return
	case 'n':
		p.literal("null")
		d.malformed = errors.New("null record")
		return
	default:
		p.wrongType("the record", "an object")
		d.malformed = errors.New(p.bad)
		return
	}
	r := &d.cur.rec
	p.object(func(key []byte) {
		switch string(key) {
		case "eventVersion":
			p.strView(&r.EventVersion, "eventVersion")
		case "eventTime":
			p.strView(&r.EventTime, "eventTime")
		case "eventSource":
			p.strView(&r.EventSource, "eventSource")
		case "eventName":
			p.strView(&r.EventName, "eventName")
		case "eventType":
			p.strView(&r.EventType, "eventType")
		case "eventID":
			p.strView(&r.EventID, "eventID")
		case "sourceIPAddress":
			p.strView(&r.SourceIPAddress, "sourceIPAddress")
		case "readOnly":
			d.readOnly(p)
		case "userIdentity":
			d.identity(p)
		default:
			p.skip()
		}
	})
	if p.err == nil && p.bad != "" {
		d.malformed = errors.New(p.bad)
	}
}

func (d *CloudTrailDecoder) readOnly(p *parser) {
	switch p.peek() {
	case 't':
		p.literal("true")
		d.cur.rec.ReadOnly = OptionalBool{Set: true, Value: true}
	case 'f':
		p.literal("false")
		d.cur.rec.ReadOnly = OptionalBool{Set: true}
	case 'n':
		p.literal("null")
	case '"':
		raw, esc := p.rawString()
		if p.err == nil {
			switch viewString(raw, esc) {
			case "true":
				d.cur.rec.ReadOnly = OptionalBool{Set: true, Value: true}
			case "false":
				d.cur.rec.ReadOnly = OptionalBool{Set: true}
			default:
				if p.bad == "" {
					p.bad = "readOnly is not a boolean"
				}
			}
		}
	default:
		p.wrongType("readOnly", "a boolean")
	}
}

// isObject reports whether the next value is an object; null is skipped
// and another type is a shape error.
func isObject(p *parser, field string) bool {
	switch p.peek() {
	case '{':
		return true
	case 'n':
		p.literal("null")
	case 0:
	default:
		p.wrongType(field, "an object")
	}
	return false
}

func (d *CloudTrailDecoder) identity(p *parser) {
	if !isObject(p, "userIdentity") {
		return
	}
	u := &d.cur.id
	d.cur.rec.UserIdentity = u
	p.object(func(key []byte) {
		switch string(key) {
		case "type":
			p.strView(&u.Type, "userIdentity.type")
		case "principalId":
			p.strView(&u.PrincipalID, "userIdentity.principalId")
		case "arn":
			p.strView(&u.ARN, "userIdentity.arn")
		case "accountId":
			p.strView(&u.AccountID, "userIdentity.accountId")
		case "accessKeyId":
			p.strView(&u.AccessKeyID, "userIdentity.accessKeyId")
		case "userName":
			p.strView(&u.UserName, "userIdentity.userName")
		case "invokedBy":
			p.strView(&u.InvokedBy, "userIdentity.invokedBy")
		case "sessionContext":
			d.sessionContext(p)
		case "onBehalfOf":
			if isObject(p, "userIdentity.onBehalfOf") {
				u.OnBehalfOf = &d.cur.obo
				p.object(func(key []byte) {
					switch string(key) {
					case "userId":
						p.strView(&u.OnBehalfOf.UserID, "onBehalfOf.userId")
					case "identityStoreArn":
						p.strView(&u.OnBehalfOf.IdentityStoreARN, "onBehalfOf.identityStoreArn")
					default:
						p.skip()
					}
				})
			}
		default:
			p.skip()
		}
	})
}

func (d *CloudTrailDecoder) sessionContext(p *parser) {
	if !isObject(p, "sessionContext") {
		return
	}
	sc := &d.cur.sc
	d.cur.id.SessionContext = sc
	p.object(func(key []byte) {
		if string(key) != "sessionIssuer" || !isObject(p, "sessionIssuer") {
			if string(key) != "sessionIssuer" {
				p.skip()
			}
			return
		}
		is := &d.cur.is
		sc.SessionIssuer = is
		p.object(func(key []byte) {
			switch string(key) {
			case "type":
				p.strView(&is.Type, "sessionIssuer.type")
			case "principalId":
				p.strView(&is.PrincipalID, "sessionIssuer.principalId")
			case "arn":
				p.strView(&is.ARN, "sessionIssuer.arn")
			case "accountId":
				p.strView(&is.AccountID, "sessionIssuer.accountId")
			case "userName":
				p.strView(&is.UserName, "sessionIssuer.userName")
			default:
				p.skip()
			}
		})
	})
}

// Record returns the current record; it is overwritten by Next, but the
// strings in it may be kept.
func (d *CloudTrailDecoder) Record() *Record {
	if !d.copied {
		d.out.copyOf(&d.cur)
		d.copied = true
	}
	return &d.out.rec
}

// view returns the current record without copying it: its strings are
// valid only until the next call of Next (see viewString).
func (d *CloudTrailDecoder) view() *Record { return &d.cur.rec }

// Malformed returns why the current record is malformed, or nil.
func (d *CloudTrailDecoder) Malformed() error { return d.malformed }

// Index returns the 1-based index of the current record in the input.
func (d *CloudTrailDecoder) Index() int { return d.n }

// Err returns the error that stopped Next (a *FileError), or nil at the
// end of the input.
func (d *CloudTrailDecoder) Err() error { return d.err }
