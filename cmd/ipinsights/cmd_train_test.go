package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTrainStreamFlag(t *testing.T) {
	dir := fixture(t)
	model := filepath.Join(t.TempDir(), "m.bin")
	args := append([]string{"train", "--train", filepath.Join(dir, "train.csv"), "--model", model,
		"--stream", "--window", "2000", "--hp", "batch_metrics_publish_interval=5"}, smallHP...)
	code, _, stderr := runCLI(t, "", args...)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "epoch=1 batch=5 train", "the first epoch's length is not known")
	assert.Contains(t, stderr, "epoch=2 batch=5/")
	assert.Contains(t, stderr, "first batch ")
	_, err := os.Stat(model)
	require.NoError(t, err)

	bad := filepath.Join(t.TempDir(), "bad.csv")
	require.NoError(t, os.WriteFile(bad, []byte("alice,10.0.0.1\nbob,10.0.0.300\n"), 0o644))
	code, _, stderr = runCLI(t, "", "train", "--train", bad, "--model", model, "--stream")
	assert.Equal(t, exitData, code)
	assert.Contains(t, stderr, bad+":2: unparsable IP address")
	code, _, stderr = runCLI(t, "", "train", "--train", bad, "--model", model, "--stream", "--lenient", "--quiet", "--hp", "vector_dim=4", "--hp", "ipv4_hash_rows=64", "--hp", "num_entity_vectors=10")
	assert.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "skipped 1 row: 1 unparsable IP address (line 2)")

	for _, a := range [][]string{
		{"train", "--train", "-", "--model", model, "--stream"},
		{"train", "--train", bad, "--model", model, "--window", "100"},
		{"train", "--train", bad, "--model", model, "--stream", "--window", "-1"},
	} {
		code, _, stderr := runCLI(t, "", a...)
		assert.Equal(t, exitUsage, code, "%v: %s", a, stderr)
	}
}
