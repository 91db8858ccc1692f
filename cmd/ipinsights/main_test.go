package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// runCLI runs the command line in-process and returns the exit code and
// what it wrote.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb}
	code := runMain(context.Background(), e, args)
	return code, out.String(), errb.String()
}

func TestHelpAndUnknownCommand(t *testing.T) {
	code, _, stderr := runCLI(t, "")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "commands:")
	code, _, _ = runCLI(t, "", "help")
	assert.Equal(t, exitOK, code)
	code, _, stderr = runCLI(t, "", "frobnicate")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, `unknown command "frobnicate"`)
}

func TestEveryCommandHasHelpWithExample(t *testing.T) {
	for name, c := range commands {
		code, _, stderr := runCLI(t, "", name, "--help")
		assert.Equal(t, exitOK, code, name)
		assert.Contains(t, stderr, "usage: ipinsights "+name, name)
		assert.NotEmpty(t, c.example, "%s has an example", name)
		assert.Contains(t, stderr, "example:", name)
	}
}
