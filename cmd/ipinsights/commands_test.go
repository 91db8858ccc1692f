package main

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/ipinsights/ipinsights-go/synth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// smallHP keeps training in tests to a fraction of a second.
var smallHP = []string{
	"--hp", "num_entity_vectors=200", "--hp", "vector_dim=8", "--hp", "epochs=2",
	"--hp", "mini_batch_size=300", "--hp", "random_negative_sampling_rate=5",
	"--hp", "learning_rate=0.02", "--hp", "ipv4_hash_rows=4096", "--hp", "ipv6_hash_rows=1024",
}

var (
	fixtureOnce sync.Once
	fixtureDir  string
)

// fixture generates data for 60 users and trains a model once for all tests.
func fixture(t *testing.T) string {
	t.Helper()
	fixtureOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ipinsights-cli-")
		if err != nil {
			panic(err)
		}
		fixtureDir = dir
		code, _, stderr := runCLI(t, "", "gen", "logins", "--users", "60", "--asns", "20000", "--seed", "3", "--out", dir)
		if code != 0 {
			panic(stderr)
		}
		args := append([]string{"train", "--train", filepath.Join(dir, "train.csv"), "--model", filepath.Join(dir, "model.bin"), "--quiet"}, smallHP...)
		if code, _, stderr := runCLI(t, "", args...); code != 0 {
			panic(stderr)
		}
	})
	return fixtureDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtureDir != "" {
		os.RemoveAll(fixtureDir)
	}
	os.Exit(code)
}

func TestGenWritesFilesAndCeiling(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runCLI(t, "", "gen", "logins", "--users", "40", "--asns", "10000", "--out", dir)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "best possible attack-test AUC about 0.9")
	for _, f := range []string{"train.csv", "validation.csv", "test_labeled.csv"} {
		st, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err)
		assert.Greater(t, st.Size(), int64(100), f)
	}
	rows := readCSV(t, filepath.Join(dir, "test_labeled.csv"))
	for _, r := range rows {
		require.Len(t, r, 4)
		assert.Contains(t, []string{"0", "1"}, r[2])
	}
	code, _, stderr = runCLI(t, "", "gen", "cats", "--out", dir)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "want a data set name: logins")
	code, _, _ = runCLI(t, "", "gen", "logins")
	assert.Equal(t, exitUsage, code, "--out is required")
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	require.NoError(t, err)
	return rows
}

