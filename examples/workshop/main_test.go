package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
}
