package awslogs

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ipinsights/ipinsights-go/internal/maybegzip"
)

// errTracker remembers the first error of the reader it wraps other than
// io.EOF, so that a decoding error can be told apart from a read error
// (a corrupt gzip stream, a dropped S3 connection).
type errTracker struct {
	r   io.Reader
	err error
}

func (t *errTracker) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF && t.err == nil {
		t.err = err
	}
	return n, err
}

// The layouts of a JSON input.
const (
	modeStart     = iota
	modeContainer // {"Records": [ ... ]} or {"Findings": [ ... ]}: the array is streamed
	modeArray     // [ ... ]: the array is streamed
	modeLines     // a sequence of top-level values: JSON lines, or one object
	modeDone
)

// stream walks the values of a JSON input one at a time: the elements of
// the container key's array when the input is an object whose first key
// is the container key (matched without regard to case), the elements of
// a top-level array, or else the top-level values themselves (JSON
// lines). It decodes one value at a time with a json.Decoder, so inputs
// of any size are read in constant memory.
type stream struct {
	name      string
	container string
	src       errTracker
	br        *bufio.Reader
	dec       *json.Decoder
	base      int64 // bytes dropped before the decoder started
	mode      int
	n         int // values decoded
	err       error
}

func newStream(r io.Reader, name, container string) *stream {
	s := &stream{name: name, container: container}
	s.src.r = r
	return s
}

var bom = []byte{0xef, 0xbb, 0xbf}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// start decompresses the input if needed, skips a byte order mark and
// white space, and chooses the mode from the first bytes.
func (s *stream) start() {
	r, err := maybegzip.NewReader(&s.src)
	if err != nil {
		s.fail(err, 0)
		return
	}
	s.br = bufio.NewReaderSize(r, 64<<10)
	if b, _ := s.br.Peek(3); bytes.Equal(b, bom) {
		s.br.Discard(3)
		s.base += 3
	}
	for {
		b, err := s.br.Peek(1)
		if err == io.EOF {
			s.fail(errors.New("empty input"), 0)
			return
		}
		if err != nil {
			s.fail(err, 0)
			return
		}
		if !isSpace(b[0]) {
			break
		}
		s.br.Discard(1)
		s.base++
	}
	s.dec = json.NewDecoder(s.br)
	first, _ := s.br.Peek(1)
	switch {
	case first[0] == '[':
		s.mode = modeArray
		s.dec.Token()
	case first[0] == '{' && strings.EqualFold(s.firstKey(), s.container):
		s.dec.Token() // {
		s.dec.Token() // the key
		tok, err := s.dec.Token()
		if err != nil {
			s.fail(err, 0)
			return
		}
		if d, ok := tok.(json.Delim); !ok || d != '[' {
			s.fail(fmt.Errorf("%q is not an array", s.container), 0)
			return
		}
		s.mode = modeContainer
	default:
		s.mode = modeLines
	}
}

// firstKey returns the first key of the object at the start of the
// buffer, or "" when it is not within the first 4 KiB or has escapes.
func (s *stream) firstKey() string {
	buf, _ := s.br.Peek(4096)
	i := 1
	for i < len(buf) && isSpace(buf[i]) {
		i++
	}
	if i >= len(buf) || buf[i] != '"' {
		return ""
	}
	j := bytes.IndexByte(buf[i+1:], '"')
	if j < 0 {
		return ""
	}
	key := buf[i+1 : i+1+j]
	if bytes.IndexByte(key, '\\') >= 0 {
		return ""
	}
	return string(key)
}

// next decodes the next value into v. It returns false at the end of the
// input or when the input cannot be read on (see err). When it returns
// true with an error, the value was read but does not fit v (a wrong
// type somewhere); the stream can go on.
func (s *stream) next(v any) (bool, error) {
	if s.mode == modeStart {
		s.start()
	}
	if s.err != nil || s.mode == modeDone {
		return false, nil
	}
	if !s.dec.More() {
		s.finish()
		return false, nil
	}
	s.n++
	err := s.dec.Decode(v)
	if err == nil {
		return true, nil
	}
	if s.fatal(err) {
		s.fail(err, s.n)
		return false, nil
	}
	return true, err
}

// fatal reports whether a Decode error leaves the stream unusable: a read
// error, a syntax error or a truncated value.
func (s *stream) fatal(err error) bool {
	var se *json.SyntaxError
	return s.src.err != nil || errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// finish reads the closing tokens after the last value and checks that
// nothing follows them.
func (s *stream) finish() {
	at := s.n + 1
	if s.mode == modeArray || s.mode == modeContainer {
		if _, err := s.dec.Token(); err != nil { // ]
			s.fail(err, at)
			return
		}
	}
	if s.mode == modeContainer {
		for s.dec.More() {
			if _, err := s.dec.Token(); err != nil { // a key after the array
				s.fail(err, at)
				return
			}
			var skip json.RawMessage
			if err := s.dec.Decode(&skip); err != nil {
				s.fail(err, at)
				return
			}
		}
		if _, err := s.dec.Token(); err != nil { // }
			s.fail(err, at)
			return
		}
	}
	switch tok, err := s.dec.Token(); {
	case err == io.EOF:
		s.mode = modeDone
	case err != nil:
		s.fail(err, at)
	default:
		s.fail(fmt.Errorf("unexpected %v after the end of the data", tok), at)
	}
}

func (s *stream) fail(err error, record int) {
	if s.src.err != nil && !errors.Is(err, s.src.err) {
		err = s.src.err
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	off := s.base
	if s.dec != nil {
		off += s.dec.InputOffset()
	}
	s.err = &FileError{File: s.name, Record: record, Offset: off, Err: err}
	s.mode = modeDone
}
