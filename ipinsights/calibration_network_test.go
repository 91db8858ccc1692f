package ipinsights

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/rng"
)

// mixedNormal returns n pairs of p's entities, of which about one in
// eight (the share the tutorial's travel logins are near) has a uniform
// address, outside the entity's usual networks but by chance.
func mixedNormal(p *planted, r *rng.RNG, n int) *Dataset {
	d := NewDataset()
	for range n {
		e, a := p.pair()
		if r.IntN(8) == 0 {
			a = embedding.AddrV4(uint32(r.Uint64())).Netip()
		}
		d.Add(e, a)
	}
	return d
}

// networkCalibrated returns the file tests' model with the network history
// of its training pairs' distribution, calibrated on mixedNormal pairs.
func networkCalibrated(t testing.TB) (*Model, *planted, *Dataset) {
	t.Helper()
	m, p := trainedForFiles()
	hp := newPlanted(9, 30, 2, 60) // the same entities and networks as p
	hm, err := m.WithNetworkHistory(context.Background(), hp.dataset(2000), nil)
	require.NoError(t, err)
	normal := mixedNormal(hp, rng.New(3, 0), 4000)
	cal, err := hm.Calibrate(context.Background(), normal, nil)
	require.NoError(t, err)
	return hm.WithCalibration(cal), p, normal
}

// TestNetCalibrationThresholds: on a synthetic distribution with 10% of
// unseen-network pairs scoring lower on average, the rule flags exactly
// floor(fpr*n) of the calibration pairs (the distributions are kept whole),
// unseen ones first; and about fpr of fresh pairs of the same law.
func TestNetCalibrationThresholds(t *testing.T) {
	r := rng.New(11, 0)
	draw := func(n int) ([]scoredPair, []bool) {
		ps, seen := make([]scoredPair, n), make([]bool, n)
		for i := range ps {
			seen[i] = r.IntN(10) != 0
			mu := -1.0
			if seen[i] {
				mu = 2
			}
			ps[i] = scoredPair{h: uint64(i % 50), dot: float32(mu + r.NormFloat64())}
		}
		return ps, seen
	}
	const n = 12000 // under globalQuantiles: kept whole, so counts are exact
	ps, seen := draw(n)
	nc := newNetCalibration(ps, seen)
	require.True(t, nc.unseen.exact() && nc.seen.exact())
	share := float64(nc.unseen.n) / n
	require.InDelta(t, 0.1, share, 0.01, "the draw's share")
	fresh, freshSeen := draw(n)
	for _, fpr := range []float64{0.001, 0.01, 0.05, 0.2, 0.5} {
		ub, sb := nc.thresholds(fpr)
		var flagged, flaggedSeen, freshFlagged int
		for i, p := range ps {
			below := sb
			if !seen[i] {
				below = ub
			}
			if float64(p.dot) < below {
				flagged++
				if seen[i] {
					flaggedSeen++
				}
			}
		}
		for i, p := range fresh {
			below := sb
			if !freshSeen[i] {
				below = ub
			}
			if float64(p.dot) < below {
				freshFlagged++
			}
		}
		assert.Equal(t, int(math.Floor(fpr*n)), flagged, "%v: floor(fpr*n) calibration pairs", fpr)
		if fpr < share {
			assert.Zero(t, flaggedSeen, "%v: below the unseen share, only unseen pairs", fpr)
			assert.Equal(t, math.Inf(-1), sb)
		} else {
			assert.Equal(t, math.Inf(1), ub, "%v: above the unseen share, every unseen pair", fpr)
			assert.Equal(t, flagged-nc.unseen.n, flaggedSeen)
		}
		// Binomial standard deviation of the share on 12,000 fresh pairs:
		// at most 0.0046 (at 0.5); 4 of them, plus the estimate's own.
		assert.InDelta(t, fpr, float64(freshFlagged)/n, 4*math.Sqrt(fpr*(1-fpr)/n)+0.002, "%v: fresh pairs", fpr)
	}
	// One kind missing: the rule is the dot product's on the other.
	only := newNetCalibration(ps[:100], make([]bool, 100))
	ub, sb := only.thresholds(0.1)
	assert.Equal(t, math.Inf(-1), sb)
	assert.Equal(t, only.unseen.threshold(0.1), ub)
	allSeen := make([]bool, 100)
	for i := range allSeen {
		allSeen[i] = true
	}
	only = newNetCalibration(ps[:100], allSeen)
	ub, sb = only.thresholds(0.1)
	assert.Equal(t, math.Inf(1), ub, "no unseen pair in calibration: an unseen pair ranks first")
	assert.Equal(t, only.seen.threshold(0.1), sb)
}

