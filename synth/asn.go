package synth

import (
	"math"

	"github.com/ipinsights/ipinsights-go/rng"
)

// ASNTable is a list of contiguous IPv4 ranges ("autonomous systems") in
// address order. Range i spans Begin[i] to End[i], both inclusive.
type ASNTable struct {
	Begin, End []uint32
}

// Len returns the number of ranges.
func (t *ASNTable) Len() int { return len(t.Begin) }

// Draw returns an address uniform within range i.
func (t *ASNTable) Draw(r *rng.RNG, i int) uint32 {
	return t.Begin[i] + uint32(r.IntN(int(t.End[i]-t.Begin[i])+1))
}

const (
	asnSpanStart = 1 << 24     // 1.0.0.0
	asnSpanEnd   = 224<<24 - 1 // 223.255.255.255
	asnMinSize   = 256         // a /24
	asnMaxSize   = 1 << 24     // a /8
	asnAlpha     = 1.1         // Pareto tail index of range sizes
)

// NewASNTable synthesises n contiguous ranges covering 1.0.0.0 to
// 223.255.255.255. Sizes are Pareto(1.1) distributed (most ranges a few
// hundred to a few thousand addresses, a few of millions, capped at a /8),
// then scaled to fill the span, so the mean is about 4,700 addresses at
// n = 800,000.
func NewASNTable(n int, seed uint64) *ASNTable {
	if n < 1 {
		n = 1
	}
	r := rng.New(seed, rng.Stream(0x61736e)) // "asn"
	sizes := make([]float64, n)
	var total float64
	for i := range sizes {
		s := asnMinSize / math.Pow(1-r.Float64(), 1/asnAlpha)
		s = math.Min(s, asnMaxSize)
		sizes[i] = s
		total += s
	}
	span := float64(asnSpanEnd - asnSpanStart + 1)
	scale := span / total
	t := &ASNTable{Begin: make([]uint32, n), End: make([]uint32, n)}
	var acc float64
	next := uint64(asnSpanStart)
	for i, s := range sizes {
		acc += s * scale
		end := uint64(asnSpanStart) + uint64(math.Round(acc)) - 1
		if i == n-1 {
			end = asnSpanEnd
		}
		if end < next { // at least one address per range
			end = next
		}
		t.Begin[i], t.End[i] = uint32(next), uint32(min(end, asnSpanEnd))
		next = min(end+1, asnSpanEnd)
	}
	return t
}
