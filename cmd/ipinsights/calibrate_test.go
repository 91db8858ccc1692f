package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ipinsights/ipinsights-go/csvio"
	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	uncalibratedOnce sync.Once
	uncalibratedPath string
)

// uncalibrated returns the path of a model of the fixture's data trained
// with --no-calibration, as a model file of before calibration would be.
func uncalibrated(t *testing.T) string {
	t.Helper()
	dir := fixture(t)
	uncalibratedOnce.Do(func() {
		uncalibratedPath = filepath.Join(dir, "uncalibrated.bin")
		args := append([]string{"train", "--train", filepath.Join(dir, "train.csv"), "--model", uncalibratedPath, "--quiet", "--no-calibration"}, smallHP...)
		if code, _, stderr := runCLI(t, "", args...); code != 0 {
			panic(stderr)
		}
	})
	return uncalibratedPath
}

func loadData(t *testing.T, path string) *ipinsights.Dataset {
	t.Helper()
	d, _, err := ipinsights.LoadDataset(context.Background(), path, csvio.Options{})
	require.NoError(t, err)
	return d
}

// assertOneLine checks a failure's standard error: one line that names
// what is wrong.
func assertOneLine(t *testing.T, stderr, want string, args []string) {
	t.Helper()
	assert.Contains(t, stderr, want, "%v", args)
	assert.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %q", stderr)
}

// train calibrates by default: on --validation when given, else on the
// training pairs, in sample, and says which.
func TestTrainCalibrates(t *testing.T) {
	dir := fixture(t)
	m, err := ipinsights.LoadFile(filepath.Join(dir, "model.bin"))
	require.NoError(t, err)
	require.NotNil(t, m.Calibration(), "the fixture, trained without --validation, is calibrated in sample")
	train := loadData(t, filepath.Join(dir, "train.csv"))
	assert.Equal(t, train.Len(), m.Calibration().Pairs())

	model := filepath.Join(t.TempDir(), "m.bin")
	args := append([]string{"train", "--train", filepath.Join(dir, "train.csv"), "--validation", filepath.Join(dir, "validation.csv"), "--model", model}, smallHP...)
	code, _, stderr := runCLI(t, "", args...)
	require.Equal(t, exitOK, code, stderr)
	valid := loadData(t, filepath.Join(dir, "validation.csv"))
	assert.Contains(t, stderr, "calibrated on "+strconv.Itoa(valid.Len())+" pairs from the validation data (")
	assert.NotContains(t, stderr, "in sample")
	m, err = ipinsights.LoadFile(model)
	require.NoError(t, err)
	assert.Equal(t, valid.Len(), m.Calibration().Pairs())

	code, _, stderr = runCLI(t, "", append(args[:len(args):len(args)], "--no-calibration")...)
	require.Equal(t, exitOK, code, stderr)
	assert.NotContains(t, stderr, "calibrated")
	m, err = ipinsights.LoadFile(model)
	require.NoError(t, err)
	assert.Nil(t, m.Calibration())

	args = append([]string{"train", "--train", filepath.Join(dir, "train.csv"), "--model", model}, smallHP...)
	code, _, stderr = runCLI(t, "", args...)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "pairs from the training data (")
	assert.Contains(t, stderr, "note: calibrated in sample (no --validation)")
}

