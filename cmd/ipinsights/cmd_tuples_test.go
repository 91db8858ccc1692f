package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/csvio"
	"github.com/ipinsights/ipinsights-go/internal/test/s3test"
)

const (
	ctFixture = "../../awslogs/testdata/cloudtrail_identities.json"
	gdFixture = "../../awslogs/testdata/guardduty_findings.json"
)

func TestTuplesCloudTrail(t *testing.T) {
	code, stdout, stderr := runCLI(t, "", "tuples", "cloudtrail", ctFixture)
	require.Equal(t, exitOK, code, stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	assert.Len(t, lines, 12)
	assert.Equal(t, "AIDAJ45Q7YFFAREXAMPLE,192.0.2.10", lines[0])
	assert.Equal(t, "AROAIDPPEZS35WEXAMPLE,198.51.100.20", lines[1], "an assumed role is keyed by its role")
	assert.Contains(t, stderr, "tuples cloudtrail: 1 input, 19 records, 12 tuples")
	assert.Contains(t, stderr, "tuples cloudtrail: skipped 1: AWS Internal as source ("+ctFixture+" record 14)")
	assert.Contains(t, stderr, "skipped 2: service DNS name as source")

	// Flags after the paths, the workshop's key, a time window that keeps
	// nothing, an output file.
	out := filepath.Join(t.TempDir(), "train.csv")
	code, stdout, stderr = runCLI(t, "", "tuples", "cloudtrail", ctFixture, "--principal", "workshop", "--output", out)
	require.Equal(t, exitOK, code, stderr)
	assert.Empty(t, stdout)
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Contains(t, string(data), "\naccounts.google.com,192.0.2.90\n", "the workshop's rule collapses web identities")

	code, _, stderr = runCLI(t, "", "tuples", "cloudtrail", "--since", "2024-03-02", ctFixture)
	assert.Equal(t, exitOK, code)
	assert.Contains(t, stderr, "filtered 19: outside the time window")

	code, stdout, _ = runCLI(t, "", "tuples", "cloudtrail", "--event-names", "ConsoleLogin", "--read-only", "false", "--dedup", ctFixture, ctFixture)
	assert.Equal(t, exitOK, code)
	assert.Equal(t, "123456789012,203.0.113.40\n123456789012,203.0.113.120\n", stdout, "ConsoleLogin events once each")

	// Standard input.
	f, err := os.ReadFile(ctFixture)
	require.NoError(t, err)
	code, stdout, _ = runCLI(t, string(f), "tuples", "cloudtrail", "-")
	assert.Equal(t, exitOK, code)
	assert.Len(t, strings.Split(strings.TrimSpace(stdout), "\n"), 12)
}

func TestTuplesGuardDutyRowsReadAsScoreInput(t *testing.T) {
	code, stdout, stderr := runCLI(t, "", "tuples", "guardduty", "--header", gdFixture)
	require.Equal(t, exitOK, code, stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	assert.Equal(t, "principal,ip,finding_id,finding_type,severity", lines[0])
	assert.Equal(t, "AROAIDPPEZS35WEXAMPLE,203.0.113.66,000000000000000000000000f00d0002,UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS,8", lines[2])
	assert.Contains(t, stderr, "skipped 2: no access key details")

	// The rows are what `score` reads: entity,ip plus extra columns.
	r := csvio.NewReader(strings.NewReader(stdout), csvio.Options{Header: true, MaxFields: -1})
	n := 0
	for r.Next() {
		assert.Len(t, r.Fields(), 5)
		n++
	}
	require.NoError(t, r.Err())
	assert.Equal(t, 7, n)
}

func TestTuplesErrors(t *testing.T) {
	for _, args := range [][]string{
		{"tuples"},
		{"tuples", "vpcflow", "x"},
		{"tuples", "cloudtrail"},
		{"tuples", "cloudtrail", "--principal", "principalId", ctFixture},
		{"tuples", "cloudtrail", "--since", "last week", ctFixture},
		{"tuples", "cloudtrail", "--since", "2024-03-02", "--until", "2024-03-01", ctFixture},
		{"tuples", "cloudtrail", "--read-only", "maybe", ctFixture},
		{"tuples", "guardduty", "--dedup", gdFixture},
		{"tuples", "cloudtrail", "--workers", "-1", ctFixture},
	} {
		code, _, stderr := runCLI(t, "", args...)
		assert.Equal(t, exitUsage, code, "%v: %s", args, stderr)
	}

	// A truncated file among good ones: rows of the good ones, the error
	// names the file and the record, exit 1.
	dir := t.TempDir()
	good, err := os.ReadFile(ctFixture)
	require.NoError(t, err)
	bad := filepath.Join(dir, "cut.json")
	require.NoError(t, os.WriteFile(bad, good[:len(good)/2], 0o644))
	code, stdout, stderr := runCLI(t, "", "tuples", "cloudtrail", ctFixture, bad, ctFixture)
	assert.Equal(t, exitData, code)
	assert.Contains(t, stderr, "error: "+bad+": record ")
	assert.Contains(t, stderr, "unexpected EOF")
	assert.Contains(t, stderr, "1 of 3 inputs failed")
	assert.GreaterOrEqual(t, len(strings.Split(strings.TrimSpace(stdout), "\n")), 24)

	code, _, stderr = runCLI(t, "", "tuples", "cloudtrail", t.TempDir())
	assert.Equal(t, exitData, code)
	assert.Contains(t, stderr, "no cloudtrail input files found")

	code, stdout, _ = runCLI(t, "", "tuples", "guardduty", "--help")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, stdout, "usage: ipinsights tuples guardduty")
	assert.Contains(t, stdout, "-header")
}

// Input of the wrong kind fails naming the file and what it holds; input
// of the right kind without records passes with a warning.
func TestTuplesWrongOrEmptyInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		return p
	}
	csvFile := write("train.csv", "alice,192.0.2.1\nbob,192.0.2.2\n")
	other := write("other.json", `[{"name": "x"}]`)
	for _, c := range []struct {
		kind, path, want string
	}{
		{"cloudtrail", csvFile, "not a CloudTrail log: not JSON"},
		{"cloudtrail", other, "not a CloudTrail log: the first element of the array is an object without eventVersion"},
		{"cloudtrail", gdFixture, "not a CloudTrail log"},
		{"guardduty", csvFile, "invalid character"},
		{"guardduty", other, "not GuardDuty findings: the first value is an object without"},
		{"guardduty", ctFixture, "not GuardDuty findings"},
	} {
		code, stdout, stderr := runCLI(t, "", "tuples", c.kind, c.path)
		assert.Equal(t, exitData, code, "%s %s: %s", c.kind, c.path, stderr)
		assert.Empty(t, stdout)
		assert.Contains(t, stderr, "tuples "+c.kind+": error: "+c.path+": ", c.path)
		assert.Contains(t, stderr, c.want, c.path)
		assert.Contains(t, stderr, "ipinsights tuples: 1 of 1 input failed")
	}

	empty := write("empty.json", `{"Records":[]}`)
	code, stdout, stderr := runCLI(t, "", "tuples", "cloudtrail", empty)
	assert.Equal(t, exitOK, code, stderr)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "tuples cloudtrail: 1 input, 0 records, 0 tuples\n")
	assert.Contains(t, stderr, "tuples cloudtrail: warning: wrote no tuples: the input holds no records\n")

	code, _, stderr = runCLI(t, "", "tuples", "guardduty", write("none.json", `{"Findings":[]}`), write("none2.json", `[]`))
	assert.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "tuples guardduty: warning: wrote no tuples: the inputs hold no findings\n")

	code, _, stderr = runCLI(t, "", "tuples", "cloudtrail", "--until", "2000-01-01", ctFixture)
	assert.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "warning: wrote no tuples: every one of the 19 records was skipped or filtered out (see above)")

	code, _, stderr = runCLI(t, "", "tuples", "cloudtrail", ctFixture)
	assert.Equal(t, exitOK, code, stderr)
	assert.NotContains(t, stderr, "warning")
}

