package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// One header rule for every command that reads rows to score or labeled
// rows (score, eval, threshold, parity; the sagemaker subcommands in
// cmd_sagemaker_test.go): a header is never guessed. Without --header a
// first line that is not a row is an error that names the flag; with it,
// the line is skipped, and a first line that is a row is an error that
// names the flag too.
func TestHeaderIsDeclaredNeverGuessed(t *testing.T) {
	dir := fixture(t)
	model, labeled := filepath.Join(dir, "model.bin"), filepath.Join(dir, "test_labeled.csv")
	rows, err := os.ReadFile(labeled)
	require.NoError(t, err)
	withHeader := filepath.Join(t.TempDir(), "with_header.csv")
	require.NoError(t, os.WriteFile(withHeader, append([]byte("entity,ip,label,kind\n"), rows...), 0o644))
	scored := filepath.Join(t.TempDir(), "scored.csv")
	code, _, stderr := runCLI(t, "", "score", "--model", model, "--input", labeled, "--output", scored)
	require.Equal(t, exitOK, code, stderr)

	for _, args := range [][]string{
		{"score", "--model", model, "--input", withHeader, "--output", filepath.Join(t.TempDir(), "s.csv")},
		{"eval", "--model", model, "--labeled", withHeader},
		{"threshold", "--model", model, "--labeled", withHeader, "--recall", "0.5"},
		{"parity", "--ours", scored, "--sagemaker", scored, "--labeled", withHeader},
	} {
		code, _, stderr := runCLI(t, "", args...)
		assert.Equal(t, exitData, code, "%v", args)
		assert.Contains(t, stderr, withHeader+`:1: unparsable IP address: "ip"`, "%v", args)
		assert.Contains(t, stderr, "if the first line names the columns, give --header", "%v", args)

		code, _, stderr = runCLI(t, "", append(args, "--header")...)
		assert.Equal(t, exitOK, code, "%v --header: %s", args, stderr)

		noHeader := append([]string(nil), args...)
		for i, a := range noHeader {
			if a == withHeader {
				noHeader[i] = labeled
			}
		}
		code, _, stderr = runCLI(t, "", append(noHeader, "--header")...)
		assert.Equal(t, exitData, code, "%v --header", noHeader)
		assert.Contains(t, stderr, labeled+":1: header line is a data row", "%v --header", noHeader)
		assert.Contains(t, stderr, "drop --header if the file has none", "%v --header", noHeader)
	}

	// Standard input is named as such.
	code, _, stderr = runCLI(t, "entity,ip\nuser_1,10.0.0.1\n", "score", "--model", model)
	assert.Equal(t, exitData, code)
	assert.Contains(t, stderr, `<stdin>:1: unparsable IP address: "ip" (a header row? the data has no header); if the first line names the columns, give --header`)
}
