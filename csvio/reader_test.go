package csvio

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/ipinsights/ipinsights-go/internal/maybegzip"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type row struct {
	entity, addr string
	line         int
	extra        []string
}

func readAll(t *testing.T, r *Reader) []row {
	t.Helper()
	var out []row
	for r.Next() {
		rw := row{entity: string(r.Entity()), addr: r.Addr().String(), line: r.Line()}
		for _, f := range r.Fields()[2:] {
			rw.extra = append(rw.extra, string(f))
		}
		out = append(out, rw)
	}
	return out
}

func TestReaderTolerantForms(t *testing.T) {
	in := "\xef\xbb\xbfalice, 10.0.0.1\r\n" + // BOM, space after comma, CRLF
		"bob ,2001:DB8::1\n" + // space before comma, IPv6 upper case
		"\n" + // blank line
		"\"carol, the admin\",::ffff:1.2.3.4\n" + // quoted with comma, IPv4-mapped
		"\"d\"\"q\"\"\", fe80::1%eth0\n" + // escaped quotes, zone
		"eve,8.8.8.8" // no final newline
	r := NewReader(strings.NewReader(in), Options{Name: "in.csv"})
	got := readAll(t, r)
	require.NoError(t, r.Err())
	assert.Equal(t, []row{
		{entity: "alice", addr: "10.0.0.1", line: 1},
		{entity: "bob", addr: "2001:db8::1", line: 2},
		{entity: "carol, the admin", addr: "1.2.3.4", line: 4},
		{entity: `d"q"`, addr: "fe80::1", line: 5},
		{entity: "eve", addr: "8.8.8.8", line: 6},
	}, got)
	assert.Equal(t, 5, r.Rows())
	assert.Equal(t, 1, r.BlankLines())
}

func TestReaderErrorsNameFileLineAndReason(t *testing.T) {
	cases := []struct {
		in     string
		line   int
		reason Reason
		text   string
	}{
		{"a,1.2.3.4\nb\n", 2, FieldCount, "in.csv:2: wrong number of fields: got 1, want 2"},
		{"a,1.2.3.4\nb,1.2.3.4,x\n", 2, FieldCount, "got 3, want 2"},
		{"a,1.2.3.4\n , 1.2.3.4\n", 2, EmptyEntity, "in.csv:2: empty entity"},
		{"a,1.2.3.4\nb,1.2.3\n", 2, BadAddress, `in.csv:2: unparsable IP address: "1.2.3"`},
		{"a,1.2.3.4\nb,AWS Internal\n", 2, BadAddress, `"AWS Internal"`},
		{"a,1.2.3.4\nb,\n", 2, BadAddress, `""`},
		{"\"a,1.2.3.4\n", 1, BadQuote, "unterminated quoted field"},
		{"\"a\"x,1.2.3.4\n", 1, BadQuote, "text after closing quote"},
		{"entity,ip\na,1.2.3.4\n", 1, BadAddress, `"ip"`},
	}
	for _, c := range cases {
		r := NewReader(strings.NewReader(c.in), Options{Name: "in.csv"})
		readAll(t, r)
		var pe *ParseError
		require.True(t, errors.As(r.Err(), &pe), "%q: %v", c.in, r.Err())
		assert.Equal(t, "in.csv", pe.File)
		assert.Equal(t, c.line, pe.Line, c.in)
		assert.Equal(t, c.reason, pe.Reason, c.in)
		assert.Contains(t, pe.Error(), c.text)
	}
}

func TestReaderHeaderOption(t *testing.T) {
	r := NewReader(strings.NewReader("entity,ip,\"finding id\"\na,1.2.3.4,x\n"), Options{Header: true, MaxFields: 3})
	got := readAll(t, r)
	require.NoError(t, r.Err())
	assert.Equal(t, []row{{entity: "a", addr: "1.2.3.4", line: 2, extra: []string{"x"}}}, got)
	assert.Equal(t, []string{"entity", "ip", "finding id"}, r.Header())
}

