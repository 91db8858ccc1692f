package awslogs

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// outcome is what one record or finding gave: its pairs, and the reasons
// of what gave none.
type outcome struct {
	pairs   []ipinsights.Pair
	reasons []Reason
}

// bulkOutcomes runs an extraction of one file and returns, by record
// index, what it wrote, with the skip counts of its report.
func bulkOutcomes(t *testing.T, extract func(context.Context, []string, TupleWriter, *Options) (*Report, error), file string, k PrincipalKey) (map[int][]ipinsights.Pair, map[Reason]int) {
	t.Helper()
	var c collect
	rep, err := extract(context.Background(), []string{file}, &c, &Options{Key: k})
	require.NoError(t, err)
	require.False(t, rep.Failed(), rep.String())
	pairs := map[int][]ipinsights.Pair{}
	for _, tu := range c.tuples {
		pairs[tu.Source.Record] = append(pairs[tu.Source.Record], tu.Pair())
	}
	skips := map[Reason]int{}
	for reason, s := range rep.Skipped {
		skips[reason] = s.Count
	}
	return pairs, skips
}

// compareOutcomes checks that the per-record outcomes, by 1-based record
// index, are what the extraction wrote and counted.
func compareOutcomes(t *testing.T, per map[int]outcome, bulk map[int][]ipinsights.Pair, bulkSkips map[Reason]int, what string) {
	t.Helper()
	skips := map[Reason]int{}
	for i, o := range per {
		assert.Equal(t, o.pairs, bulk[i], "%s record %d", what, i)
		for _, r := range o.reasons {
			skips[r]++
		}
	}
	for i := range bulk {
		_, ok := per[i]
		assert.True(t, ok, "%s: record %d gave tuples in bulk only", what, i)
	}
	assert.Equal(t, bulkSkips, skips, what)
}

// TestCloudTrailPairMatchesExtract decodes each record of the fixture on
// its own with encoding/json, as a function handed one record would, and
// checks that CloudTrailPair gives what ExtractCloudTrail writes and
// counts for it, under every key rule.
func TestCloudTrailPairMatchesExtract(t *testing.T) {
	const file = "testdata/cloudtrail_identities.json"
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	var log struct{ Records []json.RawMessage }
	require.NoError(t, json.Unmarshal(data, &log))
	require.Len(t, log.Records, len(identityCases))
	for k := KeyIdentity; k <= KeyAccessKey; k++ {
		per := map[int]outcome{}
		for i, raw := range log.Records {
			var rec Record
			require.NoError(t, json.Unmarshal(raw, &rec))
			pair, reason := k.CloudTrailPair(&rec)
			var o outcome
			if reason == 0 {
				o.pairs = []ipinsights.Pair{pair}
			} else {
				o.reasons = []Reason{reason}
				assert.Zero(t, pair, "%s record %d", k, i+1)
			}
			per[i+1] = o
			// And the pinned outcome, so that both sides cannot be
			// wrong alike.
			w := identityCases[i].keys[k]
			assert.Equal(t, w.reason, reason, "%s under %s", identityCases[i].name, k)
			assert.Equal(t, w.principal, pair.Entity, "%s under %s", identityCases[i].name, k)
		}
		bulk, skips := bulkOutcomes(t, ExtractCloudTrail, file, k)
		compareOutcomes(t, per, bulk, skips, k.String())
	}
}

// TestFindingPairsMatchesExtract decodes the findings of every GuardDuty
// fixture with encoding/json (a JSON array, GetFindings output of the AWS
// CLI, EventBridge events one per line, as a Lambda function receives
// them) and checks that FindingPairs gives what ExtractGuardDuty writes
// and counts for each, under every key rule.
func TestFindingPairsMatchesExtract(t *testing.T) {
	decode := map[string]func(t *testing.T, data []byte) map[int]*Finding{
		"testdata/guardduty_findings.json": func(t *testing.T, data []byte) map[int]*Finding {
			var fs []Finding
			require.NoError(t, json.Unmarshal(data, &fs))
			return indexed(fs)
		},
		"testdata/guardduty_get_findings_cli.json": func(t *testing.T, data []byte) map[int]*Finding {
			var out struct{ Findings []Finding }
			require.NoError(t, json.Unmarshal(data, &out))
			return indexed(out.Findings)
		},
		"testdata/guardduty_eventbridge.jsonl": func(t *testing.T, data []byte) map[int]*Finding {
			m := map[int]*Finding{}
			sc := bufio.NewScanner(bytes.NewReader(data))
			sc.Buffer(nil, 1<<20)
			for i := 1; sc.Scan(); i++ {
				var ev struct {
					DetailType string   `json:"detail-type"`
					Detail     *Finding `json:"detail"`
				}
				require.NoError(t, json.Unmarshal(sc.Bytes(), &ev))
				if ev.DetailType == "GuardDuty Finding" {
					m[i] = ev.Detail
				}
			}
			require.NoError(t, sc.Err())
			return m
		},
	}
	for file, dec := range decode {
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		findings := dec(t, data)
		require.NotEmpty(t, findings, file)
		for k := KeyIdentity; k <= KeyAccessKey; k++ {
			per := map[int]outcome{}
			for i, f := range findings {
				var o outcome
				for pair, reason := range k.FindingPairs(f) {
					if reason == 0 {
						o.pairs = append(o.pairs, pair)
					} else {
						o.reasons = append(o.reasons, reason)
						assert.Zero(t, pair, "%s finding %d", file, i)
					}
				}
				per[i] = o
			}
			bulk, skips := bulkOutcomes(t, ExtractGuardDuty, file, k)
			delete(skips, NotAFinding) // the events of other kinds, left out above
			compareOutcomes(t, per, bulk, skips, file+" "+k.String())
		}
	}
}

func indexed(fs []Finding) map[int]*Finding {
	m := make(map[int]*Finding, len(fs))
	for i := range fs {
		m[i+1] = &fs[i]
	}
	return m
}

// TestFindingPairsStopsWhenAsked checks that breaking out of the loop
// ends the iteration: a PORT_PROBE finding has two addresses.
func TestFindingPairsStopsWhenAsked(t *testing.T) {
	f := &Finding{
		Resource: &FindingResource{AccessKeyDetails: &AccessKeyDetails{PrincipalID: "AIDAEXAMPLE", UserType: "IAMUser"}},
		Service: &FindingService{Action: &Action{ActionType: "PORT_PROBE", PortProbeAction: &PortProbeAction{PortProbeDetails: []RemoteAction{
			{RemoteIPDetails: &RemoteIPDetails{IPAddressV4: "192.0.2.1"}},
			{RemoteIPDetails: &RemoteIPDetails{IPAddressV4: "192.0.2.2"}},
		}}}},
	}
	n := 0
	for range KeyIdentity.FindingPairs(f) {
		n++
		break
	}
	assert.Equal(t, 1, n)
	var all []string
	for p, reason := range KeyIdentity.FindingPairs(f) {
		require.Zero(t, reason)
		all = append(all, p.Entity+","+p.IP.String())
	}
	assert.Equal(t, []string{"AIDAEXAMPLE,192.0.2.1", "AIDAEXAMPLE,192.0.2.2"}, all)
}
