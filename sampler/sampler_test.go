package sampler

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/rng"
)

func TestShuffleIsPermutation(t *testing.T) {
	ts := make([]embedding.Tuple, 1000)
	for i := range ts {
		ts[i].Entity = uint64(i)
	}
	Shuffle(ts, rng.New(5, 0))
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

// TestShuffleIndicesMatchesShuffleTuples checks what a trainer that
// shuffles indices instead of its pairs relies on: two epochs of shuffling
// the indices, read through them, give the order of shuffling the pairs.
func TestShuffleIndicesMatchesShuffleTuples(t *testing.T) {
	ts := make([]embedding.Tuple, 777)
	idx := make([]uint32, len(ts))
	for i := range ts {
		ts[i].Entity = uint64(i) * 0x9e3779b97f4a7c15
		idx[i] = uint32(i)
	}
	orig := append([]embedding.Tuple(nil), ts...)
	for ep := uint64(1); ep <= 2; ep++ {
		Shuffle(ts, rng.New(3, ep))
		Shuffle(idx, rng.New(3, ep))
		for i := range ts {
			require.Equal(t, ts[i], orig[idx[i]], "epoch %d position %d", ep, i)
		}
	}
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
	var pos []embedding.Tuple
	for i := 0; i < 50; i++ {
		ip := netip.AddrFrom4([4]byte{10, byte(i), 0, 1})
		if i%5 == 0 {
			ip = netip.MustParseAddr("2001:db8::1").Next()
		}
		pos = append(pos, embedding.NewTuple("u"+string(rune('a'+i%26)), ip))
		pos[i].Addr.Lo += uint64(i) // distinct addresses
	}
	c := Config{BatchSize: 50 * 7, Random: 4, Shuffled: 2}
	var b Batch
	c.Fill(&b, pos, nil, rng.New(9, 9))
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
	c.Fill(&b2, pos, nil, rng.New(9, 9))
	assert.Equal(t, b.Addrs, b2.Addrs)
}

func TestFillSinglePositiveUsesAll(t *testing.T) {
	all := []embedding.Tuple{embedding.NewTuple("a", netip.MustParseAddr("1.1.1.1")), embedding.NewTuple("b", netip.MustParseAddr("2.2.2.2"))}
	c := Config{BatchSize: 2, Random: 0, Shuffled: 1}
	var b Batch
	c.Fill(&b, all[:1], Tuples(all), rng.New(1, 1))
	require.Len(t, b.Addrs, 2)
	assert.Contains(t, []embedding.Addr{all[0].Addr, all[1].Addr}, b.Addrs[1])
}

func TestFillDoesNotAllocate(t *testing.T) {
	pos := make([]embedding.Tuple, 143)
	for i := range pos {
		pos[i] = embedding.NewTuple("u", netip.AddrFrom4([4]byte{1, 2, 3, byte(i)}))
	}
	c := Config{BatchSize: 1000, Random: 5, Shuffled: 1}
	var b Batch
	r := rng.New(1, 1)
	c.Fill(&b, pos, nil, r)
	allocs := testing.AllocsPerRun(20, func() { c.Fill(&b, pos, nil, r) })
	assert.Zero(t, allocs)
}