func TestTrainProgressAndErrors(t *testing.T) {
	dir := fixture(t)
	model := filepath.Join(t.TempDir(), "m.bin")
	args := append([]string{"train", "--train", filepath.Join(dir, "train.csv"), "--validation", filepath.Join(dir, "validation.csv"),
		"--model", model, "--seed", "5", "--workers", "2", "--hp", "batch_metrics_publish_interval=5"}, smallHP...)
	code, _, stderr := runCLI(t, "", args...)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "epoch=1 batch=5/")
	assert.Contains(t, stderr, "binary_classification_cross_entropy=")
	assert.Contains(t, stderr, "epoch=2 done:")
	assert.Contains(t, stderr, "validation:discriminator_auc=")
	_, err := os.Stat(model)
	require.NoError(t, err)

	// A hyperparameters.json file, overridden by --hp.
	hpFile := filepath.Join(t.TempDir(), "hp.json")
	require.NoError(t, os.WriteFile(hpFile, []byte(`{"vector_dim": "4", "epochs": "1", "num_entity_vectors": "100"}`), 0o644))
	code, _, stderr = runCLI(t, "", "train", "--train", filepath.Join(dir, "train.csv"), "--model", model, "--quiet",
		"--hyperparameters", hpFile, "--hp", "vector_dim=6", "--hp", "ipv4_hash_rows=256")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "AWS recommends num_entity_vectors of at least twice the number of entities")

	// Bad data: exit 1 with file and line.
	bad := filepath.Join(t.TempDir(), "bad.csv")
	require.NoError(t, os.WriteFile(bad, []byte("alice,10.0.0.1\nbob,10.0.0.300\n"), 0o644))
	code, _, stderr = runCLI(t, "", "train", "--train", bad, "--model", model)
	assert.Equal(t, exitData, code)
	assert.Contains(t, stderr, bad+":2: unparsable IP address")
	assert.Equal(t, 1, strings.Count(strings.TrimSpace(stderr), "\n")+1, "one line: %q", stderr)
	// Lenient mode skips it and says so.
	code, _, stderr = runCLI(t, "", "train", "--train", bad, "--model", model, "--lenient", "--quiet", "--hp", "vector_dim=4", "--hp", "ipv4_hash_rows=64", "--hp", "num_entity_vectors=10")
	assert.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "skipped 1 row: 1 unparsable IP address (line 2)")

	// Usage errors: exit 2.
	for _, a := range [][]string{
		{"train"},
		{"train", "--train", bad},
		{"train", "--train", bad, "--model", model, "--hp", "vector_dim=2"},
		{"train", "--train", bad, "--model", model, "--hp", "nonsense"},
		{"train", "--bogus"},
		{"train", "--train", bad, "--model", model, "--workers", "-1"},
		{"train", "--train", bad, "--model", model, "--hp", "workers=2"},
	} {
		code, _, stderr := runCLI(t, "", a...)
		assert.Equal(t, exitUsage, code, "%v: %s", a, stderr)
	}
	_, _, stderr = runCLI(t, "", "train", "--train", bad, "--model", model, "--workers", "-1")
	assert.Contains(t, stderr, "--workers: -1 is negative")
	_, _, stderr = runCLI(t, "", "train", "--train", bad, "--model", model, "--hp", "workers=2")
	assert.Contains(t, stderr, "workers is not a hyperparameter: use --workers")
	code, _, stderr = runCLI(t, "", "train", "--train", bad, "--model", model, "--hp", "vector_dim=2")
	assert.Contains(t, stderr, "allowed: 4 to 4096")
	code, _, stderr = runCLI(t, "", "train", "--train", filepath.Join(t.TempDir(), "missing.csv"), "--model", model)
	assert.Equal(t, exitData, code)
	assert.Contains(t, stderr, "missing.csv")
}

