package rng

import (
	"math"
	"math/bits"

	"github.com/ipinsights/ipinsights-go/embedding"
)

// RNG is a xoshiro256** generator (Blackman and Vigna 2018). Its output for a
// given seed and stream is fixed forever: models trained with the same seed
// are bit-identical across Go versions. An RNG is not safe for concurrent
// use; give each goroutine or each unit of work its own.
type RNG struct {
	s [4]uint64
}

// New returns a generator for the given seed and stream.
func New(seed, stream uint64) *RNG {
	r := new(RNG)
	r.Seed(seed, stream)
	return r
}

// Seed resets r to the start of the stream (seed, stream).
func (r *RNG) Seed(seed, stream uint64) {
	x := embedding.Mix64(seed) ^ embedding.Mix64(stream+0x9e3779b97f4a7c15)
	for i := range r.s {
		x += 0x9e3779b97f4a7c15
		r.s[i] = embedding.Mix64(x)
	}
}

// Stream derives a stream number from a list of integers, for example
// (epoch, batch).
func Stream(keys ...uint64) uint64 {
	h := uint64(0x243f6a8885a308d3)
	for _, k := range keys {
		h = embedding.Mix64(h ^ k)
	}
	return h
}

// Uint64 returns 64 random bits.
func (r *RNG) Uint64() uint64 {
	s := &r.s
	result := bits.RotateLeft64(s[1]*5, 7) * 9
	t := s[1] << 17
	s[2] ^= s[0]
	s[3] ^= s[1]
	s[1] ^= s[2]
	s[0] ^= s[3]
	s[2] ^= t
	s[3] = bits.RotateLeft64(s[3], 45)
	return result
}

// Uint32 returns 32 random bits.
func (r *RNG) Uint32() uint32 { return uint32(r.Uint64() >> 32) }

// IntN returns a uniform integer in [0, n) without modulo bias (Lemire's
// multiply-and-reject). n must be positive.
func (r *RNG) IntN(n int) int {
	if n <= 0 {
		panic("rng: IntN argument must be positive")
	}
	un := uint64(n)
	hi, lo := bits.Mul64(r.Uint64(), un)
	if lo < un {
		thresh := -un % un
		for lo < thresh {
			hi, lo = bits.Mul64(r.Uint64(), un)
		}
	}
	return int(hi)
}

// Float64 returns a uniform float64 in [0, 1).
func (r *RNG) Float64() float64 { return float64(r.Uint64()>>11) / (1 << 53) }

// Float32 returns a uniform float32 in [0, 1).
func (r *RNG) Float32() float32 { return float32(r.Uint64()>>40) / (1 << 24) }

// NormFloat64 returns a standard normal variate (Box-Muller; one variate per
// call so that the stream position does not depend on earlier calls).
func (r *RNG) NormFloat64() float64 {
	u1 := 1 - r.Float64() // (0, 1]
	u2 := r.Float64()
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// Shuffle permutes n items uniformly at random through swap (Fisher-Yates,
// drawing IntN(i+1) for i from n-1 down to 1), as math/rand's Shuffle does.
func (r *RNG) Shuffle(n int, swap func(i, j int)) {
	for i := n - 1; i > 0; i-- {
		swap(i, r.IntN(i+1))
	}
}