func TestCalibrateCommand(t *testing.T) {
	dir := fixture(t)
	tmp := t.TempDir()
	model := copyFile(t, uncalibrated(t), tmp)
	before, err := os.ReadFile(model)
	require.NoError(t, err)
	normal := filepath.Join(dir, "validation.csv")
	out := filepath.Join(tmp, "calibrated.bin")

	code, stdout, stderr := runCLI(t, "", "calibrate", "--model", model, "--normal", normal, "--out", out, "--min-entity-pairs", "3")
	require.Equal(t, exitOK, code, stderr)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "pairs from "+normal)
	assert.Contains(t, stderr, "wrote "+out)
	after, err := os.ReadFile(model)
	require.NoError(t, err)
	assert.Equal(t, before, after, "--out leaves --model as it was")

	m, err := ipinsights.LoadFile(out)
	require.NoError(t, err)
	cal := m.Calibration()
	require.NotNil(t, cal)
	assert.Equal(t, 3, cal.MinEntityPairs())
	plain, err := ipinsights.LoadFile(model)
	require.NoError(t, err)
	want, err := plain.Calibrate(context.Background(), loadData(t, normal), &ipinsights.CalibrationOptions{MinEntityPairs: 3})
	require.NoError(t, err)
	assert.Equal(t, want, cal, "the library's calibration")
	assert.Equal(t, plain.Config(), m.Config())

	// Without --out, the model is replaced.
	code, _, stderr = runCLI(t, "", "calibrate", "--model", model, "--normal", normal, "--quiet")
	require.Equal(t, exitOK, code, stderr)
	assert.Empty(t, stderr)
	m, err = ipinsights.LoadFile(model)
	require.NoError(t, err)
	assert.NotNil(t, m.Calibration())

	// Usage errors: exit 2, one line.
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"calibrate", "--model", model}, "--model and --normal are required"},
		{[]string{"calibrate", "--model", model, "--normal", normal, "--min-entity-pairs", "0"}, "--min-entity-pairs 0: want at least 1"},
		{[]string{"calibrate", "--model", model, "--normal", normal, "--entity-quantiles", "1"}, "--entity-quantiles 1: want 2 to 65535"},
		{[]string{"calibrate", "--model", model, "--normal", normal, "--out", normal}, "--out " + normal + " is the same file as --normal"},
		{[]string{"calibrate", "--model", normal, "--normal", normal}, "--model " + normal + " is the same file as --normal"},
	} {
		code, _, stderr := runCLI(t, "", c.args...)
		assert.Equal(t, exitUsage, code, "%v: %s", c.args, stderr)
		assertOneLine(t, stderr, c.msg, c.args)
	}

	// Data errors: exit 1, one line, nothing written.
	strangers := filepath.Join(tmp, "strangers.csv")
	require.NoError(t, os.WriteFile(strangers, []byte("nobody,10.0.0.1\nno one,10.0.0.2\n"), 0o644))
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"calibrate", "--model", model, "--normal", strangers, "--out", out + ".2"}, strangers + ": ipinsights: calibration: none of the 2 pairs has an entity seen in training"},
		{[]string{"calibrate", "--model", model, "--normal", filepath.Join(tmp, "missing.csv"), "--out", out + ".2"}, "missing.csv"},
		{[]string{"calibrate", "--model", strangers, "--normal", normal, "--out", out + ".2"}, "not an ipinsights-go model file"},
	} {
		code, _, stderr := runCLI(t, "", c.args...)
		assert.Equal(t, exitData, code, "%v: %s", c.args, stderr)
		assertOneLine(t, stderr, c.msg, c.args)
	}
	_, err = os.Stat(out + ".2")
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestThresholdCommand(t *testing.T) {
	dir := fixture(t)
	model := filepath.Join(dir, "model.bin")
	m, err := ipinsights.LoadFile(model)
	require.NoError(t, err)

	code, stdout, stderr := runCLI(t, "", "threshold", "--model", model, "--fpr", "0.05", "--json")
	require.Equal(t, exitOK, code, stderr)
	var rep struct {
		Threshold *float64 `json:"threshold"`
		FPR       *float64 `json:"fpr"`
		Pairs     *int     `json:"pairs"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	want, err := m.Calibration().Threshold(0.05)
	require.NoError(t, err)
	assert.Equal(t, want, *rep.Threshold)
	assert.Equal(t, 0.05, *rep.FPR)
	assert.Equal(t, m.Calibration().Pairs(), *rep.Pairs)

	code, stdout, stderr = runCLI(t, "", "threshold", "--model", model, "--fpr", "0.05")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "(flag dot_product < "+strconv.FormatFloat(want, 'g', -1, 64)+")")
	assert.Contains(t, stdout, "false-positive rate  0.05 of "+strconv.Itoa(*rep.Pairs)+" normal pairs (the calibration pairs of "+model+")")

	// From a file of normal rows, an uncalibrated model too.
	normal := filepath.Join(dir, "validation.csv")
	code, stdout, stderr = runCLI(t, "", "threshold", "--model", uncalibrated(t), "--fpr", "0.01", "--normal", normal, "--json")
	require.Equal(t, exitOK, code, stderr)
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	plain, err := ipinsights.LoadFile(uncalibrated(t))
	require.NoError(t, err)
	cal, err := plain.Calibrate(context.Background(), loadData(t, normal), nil)
	require.NoError(t, err)
	want, err = cal.Threshold(0.01)
	require.NoError(t, err)
	assert.Equal(t, want, *rep.Threshold)
	assert.Equal(t, cal.Pairs(), *rep.Pairs)

	// With labels.
	labeled := filepath.Join(dir, "test_labeled.csv")
	code, stdout, stderr = runCLI(t, "", "threshold", "--model", model, "--labeled", labeled, "--recall", "0.9", "--json")
	require.Equal(t, exitOK, code, stderr)
	var ev struct {
		Threshold    float64  `json:"threshold"`
		Recall       float64  `json:"recall"`
		Precision    float64  `json:"precision"`
		TargetRecall *float64 `json:"target_recall"`
		TP           int      `json:"true_positives"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &ev))
	assert.GreaterOrEqual(t, ev.Recall, 0.9)
	assert.Equal(t, 0.9, *ev.TargetRecall)
	code, stdout, stderr = runCLI(t, "", "eval", "--model", model, "--labeled", labeled, "--threshold", strconv.FormatFloat(ev.Threshold, 'g', -1, 64), "--json")
	require.Equal(t, exitOK, code, stderr)
	var evalRep struct {
		Recall float64 `json:"recall"`
		TP     int     `json:"true_positives"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &evalRep))
	assert.Equal(t, ev.TP, evalRep.TP, "eval at the threshold agrees")

	code, stdout, stderr = runCLI(t, "", "threshold", "--model", model, "--labeled", labeled, "--precision", "0.5")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "target precision 0.5, with the most flagged rows")
	assert.Contains(t, stdout, "confusion            TP ")

	tmp := t.TempDir()
	oneClass := filepath.Join(tmp, "normal_only.csv")
	require.NoError(t, os.WriteFile(oneClass, []byte("user_1,10.0.0.1,0\nuser_2,10.0.0.2,0\n"), 0o644))
	unreachable := filepath.Join(tmp, "unreachable.csv")
	// The anomaly scores as high as a seen user's own address: at best
	// half the flagged rows are anomalies.
	require.NoError(t, os.WriteFile(unreachable, []byte("user_1,203.0.113.9,0\nuser_1,203.0.113.9,1\n"), 0o644))

	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"threshold", "--model", model, "--fpr", "0"}, exitUsage, "--fpr 0: want a rate between 0 and 1, exclusive"},
		{[]string{"threshold", "--model", model, "--fpr", "1"}, exitUsage, "--fpr 1: want a rate between 0 and 1"},
		{[]string{"threshold", "--model", model, "--fpr", "-0.1"}, exitUsage, "--fpr -0.1: want"},
		{[]string{"threshold", "--model", model, "--fpr", "NaN"}, exitUsage, "--fpr NaN: want"},
		{[]string{"threshold", "--model", model}, exitUsage, "give --fpr, or --labeled with --precision or --recall"},
		{[]string{"threshold", "--model", model, "--fpr", "0.1", "--recall", "0.5", "--labeled", labeled}, exitUsage, "give one of --fpr, --precision and --recall"},
		{[]string{"threshold", "--model", model, "--recall", "0.5"}, exitUsage, "--precision and --recall need --labeled"},
		{[]string{"threshold", "--model", model, "--recall", "1.5", "--labeled", labeled}, exitUsage, "--recall 1.5: want a value above 0, at most 1"},
		{[]string{"threshold", "--model", model, "--precision", "0", "--labeled", labeled}, exitUsage, "--precision 0: want"},
		{[]string{"threshold", "--model", model, "--fpr", "0.1", "--labeled", labeled}, exitUsage, "--labeled picks a threshold for --precision or --recall"},
		{[]string{"threshold", "--model", model, "--recall", "0.5", "--labeled", labeled, "--normal", normal}, exitUsage, "--normal goes with --fpr"},
		{[]string{"threshold", "--model", model, "--fpr", "0.1", "--header"}, exitUsage, "--header applies to --labeled"},
		{[]string{"threshold", "--model", uncalibrated(t), "--fpr", "0.01"}, exitData,
			uncalibrated(t) + " has no calibration (saved before calibration existed, or trained with --no-calibration): give --normal FILE, or add one with ipinsights calibrate --model"},
		{[]string{"threshold", "--model", model, "--labeled", oneClass, "--recall", "0.5"}, exitData, oneClass + ": ipinsights: labels must include both normal (0) and anomalous (1) pairs"},
		{[]string{"threshold", "--model", model, "--labeled", unreachable, "--precision", "0.9"}, exitData, unreachable + ": no threshold reaches precision 0.9: the best is 0.5000 (at recall 1.0000)"},
		{[]string{"threshold", "--model", model, "--fpr", "0.1", "--normal", oneClass}, exitData, oneClass + ":1: "},
	} {
		code, stdout, stderr := runCLI(t, "", c.args...)
		assert.Equal(t, c.code, code, "%v: %s", c.args, stderr)
		assertOneLine(t, stderr, c.msg, c.args)
		assert.Empty(t, stdout, "%v", c.args)
	}
}

func TestScoreAlerts(t *testing.T) {
	dir := fixture(t)
	model := filepath.Join(dir, "model.bin")
	in := filepath.Join(dir, "test_labeled.csv")
	tmp := t.TempDir()
	all, only := filepath.Join(tmp, "all.csv"), filepath.Join(tmp, "alerts.csv")

	code, stdout, stderr := runCLI(t, "", "score", "--model", model, "--input", in, "--output", all, "--alert-fpr", "0.05", "--alert-basis", "dot_product")
	require.Equal(t, exitOK, code, stderr)
	assert.Empty(t, stdout)
	rows := readCSV(t, all)
	assert.Equal(t, []string{"entity", "ip", "dot_product", "entity_seen", "alert", "col3", "col4"}, rows[0])
	m, err := ipinsights.LoadFile(model)
	require.NoError(t, err)
	threshold, err := m.Calibration().Threshold(0.05)
	require.NoError(t, err)
	alerts, caught, attacks := 0, 0, 0
	for _, r := range rows[1:] {
		dot, err := strconv.ParseFloat(r[2], 32)
		require.NoError(t, err)
		// The global threshold of the rate (the dot product is written
		// as the float32 it is).
		assert.Equal(t, strconv.FormatBool(dot < threshold), r[4], "%v", r)
		if r[4] == "true" {
			alerts++
		}
		if r[5] == "1" {
			attacks++
			if r[4] == "true" {
				caught++
			}
		}
	}
	assert.Contains(t, stderr, strconv.Itoa(alerts)+" of "+strconv.Itoa(len(rows)-1)+" rows alert (false-positive rate 0.05 of the calibration pairs, by dot_product)")
	assert.Greater(t, float64(caught)/float64(attacks), 0.5, "most attacks alert")

	// --alerts-only: the same rows, less those that do not alert.
	code, _, stderr = runCLI(t, "", "score", "--model", model, "--input", in, "--output", only, "--alert-fpr", "0.05", "--alerts-only", "--alert-basis", "dot_product")
	require.Equal(t, exitOK, code, stderr)
	var want [][]string
	for _, r := range rows {
		if r[4] != "false" {
			want = append(want, r)
		}
	}
	assert.Equal(t, want, readCSV(t, only))

	// By percentile: the library's rule, row by row.
	code, stdout, stderr = runCLI(t, "", "score", "--model", model, "--input", in, "--alert-fpr", "0.05", "--alert-basis", "percentile")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "by percentile)")
	rule, err := m.AlertRule(0.05, ipinsights.AlertByPercentile)
	require.NoError(t, err)
	prows := readCSVString(t, stdout)
	for _, r := range prows[1:] {
		dot, err := strconv.ParseFloat(r[2], 64)
		require.NoError(t, err)
		assert.Equal(t, strconv.FormatBool(rule.Alert(embedding.EntityHash(r[0]), dot)), r[4], "%v", r)
	}

	// Bad input: one line, nothing written.
	out := filepath.Join(tmp, "never.csv")
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--alert-fpr", "1"}, exitUsage, "--alert-fpr 1: want a rate between 0 and 1, exclusive"},
		{[]string{"--alert-fpr", "0"}, exitUsage, "--alert-fpr 0: want"},
		{[]string{"--alerts-only"}, exitUsage, "--alerts-only and --alert-basis go with --alert-fpr"},
		{[]string{"--alert-basis", "percentile"}, exitUsage, "--alerts-only and --alert-basis go with --alert-fpr"},
		{[]string{"--alert-fpr", "0.01", "--alert-basis", "dot"}, exitUsage, `--alert-basis "dot": want default, network, dot_product or percentile`},
	} {
		args := append([]string{"score", "--model", model, "--input", in, "--output", out}, c.args...)
		code, _, stderr := runCLI(t, "", args...)
		assert.Equal(t, c.code, code, "%v: %s", args, stderr)
		assertOneLine(t, stderr, c.msg, args)
	}
	args := []string{"score", "--model", uncalibrated(t), "--input", in, "--output", out, "--alert-fpr", "0.01"}
	code, _, stderr = runCLI(t, "", args...)
	assert.Equal(t, exitData, code)
	assertOneLine(t, stderr, uncalibrated(t)+" has no calibration (saved before calibration existed, or trained with --no-calibration): add one with ipinsights calibrate --model "+uncalibrated(t)+" --normal NORMAL.csv", args)
	_, err = os.Stat(out)
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func readCSVString(t *testing.T, s string) [][]string {
	t.Helper()
	r := csv.NewReader(strings.NewReader(s))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	require.NoError(t, err)
	return rows
}