// TestAlertByNetworkModel: a model with a network history calibrates
// with it, its rule tells usual networks as Explain does, and flags about
// the rate on fresh pairs of the calibration's law.
func TestAlertByNetworkModel(t *testing.T) {
	m, _, normal := networkCalibrated(t)
	require.True(t, m.HasNetworkCalibration())
	share, pairs, ok := m.Calibration().UnseenNetworkShare()
	require.True(t, ok)
	assert.Equal(t, m.Calibration().Pairs(), pairs)
	// mixedNormal: one pair in 8 has a uniform address (in one of the
	// entity's 2 /16 networks with chance 2/65536).
	assert.InDelta(t, 0.125, share, 0.02)

	rule, err := m.AlertRule(0.05, AlertByNetwork)
	require.NoError(t, err)
	assert.Equal(t, AlertByNetwork, rule.Basis())
	assert.Equal(t, "network", rule.Basis().String())
	ub, sb := rule.NetworkThresholds()
	assert.Equal(t, math.Inf(-1), sb, "5% is below the unseen share")
	assert.False(t, math.IsInf(ub, 0))
	b, err := ParseAlertBasis("network")
	require.NoError(t, err)
	assert.Equal(t, AlertByNetwork, b)

	fresh := mixedNormal(newPlanted(9, 30, 2, 60), rng.New(4, 0), 4000)
	ts := fresh.Tuples()
	ex := m.ExplainTuples(nil, ts)
	for _, fpr := range []float64{0.05, 0.3} {
		rule, err := m.AlertRule(fpr, AlertByNetwork)
		require.NoError(t, err)
		flagged := 0
		for i, e := range ex {
			require.Equal(t, e.NetworkSeen, m.hist.networkSeen(ts[i]), "as Explain tells it")
			a := rule.AlertTuple(ts[i], e.DotProduct)
			if a {
				flagged++
			}
			if fpr < share && e.NetworkSeen {
				require.False(t, a, "a usual network is flagged only above the unseen share")
			}
			if fpr > share && !e.NetworkSeen {
				require.True(t, a, "above the unseen share, every unusual network")
			}
		}
		// 4,000 fresh pairs: a binomial standard deviation of 0.0034 at
		// 5%, 0.0072 at 30%; 4 of them plus the estimate's own.
		assert.InDelta(t, fpr, float64(flagged)/4000, 4*math.Sqrt(fpr*(1-fpr)/4000)+0.01, "%v", fpr)
		// Alert, without the address, is the dot product's rule.
		dot, err := m.Calibration().AlertRule(fpr, AlertByDotProduct)
		require.NoError(t, err)
		assert.Equal(t, dot.Alert(ts[0].Entity, ex[0].DotProduct), rule.Alert(ts[0].Entity, ex[0].DotProduct))
		assert.Equal(t, dot.Threshold(), rule.Threshold())
	}
	assert.False(t, rule.AlertTuple(ts[0], math.NaN()), "NaN never alerts")
	assert.Less(t, normal.Len(), 1+pairs+int(m.Calibration().Skipped()))

	// The default: network when the model has what it needs, else the
	// dot product; a Calibration alone has no history.
	def, err := m.AlertRule(0.05, AlertDefault)
	require.NoError(t, err)
	assert.Equal(t, AlertByNetwork, def.Basis())
	def, err = m.WithoutNetworkHistory().AlertRule(0.05, AlertDefault)
	require.NoError(t, err)
	assert.Equal(t, AlertByDotProduct, def.Basis(), "falls back without a history")
	def, err = m.Calibration().AlertRule(0.05, AlertDefault)
	require.NoError(t, err)
	assert.Equal(t, AlertByDotProduct, def.Basis())
	assert.Equal(t, "default", AlertDefault.String())
	b, err = ParseAlertBasis("default")
	require.NoError(t, err)
	assert.Equal(t, AlertDefault, b)

	// What it needs, missing.
	_, err = m.Calibration().AlertRule(0.01, AlertByNetwork)
	assert.ErrorIs(t, err, ErrNoNetworkCalibration, "a Calibration has no history")
	_, err = m.WithoutNetworkHistory().AlertRule(0.01, AlertByNetwork)
	assert.ErrorIs(t, err, ErrNoNetworkCalibration)
	assert.ErrorContains(t, err, "no network history")
	plain, _ := trainedForFiles()
	cal, err := plain.Calibrate(context.Background(), normal, nil)
	require.NoError(t, err)
	_, _, ok = cal.UnseenNetworkShare()
	assert.False(t, ok, "calibrated without a history")
	late := m.WithCalibration(cal)
	assert.False(t, late.HasNetworkCalibration())
	_, err = late.AlertRule(0.01, AlertByNetwork)
	assert.ErrorIs(t, err, ErrNoNetworkCalibration)
	assert.ErrorContains(t, err, "calibration was computed without")
	def, err = late.AlertRule(0.01, AlertDefault)
	require.NoError(t, err)
	assert.Equal(t, AlertByDotProduct, def.Basis(), "falls back without a network calibration")
	_, err = plain.AlertRule(0.01, AlertByNetwork)
	assert.ErrorIs(t, err, ErrNotCalibrated)
	_, err = m.AlertRule(1, AlertByNetwork)
	assert.ErrorContains(t, err, "is not between 0 and 1")
}

