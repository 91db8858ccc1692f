package jsonscan

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of objects and arrays a Scanner accepts,
// that of encoding/json.
const MaxDepth = 10000

// ErrNeedMore is the error of a Scanner whose data ran out before the end
// of what it was reading, when Reset was told that more input may follow.
var ErrNeedMore = errors.New("jsonscan: need more input")

// SyntaxError is an error in JSON text. One found at the end of the input
// (input cut short) wraps io.ErrUnexpectedEOF.
type SyntaxError struct {
	Offset int    // the offset in the scanned data at which the error was found
	Msg    string // what is wrong, as "want ',' or ']', found 'x'" or "unexpected EOF: want a value"
	eof    bool
}

// Error returns e.Msg.
func (e *SyntaxError) Error() string { return e.Msg }

// Unwrap returns io.ErrUnexpectedEOF for an error at the end of the
// input, and otherwise nil.
func (e *SyntaxError) Unwrap() error {
	if e.eof {
		return io.ErrUnexpectedEOF
	}
	return nil
}

// Scanner reads JSON values from a byte slice; see the package
// documentation. The zero Scanner has no data; Reset gives it some. A
// Scanner holds the kinds of the containers it is in (MaxDepth bits), so
// keep one and Reset it rather than make one per value.
type Scanner struct {
	// RequireUTF8 makes invalid UTF-8 in a string a syntax error. Without
	// it the bytes are kept, as encoding/json keeps them, and
	// AppendUnquote turns each into U+FFFD.
	RequireUTF8 bool

	data  []byte
	i     int
	final bool
	first bool // More has not yet been called in the innermost container
	depth int
	err   error
	// objects has bit d set when the container at depth d (counting
	// from 0) is an object rather than an array.
	objects [(MaxDepth + 63) / 64]uint64
}

// Reset makes s scan data from its start, outside any container. final
// says that data holds the rest of the input, so that running out of it
// is a syntax error rather than ErrNeedMore. RequireUTF8 is kept.
func (s *Scanner) Reset(data []byte, final bool) {
	s.data, s.i, s.final = data, 0, final
	s.first, s.depth, s.err = false, 0, nil
}

// Pos returns the offset in the data of the next byte to read.
func (s *Scanner) Pos() int { return s.i }

// Depth returns the number of containers s is in.
func (s *Scanner) Depth() int { return s.depth }

// Err returns the first error of s, or nil.
func (s *Scanner) Err() error { return s.err }

// fail records err at the current offset and stops s: the data is cut
// there, so that every later call finds its end, and made final, so that
// the end is not ErrNeedMore. The error makers below make nothing once s
// has stopped.
func (s *Scanner) fail(err error) {
	if s.err == nil {
		s.err = err
	}
	s.data, s.final = s.data[:s.i], true
}

func (s *Scanner) syntax(msg string) {
	if s.err == nil {
		s.fail(&SyntaxError{Offset: s.i, Msg: msg})
	}
}

// atEnd records that the data ran out in the middle of what s was reading,
// which wanted want next: ErrNeedMore, or when the data is final a syntax
// error "unexpected EOF: want <want>".
func (s *Scanner) atEnd(want string) {
	switch {
	case s.err != nil:
	case s.final:
		s.fail(&SyntaxError{Offset: s.i, Msg: "unexpected EOF: want " + want, eof: true})
	default:
		s.fail(ErrNeedMore)
	}
}

// space marks the bytes that are white space in JSON.
var space = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

// ws skips white space.
func (s *Scanner) ws() {
	for s.i < len(s.data) && space[s.data[s.i]] {
		s.i++
	}
}

// Peek skips white space and returns the next byte, or 0 at the end of the
// data (a NUL in the data is never valid there, so 0 is never a value).
func (s *Scanner) Peek() byte {
	s.ws()
	if s.i < len(s.data) {
		return s.data[s.i]
	}
	return 0
}

// Consume skips white space and, if the next byte is c, consumes it and
// reports true. It records no error; see Unexpected.
func (s *Scanner) Consume(c byte) bool {
	s.ws()
	if s.i < len(s.data) && s.data[s.i] == c {
		s.i++
		return true
	}
	return false
}

// Unexpected records that the next input (after white space) is not what
// the caller wants: a syntax error "want <want>, found <the next byte>",
// or, at the end of the data, ErrNeedMore when more may follow and
// "unexpected EOF: want <want>" when not.
func (s *Scanner) Unexpected(want string) {
	if s.err != nil {
		return
	}
	s.ws()
	if s.i >= len(s.data) {
		s.atEnd(want)
		return
	}
	s.syntax("want " + want + ", found " + describe(s.data[s.i]))
}