func TestScoreStreamsCSV(t *testing.T) {
	dir := fixture(t)
	in := "user_1,10.0.0.1,f-1,HIGH\n\"user_2\", 2001:db8::1,\"a,b\",LOW\nnobody,1.2.3.4,x,y\n"
	code, stdout, stderr := runCLI(t, in, "score", "--model", filepath.Join(dir, "model.bin"))
	require.Equal(t, exitOK, code, stderr)
	r := csv.NewReader(strings.NewReader(stdout))
	rows, err := r.ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 4)
	assert.Equal(t, []string{"entity", "ip", "dot_product", "entity_seen", "col3", "col4"}, rows[0])
	assert.Equal(t, []string{"user_1", "10.0.0.1"}, rows[1][:2])
	assert.Equal(t, []string{"f-1", "HIGH"}, rows[1][4:])
	assert.Equal(t, "a,b", rows[2][4], "extra columns pass through, quoted again")
	assert.Equal(t, "2001:db8::1", rows[2][1])
	for _, row := range rows[1:] {
		_, err := strconv.ParseFloat(row[2], 64)
		assert.NoError(t, err)
	}
	assert.Equal(t, "true", rows[1][3])
	assert.Equal(t, "false", rows[3][3], "nobody was not in training")

	// A header row names the extra columns.
	code, stdout, _ = runCLI(t, "entity,ip,finding_id\nuser_1,10.0.0.1,f-9\n", "score", "--model", filepath.Join(dir, "model.bin"), "--header")
	require.Equal(t, exitOK, code)
	assert.True(t, strings.HasPrefix(stdout, "entity,ip,dot_product,entity_seen,finding_id\nuser_1,10.0.0.1,"))

	// Many rows: more than one chunk, same order, to a file.
	var b strings.Builder
	for i := 0; i < 2*scoreChunk+17; i++ {
		b.WriteString("user_" + strconv.Itoa(i%60) + ",10.1." + strconv.Itoa(i%250) + ".7\n")
	}
	out := filepath.Join(t.TempDir(), "scores.csv")
	code, _, stderr = runCLI(t, b.String(), "score", "--model", filepath.Join(dir, "model.bin"), "--output", out)
	require.Equal(t, exitOK, code, stderr)
	got := readCSV(t, out)
	require.Len(t, got, 2*scoreChunk+18)
	assert.Equal(t, "user_"+strconv.Itoa((2*scoreChunk+16)%60), got[len(got)-1][0])

	// Bad rows: exit 1 naming the line; the corrupt model: exit 1.
	code, _, stderr = runCLI(t, "user_1,10.0.0.1\nuser_2,nonsense\n", "score", "--model", filepath.Join(dir, "model.bin"))
	assert.Equal(t, exitData, code)
	assert.Contains(t, stderr, "<stdin>:2: unparsable IP address")
	broken := filepath.Join(t.TempDir(), "broken.bin")
	data, _ := os.ReadFile(filepath.Join(dir, "model.bin"))
	require.NoError(t, os.WriteFile(broken, data[:len(data)/2], 0o644))
	code, _, stderr = runCLI(t, "", "score", "--model", broken)
	assert.Equal(t, exitData, code)
	assert.Contains(t, stderr, "truncated or corrupted")
	code, _, _ = runCLI(t, "", "score")
	assert.Equal(t, exitUsage, code)
}

func TestEvalReportJSONAndPlots(t *testing.T) {
	dir := fixture(t)
	roc, hist := filepath.Join(t.TempDir(), "roc.png"), filepath.Join(t.TempDir(), "hist.png")
	code, stdout, stderr := runCLI(t, "", "eval", "--model", filepath.Join(dir, "model.bin"), "--labeled", filepath.Join(dir, "test_labeled.csv"), "--roc", roc, "--hist", hist)
	require.Equal(t, exitOK, code, stderr)
	for _, want := range []string{"AUC ", "AUC ceiling", "precision ", "recall ", "false-positive rate", "confusion", "attack", "travel"} {
		assert.Contains(t, stdout, want)
	}
	for _, p := range []string{roc, hist} {
		f, err := os.Open(p)
		require.NoError(t, err)
		img, err := png.Decode(f)
		f.Close()
		require.NoError(t, err, p)
		assert.Equal(t, 576, img.Bounds().Dx(), p)
		assert.Equal(t, 432, img.Bounds().Dy(), p)
	}

	code, stdout, stderr = runCLI(t, "", "eval", "--model", filepath.Join(dir, "model.bin"), "--labeled", filepath.Join(dir, "test_labeled.csv"), "--json", "--threshold", "-1")
	require.Equal(t, exitOK, code, stderr)
	var rep map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	assert.Equal(t, -1.0, rep["threshold"])
	auc := rep["auc"].(float64)
	assert.Greater(t, auc, 0.6, "a model trained on 60 users still ranks attacks lower")
	rows := readCSV(t, filepath.Join(dir, "test_labeled.csv"))
	assert.Equal(t, float64(len(rows)), rep["rows"])
	tp, fn := rep["true_positives"].(float64), rep["false_negatives"].(float64)
	assert.InDelta(t, tp/(tp+fn), rep["recall"].(float64), 1e-12)

	// A header line: refused with a hint, read with --header.
	withHeader := filepath.Join(t.TempDir(), "header.csv")
	data, err := os.ReadFile(filepath.Join(dir, "test_labeled.csv"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(withHeader, append([]byte("entity,ip,label,kind\n"), data...), 0o644))
	code, _, stderr = runCLI(t, "", "eval", "--model", filepath.Join(dir, "model.bin"), "--labeled", withHeader)
	assert.Equal(t, exitData, code)
	assert.Contains(t, stderr, withHeader+":1:")
	code, stdout, stderr = runCLI(t, "", "eval", "--model", filepath.Join(dir, "model.bin"), "--labeled", withHeader, "--header", "--json", "--threshold", "-1")
	require.Equal(t, exitOK, code, stderr)
	var repH map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &repH))
	assert.Equal(t, rep["rows"], repH["rows"], "the header is not a row")
	assert.Equal(t, rep["auc"], repH["auc"])

	bad := filepath.Join(t.TempDir(), "bad.csv")
	require.NoError(t, os.WriteFile(bad, []byte("user_1,10.0.0.1,0\nuser_2,10.0.0.2,maybe\n"), 0o644))
	code, _, stderr = runCLI(t, "", "eval", "--model", filepath.Join(dir, "model.bin"), "--labeled", bad)
	assert.Equal(t, exitData, code)
	assert.Contains(t, stderr, bad+`:2: label not 0 or 1: "maybe" (want 0 for normal, 1 for anomaly)`)
	require.NoError(t, os.WriteFile(bad, []byte("user_1,10.0.0.1,0\n"), 0o644))
	code, _, stderr = runCLI(t, "", "eval", "--model", filepath.Join(dir, "model.bin"), "--labeled", bad)
	assert.Equal(t, exitData, code)
	assert.Contains(t, stderr, "both normal (0) and anomalous (1)")
}

