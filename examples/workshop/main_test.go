package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// TestWorkshopSmall runs the whole flow on a small account (12 users, 3
// days, 2 epochs) and checks its claim and its files.
func TestWorkshopSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	s := settings{out: t.TempDir(), users: 12, roles: 2, days: 3, eventsPerDay: 60, epochs: "2", seed: 3}
	var out bytes.Buffer
	res, err := run(context.Background(), s, &out)
	require.NoError(t, err, out.String())
	assert.True(t, res.clearlyBelow(), out.String())
	assert.Len(t, res.findings, 11)
	assert.Zero(t, res.unseenFindings, "every finding's principal is a training principal")
	assert.Contains(t, out.String(), "never seen in training (entity_seen=false)")
	assert.Contains(t, out.String(), "score clearly below")
	for _, f := range []string{"scores.png", "cloudtrail_tuples.csv"} {
		fi, err := os.Stat(filepath.Join(s.out, f))
		require.NoError(t, err)
		assert.Greater(t, fi.Size(), int64(1000), f)
	}
	png, err := os.ReadFile(filepath.Join(s.out, "scores.png"))
	require.NoError(t, err)
	assert.Equal(t, "\x89PNG", string(png[:4]))

	// The ending: the alert list at a 1% false-positive rate.
	assert.Contains(t, out.String(), "The alert list: each finding's pair")
	assert.Contains(t, out.String(), "is not among its usual networks (")
	// The default basis is network: the history was added before the
	// calibration, and the alerts are decided with each pair's address.
	assert.Equal(t, ipinsights.AlertByNetwork, res.basis)
	assert.Equal(t, len(res.findings), res.unusualFindings, "every finding calls from an attacker's network, none of its principal's usual ones")
	// In sample, fewer than 1% of the calibration pairs are outside their
	// principal's usual networks, so at 1% the rule flags every such pair
	// whatever its dot product: every finding alerts.
	assert.Contains(t, out.String(), "(by network: every pair outside the principal's usual networks, pairs inside them below ")
	assert.Equal(t, len(res.findings), res.findingAlerts, "every finding alerts")
	assert.Greater(t, res.normalAlerts, 0)
	assert.Less(t, float64(res.normalAlerts), 0.1*float64(len(res.normal)), "a few normal pairs alert, near the rate")
	assert.Contains(t, out.String(), fmt.Sprintf("%d of %d findings alert. The normal day: %d of %d pairs alert (",
		res.findingAlerts, len(res.findings), res.normalAlerts, len(res.normal)))
	// The Security Hub findings of the alerts: BatchImportFindings bodies.
	assert.Equal(t, res.findingAlerts, res.asffFindings)
	b, err := os.ReadFile(res.asffPath)
	require.NoError(t, err)
	n := 0
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		var body struct {
			Findings []struct {
				SchemaVersion, ProductArn, AwsAccountId, Description string
				Resources                                            []struct{ Type, Id string }
			}
		}
		require.NoError(t, json.Unmarshal([]byte(line), &body))
		for _, f := range body.Findings {
			assert.Equal(t, "2018-10-08", f.SchemaVersion)
			assert.Equal(t, "arn:aws:securityhub:us-east-1:111122223333:product/111122223333/default", f.ProductArn)
			assert.Contains(t, f.Description, "It alerts at a false-positive rate of 1% (pairs outside the entity's usual networks first")
			assert.Contains(t, []string{"AwsIamUser", "AwsIamRole"}, f.Resources[0].Type, f.Resources[0].Id)
			n++
		}
	}
	assert.Equal(t, res.asffFindings, n)
}
