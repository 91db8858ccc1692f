package sagemaker

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func write(t *testing.T, dir, name, s string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(s), 0o644))
	return p
}

func TestReadOurs(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "ours.csv", "entity,ip,dot_product,entity_seen,label\n\"a,b\",10.0.0.1,1.5,true,0\nbob,10.0.0.2,-2.25e-1,false,1\n")
	s, err := ReadOurs(p)
	require.NoError(t, err)
	assert.Equal(t, []float64{1.5, -0.225}, s.Dots)
	assert.Equal(t, []bool{true, false}, s.Seen)
	assert.Equal(t, []string{"a,b,10.0.0.1", "bob,10.0.0.2"}, s.Rows)

	for body, want := range map[string]string{
		"alice,10.0.0.1,1.5\n":                  "ours.csv:1: no header naming a dot_product column",
		"entity,ip,dot_product\na,10.0.0.1,x\n": `ours.csv:2: dot_product "x" is not a number`,
		"dot_product,entity_seen\n1,yes\n":      `ours.csv:2: entity_seen "yes" is not true or false`,
		"entity,ip,dot_product\na,10.0.0.1\n":   "ours.csv:2: no dot_product column (2 fields)",
		"entity,ip,dot_product\n":               "ours.csv: no data rows",
		"":                                      "ours.csv: empty file",
		"dot_product\n1\n\"2\n":                 "ours.csv: parse error on line 3",
	} {
		_, err := ReadOurs(write(t, dir, "ours.csv", body))
		assert.ErrorContains(t, err, want, "%q", body)
	}
}

func TestReadSageMakerScores(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		// A batch transform with Accept application/jsonlines.
		"jsonlines.out": "{\"dot_product\": 1.5}\n{\"dot_product\": -0.25}\n{\"dot_product\": 3.0}\n",
		// Accept application/json: one envelope per mini-batch.
		"json.out": "{\"predictions\":[{\"dot_product\":1.5},{\"dot_product\":-0.25}]}\n{\"predictions\":[{\"dot_product\":3.0}]}\n",
		// An endpoint response saved pretty-printed, verbose.
		"response.json": "{\n  \"predictions\": [\n    {\"dot_product\": 1.5, \"entity_embedding\": [1, 2], \"ip_embedding\": [0.5, 0.5]},\n" +
			"    {\"dot_product\": -0.25, \"entity_embedding\": [1, 2], \"ip_embedding\": [0.5, 0.5]},\n    {\"dot_product\": 3}\n  ]\n}\n",
		// Our text/csv responses, and our sagemaker transform output.
		"scores.csv":    "1.5\n-0.25\n3\n",
		"transform.csv": "entity,ip,dot_product\na,10.0.0.1,1.5\nb,10.0.0.2,-0.25\nc,10.0.0.3,3\n",
	} {
		s, err := ReadSageMakerScores(write(t, dir, name, body))
		require.NoError(t, err, name)
		assert.Equal(t, []float64{1.5, -0.25, 3}, s.Dots, name)
		assert.Nil(t, s.Seen, name)
	}
	a := write(t, dir, "part-0.csv.out", "{\"dot_product\": 1}\n")
	b := write(t, dir, "part-1.csv.out", "{\"dot_product\": 2}\n{\"dot_product\": 3}\n")
	s, err := ReadSageMakerScores(a, b)
	require.NoError(t, err)
	assert.Equal(t, []float64{1, 2, 3}, s.Dots)

	_, err = ReadSageMakerScores(write(t, dir, "bad.out", "{\"dot_product\": 1}\n{\"dot_product\": \"x\"}\n"))
	assert.ErrorContains(t, err, "bad.out: application/jsonlines: line 2")
	_, err = ReadSageMakerScores(write(t, dir, "cut.json", "{\"predictions\": [{\"dot_product\": 1},"))
	assert.ErrorContains(t, err, "cut.json: application/json: offset")
	_, err = ReadSageMakerScores(write(t, dir, "empty.out", "\n\n"))
	assert.ErrorContains(t, err, "empty.out: empty file")
	_, err = ReadSageMakerScores(filepath.Join(dir, "missing.out"))
	assert.Error(t, err)
}

