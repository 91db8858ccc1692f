package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// valid scans data as one JSON value and nothing else, and returns the
// scanner's error.
func valid(data []byte, requireUTF8 bool) error {
	s := Scanner{RequireUTF8: requireUTF8}
	s.Reset(data, true)
	s.Skip()
	s.End("the end of the input")
	return s.Err()
}

// tree reads the value at s into the types encoding/json gives an any
// with UseNumber, walking it with Open, More and Key and reading its
// leaves with Str, Number, Bool and Null.
func tree(s *Scanner) any {
	switch s.Kind() {
	case Object:
		m := map[string]any{}
		s.Open()
		for s.More() {
			k, ok := s.Key()
			key := string(k)
			if !ok {
				key = string(AppendUnquote(nil, k))
			}
			m[key] = tree(s)
		}
		return m
	case Array:
		a := []any{}
		s.Open()
		for s.More() {
			a = append(a, tree(s))
		}
		return a
	case String:
		raw, ok := s.Str()
		if ok {
			return string(raw)
		}
		return string(AppendUnquote(nil, raw))
	case Number:
		return json.Number(s.Number())
	case Bool:
		return s.Bool()
	case Null:
		s.Null()
		return nil
	}
	s.Skip() // records the error
	return nil
}

func TestValidAgreesWithEncodingJSON(t *testing.T) {
	for _, in := range []string{
		`0`, `-0`, `-0.0e+0`, `1.5E-3`, `123`, `"x"`, `""`, `true`, `false`, `null`, `[]`, `{}`, ` [ 1 , 2 ] `,
		`{"a":[{"b":null}],"c":"\u00e9\ud83d\ude00\/\b\f\n\r\t\"\\"}`, "\"\x7f\"", "\"\xff\"", `"\ud800"`,
		``, ` `, `01`, `-`, `1.`, `.5`, `1e`, `1e+`, `+1`, `tru`, `truex`, `nul`, `[1,]`, `[,1]`, `{"a"}`, `{"a":}`, `{,}`,
		`{"a":1,}`, `{"a" 1}`, `{1:2}`, `["a\x"]`, `["\u12"]`, `["\u12g4"]`, "[\"a\tb\"]", "\"a\x00\"", `"abc`, `[1 2]`,
		"[1]\x00", `[1]]`, `{"a":1}}`, `[}`, `{]`, "\xef\xbb\xbf1",
	} {
		want := json.Valid([]byte(in))
		err := valid([]byte(in), false)
		assert.Equal(t, want, err == nil, "%q: %v", in, err)
	}
}