// parity --json reports each side's evaluation under eval --json's keys:
// scoring the labeled rows and comparing the scores with themselves gives
// the numbers eval prints for the same model and rows.
func TestParityJSONUsesEvalKeys(t *testing.T) {
	dir := fixture(t)
	model, labeled := filepath.Join(dir, "model.bin"), filepath.Join(dir, "test_labeled.csv")
	code, stdout, stderr := runCLI(t, "", "eval", "--model", model, "--labeled", labeled, "--json")
	require.Equal(t, exitOK, code, stderr)
	var ev map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &ev))

	scored := filepath.Join(t.TempDir(), "scored.csv")
	code, _, stderr = runCLI(t, "", "score", "--model", model, "--input", labeled, "--output", scored)
	require.Equal(t, exitOK, code, stderr)
	code, stdout, stderr = runCLI(t, "", "parity", "--ours", scored, "--sagemaker", scored, "--labeled", labeled, "--json")
	require.Equal(t, exitOK, code, stderr)
	var par map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &par))
	for _, side := range []string{"ours", "sagemaker"} {
		got, ok := par[side].(map[string]any)
		require.True(t, ok, "%s: %v", side, par[side])
		for _, k := range []string{"rows", "anomalous", "auc", "threshold", "precision", "recall", "false_positive_rate",
			"true_positives", "false_positives", "true_negatives", "false_negatives"} {
			require.Contains(t, got, k, side)
			assert.Equal(t, ev[k], got[k], "%s: %s", side, k)
		}
		assert.Len(t, got, 11, "%s: no keys beyond eval's", side)
	}
}

func TestDemoSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: trains a 128-dimensional model")
	}
	code, stdout, stderr := runCLI(t, "", "demo", "--users", "40", "--quiet")
	require.Equal(t, exitOK, code, stderr)
	for _, want := range []string{"attack-test AUC", "best possible", "0.9513", "0.9845", "validation discriminator AUC"} {
		assert.Contains(t, stdout, want)
	}
}

func TestCommas(t *testing.T) {
	assert.Equal(t, "0", commas(0))
	assert.Equal(t, "999", commas(999))
	assert.Equal(t, "1,000", commas(1000))
	assert.Equal(t, "2,190,975", commas(2190975))
	assert.Equal(t, "-1,000", commas(-1000))
}

