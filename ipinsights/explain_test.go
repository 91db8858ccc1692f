package ipinsights

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"testing"

	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/internal/bench/cputime"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNetworkCountsString(t *testing.T) {
	n := NetworkCounts{
		{Prefix: netip.MustParsePrefix("203.0.113.0/24"), Count: 312},
		{Prefix: netip.MustParsePrefix("198.51.100.0/24"), Count: 41},
		{Prefix: netip.MustParsePrefix("2001:db8:7::/48"), Count: 2},
	}
	assert.Equal(t, "203.0.113.0/24 312; 198.51.100.0/24 41; 2001:db8:7::/48 2", n.String())
	assert.Equal(t, "", NetworkCounts(nil).String())
	b, err := n[:1].AppendText([]byte("usual: "))
	require.NoError(t, err)
	assert.Equal(t, "usual: 203.0.113.0/24 312", string(b))
}

// explainCases returns pairs to explain: the history's own pairs, the same
// entities at other addresses, unseen entities, IPv6 and invalid addresses.
func explainCases(d *Dataset) []Pair {
	var ps []Pair
	for i, tu := range d.Tuples()[:300] {
		e := fmt.Sprintf("user-%04d", i%30) // planted's entity names
		ps = append(ps, Pair{Entity: e, IP: tu.Addr.Netip()})
		ps = append(ps, Pair{Entity: e, IP: netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})})
	}
	ps = append(ps,
		Pair{Entity: "nobody", IP: netip.MustParseAddr("10.0.0.1")},
		Pair{Entity: "user-0001", IP: netip.MustParseAddr("2001:db8:0:1::9")},
		Pair{Entity: "user-0001", IP: netip.Addr{}},
		Pair{Entity: "nobody", IP: netip.Addr{}},
	)
	return ps
}

func TestExplainMatchesScoreAndBatch(t *testing.T) {
	m, d := trainedWithHistory(t)
	ps := explainCases(d)
	for _, workers := range []int{1, 2} {
		batch := m.ExplainBatchWorkers(nil, ps, workers)
		ts := make([]embedding.Tuple, len(ps))
		for i, p := range ps {
			ts[i] = embedding.NewTuple(p.Entity, p.IP)
		}
		tuples := m.ExplainTuplesWorkers(nil, ts, workers)
		for i, p := range ps {
			one := m.Explain(p.Entity, p.IP)
			s := m.Score(p.Entity, p.IP)
			if math.IsNaN(s.DotProduct) {
				assert.True(t, math.IsNaN(one.DotProduct))
				assert.True(t, math.IsNaN(batch[i].DotProduct))
				one.DotProduct, batch[i].DotProduct, s.DotProduct = 0, 0, 0
			} else {
				assert.Equal(t, one, tuples[i], "tuples %d", i)
			}
			assert.Equal(t, s, one.Result, "pair %d: Explain's Result is Score's, bit for bit", i)
			assert.Equal(t, one, batch[i], "pair %d, workers %d", i, workers)
		}
	}
}

func TestExplainAgainstExactCounts(t *testing.T) {
	m, d := trainedWithHistory(t)
	h := m.hist
	exact, pairs := exactCounts(d.Tuples(), h.levels[0])
	exact6, _ := exactCounts(d.Tuples(), h.levels[1])
	for i := range 30 {
		e := entityName(i)
		x := embedding.EntityHash(e)
		// Planted gives each entity two networks (fewer than the sketch's
		// counters), so the counts are exact.
		var want NetworkCounts
		for k, c := range exact[x] {
			want = append(want, NetworkCount{Prefix: h.levels[0].prefix(k), Count: c})
		}
		for k, c := range exact6[x] {
			want = append(want, NetworkCount{Prefix: h.levels[1].prefix(k), Count: c})
		}
		slices.SortStableFunc(want, func(a, b NetworkCount) int { return b.Count - a.Count })
		home := netip.PrefixFrom(embedding.AddrV4(uint32(trainedPlanted(t).nets[i][0])<<16|77).Netip(), 16)
		ex := m.Explain(e, home.Addr())
		assert.Equal(t, pairs[x], ex.EntityPairs)
		assert.ElementsMatch(t, want, ex.UsualNetworks, e)
		assert.True(t, slices.IsSortedFunc(ex.UsualNetworks, func(a, b NetworkCount) int { return b.Count - a.Count }))
		assert.Nil(t, ex.UsualWideNetworks, "a /16 model has no wider level")
		assert.Equal(t, home.Masked(), ex.Network)
		assert.Equal(t, ex.Network, ex.WideNetwork)
		assert.True(t, ex.NetworkSeen)
		assert.Equal(t, exact[x][uint64(home.Addr().As4()[0])<<8|uint64(home.Addr().As4()[1])], ex.NetworkPairs)
		assert.Equal(t, ex.Network, ex.NearestUsualNetwork, "an address's own usual network is its nearest")
		assert.InDelta(t, 1, ex.NearestSimilarity, 1e-5)

		far := m.Explain(e, netip.MustParseAddr("192.0.2.1"))
		assert.False(t, far.NetworkSeen)
		assert.Zero(t, far.NetworkPairs)
		assert.Equal(t, netip.MustParsePrefix("192.0.0.0/16"), far.Network)
		checkNearest(t, m, far)
	}
}

