package awslogs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func findingRows(c *collect) []string {
	var out []string
	for _, t := range c.tuples {
		out = append(out, strings.Join([]string{t.Principal, t.Addr.String(), t.FindingID, t.FindingType, t.Severity}, ","))
	}
	return out
}

// fid is the id the fixture script gives finding n.
func fid(n int) string {
	return "000000000000000000000000f00d" + []string{"", "0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009", "000a", "000b", "000c"}[n]
}

// TestGuardDutyFindings pins the tuples and skip reasons of every finding
// in testdata/guardduty_findings.json (a JSON array, camelCase): one per
// action type with and without access key details, IPv4 and IPv6.
func TestGuardDutyFindings(t *testing.T) {
	var c collect
	rep, err := ExtractGuardDuty(context.Background(), []string{"testdata/guardduty_findings.json"}, &c, nil)
	require.NoError(t, err)
	require.False(t, rep.Failed(), rep.String())
	assert.Equal(t, []string{
		"AIDAJ45Q7YFFAREXAMPLE,198.51.100.77," + fid(1) + ",Recon:IAMUser/MaliciousIPCaller,5",
		"AROAIDPPEZS35WEXAMPLE,203.0.113.66," + fid(2) + ",UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS,8",
		"AIDAJ45Q7YFFAREXAMPLE,2001:db8:dead::1," + fid(3) + ",UnauthorizedAccess:IAMUser/TorIPCaller,5",
		"AIDAJ45Q7YFFAREXAMPLE,192.0.2.61," + fid(6) + ",Recon:EC2/PortProbeUnprotectedPort,2",
		"AIDAJ45Q7YFFAREXAMPLE,2001:db8::62," + fid(6) + ",Recon:EC2/PortProbeUnprotectedPort,2",
		"AIDAJ45Q7YFFAREXAMPLE,192.0.2.77," + fid(7) + ",UnauthorizedAccess:EC2/TorClient,8",
		"123456789012,203.0.113.10," + fid(10) + ",Policy:IAMUser/RootCredentialUsage,2",
	}, findingRows(&c))
	assert.Equal(t, 12, rep.Records)
	loc := func(n int) Location { return Location{File: "testdata/guardduty_findings.json", Record: n} }
	assert.Equal(t, []Location{loc(4), loc(5)}, rep.Skipped[NoAccessKey].First, "EC2 findings")
	assert.Equal(t, []Location{loc(8)}, rep.Skipped[OtherAction].First, "DNS_REQUEST")
	assert.Equal(t, []Location{loc(9)}, rep.Skipped[NoRemoteAddress].First, "an API call by an AWS service")
	assert.Equal(t, []Location{loc(11)}, rep.Skipped[NoPrincipal].First)
	assert.Equal(t, []Location{loc(12)}, rep.Skipped[BadAddress].First)
}

// TestGuardDutyKeysMatchCloudTrail checks that a finding's principal is the
// key of the same identity in CloudTrail under every rule, for the IAM user
// and the assumed role of the fixtures.
func TestGuardDutyKeysMatchCloudTrail(t *testing.T) {
	for k := KeyIdentity; k <= KeyAccessKey; k++ {
		var ct, gd collect
		_, err := ExtractCloudTrail(context.Background(), []string{"testdata/cloudtrail_identities.json"}, &ct, &Options{Key: k})
		require.NoError(t, err)
		_, err = ExtractGuardDuty(context.Background(), []string{"testdata/guardduty_findings.json"}, &gd, &Options{Key: k})
		require.NoError(t, err)
		keys := map[string]bool{}
		for _, tu := range ct.tuples {
			keys[tu.Principal] = true
		}
		// Findings 1 (IAM user Alice), 2 (role RoleToBeAssumed) and 10 (root).
		checked := map[string]bool{}
		for _, tu := range gd.tuples {
			switch tu.FindingID {
			case fid(1), fid(2), fid(10):
				if k == KeyAccessKey && tu.FindingID == fid(10) {
					continue // the root's console sign-in had no access key
				}
				checked[tu.FindingID] = true
				assert.True(t, keys[tu.Principal], "%s: finding %s principal %q is a training principal", k, tu.FindingID, tu.Principal)
			}
		}
		want := 3
		if k == KeyAccessKey {
			want = 2
		}
		assert.Len(t, checked, want, "%s: every one of these findings gives a tuple", k)
	}
}