// The per-kind summary counts labels row by row, and the ceiling uses the
// normal rows of kind "travel" only, whatever the order of the rows.
func TestEvalReportKindsWithMixedLabels(t *testing.T) {
	lab := &labeled{
		dots:      []float64{1, -1, 2, -2, 3, -3},
		anomalous: []bool{false, true, false, true, false, false},
		kinds:     []string{"travel", "travel", "home", "attack", "home", "travel"},
	}
	ev, err := ipinsights.Evaluate(lab.dots, lab.anomalous, 0)
	require.NoError(t, err)
	rep := newEvalReport(ev, lab)
	share, median := map[string]float64{}, map[string]float64{}
	for _, k := range rep.ByKind {
		share[k.Kind] = k.AnomalousShare
		median[k.Kind] = float64(k.Median)
	}
	assert.Equal(t, map[string]float64{"attack": 1, "home": 0, "travel": 1.0 / 3}, share)
	// home has two rows (2 and 3): the median is their mean.
	assert.Equal(t, map[string]float64{"attack": -2, "home": 2.5, "travel": -1}, median)
	require.NotNil(t, rep.Ceiling)
	// 2 of the 4 normal rows are travel.
	assert.InDelta(t, synth.CeilingFor(0.5), *rep.Ceiling, 1e-12)
	assert.InDelta(t, 0.75, *rep.Ceiling, 1e-12)
}

// gzipCut writes the gzip compression of the file at src, cut to half its
// length, to a temporary file.
func gzipCut(t *testing.T, src string) string {
	t.Helper()
	data, err := os.ReadFile(src)
	require.NoError(t, err)
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data)
	require.NoError(t, zw.Close())
	path := filepath.Join(t.TempDir(), "cut-"+filepath.Base(src)+".gz")
	require.NoError(t, os.WriteFile(path, b.Bytes()[:b.Len()/2], 0o644))
	return path
}

// Every command that reads data files names the file, and the line where
// it knows it, when a gzip file is cut short; none says only
// "unexpected EOF".
func TestTruncatedGzipInputsNameFileAndLine(t *testing.T) {
	dir := fixture(t)
	model := filepath.Join(dir, "model.bin")
	train, labeled := gzipCut(t, filepath.Join(dir, "train.csv")), gzipCut(t, filepath.Join(dir, "test_labeled.csv"))
	scored := filepath.Join(t.TempDir(), "scored.csv")
	code, _, stderr := runCLI(t, "", "score", "--model", model, "--input", filepath.Join(dir, "test_labeled.csv"), "--output", scored)
	require.Equal(t, exitOK, code, stderr)
	lineErr := regexp.MustCompile(`: (\S+):(\d+): gzip data is truncated: unexpected EOF\n$`)
	for _, c := range []struct {
		args []string
		file string
	}{
		{[]string{"train", "--train", train, "--model", filepath.Join(t.TempDir(), "m.bin"), "--quiet"}, train},
		{[]string{"train", "--train", filepath.Join(dir, "train.csv"), "--validation", train, "--model", filepath.Join(t.TempDir(), "m.bin"), "--quiet"}, train},
		{[]string{"score", "--model", model, "--input", train, "--output", filepath.Join(t.TempDir(), "s.csv")}, train},
		{[]string{"eval", "--model", model, "--labeled", labeled}, labeled},
		{[]string{"parity", "--ours", scored, "--sagemaker", scored, "--labeled", labeled}, labeled},
	} {
		code, _, stderr := runCLI(t, "", c.args...)
		assert.Equal(t, exitData, code, "%v", c.args)
		m := lineErr.FindStringSubmatch(stderr)
		if assert.NotNil(t, m, "%v: %q", c.args, stderr) {
			assert.Equal(t, c.file, m[1], "%v", c.args)
			n, _ := strconv.Atoi(m[2])
			assert.Greater(t, n, 1, "%v: the line being read", c.args)
		}
	}
	// Standard input is named too.
	data, err := os.ReadFile(train)
	require.NoError(t, err)
	code, _, stderr = runCLI(t, string(data), "score", "--model", model)
	assert.Equal(t, exitData, code)
	assert.Regexp(t, `ipinsights score: <stdin>:\d+: gzip data is truncated`, stderr)

	ct := gzipCut(t, ctFixture)
	code, _, stderr = runCLI(t, "", "tuples", "cloudtrail", ct)
	assert.Equal(t, exitData, code)
	assert.Contains(t, stderr, "error: "+ct+": record ")
	assert.Contains(t, stderr, "gzip data is truncated: unexpected EOF")
}