func TestReadLabels(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		body   string
		header bool
	}{
		{"alice,10.0.0.1,0\nbob,10.0.0.2,1\n", false},
		{"entity,ip,label\nalice,10.0.0.1,0\nbob, 10.0.0.2, 1\n", true},
		{"alice,10.0.0.1,0,home\nbob,10.0.0.2,1,attack\n", false},
	} {
		l, err := ReadLabels(RowsFile{Path: write(t, dir, "l.csv", c.body), Header: c.header})
		require.NoError(t, err, c.body)
		assert.Equal(t, []bool{false, true}, l.Anomalous)
		assert.Equal(t, []string{"alice,10.0.0.1", "bob,10.0.0.2"}, l.Rows)
	}
	_, err := ReadLabels(RowsFile{Path: write(t, dir, "l.csv", "alice,10.0.0.1,0\nbob,10.0.0.2,2\n")})
	assert.ErrorContains(t, err, `l.csv:2: label "2": want 0 (normal) or 1 (anomaly)`)
	_, err = ReadLabels(RowsFile{Path: write(t, dir, "l.csv", "alice,10.0.0.1\n")})
	assert.ErrorContains(t, err, "l.csv:1: wrong number of fields")
}

// A header is never guessed: it is skipped when RowsFile.Header says so,
// in gzip files too and whatever the line ends, by the transform's reader
// and ReadLabels alike; a header not declared is an error naming line 1, and
// a declared header that is a row is one too.
func TestRowsFileHeader(t *testing.T) {
	dir := t.TempDir()
	gz := func(s string) string {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(s))
		require.NoError(t, zw.Close())
		return b.String()
	}
	const rows = "alice,10.0.0.1,0,home\nbob,10.0.0.2,1,attack\n"
	read := func(f RowsFile) ([]string, error) {
		r, err := f.open()
		require.NoError(t, err)
		defer r.Close()
		var got []string
		for r.Next() {
			got = append(got, string(r.Entity())+","+r.Addr().String())
		}
		return got, r.Err()
	}
	for name, body := range map[string]string{
		"header":       "entity,ip,label,kind\n" + rows,
		"header, gzip": gz("entity,ip,label,kind\n" + rows),
		"header, CRLF": strings.ReplaceAll("entity,ip,label,kind\n"+rows, "\n", "\r\n"),
		"header, BOM":  "\ufeffentity,ip,Label,kind\n" + rows,
		"no label":     "user,address,x,y\n" + rows,
	} {
		f := RowsFile{Path: write(t, dir, "l.csv", body), Header: true}
		l, err := ReadLabels(f)
		require.NoError(t, err, name)
		assert.Equal(t, []bool{false, true}, l.Anomalous, name)
		got, err := read(f)
		require.NoError(t, err, name)
		assert.Equal(t, l.Rows, got, name)

		f.Header = false
		_, err = read(f)
		assert.ErrorContains(t, err, "l.csv:1: unparsable IP address", name)
		_, err = ReadLabels(f)
		assert.ErrorContains(t, err, "l.csv:1: unparsable IP address", name)
	}
	f := RowsFile{Path: write(t, dir, "l.csv", rows), Header: true}
	_, err := read(f)
	assert.ErrorContains(t, err, "l.csv:1: header line is a data row")
	_, err = ReadLabels(f)
	assert.ErrorContains(t, err, "l.csv:1: header line is a data row")
}

func TestCompareFiles(t *testing.T) {
	dir := t.TempDir()
	ours := write(t, dir, "ours.csv", "entity,ip,dot_product,entity_seen\na,10.0.0.1,2,true\nb,10.0.0.2,-1,true\nc,10.0.0.3,1,false\nd,10.0.0.4,-2,true\n")
	sm := write(t, dir, "sm.out", "{\"dot_product\": 1.9}\n{\"dot_product\": -0.5}\n{\"dot_product\": 0.7}\n{\"dot_product\": -1.5}\n")
	lab := write(t, dir, "lab.csv", "a,10.0.0.1,0\nb,10.0.0.2,1\nc,10.0.0.3,0\nd,10.0.0.4,1\n")
	p, err := CompareFiles(ours, []string{sm}, RowsFile{Path: lab}, CompareOptions{TopK: 2})
	require.NoError(t, err)
	assert.Equal(t, 1.0, p.Spearman)
	assert.Equal(t, 2, p.TopKShared)
	assert.Equal(t, 1.0, p.Ours.AUC)
	assert.Equal(t, 1.0, p.SageMaker.Precision)
	require.NotNil(t, p.SeenOnly)
	assert.Equal(t, 3, p.SeenOnly.N)

	other := write(t, dir, "other.csv", "a,10.0.0.1,0\nb,10.0.0.9,1\nc,10.0.0.3,0\nd,10.0.0.4,1\n")
	_, err = CompareFiles(ours, []string{sm}, RowsFile{Path: other}, CompareOptions{})
	assert.ErrorContains(t, err, "row 2 differs: "+ours+" has b,10.0.0.2, "+other+" has b,10.0.0.9")
	short := write(t, dir, "short.out", "{\"dot_product\": 1.9}\n")
	_, err = CompareFiles(ours, []string{short}, RowsFile{}, CompareOptions{})
	assert.ErrorContains(t, err, "has 4 scores, "+short+" 1")
}
