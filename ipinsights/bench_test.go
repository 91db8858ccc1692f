package ipinsights

import (
	"fmt"
	"testing"

	"github.com/ipinsights/ipinsights-go/internal/cputime"
	"github.com/ipinsights/ipinsights-go/sampler"
)

// tutorialConfig is the configuration of SageMaker's tutorial (DESIGN.md
// section 1) with the given encoder depth and workers.
func tutorialConfig(layers, workers int) Config {
	c := DefaultConfig()
	c.NumEntityVectors = 20000
	c.VectorDim = 128
	c.Epochs = 5
	c.LearningRate = 0.01
	c.MiniBatchSize = 1000
	c.RandomNegativeSamplingRate = 5
	c.ShuffledNegativeSamplingRate = 1
	c.NumIPEncoderLayers = layers
	c.Workers = workers
	return c
}

// benchData returns pairs of 10,000 entities with three /16 networks each,
// enough for batches whose rows spread over the tables as the tutorial's do.
func benchData(n int) []sampler.Tuple {
	p := newPlanted(9, 10000, 3, 20000)
	ts := make([]sampler.Tuple, n)
	for i := range ts {
		ts[i] = sampler.NewTuple(p.pair())
	}
	return ts
}

// BenchmarkTrainBatch times one mini-batch (one optimiser step) of the
// tutorial configuration in steady state: allocs/op is the allocations per
// batch once the buffers have grown.
func BenchmarkTrainBatch(b *testing.B) {
	data := benchData(200_000)
	for _, layers := range []int{1, 0} {
		for _, workers := range []int{1, 2} {
			b.Run(fmt.Sprintf("layers=%d/workers=%d", layers, workers), func(b *testing.B) {
				m, err := newModel(tutorialConfig(layers, workers))
				if err != nil {
					b.Fatal(err)
				}
				m.initParams()
				t := newTrainer(m, len(data))
				stop := t.startPool()
				defer stop()
				p := t.smp.Positives()
				batches := len(data) / p
				samples := 0
				next := func(i int) {
					bi := i % batches
					t.rng.Seed(1, sampler.Stream(1, uint64(bi)))
					_, _, n := t.trainBatch(data[bi*p:(bi+1)*p], data)
					samples += n
				}
				for i := 0; i < 20; i++ { // grow the buffers
					next(i)
				}
				samples = 0
				b.ReportAllocs()
				cpu0 := cputime.Process()
				i := 0
				for b.Loop() {
					next(i)
					i++
				}
				b.ReportMetric(float64(samples)/b.Elapsed().Seconds(), "samples/s")
				b.ReportMetric(float64((cputime.Process()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
			})
		}
	}
}

// BenchmarkScoreTuples scores batches of 10,000 encoded pairs with the
// tutorial configuration; allocs/op is per batch.
func BenchmarkScoreTuples(b *testing.B) {
	const batch = 10000
	data := benchData(100_000)
	m, err := newModel(tutorialConfig(1, 0))
	if err != nil {
		b.Fatal(err)
	}
	m.initParams()
	m.seen = seenOf(data)
	dst := make([]Result, batch)
	for lo := 0; lo < len(data); lo += batch { // fill the projection cache
		dst = m.ScoreTuples(dst, data[lo:lo+batch])
	}
	b.ReportAllocs()
	cpu0 := cputime.Process()
	lo := 0
	for b.Loop() {
		dst = m.ScoreTuples(dst, data[lo:lo+batch])
		lo = (lo + batch) % len(data)
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "pairs/s")
	b.ReportMetric(float64((cputime.Process()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}