func TestErrors(t *testing.T) {
	for _, c := range []struct {
		in, msg string
		off     int
	}{
		{``, "unexpected EOF: want a value", 0},
		{`  x`, "want a value, found 'x'", 2},
		{"\x00", "want a value, found byte 0x00", 0},
		{`[1 2]`, "want ',' or ']', found '2'", 3},
		{`{"a":1 "b"}`, "want ',' or '}', found '\"'", 7},
		{`{"a":1,}`, "want a string key, found '}'", 7},
		{`{"a" 1}`, "want ':' after an object key, found '1'", 5},
		{`[1,]`, "want a value, found ']'", 3},
		{`[1`, "unexpected EOF: want ',' or ']'", 2},
		{`[`, "unexpected EOF: want a value or ']'", 1},
		{` { `, "unexpected EOF: want a string key or '}'", 3},
		{`{"a":1`, "unexpected EOF: want ',' or '}'", 6},
		{`"abc`, `unexpected EOF: want the '"' that ends the string`, 4},
		{`"a\`, `unexpected EOF: want the '"' that ends the string`, 2},
		{`"a\u12`, `unexpected EOF: want the '"' that ends the string`, 2},
		{`"a\x"`, `bad escape \x in string`, 2},
		{"\"a\\\x01\"", `bad escape in string: \ then byte 0x01`, 2},
		{`"a\u12g4"`, `bad \u escape in string`, 2},
		{"\"a\tb\"", "control character 0x09 in string", 2},
		{`-x`, "want a digit, found 'x'", 1},
		{`1.x`, "want a digit after the decimal point, found 'x'", 2},
		{`1e+`, "unexpected EOF: want a digit in the exponent", 3},
		{`trux`, "want true, found 'x'", 3},
		{`nul`, "unexpected EOF: want null", 3},
		{`1 2`, "want the end of the input, found '2'", 2},
		{strings.Repeat("[", MaxDepth+1), fmt.Sprintf("nested deeper than %d levels", MaxDepth), MaxDepth},
	} {
		err := valid([]byte(c.in), false)
		var se *SyntaxError
		if assert.True(t, errors.As(err, &se), "%q: %v", c.in, err) {
			assert.Equal(t, c.msg, se.Msg, "%q", c.in)
			assert.Equal(t, c.off, se.Offset, "%q", c.in)
			assert.Equal(t, c.msg, se.Error(), "%q", c.in)
			assert.Equal(t, strings.HasPrefix(c.msg, "unexpected EOF: "), errors.Is(err, io.ErrUnexpectedEOF), "%q wraps io.ErrUnexpectedEOF", c.in)
		}
	}
}

func TestMaxDepth(t *testing.T) {
	for _, n := range []int{MaxDepth - 1, MaxDepth, MaxDepth + 1} {
		for _, open := range []string{"[", `{"k":`} {
			close := "]"
			if open != "[" {
				close = "}"
			}
			in := []byte(strings.Repeat(open, n) + "0" + strings.Repeat(close, n))
			err := valid(in, false)
			assert.Equal(t, json.Valid(in), err == nil, "%d %s: %v", n, open, err)
			if n > MaxDepth {
				assert.ErrorContains(t, err, fmt.Sprintf("nested deeper than %d levels", MaxDepth))
			}
		}
	}
}

func TestRequireUTF8(t *testing.T) {
	for _, in := range []string{"\"a\xffb\"", "\"\xed\xa0\x80\"", "[\"\xc3\"]"} {
		assert.NoError(t, valid([]byte(in), false), "%q", in)
		err := valid([]byte(in), true)
		assert.ErrorContains(t, err, "invalid UTF-8 in string", "%q", in)
	}
	assert.NoError(t, valid([]byte(`"caf\u00e9 café 😀"`), true))
	// A rune cut by the end of the data leaves the string unterminated.
	assert.ErrorContains(t, valid([]byte("\"\xc3"), true), "unexpected EOF: want the '\"' that ends the string")
}

func TestStrViewsAndUnquotes(t *testing.T) {
	for _, c := range []struct {
		in       string
		verbatim bool
	}{
		{`"plain"`, true},
		{`"café"`, true},
		{`""`, true},
		{`"a\"b"`, false},
		{`"\ud83d\ude00 \ud800 \udc00\ud800\u0041 \ud800\ud800"`, false},
		{"\"a\xffb\xed\xa0\x80\"", false},
	} {
		var s Scanner
		data := []byte(c.in)
		s.Reset(data, true)
		raw, verbatim := s.Str()
		require.NoError(t, s.Err(), c.in)
		assert.Equal(t, c.verbatim, verbatim, c.in)
		assert.Equal(t, c.in[1:len(c.in)-1], string(raw), "%s: raw contents", c.in)
		if len(raw) > 0 {
			assert.Same(t, &data[1], &raw[0], "%s: a view of the data", c.in)
		}
		var want string
		require.NoError(t, json.Unmarshal(data, &want))
		assert.Equal(t, want, string(AppendUnquote(nil, raw)), c.in)
	}
}

func TestTreeMatchesEncodingJSON(t *testing.T) {
	in := []byte(`{"a":[1,-2.5e3,true,false,null,"s\u00e9",{}],"b":{"c":[[]],"d":"x"},"a":0,"k\u0065y":"v"}`)
	var s Scanner
	s.Reset(in, true)
	got := tree(&s)
	require.True(t, s.End("the end"), s.Err())
	dec := json.NewDecoder(bytes.NewReader(in))
	dec.UseNumber()
	var want any
	require.NoError(t, dec.Decode(&want))
	assert.Equal(t, want, got)
}

// TestStreaming scans every prefix of a document as data that more may
// follow: each is ErrNeedMore, and the whole is read.
func TestStreaming(t *testing.T) {
	doc := []byte(`{"a" : [1, -2.5e3, true, false, null, "s\u00e9\"x"], "b": {"c": 12}} `)
	var s Scanner
	for k := range len(doc) - 1 {
		s.Reset(doc[:k], false)
		s.Skip()
		assert.Equal(t, ErrNeedMore, s.Err(), "prefix %q", doc[:k])
	}
	s.Reset(doc, false)
	s.Skip()
	require.NoError(t, s.Err())
	assert.Equal(t, len(doc)-1, s.Pos())
	assert.False(t, s.End("the end"), "more may follow")
	assert.Equal(t, ErrNeedMore, s.Err())

	s.Reset([]byte("12"), false)
	s.Number()
	assert.Equal(t, ErrNeedMore, s.Err(), "a number at the end may go on")
	s.Reset([]byte("12"), true)
	assert.Equal(t, "12", string(s.Number()))
}

func TestErrorsAreSticky(t *testing.T) {
	var s Scanner
	s.Reset([]byte(`[1 2, 3] [4]`), true)
	s.Open()
	assert.True(t, s.More())
	s.Number()
	assert.False(t, s.More())
	err := s.Err()
	require.Error(t, err)
	pos := s.Pos()
	s.Skip()
	s.Open()
	assert.False(t, s.More())
	assert.Equal(t, Invalid, s.Kind())
	assert.Equal(t, err, s.Err(), "the first error stays")
	assert.Equal(t, pos, s.Pos(), "nothing more is read")
	assert.False(t, s.End("the end"))
}

func TestInObjectAndDepth(t *testing.T) {
	var s Scanner
	s.Reset([]byte(`{"a":[{}]}`), true)
	s.Open()
	assert.True(t, s.InObject())
	require.True(t, s.More())
	s.Key()
	s.Open()
	assert.False(t, s.InObject())
	assert.Equal(t, 2, s.Depth())
	require.True(t, s.More())
	s.Skip()
	assert.False(t, s.More())
	assert.True(t, s.InObject())
	assert.False(t, s.More())
	assert.Equal(t, 0, s.Depth())
	assert.True(t, s.End("the end"))
	assert.PanicsWithValue(t, "jsonscan: More outside any container", func() { s.More() })
}

func TestKindNames(t *testing.T) {
	assert.Equal(t, "object array string number boolean null invalid",
		fmt.Sprint(Object, Array, String, Number, Bool, Null, Invalid))
	for in, k := range map[string]Kind{`{`: Object, ` [`: Array, `"`: String, `-`: Number, `7`: Number, `t`: Bool, `f`: Bool, `n`: Null, `x`: Invalid, ``: Invalid} {
		var s Scanner
		s.Reset([]byte(in), true)
		assert.Equal(t, k, s.Kind(), in)
	}
}

func TestScanningDoesNotAllocate(t *testing.T) {
	doc := []byte(`{"a":[1,-2.5e3,true,false,null,"s\u00e9"],"b":{"c":"x"},"d":"` + strings.Repeat("y", 100) + `"}`)
	var s Scanner
	var buf []byte
	run := func() {
		s.Reset(doc, true)
		s.Open()
		for s.More() {
			k, _ := s.Key()
			buf = AppendUnquote(buf[:0], k)
			s.Skip()
		}
		if !s.End("the end") {
			t.Fatal(s.Err())
		}
	}
	run()
	assert.Zero(t, testing.AllocsPerRun(100, run))

	// A streaming caller meets ErrNeedMore at every refill, and its code
	// goes on calling the scanner until it sees the error: that must not
	// cost an error value per call.
	part := doc[:len(doc)/2]
	stopped := func() {
		s.Reset(part, false)
		s.Skip()
		s.Key()
		s.Str()
		s.Number()
		s.Bool()
		s.Null()
		s.Open()
		s.More()
		s.Skip()
		s.Unexpected("a value")
		s.End("the end")
		if s.Err() != ErrNeedMore {
			t.Fatal(s.Err())
		}
	}
	assert.Zero(t, testing.AllocsPerRun(100, stopped))
}

// FuzzScanner checks the Scanner against encoding/json: it accepts exactly
// what json.Valid accepts (and, with RequireUTF8, only UTF-8); walking a
// valid value gives what json.Unmarshal gives, strings included; the
// nesting limit is encoding/json's; and scanning a prefix of the input as
// data that more may follow gives ErrNeedMore or what the whole input
// gives at the same offset.
func FuzzScanner(f *testing.F) {
	for _, s := range []string{
		`{"a":[1,-2.5e3,true,false,null,"s\u00e9"],"b":{"c":[[]]},"a":0}`, `"\ud83d\ude00\ud800\u0041\"\\\/\b\f\n\r\t"`,
		"\"a\xffb\"", `[1,]`, `{"a" 1}`, `01`, `1e+`, `[[[[]]]]`, `  nul`, "\"a\tb\"", ``,
	} {
		f.Add([]byte(s), uint16(len(s)/2), uint8(0))
	}
	f.Add([]byte(`[[0]]`), uint16(3), uint8(2))
	f.Add([]byte(`{"k":[]}`), uint16(3), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, split uint16, nest uint8) {
		if nest > 0 {
			// Bring the input to the nesting limit, to check that it is
			// encoding/json's: nest 1 leaves room for one more level.
			n := MaxDepth - int(nest) + 1
			deep := make([]byte, 0, 2*n+len(data))
			deep = append(append(append(deep, bytes.Repeat([]byte("["), n)...), data...), bytes.Repeat([]byte("]"), n)...)
			if got, want := valid(deep, false), json.Valid(deep); (got == nil) != want {
				t.Fatalf("nested %d deep: json.Valid %v, Scanner %v", n, want, got)
			}
			return
		}

		err := valid(data, false)
		if want := json.Valid(data); (err == nil) != want {
			t.Fatalf("json.Valid %v, Scanner %v", want, err)
		}
		var se *SyntaxError
		if err != nil && (!errors.As(err, &se) || se.Offset < 0 || se.Offset > len(data) || se.Msg == "") {
			t.Fatalf("bad error %#v", err)
		}
		strict := valid(data, true)
		if want := err == nil && utf8.Valid(data); (strict == nil) != want {
			t.Fatalf("RequireUTF8: want valid %v, Scanner %v", want, strict)
		}

		if err == nil {
			var s Scanner
			s.Reset(data, true)
			got := tree(&s)
			if !s.End("the end") {
				t.Fatalf("walk: %v", s.Err())
			}
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.UseNumber()
			var want any
			if err := dec.Decode(&want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("walk gives %#v, encoding/json %#v", got, want)
			}
		}

		// Streaming: the prefix as data that more may follow.
		k := int(split) % (len(data) + 1)
		var full, part Scanner
		full.Reset(data, true)
		full.Skip()
		part.Reset(data[:k], false)
		part.Skip()
		switch perr := part.Err(); {
		case perr == ErrNeedMore:
		case perr != nil:
			var pse, fse *SyntaxError
			if !errors.As(perr, &pse) || !errors.As(full.Err(), &fse) || *pse != *fse {
				t.Fatalf("prefix %d: %v; whole: %v", k, perr, full.Err())
			}
		case full.Err() != nil || full.Pos() != part.Pos():
			t.Fatalf("prefix %d read to %d; whole: %v at %d", k, part.Pos(), full.Err(), full.Pos())
		}
	})
}