// A header is skipped whatever the line ends and byte order mark; a
// first line that is data is an error rather than a dropped row.
func TestReaderHeaderForms(t *testing.T) {
	want := []row{{entity: "a", addr: "1.2.3.4", line: 2}, {entity: "b", addr: "5.6.7.8", line: 3}}
	for name, in := range map[string]string{
		"LF":               "entity,ip\na,1.2.3.4\nb,5.6.7.8\n",
		"no final LF":      "entity,ip\na,1.2.3.4\nb,5.6.7.8",
		"CRLF":             "entity,ip\r\na,1.2.3.4\r\nb,5.6.7.8\r\n",
		"CRLF, no final":   "entity,ip\r\na,1.2.3.4\r\nb,5.6.7.8",
		"BOM":              "\ufeffentity,ip\na,1.2.3.4\nb,5.6.7.8\n",
		"BOM, CRLF":        "\ufeffentity,ip\r\na,1.2.3.4\r\nb,5.6.7.8",
		"quoted header":    "\"entity\",\"ip\"\na,1.2.3.4\nb,5.6.7.8\n",
		"blank line after": "entity,ip\n\na,1.2.3.4\n\nb,5.6.7.8\n",
	} {
		for _, lenient := range []bool{false, true} {
			r := NewReader(strings.NewReader(in), Options{Header: true, Lenient: lenient, SameFields: true})
			got := readAll(t, r)
			require.NoError(t, r.Err(), name)
			if name == "blank line after" {
				assert.Equal(t, []row{{entity: "a", addr: "1.2.3.4", line: 3}, {entity: "b", addr: "5.6.7.8", line: 5}}, got, name)
			} else {
				assert.Equal(t, want, got, name)
			}
			assert.Equal(t, []string{"entity", "ip"}, r.Header(), name)
			assert.Zero(t, r.Skipped().Total(), name)
		}
	}

	// The first line is a row: an error, in lenient mode too.
	for _, lenient := range []bool{false, true} {
		r := NewReader(strings.NewReader("\ufeffa,1.2.3.4\r\nb,5.6.7.8\r\n"), Options{Name: "f.csv", Header: true, Lenient: lenient})
		assert.Empty(t, readAll(t, r))
		var pe *ParseError
		require.ErrorAs(t, r.Err(), &pe)
		assert.Equal(t, DataHeader, pe.Reason)
		assert.EqualError(t, r.Err(), `f.csv:1: header line is a data row: its second field "1.2.3.4" is an IP address: does the input have a header?`)
	}

	// A blank first line is taken as the header; the hint says so.
	r := NewReader(strings.NewReader("\nentity,ip\na,1.2.3.4\n"), Options{Name: "f.csv", Header: true})
	readAll(t, r)
	assert.ErrorContains(t, r.Err(), `f.csv:2: unparsable IP address: "ip" (a header row after a blank first line`)

	// Old Mac line ends (CR alone): an error, not one long header line.
	for _, opts := range []Options{{Header: true}, {}} {
		r := NewReader(strings.NewReader("entity,ip\ra,1.2.3.4\rb,5.6.7.8\r"), opts)
		assert.Empty(t, readAll(t, r))
		var pe *ParseError
		require.ErrorAs(t, r.Err(), &pe)
		assert.Equal(t, BareCR, pe.Reason)
		assert.Equal(t, 1, pe.Line)
	}
	// A CR inside quotes is data.
	r = NewReader(strings.NewReader("\"a\rb\",1.2.3.4\n"), Options{})
	got := readAll(t, r)
	require.NoError(t, r.Err())
	assert.Equal(t, "a\rb", got[0].entity)
	r = NewReader(strings.NewReader("\"a\",1.2.3.4\rb,1.2.3.5\n"), Options{Lenient: true})
	assert.Empty(t, readAll(t, r))
	assert.Equal(t, 1, r.Skipped().ByReason[BareCR].Count)
}

