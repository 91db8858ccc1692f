package rng

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRNGDeterministicAndStreamsDiffer(t *testing.T) {
	a, b, c := New(42, 1), New(42, 1), New(42, 2)
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
	assert.Equal(t, New(42, 1).Uint64(), r.Uint64(), "Seed resets to the stream start")
	assert.NotEqual(t, Stream(1, 2), Stream(2, 1), "Stream depends on key order")
}

func TestIntNUniform(t *testing.T) {
	r := New(1, 0)
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
	r := New(3, 0)
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

func TestShufflePermutes(t *testing.T) {
	r := New(7, 0)
	xs := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	r.Shuffle(len(xs), func(i, j int) { xs[i], xs[j] = xs[j], xs[i] })
	seen := make([]bool, len(xs))
	moved := 0
	for i, x := range xs {
		require.False(t, seen[x], "value %d twice", x)
		seen[x] = true
		if x != i {
			moved++
		}
	}
	assert.Positive(t, moved, "a shuffle of 10 items moved none")
	// The same seed and stream give the same permutation.
	ys := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	New(7, 0).Shuffle(len(ys), func(i, j int) { ys[i], ys[j] = ys[j], ys[i] })
	assert.Equal(t, xs, ys)
}