// describe names a byte of input for an error message.
func describe(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("%q", c)
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

// End reports whether only white space is left in the input. Before
// anything else it records Unexpected(want) and reports false; at the end
// of data that is not final it records ErrNeedMore and reports false, as
// more input may bring more than white space.
func (s *Scanner) End(want string) bool {
	s.ws()
	switch {
	case s.i < len(s.data):
		s.Unexpected(want)
		return false
	case !s.final:
		s.fail(ErrNeedMore)
		return false
	}
	return s.err == nil
}

// Kind is the type of a JSON value.
type Kind uint8

// The kinds of JSON values. Invalid is the kind of input that starts no
// value, and of the end of the data.
const (
	Invalid Kind = iota
	Object
	Array
	String
	Number
	Bool
	Null
)

var kindNames = [...]string{Invalid: "invalid", Object: "object", Array: "array", String: "string", Number: "number", Bool: "boolean", Null: "null"}

// String returns the name of the kind in JSON's terms: "object", "array",
// "string", "number", "boolean", "null" or "invalid".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// kinds maps the first byte of a value to its kind.
var kinds = [256]Kind{
	'{': Object, '[': Array, '"': String, 't': Bool, 'f': Bool, 'n': Null, '-': Number,
	'0': Number, '1': Number, '2': Number, '3': Number, '4': Number,
	'5': Number, '6': Number, '7': Number, '8': Number, '9': Number,
}

// Kind skips white space and returns the kind of the value that starts at
// the next byte, judged by that byte alone: the value may still be
// malformed.
func (s *Scanner) Kind() Kind { return kinds[s.Peek()] }

// Open skips white space and enters the object or array that starts at the
// next byte, consuming its '{' or '['. Walk its members or elements with
// More:
//
//	s.Open()
//	for s.More() {
//		key, _ := s.Key() // for an object only
//		... // read or Skip the value
//	}
//
// Another value is an error ("want an object or array, found ..."), and
// so is a container nested deeper than MaxDepth ("nested deeper than 10000
// levels").
func (s *Scanner) Open() {
	c := s.Peek()
	if c != '{' && c != '[' {
		s.Unexpected("an object or array")
		return
	}
	if s.depth >= MaxDepth {
		s.syntax("nested deeper than " + strconv.Itoa(MaxDepth) + " levels")
		return
	}
	w, bit := s.depth>>6, uint64(1)<<(s.depth&63)
	if c == '{' {
		s.objects[w] |= bit
	} else {
		s.objects[w] &^= bit
	}
	s.depth++
	s.i++
	s.first = true
}

// InObject reports whether the innermost container s is in is an object.
func (s *Scanner) InObject() bool {
	d := s.depth - 1
	return d >= 0 && s.objects[d>>6]&(1<<(d&63)) != 0
}

// More moves to the next member or element of the innermost container,
// consuming the ',' before it, and reports true; at the closing bracket
// it consumes it, leaves the container and reports false. It reports false
// after an error. Calling More outside any container panics.
func (s *Scanner) More() bool {
	if s.err != nil {
		return false
	}
	if s.depth == 0 {
		panic("jsonscan: More outside any container")
	}
	first := s.first
	s.first = false
	object := s.InObject()
	closer := byte(']')
	if object {
		closer = '}'
	}
	s.ws()
	if s.i < len(s.data) {
		switch c := s.data[s.i]; {
		case c == closer:
			s.i++
			s.depth--
			return false
		case first:
			return true // what reads the element says what is wrong with it
		case c == ',':
			s.i++
			return true
		}
	}
	switch {
	case first && object:
		s.Unexpected("a string key or '}'")
	case first:
		s.Unexpected("a value or ']'")
	case object:
		s.Unexpected("',' or '}'")
	default:
		s.Unexpected("',' or ']'")
	}
	return false
}

// Key reads an object member's key and the ':' after it, after More
// reported true in an object. It returns the key as Str does.
func (s *Scanner) Key() (raw []byte, verbatim bool) {
	if s.Peek() != '"' {
		s.Unexpected("a string key")
		return nil, false
	}
	raw, verbatim = s.str()
	if s.err == nil && !s.Consume(':') {
		s.Unexpected("':' after an object key")
	}
	return raw, verbatim
}

// Str reads a string value, after white space, and returns its contents
// as they are in the data, a view of it. verbatim reports that they are
// the string's value: they hold no escapes and no invalid UTF-8. When it
// is false, AppendUnquote(dst, raw) gives the value.
func (s *Scanner) Str() (raw []byte, verbatim bool) {
	if s.Peek() != '"' {
		s.Unexpected("a string")
		return nil, false
	}
	return s.str()
}

// strStop marks the bytes at which the string loop stops: the quote, the
// backslash, control characters and the bytes of multi-byte UTF-8.
var strStop = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	for c := 0x80; c < 0x100; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// unterminated is what a string cut by the end of the input wants.
const unterminated = `the '"' that ends the string`

// str reads the string whose quote is at s.i.
func (s *Scanner) str() ([]byte, bool) {
	d := s.data
	start := s.i + 1
	i := start
	verbatim := true
	for {
		for i < len(d) && !strStop[d[i]] {
			i++
		}
		if i >= len(d) {
			s.i = i
			s.atEnd(unterminated)
			return nil, false
		}
		switch c := d[i]; {
		case c == '"':
			s.i = i + 1
			return d[start:i], verbatim
		case c == '\\':
			verbatim = false
			n := escapeLen(d[i:])
			switch {
			case n > 0:
				i += n
			case n == 0:
				s.i = i
				s.atEnd(unterminated)
				return nil, false
			default:
				s.i = i
				switch e := d[i+1]; {
				case e == 'u':
					s.syntax(`bad \u escape in string`)
				case e >= 0x20 && e < 0x7f:
					s.syntax(`bad escape \` + string(rune(e)) + " in string")
				default:
					s.syntax(fmt.Sprintf(`bad escape in string: \ then byte 0x%02x`, e))
				}
				return nil, false
			}
		case c < 0x20:
			s.i = i
			s.syntax(fmt.Sprintf("control character 0x%02x in string", c))
			return nil, false
		default:
			r, n := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && n == 1 {
				if !utf8.FullRune(d[i:]) {
					// A rune cut by the end of the data: the string is
					// unterminated either way.
					s.i = len(d)
					s.atEnd(unterminated)
					return nil, false
				}
				if s.RequireUTF8 {
					s.i = i
					s.syntax("invalid UTF-8 in string")
					return nil, false
				}
				verbatim = false
			}
			i += n
		}
	}
}

// escapeLen returns the length of the escape sequence at the start of b (a
// backslash), 0 when b ends before it does, or -1 when it is not one.
func escapeLen(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	switch b[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2
	case 'u':
		for j := 2; j < 6; j++ {
			if j >= len(b) {
				return 0
			}
			if _, ok := unhex(b[j]); !ok {
				return -1
			}
		}
		return 6
	}
	return -1
}

func unhex(c byte) (rune, bool) {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0'), true
	case c >= 'a' && c <= 'f':
		return rune(c - 'a' + 10), true
	case c >= 'A' && c <= 'F':
		return rune(c - 'A' + 10), true
	}
	return 0, false
}

// Number reads a number value, after white space, and returns its text.
// At the end of data that is not final it records ErrNeedMore, as the
// number may go on.
func (s *Scanner) Number() []byte {
	s.ws()
	d := s.data
	start := s.i
	i := start
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		i = digits(d, i+1)
	default:
		s.i = i
		s.Unexpected("a digit")
		return nil
	}
	if i < len(d) && d[i] == '.' {
		j := digits(d, i+1)
		if j == i+1 {
			s.i = j
			s.Unexpected("a digit after the decimal point")
			return nil
		}
		i = j
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		j := digits(d, i)
		if j == i {
			s.i = j
			s.Unexpected("a digit in the exponent")
			return nil
		}
		i = j
	}
	s.i = i
	if i >= len(d) && !s.final {
		s.fail(ErrNeedMore)
		return nil
	}
	return d[start:i]
}

// digits returns the offset of the first byte of d at or after i that is
// not a decimal digit.
func digits(d []byte, i int) int {
	for i < len(d) && d[i] >= '0' && d[i] <= '9' {
		i++
	}
	return i
}

// Bool reads true or false, after white space.
func (s *Scanner) Bool() bool {
	switch s.Peek() {
	case 't':
		s.literal("true")
		return s.err == nil
	case 'f':
		s.literal("false")
	default:
		s.Unexpected("true or false")
	}
	return false
}

// Null reads null, after white space.
func (s *Scanner) Null() {
	if s.Peek() != 'n' {
		s.Unexpected("null")
		return
	}
	s.literal("null")
}

// literal reads lit, whose first byte is at s.i.
func (s *Scanner) literal(lit string) {
	d := s.data[s.i:]
	if len(d) >= len(lit) && string(d[:len(lit)]) == lit {
		s.i += len(lit)
		return
	}
	j := 1
	for j < len(d) && j < len(lit) && d[j] == lit[j] {
		j++
	}
	s.i += j
	s.Unexpected(lit)
}

// Skip reads and checks one value of any kind, after white space.
func (s *Scanner) Skip() {
	base := s.depth
	for {
		switch s.Peek() {
		case '"':
			s.str()
		case '{', '[':
			s.Open()
		case 't':
			s.literal("true")
		case 'f':
			s.literal("false")
		case 'n':
			s.literal("null")
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			s.Number()
		default:
			s.Unexpected("a value")
		}
		// Move on to the next value to read, if any: out of the
		// containers that end here, to the next element or member.
		for {
			if s.err != nil || s.depth == base {
				return
			}
			if s.More() {
				if s.InObject() {
					s.Key()
				}
				break
			}
		}
	}
}
