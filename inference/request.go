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

	js         jsonScanner
	state      jsonState
	first      bool   // JSON: the next member or instance is the first of its container
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
	d.js.reset(body)
	d.state, d.first, d.instances = jsStart, true, false
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
		s.reset(line)
		s.ws()
		if s.i == len(line) {
			continue
		}
		err := d.instance()
		if err == nil {
			s.ws()
			if s.i < len(line) {
				err = s.syntax("want the end of the line after the instance, found %s", s.describe())
			}
		}
		if err != nil {
			d.fail(d.n, d.line, err.reason, err.detail)
			return false
		}
		return true
	}
}

func (d *RequestDecoder) nextJSON() bool {
	s := &d.js
	for {
		var err *scanError
		rec := -1
		switch d.state {
		case jsStart:
			s.ws()
			switch c := s.peek(); {
			case c == '{':
				err = s.open()
				d.state, d.first = jsMembers, true
			case s.i == len(s.b):
				err = s.syntax("empty body: want {\"instances\": [...]}")
			default:
				err = d.wrongType("want an object {\"instances\": [...]}, got %s")
			}
		case jsMembers:
			var more bool
			more, err = s.next(d.first)
			d.first = false
			if err != nil || !more {
				d.state = jsEnd
				break
			}
			var key []byte
			if key, err = s.key(&d.kbuf); err != nil {
				break
			}
			if string(key) != "instances" {
				err = s.skip(&d.kbuf)
				break
			}
			switch {
			case d.instances:
				err = d.shape("duplicate key \"instances\"")
			case s.peek() != '[':
				err = d.wrongType("instances: want an array of instances, got %s")
			default:
				d.instances = true
				err = s.open()
				d.state, d.first = jsInstances, true
			}
		case jsInstances:
			rec = d.n
			var more bool
			more, err = s.next(d.first)
			d.first = false
			if err == nil && !more {
				d.state = jsMembers
				continue
			}
			if err == nil {
				if err = d.instance(); err == nil {
					return true
				}
			}
		case jsEnd:
			if !d.instances {
				err = d.shape("no \"instances\" key: want {\"instances\": [...]}")
				break
			}
			s.ws()
			if s.i < len(s.b) {
				err = s.syntax("want the end of the body after the JSON object, found %s", s.describe())
				break
			}
			return false
		}
		if err != nil {
			d.fail(rec, 1+bytes.Count(d.body[:err.off], []byte("\n")), err.reason, err.detail)
			return false
		}
	}
}

// shape returns a BadShape error at the scanner's position.
func (d *RequestDecoder) shape(format string, a ...any) *scanError {
	return &scanError{off: d.js.i, reason: BadShape, detail: fmt.Sprintf(format, a...)}
}

// wrongType returns a BadShape error for a value of the wrong type at the
// scanner's position, whose description is appended to the arguments; or a
// syntax error when no value starts there.
func (d *RequestDecoder) wrongType(format string, a ...any) *scanError {
	s := &d.js
	rest := s.b[s.i:]
	if c := s.peek(); len(rest) == 0 || strings.IndexByte(`{["-0123456789tfn`, c) < 0 ||
		(c == 't' && !bytes.HasPrefix(rest, []byte("true"))) ||
		(c == 'f' && !bytes.HasPrefix(rest, []byte("false"))) ||
		(c == 'n' && !bytes.HasPrefix(rest, []byte("null"))) {
		return s.syntax("want a value, found %s", s.describe())
	}
	return d.shape(format, append(a, s.kind())...)
}

// members reads the members of the object at the scanner's position
// (wrongType describes any other value), calling member for each key with
// the scanner at its value; member must consume the value.
func (d *RequestDecoder) members(wrongType string, member func(key []byte) *scanError) *scanError {
	d.js.ws()
	if d.js.peek() != '{' {
		return d.wrongType(wrongType)
	}
	return d.js.container(&d.kbuf, member)
}

