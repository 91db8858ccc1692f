package ipinsights

import (
	"bytes"
	"context"
	"errors"
	"math"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/internal/f32"
)

// heldOutAUC scores n fresh real pairs against the same entities with
// uniformly random IPv4 addresses.
func heldOutAUC(m *Model, p *planted, n int) float64 {
	var scores []float64
	var real []bool
	for i := 0; i < n; i++ {
		e, a := p.pair()
		scores = append(scores, m.Score(e, a).DotProduct, m.Score(e, embedding.AddrV4(p.r.Uint32()).Netip()).DotProduct)
		real = append(real, true, false)
	}
	return AUC(scores, real)
}

func TestLearnsPlantedStructure(t *testing.T) {
	// 300 entities, each using 3 /16 networks out of a pool of 400: a real
	// pair's address lies in one of its entity's networks, a random one
	// almost never does.
	for _, tc := range []struct {
		name string
		mod  func(*Config)
	}{
		{"adam, 1 layer", func(*Config) {}},
		{"adam, 0 layers", func(c *Config) { c.NumIPEncoderLayers = 0 }},
		{"adam, 2 layers", func(c *Config) { c.NumIPEncoderLayers = 2 }},
		{"sgd", func(c *Config) { c.Optimizer = "sgd"; c.LearningRate = 5; c.Epochs = 6 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if testing.Short() && tc.name != "adam, 1 layer" {
				t.Skip("-short: the other optimiser and depth variants run in the full suite")
			}
			p := newPlanted(7, 300, 3, 400)
			cfg := smallConfig()
			tc.mod(&cfg)
			m, err := Train(context.Background(), cfg, p.dataset(30000), nil)
			require.NoError(t, err)
			auc := heldOutAUC(m, p, 2000)
			t.Logf("held-out AUC %.4f", auc)
			assert.Greater(t, auc, 0.9)
		})
	}
}

func TestLearnsIPv6(t *testing.T) {
	// Entities each use two /48 networks; random negatives are random IPv6.
	r := newPlanted(1, 100, 1, 100).r
	nets := make([][2]uint64, 100)
	for i := range nets {
		nets[i] = [2]uint64{0x20010db8<<32 | r.Uint64()&0xffff0000, 0x20010db8<<32 | r.Uint64()&0xffff0000}
	}
	pair := func() (string, netip.Addr) {
		e := r.IntN(100)
		hi := nets[e][r.IntN(2)] | r.Uint64()&0xffff
		return entityName(e), embedding.Addr{Hi: hi, Lo: r.Uint64()}.Netip()
	}
	data := NewDataset()
	for i := 0; i < 10000; i++ {
		data.Add(pair())
	}
	require.Equal(t, 10000, data.IPv6())
	cfg := smallConfig()
	m, err := Train(context.Background(), cfg, data, nil)
	require.NoError(t, err)
	var scores []float64
	var real []bool
	for i := 0; i < 1000; i++ {
		e, a := pair()
		rnd := embedding.Addr{Hi: r.Uint64(), Lo: r.Uint64()}.Netip()
		scores = append(scores, m.Score(e, a).DotProduct, m.Score(e, rnd).DotProduct)
		real = append(real, true, false)
	}
	auc := AUC(scores, real)
	t.Logf("IPv6 held-out AUC %.4f", auc)
	assert.Greater(t, auc, 0.9)
}

func modelBytes(t *testing.T, m *Model) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, m.Save(&b))
	return b.Bytes()
}

