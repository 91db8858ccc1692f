package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGenAWSFeedsTuples writes a small account's logs and findings and
// extracts tuples from them, the workshop's flow on the command line.
func TestGenAWSFeedsTuples(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runCLI(t, "", "gen", "aws", "--users", "12", "--roles", "2", "--days", "2", "--events", "30", "--seed", "4", "--out", dir)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "of account 111122223333 (12 users, 2 roles, 2 days)")
	assert.Contains(t, stdout, "12 GuardDuty findings as EventBridge events")

	acct := filepath.Join(dir, "AWSLogs", "111122223333")
	code, rows, stderr := runCLI(t, "", "tuples", "cloudtrail", filepath.Join(acct, "CloudTrail"))
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "96 inputs")
	assert.Greater(t, strings.Count(rows, "\n"), 500)
	code, rows, stderr = runCLI(t, "", "tuples", "guardduty", filepath.Join(acct, "GuardDuty"))
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, 11, strings.Count(rows, "\n"), "two calls for each of 5 users, one for a role")
	assert.Contains(t, stderr, "skipped 1: no access key details")

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--users", "0"}, "--users 0: want 1 to 1,000"},
		{[]string{"--days", "367"}, "--days 367: want 1 to 366"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	} {
		code, _, stderr := runCLI(t, "", append([]string{"gen", "aws", "--out", dir}, c.args...)...)
		assert.Equal(t, exitUsage, code, c.args)
		assert.Contains(t, stderr, c.want)
	}
	code, _, stderr = runCLI(t, "", "gen", "aws")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--out is required")
}
