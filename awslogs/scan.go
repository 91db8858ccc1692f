package awslogs

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
	"unsafe"
)

// This file holds a small validating JSON parser for CloudTrail records.
// encoding/json's Decoder scans every byte of a record twice (once to find
// its end, once to decode it) through reflection, which measured about
// 50,000 records per CPU-second; CloudTrail needs 150,000 per second on
// two cores. The parser below reads a record in one pass over a buffer,
// keeps the dozen fields the package uses as views of the buffer (see
// viewString), so that only what a tuple keeps is copied, and checks the
// syntax of the rest as it skips it, so a malformed file is still an error.

// errNeedMore reports that the parser reached the end of its buffer before
// the end of what it was reading, and the input has more to give.
var errNeedMore = errors.New("need more input")

// maxDepth bounds the nesting of skipped values, as encoding/json does.
const maxDepth = 10000

// parser reads JSON from data. final says that data holds the rest of the
// input, so running out of it is a truncation rather than errNeedMore.
type parser struct {
	data  []byte
	i     int
	final bool
	err   error  // a syntax error, a truncation or errNeedMore
	bad   string // the first shape error of the record (a wrong type); parsing goes on
	depth int
}

func (p *parser) fail(format string, a ...any) {
	if p.err == nil {
		p.err = fmt.Errorf(format, a...)
	}
}

// eof records that the data ran out.
func (p *parser) eof() {
	if p.err != nil {
		return
	}
	if p.final {
		p.err = errUnexpectedEOF
	} else {
		p.err = errNeedMore
	}
}

var errUnexpectedEOF = errors.New("unexpected EOF")

func (p *parser) ws() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// peek skips white space and returns the next byte, or 0 with p.err set
// when the data ran out or the byte is a NUL (never valid outside a
// string).
func (p *parser) peek() byte {
	p.ws()
	if p.i >= len(p.data) {
		p.eof()
		return 0
	}
	c := p.data[p.i]
	if c == 0 {
		p.fail("invalid character 0x00")
	}
	return c
}

// expect consumes c after white space.
func (p *parser) expect(c byte) bool {
	if b := p.peek(); b != c {
		if p.err == nil {
			p.fail("invalid character %s, expected %q", quoteChar(b), c)
		}
		return false
	}
	p.i++
	return true
}

func quoteChar(c byte) string {
	if c == '\'' {
		return `'\''`
	}
	if c == '"' {
		return `'"'`
	}
	if c < 0x20 || c >= 0x7f {
		return fmt.Sprintf("0x%02x", c)
	}
	return "'" + string(c) + "'"
}

// rawString reads a string and returns its contents as they are in the
// data (escapes not resolved) and whether it has escapes.
func (p *parser) rawString() ([]byte, bool) {
	if !p.expect('"') {
		return nil, false
	}
	start := p.i
	escaped := false
	for p.i < len(p.data) {
		c := p.data[p.i]
		switch {
		case c == '"':
			s := p.data[start:p.i]
			p.i++
			return s, escaped
		case c == '\\':
			escaped = true
			if p.i+1 >= len(p.data) {
				p.eof()
				return nil, false
			}
			switch p.data[p.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.i += 2
			case 'u':
				if p.i+6 > len(p.data) {
					p.eof()
					return nil, false
				}
				for _, h := range p.data[p.i+2 : p.i+6] {
					if _, ok := unhex(h); !ok {
						p.fail("invalid character %s in \\u escape", quoteChar(h))
						return nil, false
					}
				}
				p.i += 6
			default:
				p.fail("invalid escape \\%c in string", p.data[p.i+1])
				return nil, false
			}
		case c < 0x20:
			p.fail("invalid character %s in string", quoteChar(c))
			return nil, false
		default:
			p.i++
		}
	}
	p.eof()
	return nil, false
}

// unquote resolves the escapes (and invalid UTF-8) of a string's raw
// contents. encoding/json itself does it, so that the rare string that
// needs it decodes exactly as encoding/json decodes it.
func unquote(raw []byte) string {
	q := make([]byte, 0, len(raw)+2)
	q = append(append(append(q, '"'), raw...), '"')
	var s string
	json.Unmarshal(q, &s) // raw was validated by rawString
	return s
}

// viewString returns the decoded contents of a string, without a copy
// when raw needs no decoding: the string then shares raw's memory and is
// valid only while those bytes are not overwritten (for a
// CloudTrailDecoder, until its next call of Next). Whatever is kept
// longer must be copied with strings.Clone.
func viewString(raw []byte, escaped bool) string {
	if escaped || !utf8.Valid(raw) {
		return unquote(raw)
	}
	if len(raw) == 0 {
		return ""
	}
	return unsafe.String(&raw[0], len(raw))
}

