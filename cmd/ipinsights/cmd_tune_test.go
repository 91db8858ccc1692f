package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// tuneFlags keep every trial to a fraction of a second: small tables
// (fixed) and narrow ranges.
var tuneFlags = []string{
	"--hp", "num_entity_vectors=10000", "--hp", "ipv4_hash_rows=4096", "--hp", "ipv6_hash_rows=1024",
	"--hp", "num_ip_encoder_layers=1", "--range", "vector_dim=8:16", "--range", "epochs=1:3",
	"--range", "mini_batch_size=200:1000", "--range", "learning_rate=0.005:0.05:log",
	"--range", "weight_decay=0:0.0001", "--range", "random_negative_sampling_rate=1:5",
	"--range", "shuffled_negative_sampling_rate=0:2",
}

func TestTuneWritesBestModelAndHyperparameters(t *testing.T) {
	dir := fixture(t)
	train, valid := filepath.Join(dir, "train.csv"), filepath.Join(dir, "validation.csv")
	out := filepath.Join(t.TempDir(), "tuned")
	args := append([]string{"tune", "--train", train, "--validation", valid, "--max-jobs", "4", "--strategy", "random", "--seed", "3", "--out", out}, tuneFlags...)
	code, stdout, stderr := runCLI(t, "", args...)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "tuning vector_dim, epochs, learning_rate, mini_batch_size, random_negative_sampling_rate, shuffled_negative_sampling_rate, weight_decay over 4 trials (random strategy, validation:discriminator_auc, early stopping auto)")
	assert.Equal(t, 4, strings.Count(stderr, "\ntrial "), stderr)
	assert.Contains(t, stderr, "trial 1/4 Completed: objective 0.")
	assert.Contains(t, stderr, "best: trial ")
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	require.Len(t, lines, 7, stdout)
	assert.Regexp(t, `^\s*trial\s+status\s+objective\s+seconds\s+dim\s+epochs\s+lr\s+batch\s+R\s+S\s+wd\s*$`, lines[0])
	assert.Equal(t, 1, strings.Count(strings.Join(lines[1:5], "\n"), "*"), "one best trial")
	assert.Contains(t, lines[6], "columns: dim=vector_dim, lr=learning_rate, batch=mini_batch_size")

	// hyperparameters.json trains the same model with `train`.
	hpFile := filepath.Join(out, "hyperparameters.json")
	b, err := os.ReadFile(hpFile)
	require.NoError(t, err)
	var hp map[string]string
	require.NoError(t, json.Unmarshal(b, &hp))
	assert.Equal(t, "10000", hp["num_entity_vectors"])
	assert.Contains(t, hp, "learning_rate")
	again := filepath.Join(t.TempDir(), "again.bin")
	// tune gives the best model a calibration and a network history as
	// train does, so the two files are the same bytes.
	code, _, stderr = runCLI(t, "", "train", "--quiet", "--train", train, "--validation", valid, "--model", again, "--hyperparameters", hpFile)
	require.Equal(t, exitOK, code, stderr)
	m1, err := os.ReadFile(filepath.Join(out, "model.bin"))
	require.NoError(t, err)
	m2, err := os.ReadFile(again)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(m1, m2), "the best model is what its hyperparameters train")
	best, err := ipinsights.LoadFile(filepath.Join(out, "model.bin"))
	require.NoError(t, err)
	assert.True(t, best.HasNetworkHistory())
	require.NotNil(t, best.Calibration())
	bare := filepath.Join(t.TempDir(), "bare")
	args = append([]string{"tune", "--quiet", "--no-calibration", "--no-network-history", "--train", train, "--validation", valid, "--max-jobs", "1", "--out", bare}, tuneFlags...)
	code, _, stderr = runCLI(t, "", args...)
	require.Equal(t, exitOK, code, stderr)
	plain, err := ipinsights.LoadFile(filepath.Join(bare, "model.bin"))
	require.NoError(t, err)
	assert.False(t, plain.HasNetworkHistory())
	assert.Nil(t, plain.Calibration())

	// The same seed gives the same trials.
	trials1 := readCSV(t, filepath.Join(out, "trials.csv"))
	out2 := filepath.Join(t.TempDir(), "tuned2")
	args = append([]string{"tune", "--quiet", "--train", train, "--validation", valid, "--max-jobs", "4", "--strategy", "random", "--seed", "3", "--out", out2}, tuneFlags...)
	code, _, stderr = runCLI(t, "", args...)
	require.Equal(t, exitOK, code, stderr)
	trials2 := readCSV(t, filepath.Join(out2, "trials.csv"))
	require.Len(t, trials2, len(trials1))
	for i := range trials1 {
		trials1[i][3], trials2[i][3] = "", "" // seconds
		assert.Equal(t, trials1[i], trials2[i], "row %d", i)
	}
	assert.Equal(t, []string{"trial", "status", "validation:discriminator_auc", "", "epochs_done", "reason", "vector_dim", "epochs"}, trials1[0][:8])
}