// Every output row of score has as many fields as its header, whatever
// the input: seen and unseen entities, extra columns, a header row, rows
// of another width skipped in lenient mode.
func TestScoreOutputRowsMatchHeader(t *testing.T) {
	model := filepath.Join(fixture(t), "model.bin")
	for _, c := range []struct {
		name, in string
		args     []string
		rows     int
	}{
		{"seen then unseen", "user_1,10.0.0.1\nnobody,10.0.0.2\nuser_2,10.0.0.3\n", nil, 3},
		{"extra columns", "nobody,10.0.0.1,a,b\nuser_1,10.0.0.2,c,d\n", nil, 2},
		{"header", "entity,ip,finding\nuser_1,10.0.0.1,f1\nnobody,10.0.0.2,f2\n", []string{"--header"}, 2},
		{"header only", "entity,ip,finding\n", []string{"--header"}, 0},
		{"empty", "", nil, 0},
		{"widths differ, lenient", "user_1,10.0.0.1\nuser_2,10.0.0.2,x,y\nnobody,10.0.0.3\nuser_3,10.0.0.4,z\n", []string{"--lenient"}, 2},
		{"widths differ from the header, lenient", "entity,ip,a\nuser_1,10.0.0.1\nuser_2,10.0.0.2,x\nuser_3,10.0.0.3,x,y\n", []string{"--header", "--lenient"}, 1},
	} {
		code, stdout, stderr := runCLI(t, c.in, append([]string{"score", "--model", model}, c.args...)...)
		require.Equal(t, exitOK, code, "%s: %s", c.name, stderr)
		cr := csv.NewReader(strings.NewReader(stdout))
		cr.FieldsPerRecord = -1
		rows, err := cr.ReadAll()
		require.NoError(t, err, c.name)
		require.Len(t, rows, c.rows+1, c.name)
		for i, row := range rows[1:] {
			assert.Len(t, row, len(rows[0]), "%s: row %d %v, header %v", c.name, i+1, row, rows[0])
		}
		if strings.Contains(c.name, "lenient") {
			assert.Contains(t, stderr, "wrong number of fields", c.name)
		}
	}
	code, stdout, _ := runCLI(t, "entity,ip,finding\n", "score", "--model", model, "--header")
	require.Equal(t, exitOK, code)
	assert.Equal(t, "entity,ip,dot_product,entity_seen,finding\n", stdout, "the header's names without rows")

	// Without --lenient, a row of another width is an error naming it.
	code, _, stderr := runCLI(t, "user_1,10.0.0.1\nuser_2,10.0.0.2,x\n", "score", "--model", model)
	assert.Equal(t, exitData, code)
	assert.Contains(t, stderr, "<stdin>:2: wrong number of fields: got 3, want 2 as in line 1")
}

