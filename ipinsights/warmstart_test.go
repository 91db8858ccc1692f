package ipinsights

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/embedding"
)

// reload saves m and loads it back, so that a continuation reads what a
// file holds.
func reload(t *testing.T, m *Model) *Model {
	t.Helper()
	back, err := Load(bytes.NewReader(modelBytes(t, m)))
	require.NoError(t, err)
	return back
}

// withEpochs returns m with its configuration's epochs set to n (the one
// hyperparameter a continuation's file records differently from the
// longer training's), to compare files.
func withEpochs(m *Model, n int) *Model {
	c := m.clone()
	c.cfg.Epochs = n
	return c
}

// TestWarmStartContinuesExactly trains N epochs in one training and k then
// N-k from the saved model with its optimiser state: the files are the
// same bytes (once the header's epochs say the same), whatever the
// number of workers of each part, since the continuation numbers its
// epochs from k+1 and replays the shuffles of the first k.
func TestWarmStartContinuesExactly(t *testing.T) {
	p := newPlanted(3, 100, 2, 200)
	data := p.dataset(3000)
	for _, tc := range []struct {
		name           string
		layers         int
		optimizer      string
		w1, w2, k, all int
	}{
		{"adam 1 layer, 1 worker", 1, "adam", 1, 1, 1, 3},
		{"adam 1 layer, 2 workers", 1, "adam", 2, 2, 2, 3},
		{"adam 2 layers, 1 then 2 workers", 2, "adam", 1, 2, 1, 3},
		{"adam 0 layers, 2 then 1 workers", 0, "adam", 2, 1, 1, 2},
		{"sgd", 1, "sgd", 1, 2, 1, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := smallConfig()
			cfg.NumIPEncoderLayers, cfg.Optimizer = tc.layers, tc.optimizer
			if tc.optimizer == "sgd" {
				cfg.LearningRate = 5
			}
			cfg.Epochs = tc.all
			one, err := Train(context.Background(), cfg, data, &TrainOptions{Workers: tc.w1, SaveOptimizerState: true})
			require.NoError(t, err)
			cfg.Epochs = tc.k
			first, err := Train(context.Background(), cfg, data, &TrainOptions{Workers: tc.w1, SaveOptimizerState: true})
			require.NoError(t, err)
			cfg.Epochs = tc.all - tc.k
			init := reload(t, first)
			initBytes := modelBytes(t, init)
			rest, err := Train(context.Background(), cfg, data, &TrainOptions{Workers: tc.w2, Init: init, SaveOptimizerState: true})
			require.NoError(t, err)
			assert.True(t, bytes.Equal(modelBytes(t, withEpochs(one, tc.all-tc.k)), modelBytes(t, rest)),
				"%d epochs then %d from the file differ from %d in one training", tc.k, tc.all-tc.k, tc.all)
			assert.Equal(t, initBytes, modelBytes(t, init), "Init is not modified")

			// Without the optimiser state the continuation is another
			// training: Adam restarts, and the epochs are numbered from 1.
			again, err := Train(context.Background(), cfg, data, &TrainOptions{Workers: tc.w2, Init: init.WithoutOptimizerState()})
			require.NoError(t, err)
			assert.False(t, bytes.Equal(modelBytes(t, withEpochs(one, tc.all-tc.k).WithoutOptimizerState()), modelBytes(t, again)))
		})
	}
}

// TestWarmStartStreamContinuesExactly is TestWarmStartContinuesExactly for
// TrainStream, whose windows are shuffled on their own every epoch.
func TestWarmStartStreamContinuesExactly(t *testing.T) {
	p := newPlanted(4, 100, 2, 200)
	files := plantedFiles(t, p, 3000, 1000)
	s := Stream{Files: files, Window: 1000}
	cfg := smallConfig()
	cfg.Epochs = 3
	one, _, err := TrainStream(context.Background(), cfg, s, &TrainOptions{Workers: 2, SaveOptimizerState: true})
	require.NoError(t, err)
	cfg.Epochs = 2
	first, _, err := TrainStream(context.Background(), cfg, s, &TrainOptions{Workers: 1, SaveOptimizerState: true})
	require.NoError(t, err)
	cfg.Epochs = 1
	rest, _, err := TrainStream(context.Background(), cfg, s, &TrainOptions{Workers: 2, Init: reload(t, first)})
	require.NoError(t, err)
	assert.True(t, bytes.Equal(modelBytes(t, withEpochs(one, 1).WithoutOptimizerState()), modelBytes(t, rest)))
}

