package inference

import (
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonScanner is a small JSON (RFC 8259) scanner over a byte slice, made
// for the few shapes of SageMaker inference requests: it returns strings
// without allocating (unescaped into a reusable buffer only when they hold
// escapes), checks everything it skips, and bounds nesting. Errors carry
// the offset at which they happened.
type jsonScanner struct {
	b       []byte
	i       int
	depth   int
	closers [maxJSONDepth]byte // the closing bracket of each open container
}

// maxJSONDepth bounds the nesting of arrays and objects, so that a body of
// brackets can not exhaust the stack.
const maxJSONDepth = 512

// scanError is an error at an offset of the scanned input.
type scanError struct {
	off    int
	reason Reason
	detail string
}

func (s *jsonScanner) reset(b []byte) { s.b, s.i, s.depth = b, 0, 0 }

func (s *jsonScanner) syntax(format string, a ...any) *scanError {
	return &scanError{off: s.i, reason: BadJSON, detail: fmt.Sprintf(format, a...)}
}

// ws skips white space.
func (s *jsonScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next byte, or 0 at the end of the input.
func (s *jsonScanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// describe names the next input for error messages.
func (s *jsonScanner) describe() string {
	if s.i >= len(s.b) {
		return "end of input"
	}
	c := s.b[s.i]
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("%q", c)
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

// expect consumes byte c, after white space.
func (s *jsonScanner) expect(c byte, what string) *scanError {
	s.ws()
	if s.peek() != c {
		return s.syntax("want %s, found %s", what, s.describe())
	}
	s.i++
	return nil
}

// kind names the JSON type of the value that starts at the next byte.
func (s *jsonScanner) kind() string {
	switch c := s.peek(); {
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == '"':
		return "string"
	case c == '-' || (c >= '0' && c <= '9'):
		return "number"
	case c == 't' || c == 'f':
		return "boolean"
	case c == 'n':
		return "null"
	}
	return s.describe()
}

// str scans the string that starts at the next byte (a '"') and returns its
// contents. Without escapes the result aliases the input; otherwise it is
// unescaped into *buf, which is reused. Invalid UTF-8 is an error (JSON
// text is UTF-8); escaped lone surrogates become U+FFFD as in encoding/json.
func (s *jsonScanner) str(buf *[]byte) ([]byte, *scanError) {
	if s.peek() != '"' {
		return nil, s.syntax("want a string, found %s", s.describe())
	}
	s.i++
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return s.b[start : s.i-1], nil
		case c == '\\':
			*buf = append((*buf)[:0], s.b[start:s.i]...)
			return s.strEscaped(buf)
		case c < 0x20:
			return nil, s.syntax("control character 0x%02x in string", c)
		case c < utf8.RuneSelf:
			s.i++
		default:
			r, n := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && n == 1 {
				return nil, s.syntax("invalid UTF-8 in string")
			}
			s.i += n
		}
	}
	return nil, s.syntax("unterminated string")
}

// strEscaped continues str from the first backslash, unescaping into *buf.
func (s *jsonScanner) strEscaped(buf *[]byte) ([]byte, *scanError) {
	b := *buf
	defer func() { *buf = b }()
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return b, nil
		case c == '\\':
			if s.i+1 >= len(s.b) {
				s.i++
				return nil, s.syntax("unterminated string")
			}
			e := s.b[s.i+1]
			s.i += 2
			switch e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, ok := s.hex4(s.i)
				if !ok {
					return nil, s.syntax("bad \\u escape in string")
				}
				s.i += 4
				if utf16.IsSurrogate(r) {
					if s.i+1 < len(s.b) && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
						if r2, ok := s.hex4(s.i + 2); ok {
							if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
								s.i += 6
								b = utf8.AppendRune(b, d)
								continue
							}
						}
					}
					r = utf8.RuneError
				}
				b = utf8.AppendRune(b, r)
			default:
				s.i--
				return nil, s.syntax("bad escape \\%c in string", e)
			}
		case c < 0x20:
			return nil, s.syntax("control character 0x%02x in string", c)
		case c < utf8.RuneSelf:
			b = append(b, c)
			s.i++
		default:
			r, n := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && n == 1 {
				return nil, s.syntax("invalid UTF-8 in string")
			}
			b = append(b, s.b[s.i:s.i+n]...)
			s.i += n
		}
	}
	return nil, s.syntax("unterminated string")
}

