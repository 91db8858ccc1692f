package inference

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"unicode/utf8"

	"github.com/ipinsights/ipinsights-go/csvio"
	"github.com/ipinsights/ipinsights-go/internal/jsonscan"
	"github.com/ipinsights/ipinsights-go/internal/jsontext"
	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// RequestError is the error for a malformed inference request: it says
// which record and why.
type RequestError struct {
	Format Format
	// Record is the index of the record at fault, counting from 0 (for JSON
	// the index in "instances"), or -1 when the error is outside any record
	// (a JSON body that is not an object with "instances", for instance).
	Record int
	// Line is the line of the body, counting from 1.
	Line   int
	Reason Reason
	Detail string
}

func (e *RequestError) Error() string {
	var b strings.Builder
	b.WriteString(e.Format.MediaType())
	switch {
	case e.Format == JSON && e.Record >= 0:
		fmt.Fprintf(&b, ": instances[%d] (line %d)", e.Record, e.Line)
	case e.Line > 0:
		fmt.Fprintf(&b, ": line %d", e.Line)
	}
	fmt.Fprintf(&b, ": %s", e.Reason)
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

// maxDetail bounds the length of RequestError.Detail, which quotes input
// and may be sent back to a client.
const maxDetail = 200

// RequestDecoder reads the records of an inference request body held in
// memory, one at a time, without allocating per record:
//
//	d := inference.NewRequestDecoder(inference.JSON, body)
//	for d.Next() {
//		use(d.Entity(), d.Addr())
//	}
//	if err := d.Err(); err != nil { ... } // a *RequestError
//
// text/csv bodies hold one "entity,ip" row a line, with the tolerance of
// csvio.Reader (a space after the comma, CRLF, a byte order mark, quoted fields;
// blank lines are skipped) but exactly two fields. application/json bodies
// are an object whose "instances" array holds instances of either form,
// mixed:
//
//	{"features": ["entity", "1.2.3.4"]}
//	{"data": {"features": {"values": ["entity", "1.2.3.4"]}}}
//
// application/jsonlines bodies hold one such instance a line. Other members
// of these objects are ignored; a duplicated member, an instance with both
// forms, sparse "keys", or anything but exactly two values is an error. The
// entity is a JSON string, or a number taken as written (as CSV would); the
// address is a string holding an IPv4 or IPv6 address. JSON must be UTF-8.
//
// The zero RequestDecoder is ready for Reset.
type RequestDecoder struct {
	format Format
	body   []byte
	pos    int // CSV and JSONLines: start of the next line
	line   int // CSV and JSONLines: current line
	n      int // records returned so far
	entity []byte
	addr   netip.Addr
	err    error
	done   bool

	csv    *csvio.Reader // CSV: the file reader's line and field rules
	csvSrc bytes.Reader

	js         jsonscan.Scanner
	state      jsonState
	instances  bool   // JSON: the "instances" member was seen
	ebuf, kbuf []byte // unescaped entity; keys and skipped strings
	abuf       []byte // unescaped address
}

type jsonState uint8

const (
	jsStart     jsonState = iota
	jsMembers             // in the top-level object
	jsInstances           // in the "instances" array
	jsEnd                 // after the top-level object
)

// NewRequestDecoder returns a decoder of body in format f.
func NewRequestDecoder(f Format, body []byte) *RequestDecoder {
	d := &RequestDecoder{}
	d.Reset(f, body)
	return d
}

// Reset makes d decode body in format f, keeping its buffers. It panics on
// an unknown format.
func (d *RequestDecoder) Reset(f Format, body []byte) {
	if f != CSV && f != JSON && f != JSONLines {
		panic(fmt.Sprintf("inference: RequestDecoder: unknown format %d", int(f)))
	}
	d.format, d.body = f, body
	d.pos, d.line, d.n = 0, 0, 0
	d.entity, d.addr, d.err, d.done = nil, netip.Addr{}, nil, false
	if f == CSV {
		d.csvSrc.Reset(body)
		if d.csv == nil {
			d.csv = csvio.NewReader(&d.csvSrc, csvio.Options{MaxLineBytes: math.MaxInt})
		} else {
			d.csv.Reset(&d.csvSrc)
		}
	}
	d.js.RequireUTF8 = true // JSON must be UTF-8, as RFC 8259 says
	d.js.Reset(body, true)
	d.state, d.instances = jsStart, false
}

// Next advances to the next record. It returns false at the end of the body
// or at the first error (see Err).
func (d *RequestDecoder) Next() bool {
	if d.done || d.err != nil {
		return false
	}
	var ok bool
	switch d.format {
	case CSV:
		ok = d.nextCSV()
	case JSON:
		ok = d.nextJSON()
	case JSONLines:
		ok = d.nextJSONLines()
	}
	if ok {
		d.n++
	} else {
		d.done = true
	}
	return ok
}

// Entity returns the entity of the current record, valid until the next
// call to Next or Reset.
func (d *RequestDecoder) Entity() []byte { return d.entity }

// Addr returns the address of the current record. IPv4-mapped IPv6
// addresses are unmapped and zones dropped, as by csvio.ParseAddr.
func (d *RequestDecoder) Addr() netip.Addr { return d.addr }

// Record returns the index of the current record, counting from 0.
func (d *RequestDecoder) Record() int { return d.n - 1 }

// Err returns the error that stopped Next, a *RequestError, or nil at the
// end of a well-formed body.
func (d *RequestDecoder) Err() error { return d.err }

// fail records an error in the record being read (or outside any, rec -1).
func (d *RequestDecoder) fail(rec, line int, reason Reason, detail string) {
	if len(detail) > maxDetail {
		cut := maxDetail
		for cut > 0 && !utf8.RuneStart(detail[cut]) {
			cut--
		}
		detail = detail[:cut] + "..."
	}
	d.err = &RequestError{Format: d.format, Record: rec, Line: line, Reason: reason, Detail: detail}
}

// nextLine returns the next line of the body without its line end.
func (d *RequestDecoder) nextLine() ([]byte, bool) {
	if d.pos >= len(d.body) {
		return nil, false
	}
	rest := d.body[d.pos:]
	line := rest
	if i := bytes.IndexByte(rest, '\n'); i >= 0 {
		line = rest[:i]
		d.pos += i + 1
	} else {
		d.pos = len(d.body)
	}
	d.line++
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	if d.line == 1 {
		line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
	}
	return line, true
}

func (d *RequestDecoder) nextCSV() bool {
	if d.csv.Next() {
		d.line = d.csv.Line()
		d.entity, d.addr = d.csv.Entity(), d.csv.Addr()
		return true
	}
	switch err := d.csv.Err().(type) {
	case nil:
	case *csvio.ParseError:
		d.fail(d.n, err.Line, csvReason(err.Reason), err.Detail)
	default: // a bytes.Reader does not fail
		panic(fmt.Sprintf("inference: reading a request body in memory: %v", err))
	}
	return false
}

func (d *RequestDecoder) nextJSONLines() bool {
	s := &d.js
	for {
		line, ok := d.nextLine()
		if !ok {
			return false
		}
		s.Reset(line, true)
		if s.Peek() == 0 && s.Pos() == len(line) {
			continue
		}
		err := d.instance()
		if err == nil {
			s.End("the end of the line after the instance")
		}
		if err != nil || s.Err() != nil {
			d.failJSON(d.n, err)
			return false
		}
		return true
	}
}

func (d *RequestDecoder) nextJSON() bool {
	s := &d.js
	for {
		var err *recordError
		rec := -1
		switch d.state {
		case jsStart:
			switch {
			case s.Kind() == jsonscan.Object:
				s.Open()
				d.state = jsMembers
			case s.Peek() == 0 && s.Pos() == len(d.body):
				err = &recordError{off: s.Pos(), reason: BadJSON, detail: `empty body: want {"instances": [...]}`}
			default:
				err = d.wrongType(`want an object {"instances": [...]}, got %s`)
			}
		case jsMembers:
			if !s.More() {
				d.state = jsEnd
				break
			}
			key := d.key()
			if s.Err() != nil {
				break
			}
			if string(key) != "instances" {
				s.Skip()
				break
			}
			switch {
			case d.instances:
				err = d.shape(`duplicate key "instances"`)
			case s.Kind() != jsonscan.Array:
				err = d.wrongType("instances: want an array of instances, got %s")
			default:
				d.instances = true
				s.Open()
				d.state = jsInstances
			}
		case jsInstances:
			rec = d.n
			if !s.More() {
				d.state = jsMembers
				break
			}
			if err = d.instance(); err == nil && s.Err() == nil {
				return true
			}
		case jsEnd:
			if !d.instances {
				err = d.shape(`no "instances" key: want {"instances": [...]}`)
				break
			}
			if s.End("the end of the body after the JSON object") {
				return false
			}
		}
		if err != nil || s.Err() != nil {
			d.failJSON(rec, err)
			return false
		}
	}
}

// recordError is a fault of a JSON body that is well-formed JSON as far as
// the scanner has read it, at an offset of the body (of the line for
// JSONLines).
type recordError struct {
	off    int
	reason Reason
	detail string
}

// failJSON records the scanner's syntax error if it has one, or else err,
// in record rec (or outside any, -1). A syntax error comes first: the
// scanner stops at one, so a fault found after it (a missing value, say)
// is its consequence.
func (d *RequestDecoder) failJSON(rec int, err *recordError) {
	var se *jsonscan.SyntaxError
	if errors.As(d.js.Err(), &se) {
		err = &recordError{off: se.Offset, reason: BadJSON, detail: se.Msg}
	}
	line := d.line
	if d.format == JSON {
		line = 1 + bytes.Count(d.body[:err.off], []byte("\n"))
	}
	d.fail(rec, line, err.reason, err.detail)
}

// shape returns a BadShape error at the scanner's position.
func (d *RequestDecoder) shape(format string, a ...any) *recordError {
	return &recordError{off: d.js.Pos(), reason: BadShape, detail: fmt.Sprintf(format, a...)}
}

// wrongType skips the value at the scanner's position and returns a
// BadShape error for it, whose kind is appended to the arguments. When no
// value is there, the syntax error the scanner records comes first (see
// failJSON).
func (d *RequestDecoder) wrongType(format string, a ...any) *recordError {
	s := &d.js
	k := s.Kind()
	err := d.shape(format, append(a, k)...)
	s.Skip()
	return err
}

// key reads an object key, unescaped into d.kbuf when it has escapes.
func (d *RequestDecoder) key() []byte {
	k, verbatim := d.js.Key()
	if !verbatim {
		d.kbuf = jsonscan.AppendUnquote(d.kbuf[:0], k)
		k = d.kbuf
	}
	return k
}

// str reads a string value, unescaped into *buf when it has escapes.
func (d *RequestDecoder) str(buf *[]byte) []byte {
	v, verbatim := d.js.Str()
	if !verbatim {
		*buf = jsonscan.AppendUnquote((*buf)[:0], v)
		v = *buf
	}
	return v
}

// instance reads one instance object of either form at the scanner's
// position into d.entity and d.addr.
func (d *RequestDecoder) instance() *recordError {
	s := &d.js
	if s.Kind() != jsonscan.Object {
		return d.wrongType(`want an instance {"features": [entity, ip]} or {"data": {"features": {"values": [entity, ip]}}}, got %s`)
	}
	form := ""
	s.Open()
	for s.More() {
		var err *recordError
		switch string(d.key()) {
		case "features":
			if err = d.claim(&form, "features"); err == nil {
				err = d.values("features")
			}
		case "data":
			if err = d.claim(&form, "data"); err == nil {
				err = d.data()
			}
		default:
			s.Skip()
		}
		if err != nil {
			return err
		}
	}
	if s.Err() == nil && form == "" {
		return d.shape(`an instance needs "features": [entity, ip] or "data": {"features": {"values": [entity, ip]}}`)
	}
	return nil
}

// claim records that an instance has the form named k, which must be its
// only one.
func (d *RequestDecoder) claim(form *string, k string) *recordError {
	switch *form {
	case "":
		*form = k
		return nil
	case k:
		return d.shape("duplicate key %q", k)
	}
	return d.shape(`an instance has "features" or "data", not both`)
}

// data reads the value of an instance's "data" member.
func (d *RequestDecoder) data() *recordError {
	s := &d.js
	if s.Kind() != jsonscan.Object {
		return d.wrongType(`data: want {"features": {"values": [entity, ip]}}, got %s`)
	}
	found := false
	s.Open()
	for s.More() {
		if string(d.key()) != "features" {
			s.Skip()
			continue
		}
		if found {
			return d.shape(`data: duplicate key "features"`)
		}
		found = true
		if err := d.dataFeatures(); err != nil {
			return err
		}
	}
	if s.Err() == nil && !found {
		return d.shape(`data: no "features" key: want {"features": {"values": [entity, ip]}}`)
	}
	return nil
}

// dataFeatures reads the value of "data"."features".
func (d *RequestDecoder) dataFeatures() *recordError {
	s := &d.js
	if s.Kind() != jsonscan.Object {
		return d.wrongType(`data.features: want {"values": [entity, ip]}, got %s`)
	}
	found := false
	s.Open()
	for s.More() {
		switch string(d.key()) {
		case "values":
			if found {
				return d.shape(`data.features: duplicate key "values"`)
			}
			found = true
			if err := d.values("data.features.values"); err != nil {
				return err
			}
		case "keys":
			return d.shape(`data.features: sparse "keys" are not supported: give "values": [entity, ip]`)
		default:
			s.Skip()
		}
	}
	if s.Err() == nil && !found {
		return d.shape(`data.features: no "values" key: want {"values": [entity, ip]}`)
	}
	return nil
}

// values reads an [entity, ip] array; path names it in errors.
func (d *RequestDecoder) values(path string) *recordError {
	s := &d.js
	if s.Kind() != jsonscan.Array {
		return d.wrongType("%s: want an array [entity, ip], got %s", path)
	}
	n := 0
	s.Open()
	for s.More() {
		n++
		var err *recordError
		switch n {
		case 1:
			err = d.entityValue(path)
		case 2:
			err = d.addrValue(path)
		default:
			s.Skip()
		}
		if err != nil {
			return err
		}
	}
	if s.Err() == nil && n != 2 {
		return &recordError{off: s.Pos(), reason: FieldCount, detail: fmt.Sprintf("%s: got %d values, want 2 (entity, ip)", path, n)}
	}
	return nil
}

func (d *RequestDecoder) entityValue(path string) *recordError {
	s := &d.js
	k := s.Kind()
	start := s.Pos()
	switch k {
	case jsonscan.String:
		d.entity = d.str(&d.ebuf)
	case jsonscan.Number:
		d.entity = s.Number()
	default:
		return d.wrongType("%s[0]: want the entity as a string, got %s", path)
	}
	if s.Err() == nil && len(d.entity) == 0 {
		return &recordError{off: start, reason: EmptyEntity, detail: path + "[0]"}
	}
	return nil
}

func (d *RequestDecoder) addrValue(path string) *recordError {
	s := &d.js
	if s.Kind() != jsonscan.String {
		return d.wrongType("%s[1]: want the IP address as a string, got %s", path)
	}
	start := s.Pos()
	b := d.str(&d.abuf)
	if s.Err() != nil {
		return nil
	}
	a, perr := csvio.ParseAddr(b)
	if perr != nil {
		return &recordError{off: start, reason: BadAddress, detail: fmt.Sprintf("%s[1]: %q", path, b)}
	}
	d.addr = a
	return nil
}

// DecodeRequest decodes a whole request body of format f (see
// RequestDecoder). The error is a *RequestError.
func DecodeRequest(f Format, body []byte) ([]ipinsights.Pair, error) {
	var out []ipinsights.Pair
	d := NewRequestDecoder(f, body)
	for d.Next() {
		out = append(out, ipinsights.Pair{Entity: string(d.Entity()), IP: d.Addr()})
	}
	return out, d.Err()
}

// ErrUnencodable is wrapped by AppendRequest errors for records that a
// format can not carry.
var ErrUnencodable = errors.New("record can not be encoded")

// AppendRequest appends a request body of format f holding recs to dst, as
// a SageMaker client would send it: "entity,ip" lines for CSV (the entity
// quoted when it needs to be), {"instances": [{"features": [entity, ip]},
// ...]} for JSON and one {"features": [entity, ip]} a line for JSONLines.
// A record with an empty entity or an invalid address, or (CSV) an entity
// holding a line break, is an error wrapping ErrUnencodable; invalid UTF-8
// in an entity becomes U+FFFD in JSON.
func AppendRequest(dst []byte, f Format, recs []ipinsights.Pair) ([]byte, error) {
	for i, r := range recs {
		switch {
		case r.Entity == "":
			return dst, fmt.Errorf("inference: record %d: empty entity: %w", i, ErrUnencodable)
		case !r.IP.IsValid():
			return dst, fmt.Errorf("inference: record %d: invalid IP address: %w", i, ErrUnencodable)
		case f == CSV && strings.ContainsAny(r.Entity, "\r\n"):
			return dst, fmt.Errorf("inference: record %d: a text/csv entity can not hold a line break: %w", i, ErrUnencodable)
		}
	}
	switch f {
	case CSV:
		for _, r := range recs {
			dst = csvio.AppendField(dst, r.Entity)
			dst = append(dst, ',')
			dst = r.IP.AppendTo(dst)
			dst = append(dst, '\n')
		}
	case JSON:
		dst = append(dst, `{"instances":[`...)
		for i, r := range recs {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendFeatures(dst, r)
		}
		dst = append(dst, "]}"...)
	case JSONLines:
		for _, r := range recs {
			dst = appendFeatures(dst, r)
			dst = append(dst, '\n')
		}
	default:
		panic(fmt.Sprintf("inference: AppendRequest: unknown format %d", int(f)))
	}
	return dst, nil
}

func appendFeatures(dst []byte, r ipinsights.Pair) []byte {
	dst = append(dst, `{"features":[`...)
	dst = jsontext.AppendString(dst, r.Entity)
	dst = append(dst, `,"`...)
	dst = r.IP.AppendTo(dst)
	return append(dst, `"]}`...)
}