// SameFields holds every row to the width of the header, or of the first
// row without one.
func TestReaderSameFields(t *testing.T) {
	r := NewReader(strings.NewReader("entity,ip,x\na,1.2.3.4,1\nb,1.2.3.5\nc,1.2.3.6,1,2\nd,1.2.3.7,4\n"),
		Options{Name: "f.csv", Header: true, SameFields: true, MaxFields: -1, Lenient: true})
	got := readAll(t, r)
	require.NoError(t, r.Err())
	require.Len(t, got, 2)
	assert.Equal(t, "d", got[1].entity)
	assert.Equal(t, []int{3, 4}, r.Skipped().ByReason[FieldCount].Lines)

	r = NewReader(strings.NewReader("bad,x,1\na,1.2.3.4\nb,1.2.3.5,1\n"), Options{Name: "f.csv", SameFields: true, MaxFields: -1, Lenient: true})
	got = readAll(t, r)
	require.Len(t, got, 1, "the width comes from the first well-formed row, line 2")
	r = NewReader(strings.NewReader("a,1.2.3.4\nb,1.2.3.5,1\n"), Options{Name: "f.csv", SameFields: true, MaxFields: -1})
	readAll(t, r)
	assert.EqualError(t, r.Err(), "f.csv:2: wrong number of fields: got 3, want 2 as in line 1")
	r = NewReader(strings.NewReader("e,ip,x\nb,1.2.3.5\n"), Options{Name: "f.csv", Header: true, SameFields: true, MaxFields: -1})
	readAll(t, r)
	assert.EqualError(t, r.Err(), "f.csv:2: wrong number of fields: got 2, want 3 as in the header")
	// Without SameFields, widths may differ.
	r = NewReader(strings.NewReader("a,1.2.3.4\nb,1.2.3.5,1\n"), Options{MaxFields: -1})
	assert.Len(t, readAll(t, r), 2)
}

// Reject counts a row the caller found bad in lenient mode and stops the
// reader otherwise.
func TestReaderReject(t *testing.T) {
	in := "a,1.2.3.4,0\nb,1.2.3.5,x\nc,1.2.3.6,1\n"
	r := NewReader(strings.NewReader(in), Options{Name: "l.csv", MinFields: 3, MaxFields: 3, Lenient: true})
	var kept []string
	for r.Next() {
		if string(r.Fields()[2]) == "x" {
			require.NoError(t, r.Reject(BadLabel, `"x"`))
			continue
		}
		kept = append(kept, string(r.Entity()))
	}
	require.NoError(t, r.Err())
	assert.Equal(t, []string{"a", "c"}, kept)
	assert.Equal(t, `l.csv: skipped 1 row: 1 label not 0 or 1 (line 2)`, r.Skipped().String())

	r = NewReader(strings.NewReader(in), Options{Name: "l.csv", MinFields: 3, MaxFields: 3})
	for r.Next() {
		if string(r.Fields()[2]) == "x" {
			err := r.Reject(BadLabel, `"x"`)
			assert.EqualError(t, err, `l.csv:2: label not 0 or 1: "x"`)
			assert.Equal(t, err, r.Err())
		}
	}
	assert.False(t, r.Next(), "stopped")
	assert.Error(t, r.Err())
}

func TestReaderExtraFields(t *testing.T) {
	r := NewReader(strings.NewReader("a,1.2.3.4,f-1,HIGH\nb,::1\n"), Options{MaxFields: -1})
	got := readAll(t, r)
	require.NoError(t, r.Err())
	assert.Equal(t, []string{"f-1", "HIGH"}, got[0].extra)
	assert.Nil(t, got[1].extra)
	r = NewReader(strings.NewReader("a,1.2.3.4,1\n"), Options{MinFields: 3, MaxFields: 3})
	readAll(t, r)
	require.NoError(t, r.Err())
	r = NewReader(strings.NewReader("a,1.2.3.4\n"), Options{MinFields: 3, MaxFields: -1})
	readAll(t, r)
	assert.ErrorContains(t, r.Err(), "got 2, want at least 3")
}