// hex4 decodes the four hex digits at offset i.
func (s *jsonScanner) hex4(i int) (rune, bool) {
	if i+4 > len(s.b) {
		return 0, false
	}
	var r rune
	for _, c := range s.b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number scans the number that starts at the next byte and returns its text.
func (s *jsonScanner) number() ([]byte, *scanError) {
	start := s.i
	if s.peek() == '-' {
		s.i++
	}
	switch c := s.peek(); {
	case c == '0':
		s.i++
	case c >= '1' && c <= '9':
		s.digits()
	default:
		return nil, s.syntax("malformed number")
	}
	if s.peek() == '.' {
		s.i++
		if !s.digits() {
			return nil, s.syntax("malformed number")
		}
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.i++
		if c := s.peek(); c == '+' || c == '-' {
			s.i++
		}
		if !s.digits() {
			return nil, s.syntax("malformed number")
		}
	}
	return s.b[start:s.i], nil
}

// digits consumes a run of decimal digits and reports whether there was one.
func (s *jsonScanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

func (s *jsonScanner) literal(word string) *scanError {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return s.syntax("want a value, found %s", s.describe())
	}
	s.i += len(word)
	return nil
}

// skip scans and checks one value of any type, after white space.
func (s *jsonScanner) skip(buf *[]byte) *scanError {
	s.ws()
	switch c := s.peek(); {
	case c == '"':
		_, err := s.str(buf)
		return err
	case c == '-' || (c >= '0' && c <= '9'):
		_, err := s.number()
		return err
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '[' || c == '{':
		return s.container(buf, func([]byte) *scanError { return s.skip(buf) })
	}
	return s.syntax("want a value, found %s", s.describe())
}

// container reads the array or object that starts at the next byte ('['
// or '{'), calling elem for each element once the scanner is at its value,
// with the member's key for an object (scanned into keyBuf, valid until the
// next string is) and nil for an array; elem must consume the value.
func (s *jsonScanner) container(keyBuf *[]byte, elem func(key []byte) *scanError) *scanError {
	object := s.peek() == '{'
	if err := s.open(); err != nil {
		return err
	}
	for first := true; ; first = false {
		more, err := s.next(first)
		if err != nil || !more {
			return err
		}
		var key []byte
		if object {
			if key, err = s.key(keyBuf); err != nil {
				return err
			}
		}
		if err := elem(key); err != nil {
			return err
		}
	}
}

// open consumes the '[' or '{' at the next byte and enters the container.
// Iterate over its elements or members with next:
//
//	for first := true; ; first = false {
//		more, err := s.next(first) // at '}' or ']' more is false
//		...                        // for an object: s.key, then the value
//	}
func (s *jsonScanner) open() *scanError {
	if s.depth >= maxJSONDepth {
		return s.syntax("nested deeper than %d levels", maxJSONDepth)
	}
	s.closers[s.depth] = s.b[s.i] + 2 // '[' + 2 == ']', '{' + 2 == '}'
	s.depth++
	s.i++
	return nil
}

// next moves to the next element or member of the innermost open
// container, consuming the ',' before it; at the closing bracket it leaves
// the container and reports false.
func (s *jsonScanner) next(first bool) (bool, *scanError) {
	s.ws()
	closer := s.closers[s.depth-1]
	switch c := s.peek(); {
	case c == closer:
		s.i++
		s.depth--
		return false, nil
	case first:
		return true, nil
	case c == ',':
		s.i++
		s.ws()
		return true, nil
	}
	return false, s.syntax("want ',' or '%c', found %s", closer, s.describe())
}

// key scans an object key and the ':' after it, leaving the scanner at the
// value. The key is valid until the next string is scanned into buf.
func (s *jsonScanner) key(buf *[]byte) ([]byte, *scanError) {
	if s.peek() != '"' {
		return nil, s.syntax("want a string key, found %s", s.describe())
	}
	k, err := s.str(buf)
	if err != nil {
		return nil, err
	}
	if err := s.expect(':', "':' after an object key"); err != nil {
		return nil, err
	}
	s.ws()
	return k, nil
}