func TestAlertRuleDoesNotAllocate(t *testing.T) {
	m, _, normal := networkCalibrated(t)
	ts := normal.Tuples()[:64]
	res := m.ScoreTuples(nil, ts)
	for _, basis := range []AlertBasis{AlertByDotProduct, AlertByPercentile, AlertByNetwork} {
		rule, err := m.AlertRule(0.05, basis)
		require.NoError(t, err)
		n := 0
		allocs := testing.AllocsPerRun(20, func() {
			for i, t := range ts {
				if rule.AlertTuple(t, res[i].DotProduct) {
					n++
				}
				if rule.Alert(t.Entity, res[i].DotProduct) {
					n++
				}
			}
		})
		assert.Zero(t, allocs, "%v", basis)
	}
}

// TestNetworkCalibrationFile: the section round-trips, comes after the
// calibration, and a model without a history saves as it did before the
// section existed.
func TestNetworkCalibrationFile(t *testing.T) {
	m, p, normal := networkCalibrated(t)
	b := modelBytes(t, m)
	back, err := Load(bytes.NewReader(b))
	require.NoError(t, err)
	assert.Equal(t, m.Calibration(), back.Calibration())
	assert.Equal(t, b, modelBytes(t, back), "save(load(save(m))) == save(m)")
	require.True(t, back.HasNetworkCalibration())
	want, err := m.AlertRule(0.01, AlertByNetwork)
	require.NoError(t, err)
	got, err := back.AlertRule(0.01, AlertByNetwork)
	require.NoError(t, err)
	wu, ws := want.NetworkThresholds()
	gu, gs := got.NetworkThresholds()
	assert.Equal(t, [2]float64{wu, ws}, [2]float64{gu, gs})
	sec := `{"name":"calibration","bytes":` + strconv.FormatInt(m.Calibration().encodedSize(), 10) + `},` +
		`{"name":"network_calibration","bytes":` + strconv.FormatInt(m.Calibration().net.encodedSize(), 10) + `},{"name":"network_history"`
	assert.Contains(t, string(b[:4096]), sec)

	// Without the history, the same calibration saves as one computed
	// without a history: the section is not written.
	plain, _ := trainedForFiles()
	cal, err := plain.Calibrate(context.Background(), normal, nil)
	require.NoError(t, err)
	assert.Equal(t, modelBytes(t, plain.WithCalibration(cal)), modelBytes(t, m.WithoutNetworkHistory()))
	_ = p

	// Every truncation is refused as corrupt.
	for n := len(b) - 4*int(m.Calibration().net.encodedSize()); n < len(b); n += 101 {
		_, err := Load(bytes.NewReader(b[:n]))
		assert.ErrorIs(t, err, ErrCorrupt, "cut to %d of %d", n, len(b))
	}
}

