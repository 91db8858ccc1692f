package alert

import (
	"net/netip"
	"testing"

	"github.com/ipinsights/ipinsights-go/internal/bench/cputime"
	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// rangeDB answers every lookup with the AS of the address's /16, without
// memory traffic of its own, so that the benchmark measures the Annotator.
type rangeDB struct{}

func (rangeDB) Lookup(ip netip.Addr) (uint32, string, bool) {
	b := ip.As16()
	return uint32(b[12])<<8 | uint32(b[13]) + 1, "Example Org", true
}

// BenchmarkAnnotate annotates records of 10,000 entities with 8 usual
// networks each (80,000 distinct networks, as a network history of the
// tutorial's scale holds), in an order that jumps between entities.
func BenchmarkAnnotate(b *testing.B) {
	const entities, per = 10000, 8
	expls := make([]ipinsights.Explanation, entities)
	for e := range expls {
		usual := make(ipinsights.NetworkCounts, per)
		for k := range usual {
			v := uint32(e*per + k)
			usual[k] = ipinsights.NetworkCount{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 16), byte(v >> 8), byte(v), 0}), 24), Count: per - k}
		}
		expls[e].UsualNetworks = usual
	}
	a := NewAnnotator(rangeDB{})
	r := Record{Addr: netip.MustParseAddr("192.0.2.1")}
	for e := range expls { // every network in the cache: the steady state
		r.Explanation = &expls[e]
		a.Annotate(&r)
	}
	b.ReportAllocs()
	cpu0 := cputime.Process()
	n := 0
	for i := 0; b.Loop(); i++ {
		r.Explanation = &expls[(i*7919)%entities]
		a.Annotate(&r)
		n++
	}
	if cpu := cputime.Process() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/op")
	}
}
