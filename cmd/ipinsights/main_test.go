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

// Asked-for help goes to standard output with exit 0; no command at all,
// an unknown command or a bad flag is a usage error: standard error, exit 2.
func TestHelpAndUnknownCommand(t *testing.T) {
	code, stdout, stderr := runCLI(t, "")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "commands:")
	assert.Empty(t, stdout)
	for _, h := range []string{"help", "-h", "--help"} {
		code, stdout, stderr = runCLI(t, "", h)
		assert.Equal(t, exitOK, code, h)
		assert.Contains(t, stdout, "commands:", h)
		assert.Empty(t, stderr, h)
	}
	code, stdout, stderr = runCLI(t, "", "help", "score")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, stdout, "usage: ipinsights score")
	assert.Empty(t, stderr)
	code, _, stderr = runCLI(t, "", "help", "frobnicate")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, `unknown command "frobnicate"`)
	code, _, stderr = runCLI(t, "", "frobnicate")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, `unknown command "frobnicate"`)

	// A bad flag: one line on stderr naming the flag, nothing on stdout.
	code, stdout, stderr = runCLI(t, "", "score", "--bogus")
	assert.Equal(t, exitUsage, code)
	assert.Empty(t, stdout)
	assert.Equal(t, "ipinsights score: flag provided but not defined: -bogus (run \"ipinsights score --help\")\n", stderr)
}

func TestEveryCommandHasHelpWithExample(t *testing.T) {
	for name, c := range commands {
		for _, args := range [][]string{{name, "--help"}, {name, "-h"}, {"help", name}} {
			code, stdout, stderr := runCLI(t, "", args...)
			assert.Equal(t, exitOK, code, "%v", args)
			assert.Contains(t, stdout, "usage: ipinsights "+name, "%v", args)
			assert.Contains(t, stdout, "example:", "%v", args)
			assert.Empty(t, stderr, "%v", args)
		}
		assert.NotEmpty(t, c.example, "%s has an example", name)
	}
}
