package sampler

import (
	"net/netip"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/embedding"
)

func TestTupleIs24Bytes(t *testing.T) {
	assert.LessOrEqual(t, unsafe.Sizeof(Tuple{}), uintptr(24))
}

func TestRNGDeterministicAndStreamsDiffer(t *testing.T) {
	a, b, c := NewRNG(42, 1), NewRNG(42, 1), NewRNG(42, 2)
	same, diff := true, false
	for i := 0; i < 100; i++ {
		x, y, z := a.Uint64(), b.Uint64(), c.Uint64()
		same = same && x == y
		diff = diff || x != z
	}
	assert.True(t, same, "same seed and stream give the same sequence")
	assert.True(t, diff, "different streams give different sequences")
	var r RNG
	r.Seed(42, 1)
	assert.Equal(t, NewRNG(42, 1).Uint64(), r.Uint64(), "Seed resets to the stream start")
	assert.NotEqual(t, Stream(1, 2), Stream(2, 1), "Stream depends on key order")
}

func TestIntNUniform(t *testing.T) {
	r := NewRNG(1, 0)
	const n, draws = 7, 70000
	var counts [n]int
	for i := 0; i < draws; i++ {
		v := r.IntN(n)
		require.True(t, v >= 0 && v < n)
		counts[v]++
	}
	// Chi-square with 6 degrees of freedom; 22.46 is the 0.999 quantile.
	chi := 0.0
	for _, c := range counts {
		d := float64(c) - draws/n
		chi += d * d / (draws / n)
	}
	assert.Less(t, chi, 22.46)
	assert.Panics(t, func() { r.IntN(0) })
	for i := 0; i < 1000; i++ {
		f := r.Float64()
		require.True(t, f >= 0 && f < 1)
		g := r.Float32()
		require.True(t, g >= 0 && g < 1)
	}
}

func TestNormFloat64Moments(t *testing.T) {
	r := NewRNG(3, 0)
	const n = 200000
	var s, s2 float64
	for i := 0; i < n; i++ {
		v := r.NormFloat64()
		s += v
		s2 += v * v
	}
	mean := s / n
	assert.InDelta(t, 0, mean, 0.01)
	assert.InDelta(t, 1, s2/n-mean*mean, 0.02)
}

func TestShuffleIsPermutation(t *testing.T) {
	ts := make([]Tuple, 1000)
	for i := range ts {
		ts[i].Entity = uint64(i)
	}
	Shuffle(ts, NewRNG(5, 0))
	seen := make([]bool, len(ts))
	moved := 0
	for i, tp := range ts {
		require.False(t, seen[tp.Entity])
		seen[tp.Entity] = true
		if tp.Entity != uint64(i) {
			moved++
		}
	}
	assert.Greater(t, moved, 900)
}

func TestPositivesPerBatch(t *testing.T) {
	// DESIGN.md: batch 1000 with R=5, S=1 holds about 143 positives.
	assert.Equal(t, 143, Config{BatchSize: 1000, Random: 5, Shuffled: 1}.Positives())
	assert.Equal(t, 1667, Config{BatchSize: 5000, Random: 1, Shuffled: 1}.Positives()) // 5000/3 rounded
	assert.Equal(t, 1, Config{BatchSize: 1, Random: 1, Shuffled: 1}.Positives())
	assert.Error(t, Config{BatchSize: 10}.Validate())
	assert.Error(t, Config{BatchSize: 0, Random: 1}.Validate())
	assert.NoError(t, Config{BatchSize: 10, Shuffled: 1}.Validate())
}

func TestFillGroups(t *testing.T) {
	var pos []Tuple
	for i := 0; i < 50; i++ {
		ip := netip.AddrFrom4([4]byte{10, byte(i), 0, 1})
		if i%5 == 0 {
			ip = netip.MustParseAddr("2001:db8::1").Next()
		}
		pos = append(pos, NewTuple("u"+string(rune('a'+i%26)), ip))
		pos[i].Addr.Lo += uint64(i) // distinct addresses
	}
	c := Config{BatchSize: 50 * 7, Random: 4, Shuffled: 2}
	var b Batch
	c.Fill(&b, pos, nil, NewRNG(9, 9))
	require.Equal(t, 7, b.K)
	require.Equal(t, 50, b.Groups())
	require.Len(t, b.Addrs, 350)
	own := map[embedding.Addr]int{}
	for i, p := range pos {
		own[p.Addr] = i
	}
	for g, p := range pos {
		assert.Equal(t, p.Entity, b.Entities[g])
		row := b.Addrs[g*7 : (g+1)*7]
		assert.Equal(t, p.Addr, row[0], "sample 0 is the positive")
		for _, a := range row[1:5] {
			assert.Equal(t, p.Addr.Is4(), a.Is4(), "random negatives keep the family")
		}
		for _, a := range row[5:] {
			o, ok := own[a]
			assert.True(t, ok, "shuffled negative takes a batch positive's address")
			assert.NotEqual(t, g, o, "and not its own")
		}
	}
	// Reproducible for a stream.
	var b2 Batch
	c.Fill(&b2, pos, nil, NewRNG(9, 9))
	assert.Equal(t, b.Addrs, b2.Addrs)
}

func TestFillSinglePositiveUsesAll(t *testing.T) {
	all := []Tuple{NewTuple("a", netip.MustParseAddr("1.1.1.1")), NewTuple("b", netip.MustParseAddr("2.2.2.2"))}
	c := Config{BatchSize: 2, Random: 0, Shuffled: 1}
	var b Batch
	c.Fill(&b, all[:1], all, NewRNG(1, 1))
	require.Len(t, b.Addrs, 2)
	assert.Contains(t, []embedding.Addr{all[0].Addr, all[1].Addr}, b.Addrs[1])
}

func TestFillDoesNotAllocate(t *testing.T) {
	pos := make([]Tuple, 143)
	for i := range pos {
		pos[i] = NewTuple("u", netip.AddrFrom4([4]byte{1, 2, 3, byte(i)}))
	}
	c := Config{BatchSize: 1000, Random: 5, Shuffled: 1}
	var b Batch
	r := NewRNG(1, 1)
	c.Fill(&b, pos, nil, r)
	allocs := testing.AllocsPerRun(20, func() { c.Fill(&b, pos, nil, r) })
	assert.Zero(t, allocs)
}
