//go:build !race

package ipinsights

import (
	"runtime"
	"testing"

	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The hot loops of training and scoring allocate nothing once their buffers
// have grown (the race detector allocates on its own, hence the build tag).

func TestTrainBatchDoesNotAllocate(t *testing.T) {
	for _, layers := range []int{0, 1, 2} {
		cfg := smallConfig()
		cfg.NumIPEncoderLayers = layers
		m, err := newModel(cfg)
		require.NoError(t, err)
		m.initParams()
		data := newOrder(newPlanted(4, 200, 2, 300).dataset(5000))
		tr := newTrainer(m, data.Len(), 2)
		p := tr.src.smp.Positives()
		b := 0
		job := func(b int) batchJob {
			lo := (b * p) % (data.Len() - p)
			return jobOf(data, lo, lo+p, 1, uint64(b))
		}
		batch := func() { // as Train runs them: each prepares the next
			tr.trainBatch(job(b), job(b+1))
			b++
		}
		for range 20 {
			batch()
		}
		allocs := testing.AllocsPerRun(50, batch)
		tr.close()
		assert.Zero(t, allocs, "layers=%d: allocations per batch", layers)
	}
}

func TestScoreBatchDoesNotAllocate(t *testing.T) {
	p := newPlanted(5, 100, 2, 200)
	m, err := Train(t.Context(), smallConfig(), p.dataset(3000), nil)
	require.NoError(t, err)
	pairs := make([]Pair, 2*parallelMin) // large enough to use the pool
	ts := make([]embedding.Tuple, len(pairs))
	for i := range pairs {
		e, a := p.pair()
		pairs[i] = Pair{Entity: e, IP: a}
		ts[i] = embedding.NewTuple(e, a)
	}
	dst := make([]Result, len(pairs))
	m.ScoreTuples(dst, ts) // start the pool, fill the projection cache
	// testing.AllocsPerRun would run with GOMAXPROCS 1, which bypasses the
	// pool; count with MemStats instead (whole runs: any allocation of the
	// pool goroutines counts too).
	perCall := func(f func()) float64 {
		var a, b runtime.MemStats
		runtime.ReadMemStats(&a)
		for range 20 {
			f()
		}
		runtime.ReadMemStats(&b)
		return float64(b.Mallocs-a.Mallocs) / 20
	}
	if runtime.GOMAXPROCS(0) > 1 {
		assert.Less(t, perCall(func() { m.ScoreTuples(dst, ts) }), 1.0, "ScoreTuples over the pool")
		assert.Less(t, perCall(func() { m.ScoreBatch(dst, pairs) }), 1.0, "ScoreBatch over the pool")
	}
	assert.Zero(t, testing.AllocsPerRun(20, func() { m.ScoreTuples(dst, ts) }), "ScoreTuples, one goroutine")
	assert.Zero(t, testing.AllocsPerRun(20, func() { m.ScoreBatch(dst[:100], pairs[:100]) }), "ScoreBatch, small batch")

	ev, iv := make([]float32, m.Config().VectorDim), make([]float32, m.Config().VectorDim)
	m.ScoreTupleVerbose(ev, iv, ts[0])
	assert.Zero(t, testing.AllocsPerRun(20, func() {
		for _, tu := range ts[:100] {
			m.ScoreTupleVerbose(ev, iv, tu)
		}
	}), "ScoreTupleVerbose")
}
