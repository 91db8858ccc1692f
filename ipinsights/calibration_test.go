package ipinsights

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/rng"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countAtOrBelow returns the number of values of sorted at or below x, by brute
// force.
func countAtOrBelow(sorted []float32, x float64) int {
	n := 0
	for _, v := range sorted {
		if float64(v) <= x {
			n++
		}
	}
	return n
}

func randomSorted(seed uint64, n int) []float32 {
	r := rng.New(seed, 0)
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(3 * r.NormFloat64())
	}
	slices.Sort(v)
	return v
}

func TestDistExactShareAndThreshold(t *testing.T) {
	v := randomSorted(1, 200)
	v[10], v[11] = v[9], v[9] // ties
	d := newDist(v, 256)
	require.True(t, d.exact())
	for _, x := range []float64{-100, float64(v[0]), float64(v[9]), float64(v[50]) + 1e-3, float64(v[199]), 100} {
		assert.Equal(t, float64(countAtOrBelow(v, x))/200, d.share(x), "x=%v", x)
	}
	// A rate's threshold flags floor(fpr*n) pairs: those strictly below.
	for _, fpr := range []float64{0.001, 0.004, 0.005, 0.01, 0.1, 0.5, 0.99} {
		th := d.threshold(fpr)
		below := 0
		for _, x := range v {
			if float64(x) < th {
				below++
			}
		}
		want := int(math.Floor(fpr * 200))
		if want == 10 || want == 11 { // the tie at v[9..11] moves the cut
			continue
		}
		assert.Equal(t, want, below, "fpr=%v threshold=%v", fpr, th)
	}
}

func TestDistQuantilesApproximate(t *testing.T) {
	v := randomSorted(2, 100000)
	d := newDist(v, globalQuantiles)
	require.False(t, d.exact())
	assert.Equal(t, v[0], d.v[0], "the lowest value is kept")
	assert.Equal(t, v[len(v)-1], d.v[len(d.v)-1], "the highest value is kept")
	// Quantiles are at most 2*99999/16383 ~ 12.2 ranks apart, the share is
	// off by no more; among the lowest 5% they are at most 2.8 ranks
	// apart (the derivative of rank(j), 2(n-1)j/(k-1)^2, at j =
	// 16383*sqrt(0.05)).
	r := rng.New(3, 0)
	for range 2000 {
		x := 10 * (2*r.Float64() - 1)
		assert.InDelta(t, float64(countAtOrBelow(v, x))/1e5, d.share(x), 13.0/1e5, "x=%v", x)
	}
	for _, fpr := range []float64{0.0001, 0.001, 0.01, 0.05} {
		th := d.threshold(fpr)
		assert.InDelta(t, fpr, float64(countAtOrBelow(v, th))/1e5, 3.0/1e5, "fpr=%v", fpr)
	}
	// valueAtRank and share are inverse piecewise linear maps.
	for range 1000 {
		rk := r.Float64() * 99999
		assert.InDelta(t, (rk+1)/1e5, d.share(d.valueAtRank(rk)), 1e-9, "rank %v", rk)
	}
}

func TestDistLogTailKeepsOrder(t *testing.T) {
	d := newDist([]float32{-1, 0, 1, 2}, 32)
	assert.InDelta(t, math.Log(0.25), d.logTail(-1), 1e-12)
	assert.InDelta(t, math.Log(0.25)-1, d.logTail(-2), 1e-12, "a factor e per unit below the lowest")
	assert.Greater(t, d.logTail(-5), d.logTail(-6))
	assert.InDelta(t, math.Log(0.375), d.logTail(-0.5), 1e-12, "interpolated between values")
	assert.Equal(t, 0.25, d.share(-0.5), "where share steps")
	assert.Equal(t, 0.0, d.logTail(7))
}

// calibrated returns the model of file tests, its planted data and its
// calibration on fresh pairs (every entity has about 100).
func calibrated(t testing.TB) (*Model, *planted, *Calibration) {
	t.Helper()
	calibOnce.Do(func() {
		m, p := trainedForFiles()
		cal, err := m.Calibrate(context.Background(), p.dataset(3000), nil)
		if err != nil {
			panic(err)
		}
		calib = cal
	})
	m, p := trainedForFiles()
	return m, p, calib
}

