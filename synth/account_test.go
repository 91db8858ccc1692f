package synth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/awslogs"
	"github.com/ipinsights/ipinsights-go/rng"
	"github.com/ipinsights/ipinsights-go/synth"
)

// smallAccount is the workshop test's account (12 users, 2 roles, 3
// days), for the given number of days.
func smallAccount(t *testing.T, seed uint64, days int) *synth.Account {
	t.Helper()
	a, err := synth.NewAccount(synth.AccountConfig{Users: 12, Roles: 2, Days: days, EventsPerDay: 60, Seed: seed})
	require.NoError(t, err)
	return a
}

// logBytes renders every log file of a, and the number of files.
func logBytes(t *testing.T, a *synth.Account, limit int) ([]byte, int) {
	t.Helper()
	var b bytes.Buffer
	n := 0
	for f := range a.LogFiles() {
		if n == limit {
			break
		}
		b.WriteString(f.Path() + "\n")
		_, err := f.WriteTo(&b)
		require.NoError(t, err)
		n++
	}
	return b.Bytes(), n
}

func TestAccountIsReproducible(t *testing.T) {
	a, b := smallAccount(t, 5, 1), smallAccount(t, 5, 1)
	assert.Equal(t, a.Users, b.Users)
	assert.Equal(t, a.Roles, b.Roles)
	la, n := logBytes(t, a, -1)
	lb, _ := logBytes(t, b, -1)
	assert.Equal(t, la, lb, "the same config gives the same log files")
	assert.Equal(t, a.Findings(), b.Findings())
	assert.Equal(t, 24*2, n, "a file per region and hour: every hour has events in both")

	// Files do not depend on how many are read.
	head, _ := logBytes(t, smallAccount(t, 5, 3), 7)
	assert.True(t, bytes.HasPrefix(la, head))

	other, _ := logBytes(t, smallAccount(t, 6, 1), -1)
	assert.NotEqual(t, la, other, "another seed, other logs")
	assert.NotEqual(t, a.Users[0].ID, smallAccount(t, 6, 1).Users[0].ID)
}

// TestAccountReadsAsCloudTrail writes the logs and findings and reads them
// back with awslogs: every record is a CloudTrail event that gives a
// tuple of a user or role of the account, or is skipped for one of the
// reasons the generator means (service calls, Insights events).
func TestAccountReadsAsCloudTrail(t *testing.T) {
	a := smallAccount(t, 1, 3)
	dir := t.TempDir()
	n, err := a.WriteCloudTrail(dir)
	require.NoError(t, err)

	principals := map[string]bool{}
	for _, u := range a.Users {
		principals[u.ID] = true
	}
	for _, r := range a.Roles {
		principals[r.ID] = true
	}
	seen := map[string]bool{}
	rep, err := awslogs.ExtractCloudTrail(context.Background(), []string{dir}, awslogs.TupleWriterFunc(func(tu *awslogs.Tuple) error {
		assert.True(t, principals[tu.Principal], tu.Principal)
		seen[tu.Principal] = true
		return nil
	}), nil)
	require.NoError(t, err)
	require.False(t, rep.Failed(), rep.String())
	assert.Empty(t, rep.Ignored)
	assert.Equal(t, 3*24*2, rep.Inputs)
	assert.Equal(t, n, rep.Records)
	assert.Len(t, seen, len(principals), "every principal calls")
	assert.Equal(t, 3, rep.SkippedCount(awslogs.NoUserIdentity), "one Insights event a day")
	assert.Positive(t, rep.SkippedCount(awslogs.AWSInternal))
	assert.Positive(t, rep.SkippedCount(awslogs.ServiceSource))
	skipped := 0
	for reason, s := range rep.Skipped {
		assert.Contains(t, []awslogs.Reason{awslogs.NoUserIdentity, awslogs.AWSInternal, awslogs.ServiceSource}, reason)
		skipped += s.Count
	}
	assert.Equal(t, n, rep.Tuples+skipped)

	path, err := a.WriteFindings(dir)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "AWSLogs/111122223333/GuardDuty/us-east-1/2024/03/06/findings.jsonl.gz"), path)
	var got []string
	rep, err = awslogs.ExtractGuardDuty(context.Background(), []string{path}, awslogs.TupleWriterFunc(func(tu *awslogs.Tuple) error {
		got = append(got, tu.Principal)
		return nil
	}), nil)
	require.NoError(t, err)
	require.False(t, rep.Failed(), rep.String())
	// Users 0, 7, 14, 21 and 28 modulo 12, twice each, and the first role.
	u := func(i int) string { return a.Users[i].ID }
	assert.Equal(t, []string{u(0), u(0), u(7), u(7), u(2), u(2), u(9), u(9), u(4), u(4), a.Roles[0].ID}, got)
	assert.Equal(t, 1, rep.SkippedCount(awslogs.NoAccessKey), "the SSH brute force")
	assert.Equal(t, 12, rep.Records)
}