// trainedPlanted returns the planted networks of trainedForFiles.
func trainedPlanted(t testing.TB) *planted {
	_, p := trainedForFiles()
	return p
}

// checkNearest recomputes the nearest usual network by brute force, with
// IPEmbedding and float64 cosines.
func checkNearest(t *testing.T, m *Model, ex Explanation) {
	t.Helper()
	if !ex.Network.IsValid() || len(ex.UsualNetworks) == 0 {
		assert.False(t, ex.NearestUsualNetwork.IsValid())
		return
	}
	cos := func(a, b []float32) float64 {
		var ab, aa, bb float64
		for i := range a {
			ab += float64(a[i]) * float64(b[i])
			aa += float64(a[i]) * float64(a[i])
			bb += float64(b[i]) * float64(b[i])
		}
		return ab / math.Sqrt(aa*bb)
	}
	v := m.IPEmbedding(ex.Network.Addr())
	best, at := math.Inf(-1), netip.Prefix{}
	for _, n := range ex.UsualNetworks {
		if c := cos(v, m.IPEmbedding(n.Prefix.Addr())); c > best {
			best, at = c, n.Prefix
		}
	}
	assert.InDelta(t, best, ex.NearestSimilarity, 1e-4)
	if ex.NearestUsualNetwork != at { // a near tie, decided by float32 rounding
		got := cos(v, m.IPEmbedding(ex.NearestUsualNetwork.Addr()))
		assert.InDelta(t, best, got, 1e-4, "nearest %s, brute force %s", ex.NearestUsualNetwork, at)
	}
}

func TestExplainNearestMatchesBruteForce(t *testing.T) {
	m, d := trainedWithHistory(t)
	for _, p := range explainCases(d) {
		ex := m.Explain(p.Entity, p.IP)
		checkNearest(t, m, ex)
	}
}

// The nearest network is computed from each network's embedding projected
// back through the last layer and the address's cached norm: check it
// against brute force for encoders with 0, 1 and 2 layers and one or two
// IPv4 levels (one encoder row per address, whose norm is cached, or two),
// explained twice (the norms cached the second time), and without the
// network cache (as a history too large for it is explained), which must
// give the same.
func TestExplainNearestEveryEncoder(t *testing.T) {
	_, d := trainedWithHistory(t)
	ps := explainCases(d)
	for _, layers := range []int{0, 1, 2} {
		for _, prefixes := range [][]int{{16}, {16, 24}} {
			name := fmt.Sprintf("%d layers, IPv4 /%v", layers, prefixes)
			cfg := smallConfig()
			cfg.NumIPEncoderLayers = layers
			cfg.IPv4Prefixes = prefixes
			cfg.Epochs = 1
			base, err := Train(context.Background(), cfg, d, nil)
			require.NoError(t, err, name)
			m, err := base.WithNetworkHistory(context.Background(), d, nil)
			require.NoError(t, err, name)
			first := m.ExplainBatch(nil, ps)
			nearest := 0
			for i := range ps {
				checkNearest(t, m, first[i])
				if first[i].NearestUsualNetwork.IsValid() && !first[i].NetworkSeen {
					nearest++
				}
			}
			assert.Greater(t, nearest, 100, "%s: explanations that looked for the nearest network", name)
			again := m.ExplainBatch(nil, ps)
			c := m.hist.explainCache(m)
			c.emb, c.bias, c.state = nil, nil, nil
			uncached := m.ExplainBatch(nil, ps)
			for i := range ps {
				for _, ex := range []Explanation{again[i], uncached[i]} {
					assert.Equal(t, first[i].NearestUsualNetwork, ex.NearestUsualNetwork, "%s: %v", name, ps[i])
					assert.Equal(t, first[i].NearestSimilarity, ex.NearestSimilarity, "%s: %v", name, ps[i])
				}
			}
		}
	}
}