// strView reads a string value into *dst as a viewString; null leaves it
// empty, and another type is a shape error named after the field.
func (p *parser) strView(dst *string, field string) {
	switch p.peek() {
	case '"':
		raw, esc := p.rawString()
		if p.err == nil {
			*dst = viewString(raw, esc)
		}
	case 'n':
		p.literal("null")
	default:
		p.wrongType(field, "a string")
	}
}

// wrongType records a shape error and skips the value.
func (p *parser) wrongType(field, want string) {
	if p.bad == "" && p.err == nil {
		p.bad = fmt.Sprintf("%s is not %s", field, want)
	}
	p.skip()
}

func (p *parser) literal(lit string) {
	p.ws()
	n := len(lit)
	if len(p.data)-p.i < n {
		if string(p.data[p.i:]) == lit[:len(p.data)-p.i] {
			p.eof()
		} else {
			p.fail("invalid literal")
		}
		return
	}
	if string(p.data[p.i:p.i+n]) != lit {
		p.fail("invalid character %s looking for beginning of value", quoteChar(p.data[p.i]))
		return
	}
	p.i += n
}

// object reads an object, calling field for each key; field must consume
// the value.
func (p *parser) object(field func(key []byte)) {
	if !p.expect('{') {
		return
	}
	if p.peek() == '}' {
		p.i++
		return
	}
	for p.err == nil {
		raw, esc := p.rawString()
		if p.err != nil {
			return
		}
		if esc {
			raw = []byte(unquote(raw))
		}
		if !p.expect(':') {
			return
		}
		field(raw)
		if p.err != nil {
			return
		}
		switch p.peek() {
		case ',':
			p.i++
		case '}':
			p.i++
			return
		case 0:
			return
		default:
			p.fail("invalid character %s after object key:value pair", quoteChar(p.data[p.i]))
		}
	}
}

// skip reads and validates any value.
func (p *parser) skip() {
	switch c := p.peek(); {
	case p.err != nil:
	case c == '"':
		p.rawString()
	case c == '{':
		p.depth++
		if p.depth > maxDepth {
			p.fail("exceeded max depth")
			return
		}
		p.object(func([]byte) { p.skip() })
		p.depth--
	case c == '[':
		p.depth++
		if p.depth > maxDepth {
			p.fail("exceeded max depth")
			return
		}
		p.i++
		if p.peek() == ']' {
			p.i++
			p.depth--
			return
		}
		for p.err == nil {
			p.skip()
			switch p.peek() {
			case ',':
				p.i++
			case ']':
				p.i++
				p.depth--
				return
			case 0:
			default:
				p.fail("invalid character %s after array element", quoteChar(p.data[p.i]))
			}
		}
	case c == 't':
		p.literal("true")
	case c == 'f':
		p.literal("false")
	case c == 'n':
		p.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		p.number()
	default:
		p.fail("invalid character %s looking for beginning of value", quoteChar(c))
	}
}

// number validates a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *parser) number() {
	d := p.data
	i := p.i
	at := func(i int) (byte, bool) {
		if i < len(d) {
			return d[i], true
		}
		return 0, false
	}
	digits := func() bool {
		start := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		return i > start
	}
	if c, _ := at(i); c == '-' {
		i++
	}
	switch c, ok := at(i); {
	case !ok:
		p.eof()
		return
	case c == '0':
		i++
	case c >= '1' && c <= '9':
		digits()
	default:
		p.fail("invalid character %s in numeric literal", quoteChar(c))
		return
	}
	if c, ok := at(i); ok && c == '.' {
		i++
		if !digits() {
			if i >= len(d) {
				p.eof()
			} else {
				p.fail("invalid character %s after decimal point in numeric literal", quoteChar(d[i]))
			}
			return
		}
	}
	if c, ok := at(i); ok && (c == 'e' || c == 'E') {
		i++
		if c, ok := at(i); ok && (c == '+' || c == '-') {
			i++
		}
		if !digits() {
			if i >= len(d) {
				p.eof()
			} else {
				p.fail("invalid character %s in exponent of numeric literal", quoteChar(d[i]))
			}
			return
		}
	}
	if i >= len(d) && !p.final {
		// The number may go on in the next buffer.
		p.eof()
		return
	}
	p.i = i
}