func TestGuardDutyIdentityARNs(t *testing.T) {
	cases := []struct {
		akd  AccessKeyDetails
		want string
	}{
		{AccessKeyDetails{UserType: "IAMUser", UserName: "Alice"}, "arn:aws-cn:iam::123456789012:user/Alice"},
		{AccessKeyDetails{UserType: "AssumedRole", UserName: "R", PrincipalID: "AROAX:i-1"}, "arn:aws-cn:iam::123456789012:role/R"},
		{AccessKeyDetails{UserType: "Root", UserName: "Root"}, "arn:aws-cn:iam::123456789012:root"},
		{AccessKeyDetails{UserType: "FederatedUser", UserName: "Bob"}, "arn:aws-cn:sts::123456789012:federated-user/Bob"},
		{AccessKeyDetails{UserType: "IAMUser"}, ""},
	}
	for _, c := range cases {
		u := c.akd.identity("123456789012", "aws-cn")
		assert.Equal(t, c.want, KeyARN.Key(&u), c.akd.UserType)
	}
}

func TestGuardDutyFormats(t *testing.T) {
	// GetFindings output from the AWS CLI: PascalCase.
	var c collect
	rep, err := ExtractGuardDuty(context.Background(), []string{"testdata/guardduty_get_findings_cli.json"}, &c, nil)
	require.NoError(t, err)
	require.False(t, rep.Failed(), rep.String())
	assert.Equal(t, []string{"AROAIDPPEZS35WEXAMPLE,203.0.113.66," + fid(2) + ",UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS,8"}, findingRows(&c))
	assert.Equal(t, 2, rep.Records)
	assert.Equal(t, 1, rep.SkippedCount(NoAccessKey))

	// EventBridge events, one per line, gzip compressed as S3 exports are;
	// an event of another kind is counted.
	data, err := os.ReadFile("testdata/guardduty_eventbridge.jsonl")
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "export.jsonl.gz")
	writeFile(t, path, data, true)
	c = collect{}
	rep, err = ExtractGuardDuty(context.Background(), []string{path}, &c, nil)
	require.NoError(t, err)
	require.False(t, rep.Failed(), rep.String())
	assert.Equal(t, []string{
		"AIDAJ45Q7YFFAREXAMPLE,198.51.100.77," + fid(1) + ",Recon:IAMUser/MaliciousIPCaller,5",
		"AIDAJ45Q7YFFAREXAMPLE,192.0.2.61," + fid(6) + ",Recon:EC2/PortProbeUnprotectedPort,2",
		"AIDAJ45Q7YFFAREXAMPLE,2001:db8::62," + fid(6) + ",Recon:EC2/PortProbeUnprotectedPort,2",
	}, findingRows(&c))
	assert.Equal(t, []Location{{File: path, Record: 3}}, rep.Skipped[NotAFinding].First)

	// Findings as JSON lines, and a single finding object.
	one := `{"id":"f1","type":"T","severity":2.5,"accountId":"1","resource":{"accessKeyDetails":{"principalId":"AIDAX","userType":"IAMUser"}},` +
		`"service":{"action":{"actionType":"AWS_API_CALL","awsApiCallAction":{"remoteIpDetails":{"ipAddressV4":"192.0.2.1"}}}}}`
	for name, text := range map[string]string{"lines": one + "\n" + strings.Replace(one, "f1", "f2", 1) + "\n", "object": one, "array": "[" + one + "]", "findings": `{"findings":[` + one + `]}`} {
		path := filepath.Join(t.TempDir(), "f.json")
		writeFile(t, path, []byte(text), false)
		c = collect{}
		rep, err = ExtractGuardDuty(context.Background(), []string{path}, &c, nil)
		require.NoError(t, err)
		require.False(t, rep.Failed(), "%s: %s", name, rep)
		require.NotEmpty(t, c.tuples, name)
		assert.Equal(t, "AIDAX,192.0.2.1,f1,T,2.5", findingRows(&c)[0], name)
	}
}

