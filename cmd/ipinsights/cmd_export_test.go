package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExportEntitiesAndAddresses(t *testing.T) {
	dir := fixture(t)
	model := filepath.Join(dir, "model.bin")
	work := t.TempDir()
	names := filepath.Join(work, "names.txt")
	require.NoError(t, os.WriteFile(names, []byte("user_1\nuser_2\n"), 0o644))

	out := filepath.Join(work, "users.npy")
	code, stdout, stderr := runCLI(t, "", "export", "--model", model, "--entities", names, "--out", out)
	require.Equal(t, exitOK, code, stderr)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "wrote "+out+" and "+out+".names.txt: 2 x 8 float32")
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	hlen := int(binary.LittleEndian.Uint16(b[8:10]))
	assert.Contains(t, string(b[10:10+hlen]), "'shape': (2, 8)")
	assert.Len(t, b, 10+hlen+2*8*4)
	side, err := os.ReadFile(out + ".names.txt")
	require.NoError(t, err)
	assert.Equal(t, "user_1\nuser_2\n", string(side))

	// Addresses from stdin, as CSV.
	csvOut := filepath.Join(work, "ips.csv")
	code, _, stderr = runCLI(t, "10.0.0.1\n2001:db8::7\n", "export", "--model", model, "--addresses", "-", "--out", csvOut)
	require.Equal(t, exitOK, code, stderr)
	rows := readCSV(t, csvOut)
	require.Len(t, rows, 3)
	assert.Equal(t, "ip", rows[0][0])
	assert.Len(t, rows[0], 9)
	assert.Equal(t, "2001:db8::7", rows[2][0])

	// An entity never seen: refused, naming it and the way out.
	require.NoError(t, os.WriteFile(names, []byte("user_1\nmallory\n"), 0o644))
	code, _, stderr = runCLI(t, "", "export", "--model", model, "--entities", names, "--out", filepath.Join(work, "u2.csv"))
	assert.Equal(t, exitData, code)
	assert.Equal(t, "ipinsights export: "+names+`: 1 of 2 entities did not occur in training ("mallory"): their vectors would be those of hash buckets trained for other entities or not at all; pass --allow-unseen to export them anyway (marked entity_seen=false in CSV)`+"\n", stderr)
	assert.NoFileExists(t, filepath.Join(work, "u2.csv"))
	code, _, stderr = runCLI(t, "", "export", "--model", model, "--entities", names, "--out", filepath.Join(work, "u2.csv"), "--allow-unseen")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "note: 1 entity of 2 did not occur in training")
	assert.Contains(t, stderr, `  "mallory"`)
	rows = readCSV(t, filepath.Join(work, "u2.csv"))
	assert.Equal(t, []string{"entity", "entity_seen"}, rows[0][:2])
	assert.Equal(t, []string{"user_1", "true"}, rows[1][:2])
	assert.Equal(t, []string{"mallory", "false"}, rows[2][:2])
}

func TestExportBadInput(t *testing.T) {
	dir := fixture(t)
	model := filepath.Join(dir, "model.bin")
	work := t.TempDir()
	names := filepath.Join(work, "names.csv") // a list can have any name
	require.NoError(t, os.WriteFile(names, []byte("user_1\n"), 0o644))
	ips := filepath.Join(work, "ips.txt")
	require.NoError(t, os.WriteFile(ips, []byte("10.0.0.1\nnot-an-ip\n"), 0o644))
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--entities", names, "--out", filepath.Join(work, "x.parquet")}, exitUsage, "--out " + filepath.Join(work, "x.parquet") + ": want a file name ending in .npy or .csv"},
		{[]string{"--entities", names, "--addresses", ips, "--out", filepath.Join(work, "x.npy")}, exitUsage, "give exactly one of --entities and --addresses"},
		{[]string{"--out", filepath.Join(work, "x.npy")}, exitUsage, "give exactly one of --entities and --addresses"},
		{[]string{"--addresses", ips, "--allow-unseen", "--out", filepath.Join(work, "x.npy")}, exitUsage, "--allow-unseen applies to --entities only"},
		{[]string{"--addresses", ips, "--out", filepath.Join(work, "x.npy")}, exitData, ips + `:2: unparsable IP address "not-an-ip"`},
		{[]string{"--entities", names, "--out", names}, exitUsage, "is the same file as --entities"},
		{[]string{"--entities", filepath.Join(work, "missing.txt"), "--out", filepath.Join(work, "x.npy")}, exitData, "no such file"},
	} {
		args := append([]string{"export", "--model", model}, tc.args...)
		code, _, stderr := runCLI(t, "", args...)
		assert.Equal(t, tc.code, code, "%v: %s", tc.args, stderr)
		assert.Contains(t, stderr, tc.msg, "%v", tc.args)
		assert.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %q", stderr)
	}
	entries, err := os.ReadDir(work)
	require.NoError(t, err)
	assert.Len(t, entries, 2, "no output was written")
}