func TestReaderLenientCountsSkips(t *testing.T) {
	var b strings.Builder
	b.WriteString("ok,1.1.1.1\n")
	for i := 0; i < 8; i++ {
		b.WriteString("bad,not-an-ip\n")
	}
	b.WriteString(",1.1.1.1\nx\nok,2.2.2.2\n")
	r := NewReader(strings.NewReader(b.String()), Options{Name: "f.csv", Lenient: true})
	got := readAll(t, r)
	require.NoError(t, r.Err())
	require.Len(t, got, 2)
	s := r.Skipped()
	assert.Equal(t, 10, s.Total())
	assert.Equal(t, 8, s.ByReason[BadAddress].Count)
	assert.Equal(t, []int{2, 3, 4, 5, 6}, s.ByReason[BadAddress].Lines, "first five line numbers")
	assert.Equal(t, []int{10}, s.ByReason[EmptyEntity].Lines)
	assert.Equal(t, []int{11}, s.ByReason[FieldCount].Lines)
	assert.Equal(t, "f.csv: skipped 10 rows: 1 wrong number of fields (line 11); 1 empty entity (line 10); 8 unparsable IP address (lines 2, 3, 4, 5, 6, ...)", s.String())

	r = NewReader(strings.NewReader("ok,1.1.1.1\nbad,not-an-ip\n"), Options{Name: "g.csv", Lenient: true})
	readAll(t, r)
	assert.Equal(t, "g.csv: skipped 1 row: 1 unparsable IP address (line 2)", r.Skipped().String(), "one row, not one rows")
}

func TestReaderLongLine(t *testing.T) {
	long := strings.Repeat("x", 200<<10)
	in := "a,1.1.1.1\n" + long + ",1.1.1.1\nb,2.2.2.2\n"
	r := NewReader(strings.NewReader(in), Options{MaxLineBytes: 100 << 10, Lenient: true})
	got := readAll(t, r)
	require.NoError(t, r.Err())
	assert.Equal(t, []string{"a", "b"}, []string{got[0].entity, got[1].entity})
	assert.Equal(t, 3, got[1].line, "line numbers keep counting past a long line")
	assert.Equal(t, []int{2}, r.Skipped().ByReason[LineTooLong].Lines)

	r = NewReader(strings.NewReader(in), Options{MaxLineBytes: 100 << 10})
	readAll(t, r)
	assert.ErrorContains(t, r.Err(), "line 2: line too long")

	// A line longer than the read buffer but within the limit is fine.
	mid := strings.Repeat("y", 100<<10)
	r = NewReader(strings.NewReader(mid+",1.1.1.1\n"), Options{})
	got = readAll(t, r)
	require.NoError(t, r.Err())
	assert.Equal(t, mid, got[0].entity)
}

func TestOpenPlainAndGzip(t *testing.T) {
	r, err := Open("testdata/two.csv", Options{})
	require.NoError(t, err)
	plain := readAll(t, r)
	require.NoError(t, r.Err())
	require.NoError(t, r.Close())
	require.Len(t, plain, 2)

	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte("alice,10.0.0.1\nbob, 192.168.1.20\nbad\n"))
	zw.Close()
	// The name says .csv, the content is gzip: detected by content.
	path := filepath.Join(t.TempDir(), "data.csv")
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	r, err = Open(path, Options{})
	require.NoError(t, err)
	got := readAll(t, r)
	assert.Equal(t, plain, got)
	assert.ErrorContains(t, r.Err(), path+":3: wrong number of fields")
	require.NoError(t, r.Close())

	_, err = Open(filepath.Join(t.TempDir(), "missing.csv"), Options{})
	assert.ErrorIs(t, err, os.ErrNotExist)

	// A corrupt gzip header is an error naming the file.
	require.NoError(t, os.WriteFile(path, []byte{0x1f, 0x8b, 0, 0}, 0o644))
	_, err = Open(path, Options{})
	assert.ErrorContains(t, err, path)
}