func TestTuneAttackObjective(t *testing.T) {
	dir := fixture(t)
	out := filepath.Join(t.TempDir(), "tuned")
	args := append([]string{"tune", "--quiet", "--train", filepath.Join(dir, "train.csv"), "--objective", "attack_auc",
		"--labeled", filepath.Join(dir, "test_labeled.csv"), "--max-jobs", "2", "--out", out}, tuneFlags...)
	code, stdout, stderr := runCLI(t, "", args...)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "objective: attack_auc")
	// The objective of the best trial is what eval reports for its model.
	code, evalOut, stderr := runCLI(t, "", "eval", "--model", filepath.Join(out, "model.bin"), "--labeled", filepath.Join(dir, "test_labeled.csv"), "--json")
	require.Equal(t, exitOK, code, stderr)
	var ev struct{ AUC float64 }
	require.NoError(t, json.Unmarshal([]byte(evalOut), &ev))
	best := readCSV(t, filepath.Join(out, "trials.csv"))
	var objs []string
	for _, r := range best[1:] {
		objs = append(objs, r[2])
	}
	assert.Contains(t, objs, strings.TrimRight(strings.TrimRight(jsonNumber(ev.AUC), "0"), "."))
}

func jsonNumber(v float64) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestTuneBadInput(t *testing.T) {
	dir := fixture(t)
	train, valid := filepath.Join(dir, "train.csv"), filepath.Join(dir, "validation.csv")
	work := t.TempDir()
	empty := filepath.Join(work, "empty.csv")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	out := filepath.Join(work, "out")
	base := []string{"tune", "--train", train, "--validation", valid, "--out", out}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--max-jobs", "2", "--range", "epochs=1:500"}, exitUsage, "--range epochs=1:500: outside AMT's allowed values; allowed: 1:100"},
		{[]string{"--max-jobs", "2", "--range", "learning_rate=0.5:2"}, exitUsage, "outside AMT's allowed values; allowed: 0.0001:0.1"},
		{[]string{"--max-jobs", "2", "--range", "bogus=1:2"}, exitUsage, "--range bogus=1:2: not a hyperparameter that AMT tunes for IP Insights"},
		{[]string{"--max-jobs", "2", "--range", "epochs=1:3", "--hp", "epochs=2"}, exitUsage, "epochs is also given a fixed value (2)"},
		{[]string{"--max-jobs", "2", "--strategy", "hyperband", "--range", "epochs=1:3"}, exitUsage, "Hyperband allocates epochs itself"},
		{[]string{"--max-jobs", "2", "--strategy", "grid"}, exitUsage, `--strategy "grid": want bayesian, random or hyperband`},
		{[]string{"--range", "epochs=1:3"}, exitUsage, "--max-jobs is required"},
		{[]string{"--max-jobs", "2", "--objective", "attack_auc"}, exitUsage, "--objective attack_auc needs --labeled FILE"},
		{[]string{"--max-jobs", "2", "--strategy", "hyperband", "--early-stopping", "auto"}, exitUsage, "hyperband stops trials itself"},
		{[]string{"--max-jobs", "2", "--hp", "vector_dim=2"}, exitUsage, `hyperparameter vector_dim="2": out of range`},
		{[]string{"--max-jobs", "2", "--validation", empty}, exitData, empty + ": no data rows"},
	} {
		code, stdout, stderr := runCLI(t, "", append(append([]string{}, base...), tc.args...)...)
		assert.Equal(t, tc.code, code, "%v: %s", tc.args, stderr)
		assert.Contains(t, stderr, tc.msg, "%v", tc.args)
		assert.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %q", stderr)
		assert.Empty(t, stdout, "%v", tc.args)
	}
	code, _, stderr := runCLI(t, "", "tune", "--train", train, "--max-jobs", "2", "--out", out)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--validation is required: the objective validation:discriminator_auc is measured on it")
	assert.NoDirExists(t, out, "nothing was written")
}

func TestTuneStart(t *testing.T) {
	dir := fixture(t)
	work := t.TempDir()
	start := filepath.Join(work, "start.json")
	require.NoError(t, os.WriteFile(start, []byte(`{"vector_dim": "16", "epochs": "2", "learning_rate": "0.02", "mini_batch_size": "300"}`), 0o644))
	args := append([]string{"tune", "--train", filepath.Join(dir, "train.csv"), "--validation", filepath.Join(dir, "validation.csv"),
		"--max-jobs", "2", "--out", filepath.Join(work, "out"), "--start", start}, tuneFlags...)
	code, _, stderr := runCLI(t, "", args...)
	require.Equal(t, exitOK, code, stderr)
	rows := readCSV(t, filepath.Join(work, "out", "trials.csv"))
	assert.Equal(t, []string{"16", "2", "0.02", "300", "1", "1", "1e-05"}, rows[1][6:], "the start; the defaults of R, S and weight_decay")

	require.NoError(t, os.WriteFile(start, []byte(`{"vector_dim": "64"}`), 0o644))
	code, _, stderr = runCLI(t, "", args...)
	assert.Equal(t, exitUsage, code)
	assert.Equal(t, "ipinsights tune: --start "+start+": vector_dim=64 is outside the range vector_dim=8:16:log (run \"ipinsights tune --help\")\n", stderr)
}