// TestAccountRates checks the documented rates of LogFiles on the default
// account (40 users, 6 roles, 7 days, 90 calls per user and day).
func TestAccountRates(t *testing.T) {
	if testing.Short() {
		t.Skip("draws a week of logs")
	}
	a, err := synth.NewAccount(synth.AccountConfig{Seed: 2})
	require.NoError(t, err)
	var users, roles, internal, console, v6, insights int
	pathRE := regexp.MustCompile(`^AWSLogs/111122223333/CloudTrail/(us-east-1|eu-west-1)/2024/03/(0[4-9]|10)/111122223333_CloudTrail_(us-east-1|eu-west-1)_202403\d\dT\d\d00Z_[0-9A-F]{8}\.json\.gz$`)
	for f := range a.LogFiles() {
		require.Regexp(t, pathRE, filepath.ToSlash(f.Path()))
		for i, e := range f.Events {
			require.Equal(t, f.Region, e.Region)
			require.False(t, e.Time.Before(f.Time) || !e.Time.Before(f.Time.Add(time.Hour)), "event time in the file's hour")
			if i > 0 {
				require.False(t, e.Time.Before(f.Events[i-1].Time), "events in time order")
			}
			switch {
			case e.Identity == nil:
				insights++
			case e.Identity.Type == "IAMUser":
				users++
				if e.EventName == "ConsoleLogin" {
					console++
					assert.Empty(t, e.Identity.AccessKeyID)
				}
				if netip.MustParseAddr(e.SourceIPAddress).Is6() {
					v6++
				}
			case e.Identity.Type == "AssumedRole":
				roles++
				if e.SourceIPAddress == "AWS Internal" {
					internal++
				}
			}
		}
	}
	// Per user and day: 90/24 calls an hour times 1.6 for the 13 working
	// hours and 0.3 for the 11 others, 90*(13*1.6+11*0.3)/24 = 90.375.
	// 40 users for 7 days: 25,305 expected, a Poisson count with standard
	// deviation 159; 2% is 3 of them.
	assert.InDelta(t, 25305, users, 0.02*25305)
	// Per role: 2*90 a day; 6 roles for 7 days: 7,560 (sd 87).
	assert.InDelta(t, 7560, roles, 0.04*7560)
	assert.InDelta(t, 1.0/8, float64(internal)/float64(roles), 0.02, "one role call in 8 through a service")
	assert.InDelta(t, 1.0/30, float64(console)/float64(users), 0.01, "one user call in 30 a console sign-in")
	// Users 4, 9, ... (8 of 40) call over IPv6 for half of their calls
	// from home; at home means outside working hours or in the 30% of
	// working hours not at an office, and not travelling. So some, but
	// fewer than a fifth of all user calls.
	assert.Positive(t, v6)
	assert.Less(t, float64(v6), 0.2*float64(users))
	assert.Equal(t, 7, insights)
}