var (
	calibOnce sync.Once
	calib     *Calibration
)

func TestCalibratePerEntityAndGlobal(t *testing.T) {
	m, p, cal := calibrated(t)
	assert.Equal(t, 3000, cal.Pairs())
	assert.Equal(t, int64(0), cal.Skipped())
	assert.Equal(t, DefaultMinEntityPairs, cal.MinEntityPairs())
	assert.Equal(t, DefaultEntityQuantiles, cal.EntityQuantiles())
	// 30 entities of about 100 pairs each: all above the minimum of 50.
	assert.Equal(t, 30, cal.Entities())
	assert.Nil(t, m.Calibration(), "Calibrate does not modify the model")

	// An entity's own distribution: its percentile of a pair is the share
	// of its calibration pairs at or below, within the spacing of its
	// quantiles.
	e0 := entityName(0)
	i, ok := cal.find(embedding.EntityHash(e0))
	require.True(t, ok)
	d := cal.entity(i)
	require.Greater(t, d.n, DefaultEntityQuantiles, "entity 0 keeps quantiles")
	home := p.nets0()
	pc, err := m.Percentile(e0, home)
	require.Error(t, err, "an uncalibrated model has no percentiles")
	assert.ErrorIs(t, err, ErrNotCalibrated)
	cm := m.WithCalibration(cal)
	pc, err = cm.Percentile(e0, home)
	require.NoError(t, err)
	assert.True(t, pc.PerEntity)
	assert.Equal(t, d.n, pc.Pairs)
	dot := m.Score(e0, home).DotProduct
	assert.Equal(t, d.share(dot), pc.Value)
	assert.InDelta(t, float64(countAtOrBelow(d.v, dot))/float64(len(d.v)), pc.Value, 1.0/float64(len(d.v)-1))

	// A stranger's pair ranks against all pairs.
	far := netip.MustParseAddr("203.0.113.9")
	pc, err = cm.Percentile("stranger", far)
	require.NoError(t, err)
	assert.False(t, pc.PerEntity)
	assert.Equal(t, 3000, pc.Pairs)
	assert.Equal(t, cal.Percentile(embedding.EntityHash("another stranger"), m.Score("stranger", far).DotProduct), pc)
	mid := float64(cal.global.v[1500])
	assert.Equal(t, Percentile{Value: cal.global.share(mid), Pairs: 3000}, cal.Percentile(12345, mid))

	// An address the entity never uses is unusual: a low percentile.
	away, err := cm.Percentile(e0, far)
	require.NoError(t, err)
	assert.Less(t, away.Value, 0.01)
	assert.Greater(t, away.Value, 0.0, "below every pair, the value stays positive")

	nan, err := cm.Percentile(e0, netip.Addr{})
	require.NoError(t, err)
	assert.True(t, math.IsNaN(nan.Value))
}

func TestPercentileMonotone(t *testing.T) {
	_, _, cal := calibrated(t)
	h := cal.hashes[0]
	lo := float64(cal.entity(0).v[0])
	g0 := float64(cal.global.v[0])
	last := -1.0
	// From far below everything to far above: never decreasing, and
	// strictly increasing below the lowest pairs, where ranks would tie.
	for x := min(lo, g0) - 20; x < 20; x += 0.01 {
		for _, ent := range []uint64{h, 12345} {
			v := cal.Percentile(ent, x).Value
			require.False(t, math.IsNaN(v))
			if ent == h {
				require.GreaterOrEqual(t, v, last, "x=%v", x)
				if x < lo {
					require.Greater(t, v, last, "x=%v", x)
					require.Less(t, v, 1/float64(cal.entity(0).n))
				}
				last = v
			}
		}
	}
	assert.Equal(t, 1.0, last)
}