// score --header skips the header line and no data row, whatever the line
// ends and byte order mark, and refuses a first line that is data.
func TestScoreHeaderKeepsFirstRow(t *testing.T) {
	model := filepath.Join(fixture(t), "model.bin")
	for name, in := range map[string]string{
		"LF":          "entity,ip\nuser_1,10.0.0.1\nuser_2,10.0.0.2\n",
		"no final LF": "entity,ip\nuser_1,10.0.0.1\nuser_2,10.0.0.2",
		"CRLF":        "entity,ip\r\nuser_1,10.0.0.1\r\nuser_2,10.0.0.2\r\n",
		"BOM":         "\ufeffentity,ip\nuser_1,10.0.0.1\nuser_2,10.0.0.2\n",
		"BOM, CRLF":   "\ufeffentity,ip\r\nuser_1,10.0.0.1\r\nuser_2,10.0.0.2",
	} {
		for _, gz := range []bool{false, true} {
			path := filepath.Join(t.TempDir(), "in.csv")
			data := []byte(in)
			if gz {
				var b bytes.Buffer
				zw := gzip.NewWriter(&b)
				zw.Write(data)
				require.NoError(t, zw.Close())
				data = b.Bytes()
			}
			require.NoError(t, os.WriteFile(path, data, 0o644))
			code, stdout, stderr := runCLI(t, "", "score", "--model", model, "--header", "--input", path)
			require.Equal(t, exitOK, code, "%s: %s", name, stderr)
			lines := strings.Split(strings.TrimSpace(stdout), "\n")
			require.Len(t, lines, 3, "%s gz=%v: %q", name, gz, stdout)
			assert.Equal(t, "entity,ip,dot_product,entity_seen", lines[0], name)
			assert.True(t, strings.HasPrefix(lines[1], "user_1,10.0.0.1,"), "%s: %s", name, lines[1])
			assert.True(t, strings.HasPrefix(lines[2], "user_2,10.0.0.2,"), "%s: %s", name, lines[2])
		}
	}
	code, stdout, stderr := runCLI(t, "user_1,10.0.0.1\nuser_2,10.0.0.2\n", "score", "--model", model, "--header")
	assert.Equal(t, exitData, code)
	assert.Contains(t, stderr, `<stdin>:1: header line is a data row: its second field "10.0.0.1" is an IP address`)
	assert.NotContains(t, stdout, "user_2", "no row is scored")
	code, _, stderr = runCLI(t, "entity,ip\ruser_1,10.0.0.1\ruser_2,10.0.0.2\r", "score", "--model", model, "--header")
	assert.Equal(t, exitData, code)
	assert.Contains(t, stderr, "<stdin>:1: carriage return inside a line")
}

// eval --lenient skips malformed rows and bad labels, as score and train
// --lenient skip malformed rows, and reports how many.
func TestEvalLenient(t *testing.T) {
	dir := fixture(t)
	model, labeled := filepath.Join(dir, "model.bin"), filepath.Join(dir, "test_labeled.csv")
	code, stdout, stderr := runCLI(t, "", "eval", "--model", model, "--labeled", labeled, "--json")
	require.Equal(t, exitOK, code, stderr)
	var clean map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &clean))
	assert.NotContains(t, clean, "skipped_rows")

	data, err := os.ReadFile(labeled)
	require.NoError(t, err)
	first, rest, _ := strings.Cut(string(data), "\n")
	bad := filepath.Join(t.TempDir(), "bad.csv")
	require.NoError(t, os.WriteFile(bad, []byte(first+"\nuser_1,10.0.0.300,0\nuser_1,10.0.0.1,maybe\nuser_1\n"+rest), 0o644))
	code, _, stderr = runCLI(t, "", "eval", "--model", model, "--labeled", bad)
	assert.Equal(t, exitData, code)
	assert.Contains(t, stderr, bad+":2: unparsable IP address")

	code, stdout, stderr = runCLI(t, "", "eval", "--model", model, "--labeled", bad, "--lenient", "--json")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, bad+": skipped 3 rows: 1 wrong number of fields (line 4); 1 unparsable IP address (line 2); 1 label not 0 or 1 (line 3)")
	var rep map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	assert.Equal(t, 3.0, rep["skipped_rows"])
	assert.Equal(t, clean["rows"], rep["rows"], "the good rows are all read")
	assert.Equal(t, clean["auc"], rep["auc"])

	code, stdout, stderr = runCLI(t, "", "eval", "--model", model, "--labeled", bad, "--lenient")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "skipped              3 rows (malformed; see above)")
}