// TestEventRecordShapes decodes generated records with awslogs' Record,
// as a consumer of CloudTrail would: the identity fields land where
// CloudTrail puts them.
func TestEventRecordShapes(t *testing.T) {
	created := time.Date(2024, 3, 4, 9, 0, 0, 0, time.UTC)
	role := synth.IAMRole{Name: "app", ID: "AROAEXAMPLE", AccessKeyID: "ASIAEXAMPLE", Session: "i-1"}
	r := rng.New(1, 1)
	cases := []struct {
		name string
		e    synth.Event
		pair string
		why  awslogs.Reason
	}{
		{"role", synth.Event{Identity: role.Identity("123456789012", created), SourceIPAddress: "192.0.2.1", EventName: "GetObject"}, "AROAEXAMPLE,192.0.2.1", 0},
		{"insights", synth.Event{EventName: "RunInstances"}, "", awslogs.NoUserIdentity},
		{"service", synth.Event{Identity: synth.ServiceIdentity("ec2.amazonaws.com"), SourceIPAddress: "ec2.amazonaws.com"}, "", awslogs.ServiceSource},
	}
	for _, c := range cases {
		c.e.ID, c.e.RequestID, c.e.Time = synth.UUID(r), synth.UUID(r), created
		data, err := json.Marshal(c.e)
		require.NoError(t, err)
		var rec awslogs.Record
		require.NoError(t, json.Unmarshal(data, &rec), c.name)
		assert.Equal(t, c.e.ID, rec.EventID)
		assert.Equal(t, "2024-03-04T09:00:00Z", rec.EventTime)
		pair, why := awslogs.KeyIdentity.CloudTrailPair(&rec)
		assert.Equal(t, c.why, why, c.name)
		if why == 0 {
			assert.Equal(t, c.pair, pair.Entity+","+pair.IP.String())
		}
	}
	role4 := role.Identity("123456789012", created)
	arn := awslogs.KeyARN.Key(&awslogs.UserIdentity{Type: role4.Type, ARN: role4.ARN,
		SessionContext: &awslogs.SessionContext{SessionIssuer: &awslogs.SessionIssuer{ARN: role4.SessionContext.SessionIssuer.ARN}}})
	assert.Equal(t, "arn:aws:iam::123456789012:role/app", arn)

	var shape map[string]any
	data, err := json.Marshal(synth.Event{EventName: "ConsoleLogin", Identity: &synth.Identity{Type: "IAMUser"}, SourceIPAddress: "192.0.2.1"})
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &shape))
	assert.Equal(t, "AwsConsoleSignIn", shape["eventType"])
	assert.Equal(t, map[string]any{"ConsoleLogin": "Success"}, shape["responseElements"])

	assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, synth.UUID(r))
}

// TestFindingEventBridge decodes a generated EventBridge event as a Lambda
// function would and takes its pair with awslogs.
func TestFindingEventBridge(t *testing.T) {
	f := synth.Finding{ID: "f1", Type: "Recon:IAMUser/MaliciousIPCaller", Severity: 5, Account: "123456789012", Region: "us-east-1",
		AccessKeyID: "AKIAEXAMPLE", PrincipalID: "AIDAEXAMPLE", UserName: "alice", UserType: "IAMUser",
		RemoteIP: netip.MustParseAddr("2001:db8::7")}
	data, err := f.EventBridge("c8c4daa7-a20c-2f03-0070-b7393dd542a0")
	require.NoError(t, err)
	var ev struct {
		ID         string          `json:"id"`
		DetailType string          `json:"detail-type"`
		Detail     awslogs.Finding `json:"detail"`
	}
	require.NoError(t, json.Unmarshal(data, &ev))
	assert.Equal(t, "GuardDuty Finding", ev.DetailType)
	assert.Equal(t, "c8c4daa7-a20c-2f03-0070-b7393dd542a0", ev.ID)
	assert.Equal(t, "5", ev.Detail.Severity.String())
	var got []string
	for p, why := range awslogs.KeyARN.FindingPairs(&ev.Detail) {
		require.Zero(t, why)
		got = append(got, p.Entity+" "+p.IP.String())
	}
	assert.Equal(t, []string{"arn:aws:iam::123456789012:user/alice 2001:db8::7"}, got)

	f.InstanceID = "i-1"
	data, err = f.EventBridge("x")
	require.NoError(t, err)
	var inst struct{ Detail awslogs.Finding }
	require.NoError(t, json.Unmarshal(data, &inst))
	var whys []awslogs.Reason
	for _, why := range awslogs.KeyIdentity.FindingPairs(&inst.Detail) {
		whys = append(whys, why)
	}
	assert.Equal(t, []awslogs.Reason{awslogs.NoAccessKey}, whys, "an instance finding has no access key")
}

func TestNewAccountErrors(t *testing.T) {
	for _, c := range []synth.AccountConfig{{Users: -1}, {Days: -2}, {ID: "12345"}, {ID: "11112222333a"}} {
		_, err := synth.NewAccount(c)
		assert.Error(t, err, "%+v", c)
	}
	a, err := synth.NewAccount(synth.AccountConfig{})
	require.NoError(t, err)
	assert.Equal(t, synth.AccountConfig{ID: "111122223333", Users: 40, Roles: 6, Days: 7, EventsPerDay: 90,
		Start: time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)}, a.Config)
	assert.Len(t, a.Users, 40)
	assert.Len(t, a.Roles, 6)
	for i, u := range a.Users {
		assert.Equal(t, i%5 == 4, u.HomeV6.IsValid(), u.Name)
	}
}
