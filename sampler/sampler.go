package sampler

import (
	"fmt"

	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/rng"
)

// Shuffle permutes s uniformly at random (Fisher-Yates). The permutation
// depends only on len(s) and r, not on the element type: shuffling the
// indices of a list gives the same order as shuffling the list itself,
// which is how a trainer shuffles pairs it does not copy.
func Shuffle[T any](s []T, r *rng.RNG) {
	for i := len(s) - 1; i > 0; i-- {
		j := r.IntN(i + 1)
		s[i], s[j] = s[j], s[i]
	}
}

// Pairs is random access to encoded pairs, in the order of the current
// epoch: the training set from which the shuffled negatives of a batch of
// one positive are drawn (see Config.Fill).
type Pairs interface {
	Len() int
	At(i int) embedding.Tuple
}

// Tuples is a slice of encoded pairs as Pairs.
type Tuples []embedding.Tuple

// Len returns len(t).
func (t Tuples) Len() int { return len(t) }

// At returns t[i].
func (t Tuples) At(i int) embedding.Tuple { return t[i] }

// Config sets the shape of a mini-batch.
type Config struct {
	// BatchSize counts expanded samples (positives and negatives), as
	// SageMaker's mini_batch_size does.
	BatchSize int
	// Random is the number of random negatives per positive (R).
	Random int
	// Shuffled is the number of shuffled negatives per positive (S).
	Shuffled int
}

// GroupSize returns the samples built from one positive: 1 + R + S.
func (c Config) GroupSize() int { return 1 + c.Random + c.Shuffled }

// Positives returns the positives per batch: BatchSize/(1+R+S) rounded to
// the nearest integer, at least 1. With BatchSize 1000, R=5 and S=1 a batch
// holds 143 positives and 858 negatives, 1001 samples.
func (c Config) Positives() int {
	k := c.GroupSize()
	p := (c.BatchSize + k/2) / k
	return max(p, 1)
}

// Validate checks that the configuration can build batches.
func (c Config) Validate() error {
	if c.BatchSize < 1 {
		return fmt.Errorf("sampler: batch size %d must be at least 1", c.BatchSize)
	}
	if c.Random < 0 || c.Shuffled < 0 || c.Random+c.Shuffled < 1 {
		return fmt.Errorf("sampler: need R >= 0, S >= 0 and R+S >= 1, got R=%d S=%d", c.Random, c.Shuffled)
	}
	return nil
}

// Batch is one mini-batch organised in groups: group g holds the positive
// pair (Entities[g], Addrs[g*K]) followed by its R random negatives and S
// shuffled negatives, all with the same entity, at Addrs[g*K+1 : (g+1)*K].
// Sample k of a group is a positive exactly when k == 0.
type Batch struct {
	K        int
	Entities []uint64
	Addrs    []embedding.Addr
}

// Groups returns the number of positives in the batch.
func (b *Batch) Groups() int { return len(b.Entities) }

// Fill builds the batch for the positives pos, reusing b's storage. Random
// negatives of an IPv4 positive are uniform IPv4 addresses (every octet
// uniform in 0..255), those of an IPv6 positive uniform 128-bit addresses.
// A shuffled negative takes the address of another positive of the batch,
// chosen uniformly; when the batch has a single positive it takes the address
// of a uniformly chosen pair of all (the whole training set; nil or empty:
// its own address). Fill does not allocate once b has grown to the batch
// size.
func (c Config) Fill(b *Batch, pos []embedding.Tuple, all Pairs, r *rng.RNG) {
	k := c.GroupSize()
	n := len(pos)
	b.K = k
	b.Entities = grow(b.Entities, n)
	b.Addrs = grow(b.Addrs, n*k)
	for g, t := range pos {
		b.Entities[g] = t.Entity
		row := b.Addrs[g*k : (g+1)*k]
		row[0] = t.Addr
		for j := 1; j <= c.Random; j++ {
			if t.Addr.Is4() {
				row[j] = embedding.AddrV4(r.Uint32())
			} else {
				row[j] = embedding.Addr{Hi: r.Uint64(), Lo: r.Uint64()}
			}
		}
		for j := c.Random + 1; j < k; j++ {
			switch {
			case n > 1:
				o := r.IntN(n - 1)
				if o >= g {
					o++
				}
				row[j] = pos[o].Addr
			case all != nil && all.Len() > 0:
				row[j] = all.At(r.IntN(all.Len())).Addr
			default:
				row[j] = t.Addr
			}
		}
	}
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