func TestTuplesFromS3(t *testing.T) {
	srv := s3test.New(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	srv.Bucket("trail")
	data, err := os.ReadFile(ctFixture)
	require.NoError(t, err)
	srv.Put("trail", "AWSLogs/123456789012/CloudTrail/us-east-1/2024/03/01/a.json", data)

	code, stdout, stderr := runCLI(t, "", "tuples", "cloudtrail", "--s3-endpoint", srv.URL, "s3://trail/AWSLogs/")
	require.Equal(t, exitOK, code, stderr)
	assert.Len(t, strings.Split(strings.TrimSpace(stdout), "\n"), 12)
}

// Flags may come between paths; after "--" everything is a path, even what
// looks like a flag.
func TestParseInterleaved(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	out := fs.String("out", "", "")
	pos, err := parseInterleaved(fs, []string{"a.json", "--out", "x", "b.json"})
	require.NoError(t, err)
	assert.Equal(t, []string{"a.json", "b.json"}, pos)
	assert.Equal(t, "x", *out)

	fs = flag.NewFlagSet("t", flag.ContinueOnError)
	out = fs.String("out", "", "")
	pos, err = parseInterleaved(fs, []string{"a.json", "--", "-b.json", "--out", "y"})
	require.NoError(t, err)
	assert.Equal(t, []string{"a.json", "-b.json", "--out", "y"}, pos)
	assert.Empty(t, *out, "--out after -- is a path, not a flag")
}
