package sampler_test

import (
	"fmt"
	"net/netip"

	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/rng"
	"github.com/ipinsights/ipinsights-go/sampler"
)

func ExampleConfig_Fill() {
	names := map[uint64]string{}
	var tuples []embedding.Tuple
	for _, p := range []struct{ entity, ip string }{
		{"alice", "192.0.2.1"}, {"bob", "198.51.100.2"}, {"carol", "203.0.113.3"}, {"dave", "2001:db8::4"},
	} {
		t := embedding.NewTuple(p.entity, netip.MustParseAddr(p.ip))
		names[t.Entity] = p.entity
		tuples = append(tuples, t)
	}

	// Each positive gets R=2 random negatives (random addresses of its
	// family) and S=1 shuffled negative (the address of another positive of
	// the batch), with the same entity: groups of 1+2+1 samples.
	cfg := sampler.Config{BatchSize: 16, Random: 2, Shuffled: 1}
	fmt.Println("positives per batch:", cfg.Positives(), "group size:", cfg.GroupSize())

	// Each batch draws from its own stream, derived from (seed, epoch,
	// batch): the batches do not depend on the goroutine that builds them.
	var b sampler.Batch
	r := rng.New(1, rng.Stream(0, 0))
	cfg.Fill(&b, tuples[:cfg.Positives()], sampler.Tuples(tuples), r)
	for g := 0; g < b.Groups(); g++ {
		group := b.Addrs[g*b.K : (g+1)*b.K] // the positive first
		fmt.Printf("%s: %v | random %v %v | shuffled %v\n",
			names[b.Entities[g]], group[0].Netip(), group[1].Netip(), group[2].Netip(), group[3].Netip())
	}
	// Output:
	// positives per batch: 4 group size: 4
	// alice: 192.0.2.1 | random 129.137.20.84 83.53.82.15 | shuffled 203.0.113.3
	// bob: 198.51.100.2 | random 148.252.254.243 252.17.138.178 | shuffled 203.0.113.3
	// carol: 203.0.113.3 | random 198.26.17.111 78.106.198.78 | shuffled 198.51.100.2
	// dave: 2001:db8::4 | random 854b:af9f:d4fc:e3f4:90f3:eb7b:a96a:26b0 3b18:5bbc:d903:c308:d6f9:ce00:c059:1345 | shuffled 192.0.2.1
}
