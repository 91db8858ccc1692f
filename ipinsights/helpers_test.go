package ipinsights

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/rng"
)

// planted generates pairs with planted structure: each of nEnt entities
// uses nNet /16 networks of its own (drawn from a pool shared by all), and
// each pair takes a uniform address in one of its entity's networks.
type planted struct {
	nets [][]uint32 // per entity: /16 prefixes (upper 16 bits)
	r    *rng.RNG
}

func newPlanted(seed uint64, nEnt, nNet, pool int) *planted {
	r := rng.New(seed, 1)
	poolNets := make([]uint32, pool)
	for i := range poolNets {
		poolNets[i] = uint32(r.IntN(1 << 16))
	}
	p := &planted{nets: make([][]uint32, nEnt), r: r}
	for e := range p.nets {
		for j := 0; j < nNet; j++ {
			p.nets[e] = append(p.nets[e], poolNets[r.IntN(pool)])
		}
	}
	return p
}

func entityName(e int) string { return fmt.Sprintf("user-%04d", e) }

// pair draws one real pair.
func (p *planted) pair() (string, netip.Addr) {
	e := p.r.IntN(len(p.nets))
	n := p.nets[e][p.r.IntN(len(p.nets[e]))]
	v := n<<16 | uint32(p.r.IntN(1<<16))
	return entityName(e), embedding.AddrV4(v).Netip()
}

func (p *planted) dataset(n int) *Dataset {
	d := NewDataset()
	for i := 0; i < n; i++ {
		d.Add(p.pair())
	}
	return d
}

// smallConfig is a quick configuration for tests.
func smallConfig() Config {
	c := DefaultConfig()
	c.NumEntityVectors = 1000
	c.VectorDim = 16
	c.Epochs = 3
	c.LearningRate = 0.01
	c.MiniBatchSize = 500
	c.RandomNegativeSamplingRate = 4
	c.ShuffledNegativeSamplingRate = 1
	c.IPv4HashRows = 1 << 12
	c.IPv6HashRows = 1 << 10
	return c
}

// nets0 returns an address in the first entity's first network.
func (p *planted) nets0() netip.Addr {
	return embedding.AddrV4(p.nets[0][0]<<16 | 1).Netip()
}

// patch32 returns a copy of p whose little-endian uint32 at offset at is v:
// a model file or section corrupted in one field.
func patch32(p []byte, at int, v uint32) []byte {
	q := bytes.Clone(p)
	binary.LittleEndian.PutUint32(q[at:], v)
	return q
}

// patch64 is patch32 for a uint64.
func patch64(p []byte, at int, v uint64) []byte {
	q := bytes.Clone(p)
	binary.LittleEndian.PutUint64(q[at:], v)
	return q
}
