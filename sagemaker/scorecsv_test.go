package sagemaker

import (
	"bytes"
	"math"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// What ScoreWriter writes, ScoreReader reads back the same: entities that
// need quoting, both address families, float32 and float64 scores, the
// extra columns and their names.
func TestScoreCSVRoundTrip(t *testing.T) {
	rows := []ScoredRow{
		{Entity: []byte("alice"), Addr: netip.MustParseAddr("10.0.0.1"), DotProduct: float64(float32(0.1)), EntitySeen: true, Extra: [][]byte{[]byte("x"), []byte("")}},
		{Entity: []byte(`a,"b"`), Addr: netip.MustParseAddr("2001:db8::1"), DotProduct: float64(float32(-3.4028235e38)), Extra: [][]byte{[]byte("a,b"), []byte(" padded ")}},
		{Entity: []byte(" spaced\t"), Addr: netip.MustParseAddr("255.255.255.255"), DotProduct: float64(float32(1e-45)), EntitySeen: true, Extra: [][]byte{[]byte("\ufeffbom"), []byte(`"`)}},
		{Entity: []byte("\ufeffbom"), Addr: netip.MustParseAddr("::"), DotProduct: 0, Extra: [][]byte{[]byte("cr\rinside"), []byte("z")}},
	}
	for _, bits := range []int{32, 64} {
		for _, seen := range []bool{true, false} {
			var b bytes.Buffer
			sw := NewScoreWriter(&b, ScoreWriterOptions{EntitySeen: seen, Extra: []string{"finding id", ""}, BitSize: bits})
			for _, r := range rows {
				require.NoError(t, sw.Write(r))
			}
			require.NoError(t, sw.Flush())
			head, _, _ := strings.Cut(b.String(), "\n")
			if seen {
				assert.Equal(t, "entity,ip,dot_product,entity_seen,finding id,col4", head)
			} else {
				assert.Equal(t, "entity,ip,dot_product,finding id,col4", head)
			}

			sr, err := NewScoreReader(&b, "scores.csv")
			require.NoError(t, err)
			assert.True(t, sr.HasRows())
			assert.Equal(t, seen, sr.HasEntitySeen())
			assert.Equal(t, []string{"finding id", "col4"}, sr.Extra())
			i := 0
			for sr.Next() {
				got, want := sr.Row(), rows[i]
				assert.Equal(t, string(want.Entity), string(got.Entity), "bits %d row %d", bits, i)
				assert.Equal(t, want.Addr, got.Addr)
				// Each score reads back as the same float32, and, written
				// with 64 bits, as the same float64.
				assert.Equal(t, float32(want.DotProduct), float32(got.DotProduct), "row %d", i)
				if bits == 64 {
					assert.Equal(t, want.DotProduct, got.DotProduct, "row %d", i)
				}
				assert.Equal(t, seen && want.EntitySeen, got.EntitySeen)
				require.Len(t, got.Extra, 2)
				for k := range want.Extra {
					assert.Equal(t, string(want.Extra[k]), string(got.Extra[k]), "row %d extra %d", i, k)
				}
				assert.Equal(t, i+2, sr.Line())
				i++
			}
			require.NoError(t, sr.Err())
			assert.Equal(t, len(rows), i)
		}
	}
}

// The percentile and alert columns follow entity_seen, before the extra
// columns, and read back; a reader of a file without them reports so.
func TestScoreCSVPercentileAndAlert(t *testing.T) {
	rows := []ScoredRow{
		{Entity: []byte("alice"), Addr: netip.MustParseAddr("10.0.0.1"), DotProduct: 2.5, EntitySeen: true, Percentile: float64(float32(0.375)), Alert: false, Extra: [][]byte{[]byte("x")}},
		{Entity: []byte("bob"), Addr: netip.MustParseAddr("203.0.113.9"), DotProduct: -6, EntitySeen: true, Percentile: float64(float32(1.5e-7)), Alert: true, Extra: [][]byte{[]byte("y")}},
	}
	for _, c := range []struct {
		pct, alert bool
		head, line string
	}{
		{true, true, "entity,ip,dot_product,entity_seen,percentile,alert,kind", "bob,203.0.113.9,-6,true,1.5e-07,true,y"},
		{false, true, "entity,ip,dot_product,entity_seen,alert,kind", "bob,203.0.113.9,-6,true,true,y"},
		{true, false, "entity,ip,dot_product,entity_seen,percentile,kind", "bob,203.0.113.9,-6,true,1.5e-07,y"},
	} {
		var b bytes.Buffer
		sw := NewScoreWriter(&b, ScoreWriterOptions{EntitySeen: true, Percentile: c.pct, Alert: c.alert, Extra: []string{"kind"}, BitSize: 32})
		for _, r := range rows {
			require.NoError(t, sw.Write(r))
		}
		require.NoError(t, sw.Flush())
		lines := strings.Split(strings.TrimSpace(b.String()), "\n")
		assert.Equal(t, c.head, lines[0])
		assert.Equal(t, c.line, lines[2])

		sr, err := NewScoreReader(&b, "scores.csv")
		require.NoError(t, err)
		assert.Equal(t, c.pct, sr.HasPercentile())
		assert.Equal(t, c.alert, sr.HasAlert())
		assert.Equal(t, []string{"kind"}, sr.Extra())
		for i := 0; sr.Next(); i++ {
			got := sr.Row()
			assert.Equal(t, c.alert && rows[i].Alert, got.Alert, "row %d", i)
			if c.pct { // the same float32
				assert.Equal(t, float32(rows[i].Percentile), float32(got.Percentile), "row %d", i)
			}
			assert.Equal(t, string(rows[i].Extra[0]), string(got.Extra[0]))
		}
		require.NoError(t, sr.Err())
	}
	for in, want := range map[string]string{
		"dot_product,alert\n1,maybe\n":    `scores.csv:2: alert "maybe" is not true or false`,
		"dot_product,percentile\n1,low\n": `scores.csv:2: percentile "low" is not a number`,
		"dot_product,percentile\n1\n":     "scores.csv:2: no percentile column (1 fields)",
		"dot_product,percentile\n,0.5\n":  `scores.csv:2: dot_product "" is not a number`,
	} {
		sr, err := NewScoreReader(strings.NewReader(in), "scores.csv")
		require.NoError(t, err)
		assert.False(t, sr.Next())
		assert.EqualError(t, sr.Err(), want)
	}
}

// Computed columns (an explanation's) come after alert and before the
// extra columns, quoted when they need it, and read back as extra
// columns; their number is checked per row.
func TestScoreCSVComputedColumns(t *testing.T) {
	var b bytes.Buffer
	sw := NewScoreWriter(&b, ScoreWriterOptions{EntitySeen: true, Alert: true, Columns: []string{"entity_pairs", "as_org"}, Extra: []string{"", "kind"}, BitSize: 32})
	row := ScoredRow{Entity: []byte("bob"), Addr: netip.MustParseAddr("203.0.113.9"), DotProduct: -6, EntitySeen: true, Alert: true,
		Columns: [][]byte{[]byte("12"), []byte("Example, Inc.")}, Extra: [][]byte{[]byte("x"), []byte("y")}}
	require.NoError(t, sw.Write(row))
	require.NoError(t, sw.Flush())
	assert.Equal(t, "entity,ip,dot_product,entity_seen,alert,entity_pairs,as_org,col3,kind\n"+
		"bob,203.0.113.9,-6,true,true,12,\"Example, Inc.\",x,y\n", b.String())

	sr, err := NewScoreReader(&b, "scores.csv")
	require.NoError(t, err)
	assert.Equal(t, []string{"entity_pairs", "as_org", "col3", "kind"}, sr.Extra())
	require.True(t, sr.Next())
	assert.Equal(t, "Example, Inc.", string(sr.Row().Extra[1]))

	// Lines formatted apart are those Write writes.
	var lines []byte
	lines, err = sw.AppendRow(lines, row)
	require.NoError(t, err)
	var b2 bytes.Buffer
	sw2 := NewScoreWriter(&b2, ScoreWriterOptions{EntitySeen: true, Alert: true, Columns: []string{"entity_pairs", "as_org"}, Extra: []string{"", "kind"}, BitSize: 32})
	require.NoError(t, sw2.WriteLines(lines))
	require.NoError(t, sw2.Flush())
	assert.Equal(t, "entity,ip,dot_product,entity_seen,alert,entity_pairs,as_org,col3,kind\n"+
		"bob,203.0.113.9,-6,true,true,12,\"Example, Inc.\",x,y\n", b2.String())

	row.Columns = row.Columns[:1]
	assert.EqualError(t, sw.Write(row), "sagemaker: scored row with 1 computed columns, want 2")
	_, err = sw.AppendRow(nil, row)
	assert.EqualError(t, err, "sagemaker: scored row with 1 computed columns, want 2")
	assert.Equal(t, "col3", ExtraName(0, ""))
	assert.Equal(t, "kind", ExtraName(1, "kind"))
}

// float32 scores are written in the shortest digits of the float32, as
// score always wrote them; float64 scores in those of the float64.
func TestScoreWriterDigits(t *testing.T) {
	for bits, want := range map[int]string{32: "0.1", 64: "0.10000000149011612", 0: "0.10000000149011612"} {
		var b bytes.Buffer
		sw := NewScoreWriter(&b, ScoreWriterOptions{BitSize: bits})
		require.NoError(t, sw.Write(ScoredRow{Entity: []byte("a"), Addr: netip.MustParseAddr("1.2.3.4"), DotProduct: float64(float32(0.1))}))
		require.NoError(t, sw.Flush())
		assert.Equal(t, "entity,ip,dot_product\na,1.2.3.4,"+want+"\n", b.String(), "bits %d", bits)
	}
	// No rows: the header alone.
	var b bytes.Buffer
	sw := NewScoreWriter(&b, ScoreWriterOptions{EntitySeen: true, Extra: []string{"kind"}})
	require.NoError(t, sw.Flush())
	assert.Equal(t, "entity,ip,dot_product,entity_seen,kind\n", b.String())
	// A row of another width is refused.
	assert.ErrorContains(t, sw.Write(ScoredRow{Entity: []byte("a"), Addr: netip.MustParseAddr("1.2.3.4")}), "0 extra columns, want 1")
}

// The reader takes the columns in any order and case, after a byte order
// mark, and a first column of row numbers as pandas writes it.
func TestScoreReaderTolerates(t *testing.T) {
	in := "\ufeff,Dot_Product,IP,Entity\n0,1.5,10.0.0.1,alice\n1,-2,10.0.0.2,bob\n"
	sr, err := NewScoreReader(strings.NewReader(in), "pandas.csv")
	require.NoError(t, err)
	assert.True(t, sr.HasRows())
	assert.False(t, sr.HasEntitySeen())
	assert.Equal(t, []string{""}, sr.Extra())
	var got []string
	for sr.Next() {
		r := sr.Row()
		got = append(got, string(r.Entity)+" "+r.Addr.String()+" "+string(r.Extra[0]))
		assert.False(t, math.IsNaN(r.DotProduct))
	}
	require.NoError(t, sr.Err())
	assert.Equal(t, []string{"alice 10.0.0.1 0", "bob 10.0.0.2 1"}, got)

	// An ip column without an entity names no row: it is an extra column.
	sr, err = NewScoreReader(strings.NewReader("ip,dot_product\n10.0.0.1,1\n"), "x.csv")
	require.NoError(t, err)
	assert.False(t, sr.HasRows())
	assert.Equal(t, []string{"ip"}, sr.Extra())

	_, err = NewScoreReader(strings.NewReader("entity,ip,score\n"), "x.csv")
	assert.ErrorIs(t, err, errNoScoreHeader)
	assert.ErrorContains(t, err, "x.csv:1: no header naming a dot_product column")
	sr, err = NewScoreReader(strings.NewReader("entity,ip,dot_product\na,10.0.0.300,1\n"), "x.csv")
	require.NoError(t, err)
	assert.False(t, sr.Next())
	assert.ErrorContains(t, sr.Err(), `x.csv:2: ip "10.0.0.300" is not an IP address`)
}

// WriteScores writes the rows of an input file with their scores; the
// input's header names the extra columns; ReadOurs reads the result.
func TestWriteScoresFromRowsFile(t *testing.T) {
	dir := t.TempDir()
	in := RowsFile{Path: write(t, dir, "in.csv", "user,addr,label,kind\n\"a,b\",10.0.0.1,0,home\nbob, 10.0.0.2 ,1,attack\n"), Header: true}
	var b bytes.Buffer
	require.NoError(t, WriteScores(&b, in, []float64{float64(float32(0.25)), -1}, []bool{true, false}, 32))
	assert.Equal(t, "entity,ip,dot_product,entity_seen,label,kind\n\"a,b\",10.0.0.1,0.25,true,0,home\nbob,10.0.0.2,-1,false,1,attack\n", b.String())

	out := write(t, dir, "out.csv", b.String())
	s, err := ReadOurs(out)
	require.NoError(t, err)
	assert.Equal(t, []float64{0.25, -1}, s.Dots)
	assert.Equal(t, []bool{true, false}, s.Seen)
	assert.Equal(t, []string{"a,b,10.0.0.1", "bob,10.0.0.2"}, s.Rows)

	in.Header = false
	in.Path = write(t, dir, "in.csv", "a,10.0.0.1,x\nb,10.0.0.2,y\n")
	b.Reset()
	require.NoError(t, WriteScores(&b, in, []float64{1, 2}, nil, 64))
	assert.Equal(t, "entity,ip,dot_product,col3\na,10.0.0.1,1,x\nb,10.0.0.2,2,y\n", b.String())
	assert.ErrorContains(t, WriteScores(&b, in, []float64{1}, nil, 64), "in.csv: more rows than scores (1)")
	assert.ErrorContains(t, WriteScores(&b, in, []float64{1, 2, 3}, nil, 64), "in.csv: 2 rows for 3 scores")
	// A header and no rows: the header alone, its names kept.
	b.Reset()
	require.NoError(t, WriteScores(&b, RowsFile{Path: write(t, dir, "in.csv", "user,addr,label\n"), Header: true}, nil, nil, 64))
	assert.Equal(t, "entity,ip,dot_product,label\n", b.String())
	_, err = ReadOurs(filepath.Join(dir, "missing.csv"))
	assert.Error(t, err)
}