// TestWarmStartNewEntities continues a model trained on half of the
// entities with data of the other half: the seen set holds both, the new
// entities are learnt, and the rows only the first half uses keep their
// vectors bit for bit (embedding rows are updated lazily, only where a
// batch touches them).
func TestWarmStartNewEntities(t *testing.T) {
	p := newPlanted(7, 300, 3, 400)
	half := func(second bool, n int) *Dataset {
		d := NewDataset()
		for d.Len() < n {
			e, a := p.pair()
			k, err := strconv.Atoi(strings.TrimPrefix(e, "user-"))
			require.NoError(t, err)
			if (k >= 150) == second {
				d.Add(e, a)
			}
		}
		return d
	}
	cfg := smallConfig()
	init, err := Train(context.Background(), cfg, half(false, 15000), nil)
	require.NoError(t, err)
	require.Equal(t, 150, init.SeenEntities())
	next := half(true, 15000)
	m, err := Train(context.Background(), cfg, next, &TrainOptions{Init: init})
	require.NoError(t, err)
	assert.Equal(t, 300, m.SeenEntities(), "the seen set is the union")
	assert.Equal(t, 150, init.SeenEntities(), "Init is not modified")

	touched := map[int]bool{}
	for _, tu := range next.Tuples() {
		touched[embedding.Bucket(tu.Entity, cfg.NumEntityVectors)] = true
	}
	kept, moved := 0, 0
	for e := range 150 {
		h := embedding.EntityHash(entityName(e))
		r := embedding.Bucket(h, cfg.NumEntityVectors)
		if touched[r] {
			continue
		}
		if slices.Equal(init.entityRow(h), m.entityRow(h)) {
			kept++
		} else {
			moved++
		}
	}
	assert.Zero(t, moved, "rows no new pair touches keep their vectors")
	assert.Greater(t, kept, 100, "most of the first half's rows are not shared with the second's")

	// Both halves score: the new entities were learnt, the old ones not
	// forgotten (the IP tables moved, but not far).
	var scores []float64
	var real []bool
	for range 2000 {
		e, a := p.pair()
		scores = append(scores, m.Score(e, a).DotProduct, m.Score(e, embedding.AddrV4(p.r.Uint32()).Netip()).DotProduct)
		real = append(real, true, false)
	}
	auc := AUC(scores, real)
	t.Logf("held-out AUC over both halves %.4f (the first model: %.4f)", auc, heldOutAUC(init, p, 2000))
	assert.Greater(t, auc, 0.9)
}

func TestWarmStartShapeMismatch(t *testing.T) {
	p := newPlanted(3, 50, 2, 100)
	data := p.dataset(1000)
	cfg := smallConfig()
	cfg.Epochs = 1
	init, err := Train(context.Background(), cfg, data, nil)
	require.NoError(t, err)

	bad := cfg
	bad.VectorDim, bad.NumEntityVectors, bad.IPv4Prefixes, bad.NumIPEncoderLayers = 32, 2000, []int{16, 24}, 2
	bad.LearningRate = 0.1 // may change: not listed
	for _, train := range []func() error{
		func() error { return init.CheckWarmStart(bad) },
		func() error { _, err := Train(context.Background(), bad, data, &TrainOptions{Init: init}); return err },
		func() error {
			_, _, err := TrainStream(context.Background(), bad, Stream{Files: []string{"unread.csv"}}, &TrainOptions{Init: init})
			return err
		},
	} {
		err := train()
		var me *InitMismatchError
		require.True(t, errors.As(err, &me), "%v", err)
		assert.Equal(t, []InitMismatch{
			{Name: "num_entity_vectors", Init: "1000", Requested: "2000"},
			{Name: "vector_dim", Init: "16", Requested: "32"},
			{Name: "num_ip_encoder_layers", Init: "1", Requested: "2"},
			{Name: "ipv4_prefix_lengths", Init: "16", Requested: "16,24"},
		}, me.Mismatches)
		assert.Equal(t, "ipinsights: a warm start keeps the shape of the initial model: num_entity_vectors is 1000 in the initial model, 2000 in the configuration; "+
			"vector_dim is 16 in the initial model, 32 in the configuration; num_ip_encoder_layers is 1 in the initial model, 2 in the configuration; "+
			"ipv4_prefix_lengths is 16 in the initial model, 16,24 in the configuration", err.Error())
	}

	// What does not shape the model may change.
	ok := cfg
	ok.Epochs, ok.LearningRate, ok.MiniBatchSize, ok.RandomNegativeSamplingRate, ok.ShuffledNegativeSamplingRate = 2, 0.003, 300, 2, 3
	ok.WeightDecay, ok.Seed, ok.Optimizer, ok.BatchMetricsPublishInterval = 0.001, 9, "sgd", 7
	_, err = Train(context.Background(), ok, data, &TrainOptions{Init: init})
	assert.NoError(t, err)

	// A configuration taken from the model is its shape.
	cont := init.Config()
	require.NoError(t, cont.Set(map[string]string{"epochs": "1"}))
	_, err = Train(context.Background(), cont, data, &TrainOptions{Init: init})
	assert.NoError(t, err)
	assert.Equal(t, []string{"num_entity_vectors", "vector_dim", "num_ip_encoder_layers", "ipv4_prefix_lengths", "ipv6_prefix_lengths", "ipv4_hash_rows", "ipv6_hash_rows"}, ShapeNames())
}

