package main

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// trainedRows returns the pairs of a CSV file of entity,ip rows.
func trainedRows(t *testing.T, path string) []ipinsights.Pair {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var ps []ipinsights.Pair
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		e, a, _ := strings.Cut(line, ",")
		ps = append(ps, ipinsights.Pair{Entity: e, IP: netip.MustParseAddr(strings.TrimSpace(a))})
	}
	return ps
}

func TestTrainInit(t *testing.T) {
	dir := fixture(t)
	train, valid := filepath.Join(dir, "train.csv"), filepath.Join(dir, "validation.csv")
	tmp := t.TempDir()
	first, cont, whole := filepath.Join(tmp, "first.bin"), filepath.Join(tmp, "cont.bin"), filepath.Join(tmp, "whole.bin")
	base := append([]string{"train", "--train", train, "--seed", "4"}, smallHP...)

	// Two epochs with the optimiser state, then one more from the file,
	// score as three epochs in one training.
	code, _, stderr := runCLI(t, "", append(base, "--quiet", "--model", first, "--save-optimizer-state")...)
	require.Equal(t, exitOK, code, stderr)
	code, _, stderr = runCLI(t, "", append(base, "--quiet", "--model", whole, "--hp", "epochs=3")...)
	require.Equal(t, exitOK, code, stderr)
	code, _, stderr = runCLI(t, "", "train", "--init", first, "--train", train, "--validation", valid, "--hp", "epochs=1", "--model", cont)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "continued from "+first+": the optimizer continued from its saved state")
	assert.Contains(t, stderr, "epoch=1 done")
	assert.Contains(t, stderr, "calibrated on ")
	m1, err := ipinsights.LoadFile(whole)
	require.NoError(t, err)
	m2, err := ipinsights.LoadFile(cont)
	require.NoError(t, err)
	assert.False(t, m2.HasOptimizerState(), "only with --save-optimizer-state")
	assert.Equal(t, 1, m2.Config().Epochs)
	m2cfg, m1cfg := m2.Config(), m1.Config()
	m2cfg.Epochs = 3
	assert.Equal(t, m1cfg, m2cfg, "the other hyperparameters come from --init")
	pairs := trainedRows(t, train)
	assert.Equal(t, m1.ScoreBatch(nil, pairs), m2.ScoreBatch(nil, pairs), "the same parameters")
	require.True(t, m2.HasNetworkHistory())
	require.NotNil(t, m2.Calibration())

	// Without the state Adam restarts, and says so; --model may replace
	// the --init file.
	plain := filepath.Join(tmp, "plain.bin")
	code, _, stderr = runCLI(t, "", append(base, "--quiet", "--model", plain)...)
	require.Equal(t, exitOK, code, stderr)
	code, _, stderr = runCLI(t, "", "train", "--init", plain, "--train", train, "--model", plain)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "Adam restarted (the model carries no optimizer state;")
	again, err := ipinsights.LoadFile(plain)
	require.NoError(t, err)
	assert.NotEqual(t, m1.ScoreBatch(nil, pairs[:50]), again.ScoreBatch(nil, pairs[:50]))

	// A shape that differs is one line naming every mismatch.
	code, _, stderr = runCLI(t, "", "train", "--init", first, "--train", train, "--model", cont, "--hp", "vector_dim=16", "--hp", "ipv4_hash_rows=512", "--hp", "epochs=1")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--init "+first+": a warm start keeps the shape of the initial model: vector_dim is 8 in the initial model, 16 in the configuration; "+
		"ipv4_hash_rows is 4096 in the initial model, 512 in the configuration (run")
	assert.NotContains(t, stderr, "training rows", "refused before the data is read")

	// A truncated --init names the file and the cause.
	b, err := os.ReadFile(first)
	require.NoError(t, err)
	cut := filepath.Join(tmp, "cut.bin")
	require.NoError(t, os.WriteFile(cut, b[:len(b)-500], 0o644))
	code, _, stderr = runCLI(t, "", "train", "--init", cut, "--train", train, "--model", cont)
	assert.Equal(t, exitData, code)
	assert.Contains(t, stderr, "--init "+cut+": model file is truncated or corrupted")
	code, _, stderr = runCLI(t, "", "train", "--init", filepath.Join(tmp, "none.bin"), "--train", train, "--model", cont)
	assert.Equal(t, exitData, code)
	assert.Contains(t, stderr, "none.bin")
}