func TestNetworkCalibrationSectionMalformed(t *testing.T) {
	m, _, _ := networkCalibrated(t)
	nc := m.Calibration().net
	var buf bytes.Buffer
	require.NoError(t, nc.encode(&buf))
	good := buf.Bytes()
	require.Equal(t, nc.encodedSize(), int64(len(good)))
	decode := func(p []byte) (*netCalibration, error) {
		c, err := decodeNetCalibration(bufio.NewReader(bytes.NewReader(p)))
		if err == nil && int64(len(p)) != c.encodedSize() {
			return nil, errors.New("unused bytes")
		}
		return c, err
	}
	c, err := decode(good)
	require.NoError(t, err)
	assert.Equal(t, nc, c)

	ku := len(nc.unseen.v)
	seenAt := 4 + 12 + 4*ku // offset of the seen pairs
	cases := map[string][]byte{
		"format":            patch32(good, 0, 2),
		"unseen values > n": patch32(good, 12, uint32(nc.unseen.n+1)),
		"unseen values 0":   patch32(good, 12, 0),
		"hostile pairs":     patch64(good, 4, 1<<63),
		"unseen NaN":        patch32(good, 16, math.Float32bits(float32(math.NaN()))),
		"unseen descending": patch32(good, 16, math.Float32bits(1e30)),
		"seen +Inf":         patch32(good, len(good)-4, math.Float32bits(float32(math.Inf(1)))),
		"hostile seen k":    patch32(good, seenAt+8, math.MaxUint32),
		"cut in the header": good[:6],
		"cut in the values": good[:len(good)-2],
		"cut before seen":   good[:seenAt],
		"empty":             nil,
		"no pairs at all":   binary.LittleEndian.AppendUint32(make([]byte, 0, 28), netCalibrationFormat),
	}
	one := patch64(good, seenAt, 3) // three seen pairs summarised by one value
	binary.LittleEndian.PutUint32(one[seenAt+8:], 1)
	cases["one value of three"] = one[:seenAt+12+4]
	cases["no pairs at all"] = append(cases["no pairs at all"], make([]byte, 24)...)
	for name, p := range cases {
		_, err := decode(p)
		assert.ErrorIs(t, err, ErrCorrupt, name)
	}

	// In a file: more pairs than the calibration, or before it.
	var mb bytes.Buffer
	big := &netCalibration{unseen: dist{n: m.Calibration().Pairs() + 1, v: []float32{0, 1}}}
	mm := m.WithCalibration(&Calibration{global: m.calib.global, minEntityPairs: 1, entityQuantiles: 2, offsets: []uint32{0}, net: big})
	require.NoError(t, mm.Save(&mb))
	_, err = Load(bytes.NewReader(mb.Bytes()))
	assert.ErrorIs(t, err, ErrCorrupt)
	assert.ErrorContains(t, err, "more than the calibration's")
	mf := &Model{}
	err = mf.readSections(bytes.NewReader(good), []sectionInfo{{Name: "network_calibration", Bytes: int64(len(good))}})
	assert.ErrorIs(t, err, ErrCorrupt)
	assert.ErrorContains(t, err, "without a calibration before it")
}

func FuzzNetworkCalibrationSection(f *testing.F) {
	m, _, _ := networkCalibrated(f)
	var buf bytes.Buffer
	m.Calibration().net.encode(&buf)
	f.Add(buf.Bytes())
	small := &netCalibration{unseen: dist{n: 1, v: []float32{-1}}, seen: dist{n: 3, v: []float32{0, 1, 2}}}
	buf.Reset()
	small.encode(&buf)
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, p []byte) {
		c, err := decodeNetCalibration(bufio.NewReader(bytes.NewReader(p)))
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		var q bytes.Buffer
		c.encode(&q)
		if !bytes.Equal(q.Bytes(), p[:q.Len()]) {
			t.Fatal("re-encoding differs")
		}
		for _, fpr := range []float64{1e-9, 0.01, 0.5, 0.999} {
			u, s := c.thresholds(fpr)
			if math.IsNaN(u) || math.IsNaN(s) {
				t.Fatalf("NaN threshold at %v", fpr)
			}
		}
	})
}
