package awslogs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"unsafe"

	"github.com/ipinsights/ipinsights-go/internal/jsonscan"
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
	s    jsonscan.Scanner // scans buf[pos:end] afresh at each step

	state     int
	container bool
	n         int
	err       error

	// rec is the current record: one of parsed while its strings are
	// views of buf, kept once fill has copied them into keptMem before
	// moving the bytes of buf (both valid until the next call of Next),
	// or out once Record has copied them into memory of their own. A
	// record is parsed into the element of parsed that rec is not (see
	// scratch), and becomes current once it has been read in full.
	rec     *recordStore
	parsed  [2]recordStore
	kept    recordStore
	keptMem arena // reused: what it holds is dead once another record is current
	out     recordStore

	bad  string // the first shape error of the record being parsed
	lead byte   // the first byte of the record being parsed
	kbuf []byte // an object key with escapes, unescaped
	ubuf []byte // a string with escapes, unescaped
}

// recordStore holds a Record and the elements its pointers point to, so
// that decoding a record allocates none of them, and why the record is
// malformed.
type recordStore struct {
	rec       Record
	id        UserIdentity
	sc        SessionContext
	is        SessionIssuer
	obo       OnBehalfOf
	malformed error
}

// copyOf sets s to a deep copy of v whose strings are copies made by a.
func (s *recordStore) copyOf(v *recordStore, a *arena) {
	c := a.clone
	r := &v.rec
	s.malformed = v.malformed
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

// arena copies strings into blocks of memory, so that the strings of a
// record take one allocation, or none when the arena is reused (see reset).
type arena struct{ b []byte }

// clone returns a copy of str in a's memory.
func (a *arena) clone(str string) string {
	if str == "" {
		return ""
	}
	if cap(a.b)-len(a.b) < len(str) {
		a.b = make([]byte, 0, max(1024, 2*cap(a.b), len(str)))
	}
	start := len(a.b)
	a.b = append(a.b, str...)
	return unsafe.String(&a.b[start], len(str))
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
	d.keep()
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

// reset makes a write its next copies over its last block, which must
// hold no string that is still in use.
func (a *arena) reset() { a.b = a.b[:0] }

// keep copies the current record out of buf, and drops the views of a
// record being parsed (it is parsed again from the new data), before fill
// moves the bytes of buf or reads over them: no view outlives the bytes it
// shows. The copy goes to d.keptMem, reused: the record it held before is
// not the current one, so its views have expired (Record made its own
// copy).
func (d *CloudTrailDecoder) keep() {
	if d.rec != nil && d.rec != &d.kept && d.rec != &d.out {
		d.keptMem.reset()
		d.kept.copyOf(d.rec, &d.keptMem)
		d.rec = &d.kept
	}
	d.parsed = [2]recordStore{}
}

// scratch returns the element of d.parsed that is not the current record.
func (d *CloudTrailDecoder) scratch() *recordStore {
	if d.rec == &d.parsed[0] {
		return &d.parsed[1]
	}
	return &d.parsed[0]
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
	if d.state == ctStart && d.r == nil {
		r, err := maybegzip.NewReader(&d.src)
		if err != nil {
			d.fail(err, 0, 0)
			return false
		}
		d.r = r
	}
	for d.state != ctDone {
		d.s.Reset(d.buf[d.pos:d.end], d.eof)
		got, err := d.step()
		switch {
		case err == jsonscan.ErrNeedMore:
			d.fill() // on a read error d.state is now ctDone
			continue
		case err != nil:
			record := d.n + 1
			if d.state == ctStart {
				record = 0
			}
			at := d.s.Pos()
			if se := (*jsonscan.SyntaxError)(nil); errors.As(err, &se) {
				at = se.Offset
			}
			d.fail(err, record, at)
			return false
		}
		d.pos += d.s.Pos()
		if got {
			d.rec = d.scratch()
			d.n++
			if d.n == 1 {
				if why := d.notEvent(); why != "" {
					d.fail(fmt.Errorf("%w: %s", ErrNotCloudTrail, why), 0, -d.s.Pos())
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
		if d.rec.rec.looksLikeEvent() {
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

// errRecordsNotArray is the error of a log file whose Records is not an
// array.
var errRecordsNotArray = errors.New(`"Records" is not an array`)

// The decoder reads a record in one pass over its buffer with a
// jsonscan.Scanner (encoding/json's Decoder scans each record twice, once
// to find its end and once to decode it, through reflection), keeps the
// dozen fields it uses as views of the buffer, so that only what a tuple
// keeps is copied, and has the scanner check the syntax of the rest as it
// skips it. When the buffer ends inside a record, the record is parsed
// again once fill has read more.

// step advances by one record or one piece of framing, scanning d.s. It
// reports whether it read a record (into d.scratch()); on an error it made
// no progress worth keeping.
func (d *CloudTrailDecoder) step() (bool, error) {
	s := &d.s
	data := d.buf[d.pos:d.end]
	atEnd := func() bool { return s.Peek() == 0 && s.Pos() == len(data) }
	switch d.state {
	case ctStart:
		if len(data) < 3 && !d.eof {
			return false, jsonscan.ErrNeedMore
		}
		if bytes.HasPrefix(data, bom) {
			d.pos += len(bom)
			data = d.buf[d.pos:d.end]
			s.Reset(data, d.eof)
		}
		switch s.Kind() {
		case jsonscan.Array:
			s.Consume('[')
			d.state = ctFirst
		case jsonscan.Object:
			// A log file starts {"Records": [; anything else is read
			// as JSON lines, from the '{'.
			s.Consume('{')
			if s.Peek() == '"' {
				if key, verbatim := s.Key(); s.Err() == nil && verbatim && string(key) == "Records" {
					switch {
					case s.Consume('['):
						d.state, d.container = ctFirst, true
						return false, nil
					case atEnd() && !d.eof:
						return false, jsonscan.ErrNeedMore
					}
					return false, errRecordsNotArray
				}
			}
			if s.Err() == jsonscan.ErrNeedMore || atEnd() && !d.eof {
				return false, jsonscan.ErrNeedMore
			}
			s.Reset(data, d.eof)
			d.state = ctLines
		case jsonscan.Invalid:
			if atEnd() {
				if d.eof {
					return false, errors.New("empty input")
				}
				return false, jsonscan.ErrNeedMore
			}
			s.Unexpected("a value")
			return false, fmt.Errorf("%w: not JSON: %w", ErrNotCloudTrail, s.Err())
		default:
			d.state = ctLines
		}
		return false, nil
	case ctFirst:
		if s.Consume(']') {
			d.state = ctAfterArray
			return false, nil
		}
		d.record()
		if s.Err() != nil {
			return false, s.Err()
		}
		d.state = ctAfter
		return true, nil
	case ctAfter:
		switch {
		case s.Consume(','):
			d.record()
			return s.Err() == nil, s.Err()
		case s.Consume(']'):
			d.state = ctAfterArray
		default:
			s.Unexpected("',' or ']' after a record")
		}
		return false, s.Err()
	case ctAfterArray:
		if !d.container {
			d.state = ctTrailer
			return false, nil
		}
		for s.Err() == nil {
			switch {
			case s.Consume('}'):
				d.state = ctTrailer
				return false, nil
			case s.Consume(','):
				s.Key()
				s.Skip()
			default:
				s.Unexpected("',' or '}' after the Records array")
			}
		}
		return false, s.Err()
	case ctTrailer:
		if s.End("the end of the input after the records") {
			d.state = ctDone
		}
		return false, s.Err()
	case ctLines:
		if atEnd() {
			if d.eof {
				d.state = ctDone
				return false, nil
			}
			return false, jsonscan.ErrNeedMore
		}
		d.record()
		return s.Err() == nil, s.Err()
	}
	return false, nil
}

// record parses one record into d.scratch().
func (d *CloudTrailDecoder) record() {
	st := d.scratch()
	*st = recordStore{}
	d.bad = ""
	s := &d.s
	d.lead = s.Peek()
	switch s.Kind() {
	case jsonscan.Object:
	case jsonscan.Null:
		s.Null()
		st.malformed = errors.New("null record")
		return
	default:
		d.wrongType("the record", "an object")
		st.malformed = errors.New(d.bad)
		return
	}
	r := &st.rec
	s.Open()
	for s.More() {
		switch string(d.key()) {
		case "eventVersion":
			d.strView(&r.EventVersion, "eventVersion")
		case "eventTime":
			d.strView(&r.EventTime, "eventTime")
		case "eventSource":
			d.strView(&r.EventSource, "eventSource")
		case "eventName":
			d.strView(&r.EventName, "eventName")
		case "eventType":
			d.strView(&r.EventType, "eventType")
		case "eventID":
			d.strView(&r.EventID, "eventID")
		case "sourceIPAddress":
			d.strView(&r.SourceIPAddress, "sourceIPAddress")
		case "readOnly":
			d.readOnly(&r.ReadOnly)
		case "userIdentity":
			d.identity(st)
		default:
			s.Skip()
		}
	}
	if s.Err() == nil && d.bad != "" {
		st.malformed = errors.New(d.bad)
	}
}

// key reads an object key, unescaped into d.kbuf when it has escapes.
func (d *CloudTrailDecoder) key() []byte {
	k, verbatim := d.s.Key()
	if !verbatim {
		d.kbuf = jsonscan.AppendUnquote(d.kbuf[:0], k)
		k = d.kbuf
	}
	return k
}

// strView reads a string value into *dst, as a view of buf when it needs
// no unescaping; null leaves it empty, and another type is a shape error
// named after the field.
func (d *CloudTrailDecoder) strView(dst *string, field string) {
	s := &d.s
	switch s.Kind() {
	case jsonscan.String:
		raw, verbatim := s.Str()
		switch {
		case !verbatim:
			d.ubuf = jsonscan.AppendUnquote(d.ubuf[:0], raw)
			*dst = string(d.ubuf)
		case len(raw) > 0:
			*dst = unsafe.String(&raw[0], len(raw))
		}
	case jsonscan.Null:
		s.Null()
	default:
		d.wrongType(field, "a string")
	}
}

// wrongType records a shape error and skips the value.
func (d *CloudTrailDecoder) wrongType(field, want string) {
	if d.bad == "" {
		d.bad = field + " is not " + want
	}
	d.s.Skip()
}

func (d *CloudTrailDecoder) readOnly(dst *OptionalBool) {
	s := &d.s
	switch s.Kind() {
	case jsonscan.Bool:
		*dst = OptionalBool{Set: true, Value: s.Bool()}
	case jsonscan.Null:
		s.Null()
	case jsonscan.String:
		v, verbatim := s.Str()
		if !verbatim {
			d.ubuf = jsonscan.AppendUnquote(d.ubuf[:0], v)
			v = d.ubuf
		}
		switch string(v) {
		case "true":
			*dst = OptionalBool{Set: true, Value: true}
		case "false":
			*dst = OptionalBool{Set: true}
		default:
			if d.bad == "" {
				d.bad = "readOnly is not a boolean"
			}
		}
	default:
		d.wrongType("readOnly", "a boolean")
	}
}

// isObject reports whether the next value is an object; null is skipped
// and another type is a shape error.
func (d *CloudTrailDecoder) isObject(field string) bool {
	switch d.s.Kind() {
	case jsonscan.Object:
		return true
	case jsonscan.Null:
		d.s.Null()
	default:
		d.wrongType(field, "an object")
	}
	return false
}

func (d *CloudTrailDecoder) identity(st *recordStore) {
	if !d.isObject("userIdentity") {
		return
	}
	s := &d.s
	u := &st.id
	st.rec.UserIdentity = u
	s.Open()
	for s.More() {
		switch string(d.key()) {
		case "type":
			d.strView(&u.Type, "userIdentity.type")
		case "principalId":
			d.strView(&u.PrincipalID, "userIdentity.principalId")
		case "arn":
			d.strView(&u.ARN, "userIdentity.arn")
		case "accountId":
			d.strView(&u.AccountID, "userIdentity.accountId")
		case "accessKeyId":
			d.strView(&u.AccessKeyID, "userIdentity.accessKeyId")
		case "userName":
			d.strView(&u.UserName, "userIdentity.userName")
		case "invokedBy":
			d.strView(&u.InvokedBy, "userIdentity.invokedBy")
		case "sessionContext":
			d.sessionContext(st)
		case "onBehalfOf":
			d.onBehalfOf(st)
		default:
			s.Skip()
		}
	}
}

func (d *CloudTrailDecoder) onBehalfOf(st *recordStore) {
	if !d.isObject("userIdentity.onBehalfOf") {
		return
	}
	s := &d.s
	o := &st.obo
	st.id.OnBehalfOf = o
	s.Open()
	for s.More() {
		switch string(d.key()) {
		case "userId":
			d.strView(&o.UserID, "onBehalfOf.userId")
		case "identityStoreArn":
			d.strView(&o.IdentityStoreARN, "onBehalfOf.identityStoreArn")
		default:
			s.Skip()
		}
	}
}

func (d *CloudTrailDecoder) sessionContext(st *recordStore) {
	if !d.isObject("sessionContext") {
		return
	}
	s := &d.s
	st.id.SessionContext = &st.sc
	s.Open()
	for s.More() {
		if string(d.key()) != "sessionIssuer" {
			s.Skip()
			continue
		}
		if !d.isObject("sessionIssuer") {
			continue
		}
		is := &st.is
		st.sc.SessionIssuer = is
		s.Open()
		for s.More() {
			switch string(d.key()) {
			case "type":
				d.strView(&is.Type, "sessionIssuer.type")
			case "principalId":
				d.strView(&is.PrincipalID, "sessionIssuer.principalId")
			case "arn":
				d.strView(&is.ARN, "sessionIssuer.arn")
			case "accountId":
				d.strView(&is.AccountID, "sessionIssuer.accountId")
			case "userName":
				d.strView(&is.UserName, "sessionIssuer.userName")
			default:
				s.Skip()
			}
		}
	}
}

// Record returns the current record; it is overwritten by Next, but the
// strings in it may be kept.
func (d *CloudTrailDecoder) Record() *Record {
	if d.rec != nil && d.rec != &d.out {
		// A new arena: the strings of out may be kept.
		d.out.copyOf(d.rec, &arena{})
		d.rec = &d.out
	}
	return &d.out.rec
}

// view returns the current record without copying it: its strings are
// valid only until the next call of Next.
func (d *CloudTrailDecoder) view() *Record {
	if d.rec == nil {
		return &d.out.rec
	}
	return &d.rec.rec
}

// Malformed returns why the current record is malformed, or nil.
func (d *CloudTrailDecoder) Malformed() error {
	if d.rec == nil {
		return nil
	}
	return d.rec.malformed
}

// Index returns the 1-based index of the current record in the input.
func (d *CloudTrailDecoder) Index() int { return d.n }

// Err returns the error that stopped Next (a *FileError), or nil at the
// end of the input.
func (d *CloudTrailDecoder) Err() error { return d.err }