// TestPrepareAheadMatchesSerial trains the same batches twice, once
// preparing each batch during the previous one's update phase, as Train
// does, and once preparing each on its own before it runs: the parameters
// must be the same bits.
func TestPrepareAheadMatchesSerial(t *testing.T) {
	p := newPlanted(6, 200, 2, 300)
	tuples := p.dataset(6000).Tuples()
	for i := 0; i < len(tuples); i += 7 { // some IPv6 rows, in their own shard
		tuples[i] = embedding.NewTuple(entityName(i%200), embedding.Addr{Hi: 0x20010db8<<32 | uint64(i%5)<<16, Lo: uint64(i)}.Netip())
	}
	data := orderOf(tuples)
	for _, layers := range []int{0, 1} {
		run := func(ahead bool) []byte {
			cfg := smallConfig()
			cfg.NumIPEncoderLayers = layers
			cfg.IPv4Prefixes = []int{16, 24}
			m, err := newModel(cfg)
			require.NoError(t, err)
			m.initParams()
			tr := newTrainer(m, data.Len(), 2)
			n := tr.src.smp.Positives()
			batches := data.Len() / n
			job := func(b int) batchJob { return jobOf(data, b*n, (b+1)*n, 1, uint64(b)) }
			for b := range batches {
				var next batchJob
				if ahead && b+1 < batches {
					next = job(b + 1)
				}
				if ahead && b > 0 {
					assert.True(t, tr.next.preparedFor(job(b)), "batch %d was prepared during the one before", b)
				}
				tr.trainBatch(job(b), next)
				assert.Equal(t, ahead && b+1 < batches, tr.next.ready, "batch %d", b)
			}
			tr.close()
			m.invalidate()
			return modelBytes(t, m)
		}
		assert.True(t, bytes.Equal(run(false), run(true)), "layers=%d", layers)
	}
}

func TestDeterministicAcrossWorkers(t *testing.T) {
	p := newPlanted(3, 100, 2, 200)
	data := p.dataset(4000)
	valid := p.dataset(500)
	for _, layers := range []int{0, 1, 2} {
		var ref []byte
		var refAUC float64
		for _, w := range []int{1, 2, 4} {
			cfg := smallConfig()
			cfg.Epochs = 2
			cfg.NumIPEncoderLayers = layers
			var auc float64
			m, err := Train(context.Background(), cfg, data, &TrainOptions{Workers: w, Validation: valid, Progress: ProgressFunc(func(mt Metrics) {
				if mt.EpochEnd {
					auc = mt.ValidationAUC
				}
			})})
			require.NoError(t, err)
			b := modelBytes(t, m)
			if ref == nil {
				ref, refAUC = b, auc
				continue
			}
			assert.True(t, bytes.Equal(ref, b), "layers=%d: %d workers give different model bytes than 1", layers, w)
			assert.Equal(t, refAUC, auc)
		}
	}
	// A different seed gives a different model.
	cfg := smallConfig()
	cfg.Epochs = 1
	a, err := Train(context.Background(), cfg, data, nil)
	require.NoError(t, err)
	cfg.Seed = 2
	b, err := Train(context.Background(), cfg, data, nil)
	require.NoError(t, err)
	assert.False(t, bytes.Equal(modelBytes(t, a), modelBytes(t, b)))
}

func TestProgressReports(t *testing.T) {
	p := newPlanted(3, 50, 2, 100)
	cfg := smallConfig()
	cfg.Epochs = 2
	cfg.BatchMetricsPublishInterval = 10
	cfg.MiniBatchSize = 60 // 10 positives a batch; 1000 pairs: 100 batches an epoch
	var got []Metrics
	_, err := Train(context.Background(), cfg, p.dataset(1000), &TrainOptions{Validation: p.dataset(200), Progress: ProgressFunc(func(m Metrics) { got = append(got, m) })})
	require.NoError(t, err)
	// 9 interval reports (batches 10..90) and one epoch-end report per epoch.
	require.Len(t, got, 20)
	for i, m := range got {
		assert.Equal(t, 100, m.Batches)
		if m.EpochEnd {
			assert.Equal(t, 100, m.Batch)
			assert.False(t, math.IsNaN(m.ValidationAUC), "epoch end carries validation AUC")
			assert.Greater(t, m.ValidationAUC, 0.5)
		} else {
			assert.Equal(t, (i%10+1)*10, m.Batch)
			assert.True(t, math.IsNaN(m.ValidationAUC))
		}
		assert.Greater(t, m.CrossEntropy, 0.0)
		assert.True(t, m.Accuracy > 0 && m.Accuracy <= 1)
		assert.Greater(t, m.SamplesPerSecond, 0.0)
		assert.Positive(t, m.FirstBatch)
		assert.Equal(t, got[0].FirstBatch, m.FirstBatch, "the time to the first batch, in every report")
	}
	assert.Equal(t, int64(2*1000*6), got[19].Samples, "1000 positives with 5 negatives each, twice")
	// The loss starts near ln 2 (small initialisation) and falls.
	assert.InDelta(t, math.Ln2, got[0].CrossEntropy, 0.15)
	assert.Less(t, got[19].CrossEntropy, got[0].CrossEntropy)
}