func TestCalibrateSkipsUnseenAndSamples(t *testing.T) {
	m, p, _ := calibrated(t)
	ds := p.dataset(500)
	for i := range 40 {
		ds.Add("never-trained", netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}))
	}
	cal, err := m.Calibrate(context.Background(), ds, &CalibrationOptions{MinEntityPairs: 5, EntityQuantiles: 4})
	require.NoError(t, err)
	assert.Equal(t, int64(40), cal.Skipped())
	assert.Equal(t, 500, cal.Pairs())
	assert.Equal(t, 30, cal.Entities())
	for i := range cal.hashes {
		d := cal.entity(i)
		assert.Len(t, d.v, min(d.n, 4))
		assert.GreaterOrEqual(t, d.n, 5)
	}

	// A sample: MaxPairs pairs, the same ones every time.
	a, err := m.Calibrate(context.Background(), ds, &CalibrationOptions{MaxPairs: 200})
	require.NoError(t, err)
	b, err := m.Calibrate(context.Background(), ds, &CalibrationOptions{MaxPairs: 200, Workers: 1})
	require.NoError(t, err)
	assert.Equal(t, a, b)
	assert.Equal(t, 200, a.Pairs()+int(a.Skipped()))
	assert.Len(t, sampleTuples(ds.All(), ds.Len(), 200, 1), 200)
	assert.Len(t, sampleTuples(ds.All(), ds.Len(), 10000, 1), ds.Len())
}