// instance reads one instance object of either form at the scanner's
// position into d.entity and d.addr.
func (d *RequestDecoder) instance() *scanError {
	form := ""
	err := d.members(`want an instance {"features": [entity, ip]} or {"data": {"features": {"values": [entity, ip]}}}, got %s`, func(key []byte) *scanError {
		switch string(key) {
		case "features":
			if err := d.claim(&form, "features"); err != nil {
				return err
			}
			return d.values("features")
		case "data":
			if err := d.claim(&form, "data"); err != nil {
				return err
			}
			return d.data()
		}
		return d.js.skip(&d.kbuf)
	})
	if err == nil && form == "" {
		return d.shape(`an instance needs "features": [entity, ip] or "data": {"features": {"values": [entity, ip]}}`)
	}
	return err
}

// claim records that an instance has the form named k, which must be its
// only one.
func (d *RequestDecoder) claim(form *string, k string) *scanError {
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
func (d *RequestDecoder) data() *scanError {
	found := false
	err := d.members(`data: want {"features": {"values": [entity, ip]}}, got %s`, func(key []byte) *scanError {
		if string(key) != "features" {
			return d.js.skip(&d.kbuf)
		}
		if found {
			return d.shape(`data: duplicate key "features"`)
		}
		found = true
		return d.dataFeatures()
	})
	if err == nil && !found {
		return d.shape(`data: no "features" key: want {"features": {"values": [entity, ip]}}`)
	}
	return err
}

// dataFeatures reads the value of "data"."features".
func (d *RequestDecoder) dataFeatures() *scanError {
	found := false
	err := d.members(`data.features: want {"values": [entity, ip]}, got %s`, func(key []byte) *scanError {
		switch string(key) {
		case "values":
			if found {
				return d.shape(`data.features: duplicate key "values"`)
			}
			found = true
			return d.values("data.features.values")
		case "keys":
			return d.shape(`data.features: sparse "keys" are not supported: give "values": [entity, ip]`)
		}
		return d.js.skip(&d.kbuf)
	})
	if err == nil && !found {
		return d.shape(`data.features: no "values" key: want {"values": [entity, ip]}`)
	}
	return err
}

// values reads an [entity, ip] array; path names it in errors.
func (d *RequestDecoder) values(path string) *scanError {
	s := &d.js
	if s.peek() != '[' {
		return d.wrongType("%s: want an array [entity, ip], got %s", path)
	}
	n := 0
	err := s.container(&d.kbuf, func([]byte) *scanError {
		n++
		switch n {
		case 1:
			return d.entityValue(path)
		case 2:
			return d.addrValue(path)
		}
		return s.skip(&d.kbuf)
	})
	if err != nil {
		return err
	}
	if n != 2 {
		return &scanError{off: s.i, reason: FieldCount, detail: fmt.Sprintf("%s: got %d values, want 2 (entity, ip)", path, n)}
	}
	return nil
}

func (d *RequestDecoder) entityValue(path string) *scanError {
	s := &d.js
	var err *scanError
	start := s.i
	switch c := s.peek(); {
	case c == '"':
		d.entity, err = s.str(&d.ebuf)
	case c == '-' || (c >= '0' && c <= '9'):
		d.entity, err = s.number()
	default:
		return d.wrongType("%s[0]: want the entity as a string, got %s", path)
	}
	if err != nil {
		return err
	}
	if len(d.entity) == 0 {
		return &scanError{off: start, reason: EmptyEntity, detail: path + "[0]"}
	}
	return nil
}

func (d *RequestDecoder) addrValue(path string) *scanError {
	s := &d.js
	if s.peek() != '"' {
		return d.wrongType("%s[1]: want the IP address as a string, got %s", path)
	}
	start := s.i
	b, err := s.str(&d.abuf)
	if err != nil {
		return err
	}
	a, perr := csvio.ParseAddr(b)
	if perr != nil {
		return &scanError{off: start, reason: BadAddress, detail: fmt.Sprintf("%s[1]: %q", path, b)}
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
	dst = appendJSONString(dst, r.Entity)
	dst = append(dst, `,"`...)
	dst = r.IP.AppendTo(dst)
	return append(dst, `"]}`...)
}

// appendJSONString appends s as a JSON string.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			dst = utf8.AppendRune(dst, r) // RuneError for invalid UTF-8
			i += n
			continue
		}
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			dst = append(dst, c)
		}
		i++
	}
	return append(dst, '"')
}
