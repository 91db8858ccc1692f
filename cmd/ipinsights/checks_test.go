package main

import (
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
