package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// train stores the network history by default; --no-network-history
// leaves it out, and the file is then the trained model's alone.
func TestTrainNetworkHistory(t *testing.T) {
	dir := fixture(t)
	with, without := filepath.Join(t.TempDir(), "with.bin"), filepath.Join(t.TempDir(), "without.bin")
	args := append([]string{"train", "--quiet", "--train", filepath.Join(dir, "train.csv"), "--seed", "5"}, smallHP...)
	code, _, stderr := runCLI(t, "", append(args, "--model", with)...)
	require.Equal(t, exitOK, code, stderr)
	code, _, stderr = runCLI(t, "", append(args, "--model", without, "--no-network-history")...)
	require.Equal(t, exitOK, code, stderr)

	m, err := ipinsights.LoadFile(with)
	require.NoError(t, err)
	assert.True(t, m.HasNetworkHistory())
	plain, err := ipinsights.LoadFile(without)
	require.NoError(t, err)
	assert.False(t, plain.HasNetworkHistory())

	stripped := filepath.Join(t.TempDir(), "stripped.bin")
	require.NoError(t, m.WithoutNetworkHistory().SaveFile(stripped))
	a, err := os.ReadFile(without)
	require.NoError(t, err)
	b, err := os.ReadFile(stripped)
	require.NoError(t, err)
	assert.Equal(t, a, b, "the same model, without the history")
}