func TestTrainCancellation(t *testing.T) {
	p := newPlanted(3, 50, 2, 100)
	ctx, cancel := context.WithCancel(context.Background())
	cfg := smallConfig()
	cfg.Epochs = 1000
	cfg.BatchMetricsPublishInterval = 1
	n := 0
	_, err := Train(ctx, cfg, p.dataset(2000), &TrainOptions{Workers: 2, Progress: ProgressFunc(func(Metrics) {
		if n++; n == 3 {
			cancel()
		}
	})})
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "epoch 1")
}

func TestTrainErrors(t *testing.T) {
	_, err := Train(context.Background(), smallConfig(), NewDataset(), nil)
	assert.ErrorIs(t, err, ErrNoData)
	_, err = Train(context.Background(), smallConfig(), nil, nil)
	assert.ErrorIs(t, err, ErrNoData)
	d := NewDataset()
	d.Add("a", netip.MustParseAddr("1.2.3.4"))
	_, err = Train(context.Background(), Config{}, d, nil)
	var he *HyperparameterError
	assert.True(t, errors.As(err, &he))
	_, err = Train(context.Background(), smallConfig(), d, &TrainOptions{Workers: -1})
	assert.ErrorContains(t, err, "TrainOptions.Workers is -1")
}

func TestTinyDataAndBatchOfOne(t *testing.T) {
	// One pair, a batch of one positive: shuffled negatives fall back to
	// the whole data set; nothing panics and the result scores.
	d := NewDataset()
	d.Add("solo", netip.MustParseAddr("10.0.0.1"))
	cfg := smallConfig()
	cfg.MiniBatchSize = 1
	m, err := Train(context.Background(), cfg, d, nil)
	require.NoError(t, err)
	r := m.Score("solo", netip.MustParseAddr("10.0.0.1"))
	assert.True(t, r.EntitySeen)
	assert.False(t, math.IsNaN(r.DotProduct))
}

func TestSeenFlagAndScoringForms(t *testing.T) {
	p := newPlanted(5, 40, 2, 80)
	m, err := Train(context.Background(), smallConfig(), p.dataset(3000), nil)
	require.NoError(t, err)
	assert.Equal(t, 40, m.SeenEntities())
	e, a := p.pair()
	one := m.Score(e, a)
	assert.True(t, one.EntitySeen)
	assert.True(t, m.EntitySeen(e))
	assert.False(t, m.Score("never-seen", a).EntitySeen)

	pairs := []Pair{{Entity: e, IP: a}, {Entity: "never-seen", IP: a}}
	for i := 0; i < 5000; i++ { // large enough to score in parallel
		en, ip := p.pair()
		pairs = append(pairs, Pair{Entity: en, IP: ip})
	}
	res := m.ScoreBatch(nil, pairs)
	require.Len(t, res, len(pairs))
	assert.Equal(t, one, res[0])
	assert.False(t, res[1].EntitySeen)
	for i := 2; i < len(pairs); i += 997 {
		assert.Equal(t, m.Score(pairs[i].Entity, pairs[i].IP), res[i])
	}

	r, ev, iv := m.ScoreVerbose(e, a)
	assert.Equal(t, one, r)
	require.Len(t, ev, 16)
	require.Len(t, iv, 16)
	var dot float64
	for i := range ev {
		dot += float64(ev[i]) * float64(iv[i])
	}
	assert.InDelta(t, r.DotProduct, dot, 1e-4*(1+math.Abs(dot)), "verbose embeddings give the score")
	assert.Equal(t, ev, m.EntityEmbedding(e))
	assert.Equal(t, iv, m.IPEmbedding(a))
}

func TestScoringZeroLayersAndVerbose(t *testing.T) {
	p := newPlanted(5, 20, 2, 40)
	cfg := smallConfig()
	cfg.NumIPEncoderLayers = 0
	cfg.Epochs = 1
	m, err := Train(context.Background(), cfg, p.dataset(1000), nil)
	require.NoError(t, err)
	e, a := p.pair()
	r, ev, iv := m.ScoreVerbose(e, a)
	assert.Equal(t, float64(f32.Dot(ev, iv)), r.DotProduct)
}
