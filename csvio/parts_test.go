package csvio

import (
	"compress/gzip"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/rng"
)

// readParts reads every part in file order and returns the rows, their
// lines numbered from the start of the file as Parts renumbers them.
func readParts(t *testing.T, p *Parts) []row {
	t.Helper()
	var out []row
	base := 0
	for k := range p.Len() {
		r := p.Reader(k)
		for _, rw := range readAll(t, r) {
			rw.line += base
			out = append(out, rw)
		}
		base += r.Line()
		if r.Err() != nil {
			break // as a loader does: the parts after a failed one do not count
		}
	}
	return out
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.csv")
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	return path
}

// randomInput returns lines of rows, some malformed, with blank lines,
// CRLF ends, quoted fields and a missing final newline.
func randomInput(r *rng.RNG, lines int) string {
	var b strings.Builder
	if r.IntN(4) == 0 {
		b.WriteString("\xef\xbb\xbf")
	}
	for i := range lines {
		switch r.IntN(20) {
		case 0:
			b.WriteString("")
		case 1:
			b.WriteString("bad,not-an-ip")
		case 2:
			b.WriteString(",10.0.0.1")
		case 3:
			b.WriteString("a,b,c")
		case 4:
			b.WriteString(`"quoted, entity",2001:db8::1`)
		case 5:
			b.WriteString(strings.Repeat("x", 70) + ",10.1.1.1") // too long for MaxLineBytes 64
		default:
			fmt.Fprintf(&b, "user%d, 10.%d.%d.%d", r.IntN(50), r.IntN(256), r.IntN(256), i%256)
		}
		if i == lines-1 && r.IntN(2) == 0 {
			break
		}
		if r.IntN(5) == 0 {
			b.WriteString("\r")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestPartsMatchOneReader reads random inputs whole and in 2 to 40
// parts: the rows, their file lines, the first error and the skip report
// must be those of a single Reader, strict and lenient.
func TestPartsMatchOneReader(t *testing.T) {
	r := rng.New(1, 2)
	for trial := range 60 {
		in := randomInput(r, 1+r.IntN(80))
		path := writeFile(t, in)
		for _, lenient := range []bool{false, true} {
			opts := Options{Name: "in.csv", Lenient: lenient, MaxLineBytes: 64}
			one := NewReader(strings.NewReader(in), opts)
			want := readAll(t, one)
			for _, n := range []int{2, 3, 7, 40} {
				p, err := OpenParts(path, n, opts)
				require.NoError(t, err)
				require.Equal(t, n, p.Len())
				got := readParts(t, p)
				msg := fmt.Sprintf("trial %d, lenient %v, %d parts, input %q", trial, lenient, n, in)
				if lenient {
					require.Equal(t, want, got, msg)
					require.NoError(t, p.Err(), msg)
					assert.Equal(t, one.Skipped().String(), p.Skipped().String(), msg)
					assert.Equal(t, one.Skipped().Total(), p.Skipped().Total(), msg)
					assert.Equal(t, one.Rows(), p.Rows(), msg)
				} else {
					require.Equal(t, want, got[:min(len(got), len(want))], msg)
					if one.Err() == nil {
						require.NoError(t, p.Err(), msg)
						require.Equal(t, want, got, msg)
					} else {
						require.Error(t, p.Err(), msg)
						assert.Equal(t, one.Err().Error(), p.Err().Error(), msg)
						var a, b *ParseError
						require.True(t, errors.As(one.Err(), &a))
						require.True(t, errors.As(p.Err(), &b))
						assert.Equal(t, *a, *b, msg)
					}
				}
				require.NoError(t, p.Close())
			}
		}
	}
}

// TestPartsDeepError puts one bad row deep in a file of many parts: the
// error names the file and the exact line, and in lenient mode the row is
// counted and every other row kept.
func TestPartsDeepError(t *testing.T) {
	const lines, bad = 20000, 17389
	var b strings.Builder
	for i := 1; i <= lines; i++ {
		if i == bad {
			b.WriteString("mallory,300.1.2.3\n")
			continue
		}
		fmt.Fprintf(&b, "user%d,192.0.2.%d\n", i%97, i%256)
	}
	path := writeFile(t, b.String())
	for _, n := range []int{1, 2, 5, 16} {
		p, err := OpenParts(path, n, Options{Name: "big.csv"})
		require.NoError(t, err)
		got := readParts(t, p)
		assert.Len(t, got, bad-1, "%d parts: the rows before the bad one", n)
		assert.EqualError(t, p.Err(), `big.csv:17389: unparsable IP address: "300.1.2.3"`, "%d parts", n)
		require.NoError(t, p.Close())

		p, err = OpenParts(path, n, Options{Name: "big.csv", Lenient: true})
		require.NoError(t, err)
		got = readParts(t, p)
		assert.Len(t, got, lines-1, "%d parts", n)
		assert.Equal(t, "big.csv: skipped 1 row: 1 unparsable IP address (line 17389)", p.Skipped().String())
		assert.Equal(t, bad+1, got[bad-1].line, "the row after the bad one keeps its line")
		require.NoError(t, p.Close())
	}
}

// TestPartsHeader: only the first part reads the header; a later part's
// first line is an ordinary row.
func TestPartsHeader(t *testing.T) {
	in := "entity,ip\n" + strings.Repeat("alice,10.0.0.1\n", 50)
	path := writeFile(t, in)
	p, err := OpenParts(path, 4, Options{Header: true})
	require.NoError(t, err)
	defer p.Close()
	got := readParts(t, p)
	require.NoError(t, p.Err())
	assert.Len(t, got, 50)
	assert.Equal(t, 2, got[0].line)
	assert.Equal(t, []string{"entity", "ip"}, p.Reader(0).Header())
}

// TestPartsWholeFile: gzip data, SameFields and a pipe are read by one
// part.
func TestPartsWholeFile(t *testing.T) {
	dir := t.TempDir()
	gz := filepath.Join(dir, "in.csv.gz")
	f, err := os.Create(gz)
	require.NoError(t, err)
	zw := gzip.NewWriter(f)
	_, err = zw.Write([]byte(strings.Repeat("alice,10.0.0.1\n", 100)))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	require.NoError(t, f.Close())
	p, err := OpenParts(gz, 4, Options{})
	require.NoError(t, err)
	assert.Equal(t, 1, p.Len(), "gzip data is one stream")
	assert.Len(t, readParts(t, p), 100)
	require.NoError(t, p.Close())

	plain := writeFile(t, strings.Repeat("alice,10.0.0.1\n", 100))
	p, err = OpenParts(plain, 4, Options{SameFields: true})
	require.NoError(t, err)
	assert.Equal(t, 1, p.Len(), "SameFields learns the width from the first row")
	require.NoError(t, p.Close())

	_, err = OpenParts(filepath.Join(dir, "missing.csv"), 4, Options{})
	assert.ErrorIs(t, err, os.ErrNotExist)
}
