package ipinsights

import (
	"context"
	"math"
	"net/netip"
	"runtime"
	"testing"

	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An invalid address (the zero netip.Addr) scores NaN through every entry
// point; before, ScoreVerbose and IPEmbedding scored it as "::".
func TestInvalidAddressIsNaNEverywhere(t *testing.T) {
	m, _ := trainedForFiles()
	dim := m.Config().VectorDim
	for _, e := range []string{entityName(0), "never-seen"} {
		r, ev, iv := m.ScoreVerbose(e, netip.Addr{})
		assert.True(t, math.IsNaN(r.DotProduct), "ScoreVerbose(%q): dot product %v", e, r.DotProduct)
		assert.Equal(t, m.EntitySeen(e), r.EntitySeen, e)
		assert.Equal(t, m.EntityEmbedding(e), ev, "ScoreVerbose(%q): the entity embedding is the entity's", e)
		require.Len(t, iv, dim)
		for i, x := range iv {
			require.True(t, math.IsNaN(float64(x)), "ScoreVerbose(%q): IP embedding[%d] = %v", e, i, x)
		}
		score := m.Score(e, netip.Addr{})
		assert.True(t, math.IsNaN(score.DotProduct))
		assert.Equal(t, score.EntitySeen, r.EntitySeen)
	}
	v := m.IPEmbedding(netip.Addr{})
	require.Len(t, v, dim)
	for i, x := range v {
		require.True(t, math.IsNaN(float64(x)), "IPEmbedding: element %d = %v", i, x)
	}
	// "::" itself is a valid address with a finite score.
	assert.False(t, math.IsNaN(m.Score(entityName(0), netip.IPv6Unspecified()).DotProduct))
	assert.False(t, math.IsNaN(float64(m.IPEmbedding(netip.IPv6Unspecified())[0])))
}

// ScoreTupleVerbose gives ScoreTuples' result bit for bit and ScoreVerbose's
// embeddings, with and without encoder layers.
func TestScoreTupleVerbose(t *testing.T) {
	withLayers, p := trainedForFiles()
	cfg := smallConfig()
	cfg.NumIPEncoderLayers = 0
	cfg.Epochs = 1
	noLayers, err := Train(context.Background(), cfg, newPlanted(5, 20, 2, 40).dataset(1000), nil)
	require.NoError(t, err)

	var ts []embedding.Tuple
	var pairs []Pair
	for i := range 200 {
		e, a := p.pair()
		if i%7 == 0 {
			e = "never-seen"
		}
		if i%11 == 0 {
			a = netip.MustParseAddr("2001:db8::1")
		}
		pairs = append(pairs, Pair{Entity: e, IP: a})
		ts = append(ts, embedding.NewTupleBytes([]byte(e), a))
	}
	for name, m := range map[string]*Model{"layers": withLayers, "no layers": noLayers} {
		dim := m.Config().VectorDim
		want := m.ScoreTuples(nil, ts)
		ev, iv := make([]float32, dim), make([]float32, dim)
		for i, tu := range ts {
			r := m.ScoreTupleVerbose(ev, iv, tu)
			require.Equal(t, want[i], r, "%s: record %d", name, i)
			_, wantE, wantV := m.ScoreVerbose(pairs[i].Entity, pairs[i].IP)
			require.Equal(t, wantE, ev, "%s: record %d: entity embedding", name, i)
			require.Equal(t, wantV, iv, "%s: record %d: IP embedding", name, i)
		}
		assert.PanicsWithValue(t,
			"ipinsights: ScoreTupleVerbose: embedding slices of length 16 and 15, want VectorDim 16",
			func() { m.ScoreTupleVerbose(ev, iv[:dim-1], ts[0]) }, name)
	}
}

// ScoreBatchWorkers and ScoreTuplesWorkers hand a batch's parts to the
// scoring pool only up to their bound: with 1 the caller scores alone. The
// pool's channel is replaced by one that the test receives from, so that
// every part handed off is seen (and scored here).
func TestScoreWorkersBoundTheParts(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	m, p := trainedForFiles()
	pairs := make([]Pair, 3*parallelMin)
	ts := make([]embedding.Tuple, len(pairs))
	for i := range pairs {
		e, a := p.pair()
		pairs[i] = Pair{Entity: e, IP: a}
		ts[i] = embedding.NewTuple(e, a)
	}
	want := m.ScoreBatchWorkers(nil, pairs, 1)

	m.ScoreBatch(nil, pairs) // start the pool
	jobs := make(chan scoreJob)
	saved := scorePool.jobs
	scorePool.jobs = jobs
	defer func() { scorePool.jobs = saved }()
	handedOff := func(score func() []Result) (int, []Result) {
		done := make(chan []Result)
		go func() { done <- score() }()
		n := 0
		for {
			select {
			case j := <-jobs:
				n++
				s := j.m.getScratch()
				j.run(s)
				j.m.putScratch(s)
				j.wg.Done()
			case got := <-done:
				return n, got
			}
		}
	}
	for _, tc := range []struct{ workers, parts int }{{1, 0}, {2, 1}, {3, 2}, {0, 3}, {100, 3}} {
		n, got := handedOff(func() []Result { return m.ScoreBatchWorkers(nil, pairs, tc.workers) })
		assert.Equal(t, tc.parts, n, "ScoreBatchWorkers(%d): parts handed to the pool", tc.workers)
		assert.Equal(t, want, got, "ScoreBatchWorkers(%d)", tc.workers)
		n, got = handedOff(func() []Result { return m.ScoreTuplesWorkers(nil, ts, tc.workers) })
		assert.Equal(t, tc.parts, n, "ScoreTuplesWorkers(%d): parts handed to the pool", tc.workers)
		assert.Equal(t, want, got, "ScoreTuplesWorkers(%d)", tc.workers)
	}
	assert.PanicsWithValue(t, "ipinsights: negative number of scoring workers -1", func() { m.ScoreBatchWorkers(nil, pairs, -1) })
}