func TestExplainWideLevelAndIPv6(t *testing.T) {
	cfg := smallConfig()
	cfg.IPv4Prefixes = []int{16, 24}
	cfg.Epochs = 1
	d := NewDataset()
	for i := range 40 {
		d.Add("alice", netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}))
		if i%4 == 0 {
			d.Add("alice", netip.AddrFrom4([4]byte{203, 0, 7, byte(i)}))
			d.Add("alice", netip.MustParseAddr(fmt.Sprintf("2001:db8:aa:%x::1", i)))
		}
		d.Add("bob", netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}))
	}
	base, err := Train(context.Background(), cfg, d, nil)
	require.NoError(t, err)
	m, err := base.WithNetworkHistory(context.Background(), d, nil)
	require.NoError(t, err)

	ex := m.Explain("alice", netip.MustParseAddr("203.0.9.9"))
	assert.Equal(t, 60, ex.EntityPairs)
	assert.Equal(t, "203.0.113.0/24 40; 203.0.7.0/24 10; 2001:db8:aa::/48 10", ex.UsualNetworks.String())
	assert.Equal(t, "203.0.0.0/16 50", ex.UsualWideNetworks.String())
	assert.Equal(t, netip.MustParsePrefix("203.0.9.0/24"), ex.Network)
	assert.False(t, ex.NetworkSeen)
	assert.Equal(t, netip.MustParsePrefix("203.0.0.0/16"), ex.WideNetwork)
	assert.True(t, ex.WideNetworkSeen)
	assert.Equal(t, 50, ex.WideNetworkPairs)
	checkNearest(t, m, ex)

	ex = m.Explain("alice", netip.MustParseAddr("2001:db8:aa:ff::5"))
	assert.Equal(t, netip.MustParsePrefix("2001:db8:aa::/48"), ex.Network)
	assert.Equal(t, ex.Network, ex.WideNetwork, "IPv6 has one level")
	assert.True(t, ex.NetworkSeen)
	assert.Equal(t, 10, ex.NetworkPairs)
	assert.Equal(t, ex.Network, ex.NearestUsualNetwork)

	ex = m.Explain("bob", netip.MustParseAddr("203.0.113.1"))
	assert.Equal(t, "198.51.100.0/24 40", ex.UsualNetworks.String())
	assert.False(t, ex.NetworkSeen)
	assert.False(t, ex.WideNetworkSeen)
	assert.Equal(t, netip.MustParsePrefix("198.51.100.0/24"), ex.NearestUsualNetwork)
}

func TestExplainWithoutHistory(t *testing.T) {
	base, p := trainedForFiles()
	e, a := p.pair()
	ex := base.Explain(e, a)
	assert.Equal(t, base.Score(e, a), ex.Result)
	assert.True(t, ex.EntitySeen)
	assert.Equal(t, netip.PrefixFrom(a, 16).Masked(), ex.Network)
	assert.Equal(t, ex.Network, ex.WideNetwork)
	assert.Zero(t, ex.EntityPairs)
	assert.False(t, ex.NetworkSeen)
	assert.Empty(t, ex.UsualNetworks)
	assert.False(t, ex.NearestUsualNetwork.IsValid())
}

