package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
)

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
		{[]string{"gen", "logins", "--out", out, "--users", "100001"}, "--users 100001: want 1 to 100,000"},
		{[]string{"gen", "logins", "--out", out, "--users", "9000000000000"}, "--users 9000000000000: want 1 to 100,000"},
		{[]string{"gen", "logins", "--out", out, "--users", "0"}, "--users 0: want 1 to 100,000"},
		{[]string{"gen", "logins", "--out", out, "--asns", "10000001"}, "--asns 10000001: want 2 to 10,000,000"},
		{[]string{"gen", "logins", "--out", out, "--asns", "1"}, "--asns 1: want 2 to 10,000,000"},
		{[]string{"demo", "--users", "100001"}, "--users 100001: want 10 to 100,000"},
	} {
		code, _, stderr := runCLI(t, "", c.args...)
		assert.Equal(t, exitUsage, code, "%v: %s", c.args, stderr)
		assert.Contains(t, stderr, c.msg, "%v", c.args)
	}
	_, err := os.Stat(out)
	assert.ErrorIs(t, err, os.ErrNotExist, "nothing was created")
}