func TestCalibrateErrors(t *testing.T) {
	m, p, _ := calibrated(t)
	ctx := context.Background()
	_, err := m.Calibrate(ctx, nil, nil)
	assert.ErrorContains(t, err, "no pairs")
	only := NewDataset()
	only.Add("never-trained", netip.MustParseAddr("10.0.0.1"))
	_, err = m.Calibrate(ctx, only, nil)
	assert.ErrorContains(t, err, "none of the 1 pairs has an entity seen in training")
	for _, o := range []CalibrationOptions{{MinEntityPairs: -1}, {EntityQuantiles: 1}, {EntityQuantiles: 1 << 17}, {MaxPairs: -1}, {Workers: -2}} {
		_, err = m.Calibrate(ctx, p.dataset(10), &o)
		assert.Error(t, err, "%+v", o)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = m.Calibrate(cctx, p.dataset(10), nil)
	assert.ErrorIs(t, err, context.Canceled)
}

// TestWithCalibrationSharesTables: a calibrated model is a new Model over
// the same tables, and the original is not modified. (TestCloneCopiesEveryField
// checks that clone copies every field.)
func TestWithCalibrationSharesTables(t *testing.T) {
	m, p, cal := calibrated(t)
	cm := m.WithCalibration(cal)
	assert.Equal(t, m.Config(), cm.Config())
	assert.Same(t, m.enc, cm.enc)
	assert.Equal(t, m.dim, cm.dim)
	assert.Same(t, &m.entity[0], &cm.entity[0], "tables are shared, not copied")
	assert.Same(t, &m.ip[0], &cm.ip[0])
	assert.Same(t, &m.layers[0], &cm.layers[0])
	assert.Equal(t, m.seen, cm.seen)
	assert.Same(t, cal, cm.Calibration())
	for range 20 {
		e, a := p.pair()
		assert.Equal(t, m.Score(e, a), cm.Score(e, a))
	}
	assert.Nil(t, m.Calibration(), "m is not modified")
	assert.Nil(t, cm.WithCalibration(nil).Calibration())
}

func TestCalibrationFileRoundTrip(t *testing.T) {
	m, p, cal := calibrated(t)
	cm := m.WithCalibration(cal)
	plain, b := modelBytes(t, m), modelBytes(t, cm)
	assert.Equal(t, uint32(1), binary.LittleEndian.Uint32(plain[8:]))
	assert.Equal(t, uint32(2), binary.LittleEndian.Uint32(b[8:]))
	hdr := `,"sections":[{"name":"calibration","bytes":` + strconv.FormatInt(cal.encodedSize(), 10) + `}]`
	assert.Equal(t, int64(len(plain)+len(hdr))+cal.encodedSize(), int64(len(b)))
	back, err := Load(bytes.NewReader(b))
	require.NoError(t, err)
	assert.Equal(t, cal, back.Calibration())
	assert.Equal(t, b, modelBytes(t, back), "save(load(save(m))) == save(m)")
	e, a := p.pair()
	assert.Equal(t, cm.Score(e, a), back.Score(e, a))

	// A file without calibration loads and scores; it has no percentiles.
	old, err := Load(bytes.NewReader(plain))
	require.NoError(t, err)
	assert.Nil(t, old.Calibration())
	_, err = old.AlertRule(0.01, AlertDefault)
	assert.ErrorIs(t, err, ErrNotCalibrated)

	// Every truncation is refused as corrupt.
	for n := len(plain) - 8; n < len(b); n += 97 {
		_, err := Load(bytes.NewReader(b[:n]))
		assert.ErrorIs(t, err, ErrCorrupt, "cut to %d of %d", n, len(b))
	}
}

// calibPayload encodes c.
func calibPayload(t testing.TB, c *Calibration) []byte {
	var buf bytes.Buffer
	require.NoError(t, c.encode(&buf))
	require.Equal(t, c.encodedSize(), int64(buf.Len()))
	return buf.Bytes()
}

func decode(p []byte) (*Calibration, error) {
	c, err := decodeCalibration(bufio.NewReader(bytes.NewReader(p)))
	if err == nil {
		// As readSections does: every byte must have been used.
		if len(p) != int(c.encodedSize()) {
			return nil, errors.New("unused bytes")
		}
	}
	return c, err
}

func TestCalibrationSectionMalformed(t *testing.T) {
	_, _, cal := calibrated(t)
	good := calibPayload(t, cal)
	c, err := decode(good)
	require.NoError(t, err)
	assert.Equal(t, cal, c)

	k := len(cal.global.v)
	ents := 32 + 4*k // offset of the entity count
	cases := map[string][]byte{
		"format":              patch32(good, 0, 2),
		"min pairs 0":         patch32(good, 4, 0),
		"quantiles 1":         patch32(good, 8, 1),
		"no pairs":            patch64(good, 20, 0),
		"more values than n":  patch32(patch64(good, 20, 5), 28, 6),
		"global values 0":     patch32(good, 28, 0),
		"global NaN":          patch32(good, 32, math.Float32bits(float32(math.NaN()))),
		"global descending":   patch32(good, 32, math.Float32bits(1e30)),
		"global +Inf":         patch32(good, 32+4*(k-1), math.Float32bits(float32(math.Inf(1)))),
		"hostile entities":    patch32(good, ents, math.MaxUint32),
		"hostile global k":    patch32(patch64(good, 20, 1<<40), 28, math.MaxUint32),
		"entity below min":    patch32(good, ents+4+8, 1),
		"entity pairs > all":  patch32(good, ents+4+8, math.MaxUint32),
		"hashes not sorted":   patch64(good, ents+4, math.MaxUint64),
		"cut in the middle":   good[:len(good)/2],
		"cut in the header":   good[:10],
		"empty":               nil,
		"entities cut short":  good[:ents+4+12],
		"entity values cut":   good[:len(good)-2],
		"huge skipped":        patch64(good, 12, 1<<63),
		"quantiles too large": patch32(good, 8, 1<<20),
	}
	for name, p := range cases {
		_, err := decode(p)
		assert.ErrorIs(t, err, ErrCorrupt, name)
	}
}

func FuzzCalibrationSection(f *testing.F) {
	_, _, cal := calibrated(f)
	f.Add(calibPayload(f, cal))
	small := &Calibration{global: dist{n: 3, v: []float32{-1, 0, 2}}, minEntityPairs: 2, entityQuantiles: 2,
		hashes: []uint64{7}, counts: []uint32{3}, offsets: []uint32{0, 2}, values: []float32{-1, 2}}
	f.Add(calibPayload(f, small))
	f.Fuzz(func(t *testing.T, p []byte) {
		c, err := decodeCalibration(bufio.NewReader(bytes.NewReader(p)))
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		// What is accepted encodes back to the bytes it was read from
		// (those it used), and answers percentiles in [0, 1].
		q := calibPayload(t, c)
		if !bytes.Equal(q, p[:len(q)]) {
			t.Fatalf("re-encoding differs")
		}
		for _, x := range []float64{-1e9, -1, 0, 1, 1e9} {
			for _, h := range append([]uint64{0}, c.hashes...) {
				if v := c.Percentile(h, x).Value; !(v >= 0 && v <= 1) {
					t.Fatalf("percentile %v of %v", v, x)
				}
			}
		}
		if th := c.global.threshold(0.01); math.IsNaN(th) {
			t.Fatal("NaN threshold")
		}
	})
}

// normalPairs draws n dot products for each of 40 entities (hashes 1 to
// 40), normal with a mean of its own and standard deviation 1 + e/40.
func normalPairs(r *rng.RNG, n int) []scoredPair {
	var out []scoredPair
	for e := 1; e <= 40; e++ {
		mu, sd := float64(e%7)-3, 1+float64(e)/40
		for range n {
			out = append(out, scoredPair{h: uint64(e), dot: float32(mu + sd*r.NormFloat64())})
		}
	}
	return out
}

func TestAlertRule(t *testing.T) {
	r := rng.New(5, 0)
	o, err := (&CalibrationOptions{}).withDefaults()
	require.NoError(t, err)
	cal, err := buildCalibration(normalPairs(r, 300), 0, o)
	require.NoError(t, err)
	require.Equal(t, 40, cal.Entities())
	for _, fpr := range []float64{0, 1, -0.5, math.NaN(), 2} {
		_, err := cal.AlertRule(fpr, AlertDefault)
		assert.ErrorContains(t, err, "is not between 0 and 1", "%v", fpr)
		_, err = cal.Threshold(fpr)
		assert.Error(t, err)
	}
	_, err = cal.AlertRule(0.1, AlertBasis(7))
	assert.Error(t, err)

	def, err := cal.AlertRule(0.05, AlertDefault)
	require.NoError(t, err)
	assert.Equal(t, AlertByDotProduct, def.Basis())
	assert.Equal(t, "dot_product", def.Basis().String())
	assert.Equal(t, 0.05, def.FPR())
	th, err := cal.Threshold(0.05)
	require.NoError(t, err)
	assert.Equal(t, th, def.Threshold())

	// On fresh pairs of the same traffic, each basis flags about the
	// stated share: 12,000 pairs give a binomial standard deviation of
	// 0.002 at 5% and 0.0009 at 1%; 300 pairs per entity add the
	// estimate's own error. The percentile basis holds each entity to
	// the rate, the dot product basis only all of them together.
	fresh := normalPairs(r, 300)
	for _, basis := range []AlertBasis{AlertByDotProduct, AlertByPercentile} {
		for _, fpr := range []float64{0.01, 0.05} {
			rule, err := cal.AlertRule(fpr, basis)
			require.NoError(t, err)
			flagged, worst := 0, 0.0
			perEntity := map[uint64]int{}
			for _, p := range fresh {
				if rule.Alert(p.h, float64(p.dot)) {
					flagged++
					perEntity[p.h]++
				}
			}
			for _, n := range perEntity {
				worst = max(worst, float64(n)/300)
			}
			assert.InDelta(t, fpr, float64(flagged)/float64(len(fresh)), 3*fpr/10, "%v at %v", basis, fpr)
			if basis == AlertByPercentile {
				assert.Less(t, worst, 4*fpr, "every entity near the rate")
			} else {
				assert.Greater(t, worst, 4*fpr, "low-scoring entities alert more")
			}
		}
		rule, err := cal.AlertRule(0.01, basis)
		require.NoError(t, err)
		assert.True(t, rule.Alert(3, -30), "%v", basis)
		assert.True(t, rule.Alert(999, -30), "%v: an entity without its own pairs", basis)
		assert.False(t, rule.Alert(3, 30), "%v", basis)
		assert.False(t, rule.Alert(3, math.NaN()), "NaN never alerts")
		b, err := ParseAlertBasis(basis.String())
		require.NoError(t, err)
		assert.Equal(t, basis, b)
	}
	assert.False(t, AlertRule{}.Alert(3, -30), "the zero rule flags nothing")
	_, err = ParseAlertBasis("dot")
	assert.ErrorContains(t, err, `unknown alert basis "dot"`)

	m, _, _ := calibrated(t)
	_, err = m.AlertRule(0.01, AlertDefault)
	assert.ErrorIs(t, err, ErrNotCalibrated)
	_, err = m.WithCalibration(cal).AlertRule(0.01, AlertDefault)
	assert.NoError(t, err)
}
