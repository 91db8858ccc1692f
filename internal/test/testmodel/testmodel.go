// Package testmodel trains small IP Insights models for the tests and
// benchmarks of the server and the command line, so that each does not
// carry its own data generator.
package testmodel

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/ipinsights/ipinsights-go/rng"
)

// Entity returns the name of entity e of the generated data.
func Entity(e int) string { return fmt.Sprintf("user-%03d", e) }

// Pairs returns n (entity, IP) pairs with planted structure, the same for
// a seed: each of nEntities entities logs in from two /16 networks of its
// own (drawn from 200 shared ones), at a uniform address within them.
func Pairs(seed uint64, nEntities, n int) []ipinsights.Pair {
	r := rng.New(seed, 1)
	nets := make([][2]uint32, nEntities)
	for e := range nets {
		nets[e] = [2]uint32{uint32(r.IntN(200)), uint32(r.IntN(200))}
	}
	pairs := make([]ipinsights.Pair, n)
	for i := range pairs {
		e := r.IntN(nEntities)
		net := 10<<24 | nets[e][r.IntN(2)]<<16
		v := net | uint32(r.IntN(1<<16))
		pairs[i] = ipinsights.Pair{Entity: Entity(e), IP: netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})}
	}
	return pairs
}

// Config returns a configuration that trains in well under a second:
// vector_dim dim, 1000 entity buckets, small hashed IP tables, 2 epochs.
func Config(seed uint64, dim int) ipinsights.Config {
	c := ipinsights.DefaultConfig()
	c.Seed = seed
	c.VectorDim = dim
	c.NumEntityVectors = 1000
	c.Epochs = 2
	c.LearningRate = 0.01
	c.MiniBatchSize = 500
	c.RandomNegativeSamplingRate = 4
	c.IPv4HashRows = 1 << 10
	c.IPv6HashRows = 1 << 8
	return c
}

// Train trains a model of Config(seed, dim) on Pairs(seed, 100, n).
func Train(seed uint64, dim, n int) (*ipinsights.Model, error) {
	data := ipinsights.NewDataset()
	for _, p := range Pairs(seed, 100, n) {
		data.Add(p.Entity, p.IP)
	}
	return ipinsights.Train(context.Background(), Config(seed, dim), data, nil)
}