// optStatePayload returns the bytes of m's optimizer_state section.
func optStatePayload(t *testing.T, m *Model) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, m.opt.encode(&b))
	require.Equal(t, optStateSize(m, m.opt.entMV != nil), int64(b.Len()))
	return b.Bytes()
}

func TestOptimizerStateFile(t *testing.T) {
	p := newPlanted(3, 50, 2, 100)
	cfg := smallConfig()
	cfg.Epochs, cfg.NumIPEncoderLayers = 2, 2
	m, err := Train(context.Background(), cfg, p.dataset(2000), &TrainOptions{SaveOptimizerState: true})
	require.NoError(t, err)
	require.True(t, m.HasOptimizerState())
	plain, err := Train(context.Background(), cfg, p.dataset(2000), nil)
	require.NoError(t, err)
	assert.False(t, plain.HasOptimizerState())

	with, without := modelBytes(t, m), modelBytes(t, m.WithoutOptimizerState())
	assert.Equal(t, uint32(1), binary.LittleEndian.Uint32(without[8:]), "a file without optional sections stays version 1")
	assert.Equal(t, uint32(2), binary.LittleEndian.Uint32(with[8:]))
	assert.NotContains(t, string(without), "optimizer_state")
	d := int64(cfg.VectorDim)
	size := 24 + 4*2*(int64(len(m.entity))+int64(len(m.ip))+2*(d*d+d))
	assert.Contains(t, string(with[:4096]), `{"name":"optimizer_state","bytes":`+strconv.FormatInt(size, 10)+`}`)
	back, err := Load(bytes.NewReader(with))
	require.NoError(t, err)
	assert.Equal(t, m.opt, back.opt)
	assert.Equal(t, with, modelBytes(t, back), "save(load(save(m))) == save(m)")

	good := optStatePayload(t, m)
	decode := func(p []byte) error {
		_, err := decodeOptState(m, bufio.NewReader(bytes.NewReader(p)), int64(len(p)))
		return err
	}
	require.NoError(t, decode(good))
	vAt := 24 + 4*int(d) // the first row's first second moment
	for name, c := range map[string]struct {
		p    []byte
		want string
	}{
		"format":          {patch32(good, 0, 2), "format 2"},
		"optimizer":       {patch32(good, 4, 9), "unknown optimizer 9"},
		"other optimizer": {patch32(good, 4, optSGD), "for a model trained with adam"},
		"no epochs":       {patch64(good, 16, 0), "0 epochs"},
		"too many epochs": {patch64(good, 16, maxStateEpochs+1), "1048577 epochs"},
		"fewer steps":     {patch64(good, 8, 1), "1 steps in 2 epochs"},
		"NaN moment":      {patch32(good, 28, math.Float32bits(float32(math.NaN()))), "entity table: moment"},
		"negative v":      {patch32(good, vAt, math.Float32bits(-1)), "is -1"},
		"cut short":       {good[:len(good)-3], "bytes, the model's shape takes"},
		"header cut":      {good[:10], "optimizer state cut short"},
		"empty":           {nil, "optimizer state cut short"},
		"extra":           {append(slices.Clone(good), 0), "bytes, the model's shape takes"},
	} {
		err := decode(c.p)
		assert.ErrorIs(t, err, ErrCorrupt, name)
		assert.ErrorContains(t, err, c.want, name)
	}
	// A payload whose size is right but whose data ends early.
	_, err = decodeOptState(m, bufio.NewReader(bytes.NewReader(good[:len(good)-8])), int64(len(good)))
	assert.ErrorIs(t, err, ErrCorrupt)
	assert.ErrorContains(t, err, "optimizer state cut short")

	// A continuation that would record more epochs than a file holds is
	// refused before it trains.
	full := m.clone()
	full.opt = &optState{optimizer: "adam", steps: maxStateEpochs, epochs: maxStateEpochs, entMV: m.opt.entMV, ipMV: m.opt.ipMV, lyM: m.opt.lyM, lyV: m.opt.lyV}
	_, err = Train(context.Background(), cfg, p.dataset(100), &TrainOptions{Init: full, SaveOptimizerState: true})
	assert.ErrorContains(t, err, "the optimizer state would record 1048578 epochs, more than the 1048576")

	// A truncated file is refused, naming the cause.
	_, err = Load(bytes.NewReader(with[:len(with)-1000]))
	assert.ErrorIs(t, err, ErrCorrupt)
}

