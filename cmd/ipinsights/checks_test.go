package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// copyFile copies src to a new file in dir and returns its path.
func copyFile(t *testing.T, src, dir string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	require.NoError(t, err)
	dst := filepath.Join(dir, filepath.Base(src))
	require.NoError(t, os.WriteFile(dst, b, 0o644))
	return dst
}

// An output that names an input, directly or through a link, is refused
// before anything is written: the input keeps its bytes. So are two
// outputs naming one file.
func TestOutputIsNotAnInput(t *testing.T) {
	dir := fixture(t)
	tmp := t.TempDir()
	model := copyFile(t, filepath.Join(dir, "model.bin"), tmp)
	train := copyFile(t, filepath.Join(dir, "train.csv"), tmp)
	labeled := copyFile(t, filepath.Join(dir, "test_labeled.csv"), tmp)
	ct := copyFile(t, ctFixture, tmp)
	link := filepath.Join(tmp, "link.csv")
	require.NoError(t, os.Symlink(labeled, link))
	before := map[string][]byte{}
	for _, p := range []string{model, train, labeled, ct} {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		before[p] = b
	}

	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"score", "--model", model, "--input", labeled, "--output", labeled}, "--output " + labeled + " is the same file as --input " + labeled},
		{[]string{"score", "--model", model, "--input", labeled, "--output", link}, "--output " + link + " is the same file as --input " + labeled},
		{[]string{"score", "--model", model, "--input", labeled, "--output", model}, "--output " + model + " is the same file as --model " + model},
		{[]string{"train", "--train", train, "--model", train}, "--model " + train + " is the same file as --train " + train},
		{[]string{"train", "--train", train, "--validation", labeled, "--model", link}, "--model " + link + " is the same file as --validation " + labeled},
		{[]string{"eval", "--model", model, "--labeled", labeled, "--roc", labeled}, "--roc " + labeled + " is the same file as --labeled"},
		{[]string{"eval", "--model", model, "--labeled", labeled, "--roc", filepath.Join(tmp, "p.png"), "--hist", filepath.Join(tmp, ".", "p.png")}, "--roc " + filepath.Join(tmp, "p.png") + " and --hist"},
		{[]string{"tuples", "cloudtrail", "--out", ct, ct}, "--out " + ct + " is the same file as input " + ct},
		{[]string{"sagemaker", "score", "--endpoint", "e", "--input", labeled, "--output", labeled}, "--output " + labeled + " is the same file as --input"},
		{[]string{"sagemaker", "transform", "--training-job", "j", "--input", labeled, "--output", link}, "--output " + link + " is the same file as --input"},
		{[]string{"sagemaker", "parity", "--model", model, "--labeled", labeled, "--ours-out", labeled}, "--ours-out " + labeled + " is the same file as --labeled"},
		{[]string{"sagemaker", "parity", "--model", model, "--labeled", labeled, "--ours-out", filepath.Join(tmp, "o.csv"), "--sagemaker-out", filepath.Join(tmp, "o.csv")}, "--ours-out " + filepath.Join(tmp, "o.csv") + " and --sagemaker-out"},
	} {
		code, stdout, stderr := runCLI(t, "", c.args...)
		assert.Equal(t, exitUsage, code, "%v: %s", c.args, stderr)
		assert.Contains(t, stderr, c.msg, "%v", c.args)
		assert.Empty(t, stdout, "%v", c.args)
	}
	for p, b := range before {
		got, err := os.ReadFile(p)
		require.NoError(t, err)
		assert.Equal(t, b, got, "%s is unchanged", p)
	}
	_, err := os.Stat(filepath.Join(tmp, "o.csv"))
	assert.ErrorIs(t, err, os.ErrNotExist, "no output was created")
}