func TestGuardDutyBadInputs(t *testing.T) {
	good, err := os.ReadFile("testdata/guardduty_findings.json")
	require.NoError(t, err)
	for name, c := range map[string]struct {
		text    string
		wantErr string
	}{
		"truncated":  {string(good[:len(good)/2]), "unexpected EOF"},
		"cloudtrail": {`{"Records":[]}`, ErrNotGuardDuty.Error()},
		"not json":   {"id,type\n", "invalid character"},
	} {
		dir := t.TempDir()
		bad := filepath.Join(dir, "bad.json")
		writeFile(t, bad, []byte(c.text), false)
		var col collect
		rep, err := ExtractGuardDuty(context.Background(), []string{bad, "testdata/guardduty_get_findings_cli.json"}, &col, nil)
		require.NoError(t, err)
		require.Len(t, rep.Errors, 1, name)
		var fe *FileError
		require.True(t, errors.As(rep.Errors[0], &fe))
		assert.Equal(t, bad, fe.File)
		assert.Contains(t, fe.Error(), c.wantErr, name)
		assert.Equal(t, fid(2), col.tuples[len(col.tuples)-1].FindingID, "%s: the other file is read", name)
	}
	// An input whose first value is not a finding is not findings.
	for text, want := range map[string]string{
		"[1, 2]":             "the first value is a number",
		"null":               "the first value is null",
		`"x"`:                "the first value is a string",
		`{"findings": [[]]}`: "the first value is an array",
		`{"x": 1}`:           "the first value is an object without id, type, resource or service",
		"42\n43\n":           "the first value is a number",
	} {
		bad := filepath.Join(t.TempDir(), "bad.json")
		writeFile(t, bad, []byte(text), false)
		rep, err := ExtractGuardDuty(context.Background(), []string{bad}, &collect{}, nil)
		require.NoError(t, err)
		require.Len(t, rep.Errors, 1, text)
		assert.ErrorIs(t, rep.Errors[0], ErrNotGuardDuty, text)
		assert.ErrorContains(t, rep.Errors[0], bad+": ", text)
		assert.ErrorContains(t, rep.Errors[0], "not GuardDuty findings: "+want, text)
	}
	for _, text := range []string{"[]", `{"Findings": []}`} {
		empty := filepath.Join(t.TempDir(), "empty.json")
		writeFile(t, empty, []byte(text), false)
		rep, err := ExtractGuardDuty(context.Background(), []string{empty}, &collect{}, nil)
		require.NoError(t, err)
		assert.False(t, rep.Failed(), "%s: %v", text, rep.Errors)
	}

	// Valid JSON values that are not findings are counted, not fatal.
	path := filepath.Join(t.TempDir(), "m.jsonl")
	writeFile(t, path, []byte(`{"id":"a","type":"T"}`+"\n"+`42`+"\n"+`{"detail-type":"GuardDuty Finding"}`+"\n"+`{"severity":"high","id":"b"}`+"\n"+`{"x":1}`+"\n"), false)
	var col collect
	rep, err := ExtractGuardDuty(context.Background(), []string{path}, &col, nil)
	require.NoError(t, err)
	assert.False(t, rep.Failed())
	assert.Equal(t, 4, rep.SkippedCount(Malformed), rep.String())
	assert.Equal(t, 1, rep.SkippedCount(NoAccessKey))
}