// TestMergeHistories checks HistoryOptions.Merge: the history of one
// dataset merged with another's is the history of both together when no
// entity has more networks than the history keeps, and otherwise keeps
// TopNetworks networks whose counts are lower bounds of the true ones.
func TestMergeHistories(t *testing.T) {
	m, _ := trainedForFiles()
	p := newPlanted(9, 80, 3, 200) // 3 /16 networks an entity: exact with 8 kept
	d1, d2 := p.dataset(3000), p.dataset(2000)
	for i := range 40 { // entities only the second dataset has
		d2.Add(entityName(500+i), p.nets0())
	}
	both := NewDataset()
	both.AddTuples(append(d1.Tuples(), d2.Tuples()...)...)

	h1, err := m.WithNetworkHistory(context.Background(), d1, nil)
	require.NoError(t, err)
	merged, err := h1.WithNetworkHistory(context.Background(), d2, &HistoryOptions{Merge: true, Workers: 2})
	require.NoError(t, err)
	whole, err := m.WithNetworkHistory(context.Background(), both, nil)
	require.NoError(t, err)
	assert.Equal(t, whole.hist.hashes, merged.hist.hashes)
	assert.Equal(t, whole.hist.ents, merged.hist.ents)
	assert.Equal(t, whole.hist.nets, merged.hist.nets)
	assert.Equal(t, modelBytes(t, whole), modelBytes(t, merged))
	replaced, err := h1.WithNetworkHistory(context.Background(), d2, nil)
	require.NoError(t, err)
	_, pairs1 := exactCounts(d1.Tuples(), h1.hist.levels[0])
	_, pairs2 := exactCounts(d2.Tuples(), h1.hist.levels[0])
	x := embedding.EntityHash(entityName(0))
	require.Positive(t, pairs1[x]*pairs2[x])
	assert.Equal(t, uint64(pairs2[x]), replaced.hist.find(x).pairs, "without Merge, d2's pairs only")
	assert.Equal(t, uint64(pairs1[x]+pairs2[x]), merged.hist.find(x).pairs)

	// Entities with many networks: at most top kept, counts at most the
	// true ones, and the networks used most are kept.
	r := newPlanted(10, 1, 1, 1).r
	many := func(n int) *Dataset {
		d := NewDataset()
		for i := range n {
			net := uint32(i % 20)
			if i%3 == 0 {
				net = 99 // the most used network
			}
			d.Add("busy", embedding.AddrV4(net<<16|uint32(r.IntN(1<<16))).Netip())
		}
		return d
	}
	a, b := many(400), many(300)
	ha, err := m.WithNetworkHistory(context.Background(), a, &HistoryOptions{TopNetworks: 4})
	require.NoError(t, err)
	hm, err := ha.WithNetworkHistory(context.Background(), b, &HistoryOptions{Merge: true})
	require.NoError(t, err)
	assert.Equal(t, 4, hm.hist.top, "Merge keeps the history's TopNetworks")
	e := hm.hist.find(embedding.EntityHash("busy"))
	require.NotNil(t, e)
	assert.Equal(t, uint64(700), e.pairs)
	all := NewDataset()
	all.AddTuples(append(a.Tuples(), b.Tuples()...)...)
	exact, _ := exactCounts(all.Tuples(), hm.hist.levels[0])
	nets := hm.hist.netsAt(e, 0)
	require.Len(t, nets, 4)
	assert.Equal(t, uint64(99), nets[0].key)
	assert.Equal(t, uint32(exact[embedding.EntityHash("busy")][99]), nets[0].count, "the network of a third of the pairs is counted exactly")
	for _, n := range nets {
		assert.LessOrEqual(t, int(n.count), exact[embedding.EntityHash("busy")][n.key])
	}
	back := reload(t, hm)
	assert.Equal(t, hm.hist.nets, back.hist.nets, "a merged history is a valid section")
}

