package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serve --asn-db: an explain=True response carries, for each record, the
// members that score --explain --format jsonl --asn-db writes for the same
// row, byte for byte, AS members included; without explain=True none.
func TestServeASNMatchesScore(t *testing.T) {
	dir := fixture(t)
	model := filepath.Join(dir, "model.bin")
	in := filepath.Join(dir, "test_labeled.csv")
	db, _ := asnTable(t)
	code, stdout, stderr := runCLI(t, "", "score", "--model", model, "--input", in, "--explain", "--format", "jsonl", "--asn-db", db)
	require.Equal(t, exitOK, code, stderr)
	cli := strings.Split(strings.TrimSpace(stdout), "\n")

	// The same rows, as entity,ip.
	raw, err := os.ReadFile(in)
	require.NoError(t, err)
	var body bytes.Buffer
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		f := strings.SplitN(line, ",", 3)
		body.WriteString(f[0] + "," + f[1] + "\n")
	}
	require.Len(t, cli, strings.Count(body.String(), "\n"))

	addr, logs := startServe(t, "--model", model, "--asn-db", db)
	invoke := func(accept string) []string {
		req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/invocations", bytes.NewReader(body.Bytes()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "text/csv")
		req.Header.Set("Accept", accept)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, 200, resp.StatusCode, "%s", out)
		return strings.Split(strings.TrimSpace(string(out)), "\n")
	}
	members := func(line, end string) string {
		i := strings.Index(line, `,"percentile":`)
		require.GreaterOrEqual(t, i, 0, line)
		j := strings.LastIndex(line, end)
		require.Greater(t, j, i, line)
		return line[i:j]
	}
	served := invoke("application/jsonlines;seen=True;explain=True")
	require.Len(t, served, len(cli))
	for i := range cli {
		want := members(cli[i], `,"input":`)
		require.Contains(t, want, `"asn":645`, cli[i])
		assert.Equal(t, want, members(served[i], "}"), "row %d", i+1)
	}
	for _, line := range invoke("application/jsonlines;percentile=True") {
		assert.NotContains(t, line, `"asn"`)
	}
	assert.Contains(t, logs.String(), `"asn_db"`)
}
