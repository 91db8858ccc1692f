package ipinsights

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/internal/bench/cputime"
	"github.com/ipinsights/ipinsights-go/internal/f32"
	"github.com/ipinsights/ipinsights-go/rng"
)

// tutorialConfig is the configuration of SageMaker's tutorial (DESIGN.md
// section 1) with the given encoder depth.
func tutorialConfig(layers int) Config {
	c := DefaultConfig()
	c.NumEntityVectors = 20000
	c.VectorDim = 128
	c.Epochs = 5
	c.LearningRate = 0.01
	c.MiniBatchSize = 1000
	c.RandomNegativeSamplingRate = 5
	c.ShuffledNegativeSamplingRate = 1
	c.NumIPEncoderLayers = layers
	return c
}

// benchData returns pairs of 10,000 entities with three /16 networks each,
// enough for batches whose rows spread over the tables as the tutorial's do.
func benchData(n int) []embedding.Tuple {
	p := newPlanted(9, 10000, 3, 20000)
	ts := make([]embedding.Tuple, n)
	for i := range ts {
		ts[i] = embedding.NewTuple(p.pair())
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
				m, err := newModel(tutorialConfig(layers))
				if err != nil {
					b.Fatal(err)
				}
				m.initParams()
				t := newTrainer(m, len(data), workers)
				defer t.close()
				p := t.src.smp.Positives()
				batches := len(data) / p
				samples := 0
				// As Train does, each batch prepares the next one.
				ord := orderOf(data)
				job := func(b int) batchJob {
					return jobOf(ord, b*p, (b+1)*p, 1, rng.Stream(1, uint64(b)))
				}
				next := func(i int) {
					_, _, n := t.trainBatch(job(i%batches), job((i+1)%batches))
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
	m, err := newModel(tutorialConfig(1))
	if err != nil {
		b.Fatal(err)
	}
	m.initParams()
	m.seen = orderOf(data).rows.seenSet()
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

// BenchmarkBatchMemoryFloor measures what this machine allows for the
// memory work that a batch of the tutorial configuration without encoder
// layers cannot avoid, with none of the trainer's code: the forward pass
// reads the rows a batch touches (about 140 of the 20,000 entity rows and
// 840 of the 65,536 IPv4 /16 rows, at random), and the optimiser step
// applies Adam to each of them, reading and writing the row and its two
// moments (1.5 KiB a row with vector_dim 128). The rows are split over the
// goroutines, which wait for each phase by spinning, as the trainer's pool
// does. An op is one batch; max-samples/s is the training rate this floor
// allows, 994 expanded samples (142 groups of 7) per batch. With 1 worker,
// cpu-µs/op is a measure of the floor that a loaded machine disturbs less
// than the time (compare it with BenchmarkTrainBatch's, workers=1).
func BenchmarkBatchMemoryFloor(b *testing.B) {
	const (
		d                  = 128
		entRows, ipRows    = 20000, 65536
		entTouch, ipTouch  = 142, 841
		samplesPerBatch    = 994
		rowsPerBatch       = entTouch + ipTouch
		phaseRead, phaseUp = 1, 2
	)
	type table struct{ p, mv []float32 }
	newTable := func(rows int) table {
		t := table{p: make([]float32, rows*d), mv: make([]float32, 2*rows*d)}
		adviseHugePages(t.p)
		adviseHugePages(t.mv)
		for i := range t.p {
			t.p[i] = 0.01
		}
		for i := range t.mv {
			t.mv[i] = 1e-4
		}
		return t
	}
	tabs := [2]table{newTable(entRows), newTable(ipRows)}
	adam := f32.AdamStep(10, 0.01, 0.9, 0.999, 1e-8, 0)
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			rng := rng.New(1, 2)
			type ref struct{ tab, row int }
			refs := make([]ref, rowsPerBatch)
			var phase atomic.Int32
			var gen, done atomic.Int64
			grad := make([][]float32, workers)
			for w := range grad {
				grad[w] = make([]float32, d)
				for i := range grad[w] {
					grad[w][i] = 1e-3
				}
			}
			var sink atomic.Uint32
			// run does worker w's share of the current phase.
			run := func(w int) {
				lo, hi := w*len(refs)/workers, (w+1)*len(refs)/workers
				var s float32
				for i := lo; i < hi; i++ {
					if n := i + 2; n < hi {
						t := &tabs[refs[n].tab]
						f32.Prefetch(t.p[refs[n].row*d : (refs[n].row+1)*d])
						if phase.Load() == phaseUp {
							f32.Prefetch(t.mv[2*refs[n].row*d : 2*(refs[n].row+1)*d])
						}
					}
					t, r := &tabs[refs[i].tab], refs[i].row
					p := t.p[r*d : (r+1)*d]
					if phase.Load() == phaseRead {
						s += f32.Dot(p, grad[w])
					} else {
						mv := t.mv[2*r*d : 2*(r+1)*d]
						adam.Update(p, mv[:d], mv[d:], grad[w])
					}
				}
				sink.Add(math.Float32bits(s))
			}
			var wg sync.WaitGroup
			for w := 1; w < workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for seen := int64(0); ; {
						g := gen.Load()
						if g < 0 {
							return
						}
						if g == seen {
							runtime.Gosched()
							continue
						}
						seen = g
						run(w)
						done.Add(1)
					}
				}()
			}
			step := func(ph int32) {
				phase.Store(ph)
				done.Store(0)
				gen.Add(1)
				run(0)
				for done.Load() != int64(workers-1) {
				}
			}
			cpu0 := cputime.Process()
			for b.Loop() {
				for i := range refs {
					if i < entTouch {
						refs[i] = ref{0, rng.IntN(entRows)}
					} else {
						refs[i] = ref{1, rng.IntN(ipRows)}
					}
				}
				step(phaseRead)
				step(phaseUp)
			}
			gen.Store(-1)
			wg.Wait()
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/batch")
			b.ReportMetric(float64((cputime.Process()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
			b.ReportMetric(samplesPerBatch*float64(b.N)/b.Elapsed().Seconds(), "max-samples/s")
		})
	}
}
