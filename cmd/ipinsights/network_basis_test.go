package main

import (
	"context"
	"encoding/json"
	"math"
	"net/netip"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// score --alert-basis network applies the library's rule, row by row; a
// model without what it needs is refused with the way out; calibrate
// gives it.
func TestScoreAlertsByNetwork(t *testing.T) {
	dir := fixture(t)
	model := filepath.Join(dir, "model.bin")
	in := filepath.Join(dir, "test_labeled.csv")
	m, err := ipinsights.LoadFile(model)
	require.NoError(t, err)
	require.True(t, m.HasNetworkCalibration(), "train gives a history and a calibration computed with it")

	code, stdout, stderr := runCLI(t, "", "score", "--model", model, "--input", in, "--alert-fpr", "0.05", "--alert-basis", "network")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "by network)")
	rule, err := m.AlertRule(0.05, ipinsights.AlertByNetwork)
	require.NoError(t, err)
	rows := readCSVString(t, stdout)
	alerts := 0
	for _, r := range rows[1:] {
		addr := netip.MustParseAddr(r[1])
		want := rule.AlertTuple(embedding.NewTuple(r[0], addr), m.Score(r[0], addr).DotProduct)
		assert.Equal(t, strconv.FormatBool(want), r[4], "%v", r)
		if want {
			alerts++
		}
	}
	assert.Positive(t, alerts)
	assert.Less(t, alerts, len(rows)-1)

	// The default basis is network for such a model, without a note.
	code, def, stderr := runCLI(t, "", "score", "--model", model, "--input", in, "--alert-fpr", "0.05")
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, stdout, def)
	assert.Contains(t, stderr, "by network)")
	assert.NotContains(t, stderr, "note:")

	tmp := t.TempDir()
	out := filepath.Join(tmp, "never.csv")
	args := []string{"score", "--model", historyless(t), "--input", in, "--output", out, "--alert-fpr", "0.01", "--alert-basis", "network"}
	code, _, stderr = runCLI(t, "", args...)
	assert.Equal(t, exitData, code)
	assertOneLine(t, stderr, historyless(t)+" has no network history (trained with --no-network-history, with --stream, or saved before histories existed): retrain it without --no-network-history, or use --alert-basis dot_product", args)

	// The default falls back to the dot product, with a note that says
	// why.
	code, stdout, stderr = runCLI(t, "", "score", "--model", historyless(t), "--input", in, "--alert-fpr", "0.05")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "note: alerting by dot_product: "+historyless(t)+" has no network history (retrain it without --no-network-history), which the default basis, network, needs\n")
	assert.Contains(t, stderr, "by dot_product)")
	hm, err := ipinsights.LoadFile(historyless(t))
	require.NoError(t, err)
	threshold, err := hm.Calibration().Threshold(0.05)
	require.NoError(t, err)
	for _, r := range readCSVString(t, stdout)[1:] {
		dot := hm.Score(r[0], netip.MustParseAddr(r[1])).DotProduct
		assert.Equal(t, strconv.FormatBool(dot < threshold), r[4], "%v", r)
	}

	// A calibration computed before the history: recalibrate.
	plain := m.WithoutNetworkHistory()
	cal, err := plain.Calibrate(context.Background(), loadData(t, filepath.Join(dir, "validation.csv")), nil)
	require.NoError(t, err)
	late := filepath.Join(tmp, "late.bin")
	require.NoError(t, m.WithCalibration(cal).SaveFile(late))
	args[2] = late
	code, _, stderr = runCLI(t, "", args...)
	assert.Equal(t, exitData, code)
	assertOneLine(t, stderr, "recalibrate it with ipinsights calibrate --model "+late+" --normal NORMAL.csv", args)
	code, _, stderr = runCLI(t, "", "score", "--model", late, "--input", in, "--output", out, "--alert-fpr", "0.01")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "note: alerting by dot_product: "+late+" was calibrated without its network history (recalibrate it with ipinsights calibrate)")

	code, _, stderr = runCLI(t, "", "calibrate", "--model", late, "--normal", filepath.Join(dir, "validation.csv"))
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "in none of their entity's usual networks")
	code, _, stderr = runCLI(t, "", args...)
	assert.Equal(t, exitOK, code, stderr)
}

func TestThresholdNetworkBasis(t *testing.T) {
	dir := fixture(t)
	model := filepath.Join(dir, "model.bin")
	m, err := ipinsights.LoadFile(model)
	require.NoError(t, err)
	share, pairs, ok := m.Calibration().UnseenNetworkShare()
	require.True(t, ok)
	for _, fpr := range []float64{share / 2, (1 + share) / 2} {
		f := strconv.FormatFloat(fpr, 'g', -1, 64)
		code, stdout, stderr := runCLI(t, "", "threshold", "--model", model, "--fpr", f, "--alert-basis", "network", "--json")
		require.Equal(t, exitOK, code, stderr)
		var rep networkFPRReport
		require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
		rule, err := m.AlertRule(fpr, ipinsights.AlertByNetwork)
		require.NoError(t, err)
		unseen, seen := rule.NetworkThresholds()
		assert.Equal(t, "network", rep.Basis)
		assert.Equal(t, pairs, rep.Pairs)
		assert.Equal(t, share, rep.UnseenNetworkShare)
		if fpr < share {
			assert.Equal(t, "below", rep.UnseenNetwork.Flag)
			require.NotNil(t, rep.UnseenNetwork.Threshold)
			assert.Equal(t, unseen, *rep.UnseenNetwork.Threshold)
			assert.Equal(t, networkSide{Flag: "none"}, rep.UsualNetwork)
		} else {
			assert.Equal(t, networkSide{Flag: "all"}, rep.UnseenNetwork)
			assert.Equal(t, "below", rep.UsualNetwork.Flag)
			assert.Equal(t, seen, *rep.UsualNetwork.Threshold)
			assert.True(t, math.IsInf(unseen, 1))
		}
		code, stdout, stderr = runCLI(t, "", "threshold", "--model", model, "--fpr", f, "--alert-basis", "network")
		require.Equal(t, exitOK, code, stderr)
		assert.Contains(t, stdout, "usual network        ")
		assert.Contains(t, stdout, "of the normal pairs: address in none of the entity's usual networks")
	}
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--fpr", "0.01", "--alert-basis", "percentile"}, exitUsage, "--alert-basis percentile has a threshold per entity, not one"},
		{[]string{"--fpr", "0.01", "--alert-basis", "dot"}, exitUsage, `--alert-basis "dot": want dot_product or network`},
		{[]string{"--recall", "0.9", "--labeled", filepath.Join(dir, "test_labeled.csv"), "--alert-basis", "network"}, exitUsage, "--alert-basis goes with --fpr"},
	} {
		args := append([]string{"threshold", "--model", model}, c.args...)
		code, _, stderr := runCLI(t, "", args...)
		assert.Equal(t, c.code, code, "%v: %s", args, stderr)
		assertOneLine(t, stderr, c.msg, args)
	}
	args := []string{"threshold", "--model", historyless(t), "--fpr", "0.01", "--alert-basis", "network"}
	code, _, stderr := runCLI(t, "", args...)
	assert.Equal(t, exitData, code)
	assertOneLine(t, stderr, "has no network history", args)
}