// A gzip file cut short, or a failing read, stops the reader with an error
// naming the file and the line being read, after the rows before it.
func TestReaderReadErrorsNameFileAndLine(t *testing.T) {
	var data strings.Builder
	for i := 0; i < 5000; i++ {
		data.WriteString("user,10.0.0.1\n")
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(data.String()))
	zw.Close()
	path := filepath.Join(t.TempDir(), "cut.csv.gz")
	require.NoError(t, os.WriteFile(path, buf.Bytes()[:buf.Len()-8], 0o644)) // no trailer
	r, err := Open(path, Options{})
	require.NoError(t, err)
	got := readAll(t, r)
	require.Error(t, r.Err())
	assert.ErrorIs(t, r.Err(), maybegzip.ErrTruncated)
	assert.ErrorIs(t, r.Err(), io.ErrUnexpectedEOF)
	// All 5000 lines decompress; the missing trailer is found after them.
	assert.Len(t, got, 5000)
	assert.Equal(t, path+":5001: gzip data is truncated: unexpected EOF", r.Err().Error())
	r.Close()

	require.NoError(t, os.WriteFile(path, buf.Bytes()[:buf.Len()/2], 0o644))
	r, err = Open(path, Options{})
	require.NoError(t, err)
	got = readAll(t, r)
	assert.Less(t, len(got), 5000)
	assert.EqualError(t, r.Err(), fmt.Sprintf("%s:%d: gzip data is truncated: unexpected EOF", path, len(got)+1))
	r.Close()

	// Through NewReaderMaybeGzip (standard input) and a plain reader.
	r, err = NewReaderMaybeGzip(bytes.NewReader(buf.Bytes()[:buf.Len()/2]), Options{Name: "<stdin>"})
	require.NoError(t, err)
	readAll(t, r)
	assert.ErrorContains(t, r.Err(), "<stdin>:")
	assert.ErrorIs(t, r.Err(), maybegzip.ErrTruncated)

	boom := errors.New("disk on fire")
	r = NewReader(io.MultiReader(strings.NewReader("a,10.0.0.1\nb,10.0"), iotest.ErrReader(boom)), Options{Name: "f.csv"})
	got = readAll(t, r)
	assert.Len(t, got, 1)
	assert.ErrorIs(t, r.Err(), boom)
	assert.EqualError(t, r.Err(), "f.csv:2: disk on fire")
	r = NewReader(iotest.ErrReader(boom), Options{})
	readAll(t, r)
	assert.EqualError(t, r.Err(), "line 1: disk on fire", "unnamed reader")
}

func TestParseAddrDoesNotAllocate(t *testing.T) {
	b := []byte("192.168.10.20")
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := ParseAddr(b); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}

func TestReaderSteadyStateDoesNotAllocate(t *testing.T) {
	line := "user-1234, 10.20.30.40\n"
	in := strings.Repeat(line, 5000)
	r := NewReader(strings.NewReader(in), Options{})
	r.Next()
	allocs := testing.AllocsPerRun(1000, func() {
		if !r.Next() {
			t.Fatal("ran out")
		}
	})
	assert.Zero(t, allocs)
}

func TestParseLabel(t *testing.T) {
	a, err := ParseLabel([]byte("1"))
	require.NoError(t, err)
	assert.True(t, a)
	a, err = ParseLabel([]byte("0"))
	require.NoError(t, err)
	assert.False(t, a)
	for _, bad := range []string{"", "2", "true", " 1", "1.0"} {
		_, err := ParseLabel([]byte(bad))
		assert.ErrorContains(t, err, "want 0 (normal) or 1 (anomaly)", "%q", bad)
	}
}