// TestCalibrationPrevious checks CalibrationOptions.Previous: entities of
// the previous calibration with no pair now keep their distribution (and
// their pairs join the global one); those with pairs now are calibrated
// on them alone.
func TestCalibrationPrevious(t *testing.T) {
	r := newPlanted(11, 1, 1, 1).r
	o, err := (&CalibrationOptions{}).withDefaults()
	require.NoError(t, err)
	old := normalPairs(r, 300) // entities 1..40, 300 pairs each
	prev, err := buildCalibration(slices.Clone(old), 0, o)
	require.NoError(t, err)
	require.Equal(t, 40, prev.Entities())
	var now []scoredPair
	for _, p := range normalPairs(r, 200) {
		if p.h <= 20 {
			p.dot += 5 // the new model scores these entities higher
			now = append(now, p)
		}
	}
	alone, err := buildCalibration(slices.Clone(now), 0, o)
	require.NoError(t, err)
	merged, err := buildCalibration(carryEntities(slices.Clone(now), prev, o.MaxPairs), 0, o)
	require.NoError(t, err)
	assert.Equal(t, 40, merged.Entities())
	assert.Equal(t, 20*200+20*300, merged.Pairs(), "the kept entities' pairs join the global distribution")
	for h := uint64(1); h <= 40; h++ {
		want := alone
		if h > 20 {
			want = prev
		}
		i, ok := merged.find(h)
		require.True(t, ok)
		j, _ := want.find(h)
		assert.Equal(t, want.counts[j], merged.counts[i], "entity %d", h)
		for _, x := range []float64{-3, -1, 0, 1, 4, 6} {
			assert.InDelta(t, want.Percentile(h, x).Value, merged.Percentile(h, x).Value, 0.01, "entity %d at %v", h, x)
		}
	}

	// Over MaxPairs, the kept pairs are thinned to their share.
	thin, err := buildCalibration(carryEntities(slices.Clone(now), prev, 3000), 0, o)
	require.NoError(t, err)
	assert.Equal(t, 40, thin.Entities())
	assert.InDelta(t, 20*200+3000, thin.Pairs(), 20*2)
	i, _ := thin.find(30)
	j, _ := prev.find(30)
	for _, x := range []float64{-3, 0, 2} {
		assert.InDelta(t, prev.Percentile(30, x).Value, thin.Percentile(30, x).Value, 0.02)
	}
	assert.Less(t, thin.counts[i], prev.counts[j])

	// Through Calibrate: the model's entities missing from the sample keep
	// their distribution.
	m, p, cal := calibrated(t)
	some := NewDataset()
	for some.Len() < 2000 {
		e, a := p.pair()
		if e < entityName(15) {
			some.Add(e, a)
		}
	}
	fresh, err := m.Calibrate(context.Background(), some, nil)
	require.NoError(t, err)
	kept, err := m.Calibrate(context.Background(), some, &CalibrationOptions{Previous: cal})
	require.NoError(t, err)
	assert.Less(t, fresh.Entities(), cal.Entities())
	assert.Equal(t, cal.Entities(), kept.Entities())
}

func FuzzOptimizerState(f *testing.F) {
	p := newPlanted(1, 5, 1, 5)
	cfg := smallConfig()
	cfg.NumEntityVectors, cfg.VectorDim, cfg.Epochs = 8, 4, 1
	cfg.IPv4Prefixes, cfg.IPv6Prefixes, cfg.IPv4HashRows, cfg.IPv6HashRows = []int{4}, []int{32}, 8, 4
	m, err := Train(context.Background(), cfg, p.dataset(50), &TrainOptions{SaveOptimizerState: true})
	if err != nil {
		f.Fatal(err)
	}
	var good bytes.Buffer
	if err := m.opt.encode(&good); err != nil {
		f.Fatal(err)
	}
	f.Add(good.Bytes())
	f.Add(good.Bytes()[:24])
	f.Fuzz(func(t *testing.T, payload []byte) {
		st, err := decodeOptState(m, bufio.NewReader(bytes.NewReader(payload)), int64(len(payload)))
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		// What is accepted encodes back to its bytes and continues a
		// training.
		var b bytes.Buffer
		if err := st.encode(&b); err != nil || !bytes.Equal(b.Bytes(), payload) {
			t.Fatalf("re-encoding differs (%v)", err)
		}
		c := m.clone()
		c.opt = st
		if _, err := Train(context.Background(), cfg, p.dataset(20), &TrainOptions{Init: c, Workers: 1}); err != nil {
			t.Fatal(err)
		}
	})
}