// An output that cannot be created fails before the long work (no rows
// read, no data generated), and the check leaves no file behind.
func TestOutputCheckedBeforeWork(t *testing.T) {
	dir := fixture(t)
	tmp := t.TempDir()
	train, labeled, model := filepath.Join(dir, "train.csv"), filepath.Join(dir, "test_labeled.csv"), filepath.Join(dir, "model.bin")
	aFile := filepath.Join(tmp, "file")
	require.NoError(t, os.WriteFile(aFile, []byte("x"), 0o644))
	missing := filepath.Join(tmp, "missing", "dir")

	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"train", "--train", train, "--model", filepath.Join(missing, "m.bin")}, "--model " + filepath.Join(missing, "m.bin") + ": directory " + missing + " does not exist"},
		{[]string{"train", "--train", train, "--model", tmp}, "--model " + tmp + " is a directory"},
		{[]string{"train", "--train", train, "--model", filepath.Join(aFile, "m.bin")}, aFile + " is not a directory"},
		{[]string{"demo", "--users", "10", "--model", filepath.Join(missing, "m.bin")}, "directory " + missing + " does not exist"},
		{[]string{"gen", "logins", "--users", "10", "--out", filepath.Join(aFile, "data")}, "--out " + filepath.Join(aFile, "data") + ": " + aFile + " is not a directory"},
		{[]string{"gen", "logins", "--users", "10", "--out", aFile}, aFile + " is not a directory"},
		{[]string{"eval", "--model", model, "--labeled", labeled, "--hist", filepath.Join(missing, "h.png")}, "--hist " + filepath.Join(missing, "h.png") + ": directory " + missing + " does not exist"},
	} {
		code, stdout, stderr := runCLI(t, "", c.args...)
		assert.Equal(t, exitData, code, "%v: %s", c.args, stderr)
		assert.Contains(t, stderr, c.msg, "%v", c.args)
		assert.Equal(t, 1, strings.Count(stderr, "\n"), "only the error, no progress: %q", stderr)
		assert.Empty(t, stdout, "%v", c.args)
	}

	// A directory that refuses new files. Root writes anywhere.
	if os.Geteuid() != 0 {
		ro := filepath.Join(tmp, "ro")
		require.NoError(t, os.Mkdir(ro, 0o555))
		code, _, stderr := runCLI(t, "", "train", "--train", train, "--model", filepath.Join(ro, "m.bin"))
		assert.Equal(t, exitData, code)
		assert.Contains(t, stderr, "--model "+filepath.Join(ro, "m.bin")+": cannot create files in "+ro+": permission denied")
		code, _, stderr = runCLI(t, "", "gen", "logins", "--users", "10", "--out", filepath.Join(ro, "data"))
		assert.Equal(t, exitData, code)
		assert.Contains(t, stderr, "cannot create files in "+ro)
	}

	// A good output: gen creates the missing directories, and the checks
	// leave nothing of their own.
	out := filepath.Join(tmp, "new", "data")
	code, _, stderr := runCLI(t, "", "gen", "logins", "--users", "10", "--asns", "1000", "--out", out)
	require.Equal(t, exitOK, code, stderr)
	for _, d := range []string{tmp, filepath.Join(tmp, "new"), out} {
		ents, err := os.ReadDir(d)
		require.NoError(t, err)
		for _, e := range ents {
			assert.False(t, strings.HasPrefix(e.Name(), ".ipinsights-check-"), "%s left in %s", e.Name(), d)
		}
	}
	ents, err := os.ReadDir(out)
	require.NoError(t, err)
	assert.Len(t, ents, 4, "train.csv, validation.csv, test_labeled.csv, validation_labeled.csv")
}

func TestParityFlagChecks(t *testing.T) {
	for _, c := range []struct {
		flag, value, msg string
	}{
		{"--threshold", "NaN", "--threshold must be a finite number"},
		{"--threshold", "+Inf", "--threshold must be a finite number"},
		{"--threshold", "-Inf", "--threshold must be a finite number"},
		{"--top-k", "0", "--top-k 0: want 1 or more"},
		{"--top-k", "-3", "--top-k -3: want 1 or more"},
	} {
		// The files need not exist: flags are checked first.
		args := []string{"parity", "--ours", "ours.csv", "--sagemaker", "sm.csv", c.flag, c.value}
		code, _, stderr := runCLI(t, "", args...)
		assert.Equal(t, exitUsage, code, "%v: %s", args, stderr)
		assert.Contains(t, stderr, c.msg, "%v", args)
		args = []string{"sagemaker", "parity", "--model", "m.bin", "--test", "t.csv", "--endpoint", "e", c.flag, c.value}
		code, _, stderr = runCLI(t, "", args...)
		assert.Equal(t, exitUsage, code, "%v: %s", args, stderr)
		assert.Contains(t, stderr, c.msg, "%v", args)
	}
}

func TestGenSizeBounds(t *testing.T) {
	out := filepath.Join(t.TempDir(), "data")
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"gen", "logins", "--out", out, "--users", "400001"}, "--users 400001: want 1 to 400,000"},
		{[]string{"gen", "logins", "--out", out, "--users", "9000000000000"}, "--users 9000000000000: want 1 to 400,000"},
		{[]string{"gen", "logins", "--out", out, "--users", "0"}, "--users 0: want 1 to 400,000"},
		{[]string{"gen", "logins", "--out", out, "--asns", "10000001"}, "--asns 10000001: want 2 to 10,000,000"},
		{[]string{"gen", "logins", "--out", out, "--asns", "1"}, "--asns 1: want 2 to 10,000,000"},
		{[]string{"demo", "--users", "400001"}, "--users 400001: want 10 to 400,000"},
	} {
		code, _, stderr := runCLI(t, "", c.args...)
		assert.Equal(t, exitUsage, code, "%v: %s", c.args, stderr)
		assert.Contains(t, stderr, c.msg, "%v", c.args)
	}
	_, err := os.Stat(out)
	assert.ErrorIs(t, err, os.ErrNotExist, "nothing was created")
}