func TestExplainBatchReusesSlices(t *testing.T) {
	m, d := trainedWithHistory(t)
	ps := explainCases(d)
	dst := m.ExplainBatchWorkers(nil, ps, 1)
	first := &dst[0].UsualNetworks[0]
	want := slices.Clone(dst)
	for i := range want {
		want[i].UsualNetworks = slices.Clone(want[i].UsualNetworks)
	}
	dst = m.ExplainBatchWorkers(dst, ps, 1)
	assert.Same(t, first, &dst[0].UsualNetworks[0], "the slices of dst are reused")
	for i := range want {
		if math.IsNaN(want[i].DotProduct) {
			continue
		}
		assert.Equal(t, want[i], dst[i])
	}
	// Explanations without usual networks keep their (empty) slices, and
	// the next pair's networks do not overwrite the previous pair's.
	reversed := slices.Clone(ps)
	slices.Reverse(reversed)
	dst = m.ExplainBatchWorkers(dst, reversed, 1)
	for i := range dst {
		assert.Equal(t, m.Explain(reversed[i].Entity, reversed[i].IP).UsualNetworks.String(), dst[i].UsualNetworks.String())
	}
}

// BenchmarkExplainTuples explains batches of 10,000 encoded pairs with the
// tutorial configuration (vector_dim 128, one encoder layer) and a history
// of 10,000 entities, into a reused dst:
// rows/s is the figure score --explain needs (>= 300,000 on 2 cores).
// Each entity has eight /16 networks, the most the default history keeps.
// Half the pairs explained have an address of a usual network; the other
// half, as in the tutorial's attack test, a random address, which is
// compared with all eight.
func BenchmarkExplainTuples(b *testing.B) {
	const batch = 10000
	p := newPlanted(9, 10000, 8, 20000)
	data := make([]embedding.Tuple, 200_000)
	for i := range data {
		data[i] = embedding.NewTuple(p.pair())
	}
	explained := slices.Clone(data)
	for i := 0; i < len(explained); i += 2 {
		explained[i].Addr = embedding.AddrV4(uint32(p.r.Uint64()))
	}
	m, err := newModel(tutorialConfig(1))
	if err != nil {
		b.Fatal(err)
	}
	m.initParams()
	d := NewDataset()
	d.AddTuples(data...)
	m.seen = d.rows.seenSet()
	if m, err = m.WithNetworkHistory(context.Background(), d, nil); err != nil {
		b.Fatal(err)
	}
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			dst := make([]Explanation, batch)
			for lo := 0; lo < len(data); lo += batch { // fill the caches
				dst = m.ExplainTuplesWorkers(dst, explained[lo:lo+batch], workers)
			}
			b.ReportAllocs()
			cpu0 := cputime.Process()
			lo := 0
			for b.Loop() {
				dst = m.ExplainTuplesWorkers(dst, explained[lo:lo+batch], workers)
				lo = (lo + batch) % len(data)
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64((cputime.Process()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// A history read from a file may keep two levels for IPv6 as well (this
// build counts one): the wide lists of both families are merged by count.
func TestExplainTwoWideFamilies(t *testing.T) {
	base, _ := trainedForFiles()
	d := NewDataset()
	for i := range 30 {
		if i%5 == 0 {
			d.Add("carol", netip.AddrFrom4([4]byte{198, 51, byte(i % 2), 1}))
		}
		if i%3 == 0 {
			d.Add("carol", netip.MustParseAddr(fmt.Sprintf("2001:db8:0:%x::1", i)))
		}
	}
	levels := []histLevel{{bits: 24}, {bits: 16}, {v6: true, bits: 64}, {v6: true, bits: 32}}
	h, err := countHistory(context.Background(), levels, 8, 1, d.All(), d.Len())
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, h.encode(&b))
	back, err := decodeBytes(b.Bytes())
	require.NoError(t, err, "two levels per family are readable")
	m := base.clone()
	m.hist = back
	ex := m.Explain("carol", netip.MustParseAddr("2001:db8:0:99::1"))
	assert.Equal(t, "2001:db8::/32 10; 198.51.0.0/16 6", ex.UsualWideNetworks.String())
	assert.Equal(t, netip.MustParsePrefix("2001:db8:0:99::/64"), ex.Network)
	assert.False(t, ex.NetworkSeen)
	assert.Equal(t, netip.MustParsePrefix("2001:db8::/32"), ex.WideNetwork)
	assert.True(t, ex.WideNetworkSeen)
	assert.Equal(t, 10, ex.WideNetworkPairs)
}
