package main

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// calibrate --keep-entities: an entity with its own distribution in the
// model's calibration and no pair in the new --normal file keeps it; without
// the flag it falls back on the global distribution. Entities present in
// the new file, and the network calibration, come from the new file alone
// either way.
func TestCalibrateKeepEntities(t *testing.T) {
	dir := fixture(t)
	tmp := t.TempDir()
	model := copyFile(t, filepath.Join(dir, "model.bin"), tmp)

	// Day A: the fixture's validation day; every entity's values kept whole
	// (--entity-quantiles) so that a kept distribution ranks exactly as before.
	dayA := filepath.Join(dir, "validation.csv")
	calArgs := []string{"--min-entity-pairs", "3", "--entity-quantiles", "65535", "--quiet"}
	modelA := filepath.Join(tmp, "a.bin")
	code, _, stderr := runCLI(t, "", append([]string{"calibrate", "--model", model, "--normal", dayA, "--out", modelA}, calArgs...)...)
	require.Equal(t, exitOK, code, stderr)

	// The entity with the most pairs on day A is absent from day B; the
	// one with the second most is on both days.
	raw, err := os.ReadFile(dayA)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	count := map[string]int{}
	firstIP := map[string]string{}
	for _, l := range lines {
		ent, ip, ok := strings.Cut(l, ",")
		require.True(t, ok, l)
		count[ent]++
		if _, ok := firstIP[ent]; !ok {
			firstIP[ent] = ip
		}
	}
	var gone, stays string
	for ent, n := range count {
		switch {
		case gone == "" || n > count[gone] || n == count[gone] && ent < gone:
			gone, stays = ent, gone
		case stays == "" || n > count[stays] || n == count[stays] && ent < stays:
			stays = ent
		}
	}
	require.NotEmpty(t, stays)
	var b strings.Builder
	for _, l := range lines {
		if !strings.HasPrefix(l, gone+",") {
			b.WriteString(l + "\n")
		}
	}
	dayB := filepath.Join(tmp, "dayB.csv")
	require.NoError(t, os.WriteFile(dayB, []byte(b.String()), 0o644))

	mA, err := ipinsights.LoadFile(modelA)
	require.NoError(t, err)
	goneIP, stayIP := netip.MustParseAddr(firstIP[gone]), netip.MustParseAddr(firstIP[stays])
	pA, err := mA.Percentile(gone, goneIP)
	require.NoError(t, err)
	require.True(t, pA.PerEntity, "%s has its own distribution on day A (%d pairs)", gone, count[gone])

	// Day B, from model A, with and without --keep-entities.
	kept, plain := filepath.Join(tmp, "kept.bin"), filepath.Join(tmp, "plain.bin")
	code, _, stderr = runCLI(t, "", "calibrate", "--model", modelA, "--normal", dayB, "--out", kept, "--keep-entities", "--min-entity-pairs", "3", "--entity-quantiles", "65535")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "note: entities of the earlier calibration absent from "+dayB+" keep their own score distribution")
	code, _, stderr = runCLI(t, "", append([]string{"calibrate", "--model", modelA, "--normal", dayB, "--out", plain}, calArgs...)...)
	require.Equal(t, exitOK, code, stderr)
	mK, err := ipinsights.LoadFile(kept)
	require.NoError(t, err)
	mP, err := ipinsights.LoadFile(plain)
	require.NoError(t, err)

	// The absent entity: its own day-A distribution with the flag, the
	// global one without.
	pK, err := mK.Percentile(gone, goneIP)
	require.NoError(t, err)
	pP, err := mP.Percentile(gone, goneIP)
	require.NoError(t, err)
	assert.True(t, pK.PerEntity, "--keep-entities keeps %s's distribution", gone)
	assert.Equal(t, count[gone], pK.Pairs)
	assert.InDelta(t, pA.Value, pK.Value, 1e-12, "ranked among its own day-A pairs")
	assert.False(t, pP.PerEntity, "without the flag %s is ranked against everyone", gone)
	assert.Equal(t, mP.Calibration().Pairs(), pP.Pairs)
	assert.NotEqual(t, pK.Pairs, pP.Pairs)

	// An entity present on day B: the same distribution either way.
	sK, err := mK.Percentile(stays, stayIP)
	require.NoError(t, err)
	sP, err := mP.Percentile(stays, stayIP)
	require.NoError(t, err)
	assert.True(t, sP.PerEntity)
	assert.Equal(t, sP.PerEntity, sK.PerEntity)
	assert.Equal(t, sP.Pairs, sK.Pairs)
	assert.InDelta(t, sP.Value, sK.Value, 1e-12)

	// The calibration is the library's with Previous; the carried pairs
	// join the global distribution, not the network calibration, which is
	// of day B's pairs alone, as after a warm start.
	want, err := mA.Calibrate(context.Background(), loadData(t, dayB), &ipinsights.CalibrationOptions{MinEntityPairs: 3, EntityQuantiles: 65535, Previous: mA.Calibration()})
	require.NoError(t, err)
	assert.Equal(t, want, mK.Calibration())
	assert.Equal(t, mP.Calibration().Pairs()+count[gone], mK.Calibration().Pairs())
	require.True(t, mK.HasNetworkCalibration(), "the fixture has a network history")
	shareK, netK, ok := mK.Calibration().UnseenNetworkShare()
	require.True(t, ok)
	shareP, netP, ok := mP.Calibration().UnseenNetworkShare()
	require.True(t, ok)
	assert.Equal(t, mP.Calibration().Pairs(), netK, "the network calibration counts day B's pairs")
	assert.Equal(t, netP, netK)
	assert.Equal(t, shareP, shareK)
	for _, fpr := range []float64{0.01, 0.1} {
		rK, err := mK.AlertRule(fpr, ipinsights.AlertByNetwork)
		require.NoError(t, err)
		rP, err := mP.AlertRule(fpr, ipinsights.AlertByNetwork)
		require.NoError(t, err)
		uK, sK := rK.NetworkThresholds()
		uP, sP := rP.NetworkThresholds()
		assert.Equal(t, uP, uK, "fpr %g", fpr)
		assert.Equal(t, sP, sK, "fpr %g", fpr)
	}

	// A model without calibration: a no-op with a one-line note.
	unc := copyFile(t, uncalibrated(t), tmp)
	noop, plainUnc := filepath.Join(tmp, "noop.bin"), filepath.Join(tmp, "plain-unc.bin")
	code, _, stderr = runCLI(t, "", "calibrate", "--model", unc, "--normal", dayB, "--out", noop, "--keep-entities")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "note: --keep-entities: "+unc+" has no calibration to keep entities from; calibrating on "+dayB+" alone\n")
	assert.NotContains(t, stderr, "keep their own score distribution")
	code, _, stderr = runCLI(t, "", "calibrate", "--model", unc, "--normal", dayB, "--out", plainUnc, "--quiet")
	require.Equal(t, exitOK, code, stderr)
	a, err := os.ReadFile(noop)
	require.NoError(t, err)
	c, err := os.ReadFile(plainUnc)
	require.NoError(t, err)
	assert.Equal(t, c, a, "the same model as without the flag")
}
