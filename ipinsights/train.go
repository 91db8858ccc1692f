package ipinsights

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"time"

	"github.com/ipinsights/ipinsights-go/internal/plural"
	"github.com/ipinsights/ipinsights-go/rng"
	"github.com/ipinsights/ipinsights-go/sampler"
)

// TrainOptions holds the optional inputs of Train.
type TrainOptions struct {
	// Validation, when set, is scored at the end of every epoch: each pair
	// against one random address for the same entity (R=1, S=0), and the
	// discriminator AUC is reported through Progress.
	Validation *Dataset
	// Progress receives metrics during training; nil discards them.
	Progress Progress
	// Workers is the number of goroutines that train; 0 means
	// runtime.GOMAXPROCS(0). The model does not depend on it.
	Workers int
	// Init, when set, is the model to continue training from (a warm
	// start; see ShapeNames and the package documentation's Warm start
	// section): the new model starts with a copy of its parameters, its
	// seen entities and its network history. The configuration must keep
	// every hyperparameter that shapes the model (ShapeNames) at Init's
	// value, else training fails with an *InitMismatchError; the others
	// may change, and Epochs counts the epochs of this training. When Init
	// carries the state of the same optimiser (SaveOptimizerState), the
	// optimiser continues from it, and the epochs are numbered on from
	// Init's, so that training k epochs, then N-k from the result, gives
	// the model of N epochs in one training, bit for bit, on the same data
	// and seed (its file differs only in the epochs hyperparameter, which
	// records this training's). Without it Adam restarts: its moments from zero and its
	// bias correction from the first step, whose steps are about
	// LearningRate in every coordinate whatever the gradient's size. Init
	// is not modified.
	Init *Model
	// SaveOptimizerState makes the trained model carry the optimiser's
	// state, which Save writes as the model file's optional section
	// "optimizer_state" and a warm start from the model continues. With
	// Adam it is twice the size of the parameter tables, in memory and
	// in the file.
	SaveOptimizerState bool
}

// ErrNoData is returned by Train for an empty training set.
var ErrNoData = errors.New("ipinsights: no training data")

// Train trains a model on data with the hyperparameters of cfg.
//
// Training is synchronous data-parallel: every mini-batch is split over
// opts.Workers goroutines, the gradients are reduced in a fixed order, and
// one optimiser step follows. The result is bit-identical for a given seed
// and data whatever the number of workers. Train stops early, returning the
// context's error, when ctx is cancelled. data is not modified and not
// copied: Train shuffles the indices of its pairs (4 bytes a pair, see the
// package documentation's Memory section). data must not change while
// Train runs.
func Train(ctx context.Context, cfg Config, data *Dataset, opts *TrainOptions) (*Model, error) {
	if opts == nil {
		opts = &TrainOptions{}
	}
	workers := opts.Workers
	switch {
	case workers < 0:
		return nil, fmt.Errorf("ipinsights: TrainOptions.Workers is %d; want 0 (GOMAXPROCS) or more", workers)
	case workers == 0:
		workers = runtime.GOMAXPROCS(0)
	}
	if data == nil || data.Len() == 0 && data.invalid == 0 {
		return nil, ErrNoData
	}
	if data.invalid > 0 {
		return nil, fmt.Errorf("ipinsights: the training data was given %s with an invalid (zero) address; see Dataset.Invalid", plural.Count(data.invalid, "pair", "pairs"))
	}
	if len(data.rows.chunks) > maxChunks {
		return nil, fmt.Errorf("ipinsights: the training data holds %s, more than Train can index (about %d)", plural.Count(data.Len(), "pair", "pairs"), maxChunks*chunkRows)
	}
	began := time.Now()
	m, st, err := startModel(cfg, opts.Init)
	if err != nil {
		return nil, err
	}
	if err := checkStateEpochs(st, cfg, opts.SaveOptimizerState); err != nil {
		return nil, err
	}
	t := newTrainer(m, data.Len(), workers)
	t.continueFrom(st)
	err = t.loop(ctx, data, began, opts)
	t.close()
	m.invalidate()
	if err != nil {
		return nil, err
	}
	t.finish(opts.SaveOptimizerState)
	return m, nil
}

// continueFrom continues the optimiser state st, when not nil.
func (t *trainer) continueFrom(st *optState) {
	if st != nil {
		t.opt.restore(st)
		t.ep0 = st.epochs
	}
}

// finish hands the optimiser's state to the model when save is set. The
// trainer is not used afterwards.
func (t *trainer) finish(save bool) {
	if save {
		t.m.opt = t.opt.snapshot(t.m.cfg.Optimizer, t.ep0+t.cfg.Epochs)
	}
}

// trainer runs the optimiser steps of a training. A batch runs two
// phases, each in parallel over its items on the worker pool:
//
//   - forward: the de-duplication of the IP rows (one item a shard), then
//     the forward and backward pass of every group (one item a group);
//   - update: the gradient and update of every row of the dense layers and
//     of every touched embedding row, and, as one more item, the
//     preparation of the next batch. None of them reads what another
//     writes: the dense rows' gradients come from the forward phase's
//     copies of the entity rows, and the embedding rows' from its outputs.
//
// Every per-batch buffer is indexed by group (positive) or sample, never by
// worker, and every gradient sums over groups or samples in batch order, so
// results do not depend on the number of workers; the only per-worker state
// is scratch space.
type trainer struct {
	m       *Model
	cfg     Config
	d, L, K int // vector_dim, encoder layers, samples a group
	workers int
	src     batchSource
	opt     optimizer
	ep0     int // epochs trained before (a warm start with optimiser state)

	// The inputs of the current batch, read by its phases, and those of
	// the next one, which the update phase prepares (as item aheadItem,
	// -1 for none) when ahead has positives. trainBatch swaps them.
	cur, next *batchInputs
	ahead     batchJob
	aheadItem int

	// What the forward phase computes for the current batch.
	fw forwardOut

	// The IP rows of the batch, de-duplicated by the forward phase (the
	// entity rows are de-duplicated with the batch's inputs, cur.ent). They
	// are split into shards that never share a row, built in parallel:
	// shard k < v4Levels holds the rows of IPv4 prefix level k (each level
	// has its own table), the last shard every IPv6 row (the IPv6 levels
	// share one table). segs maps the embedding rows' items of the update
	// phase to these lists and to the entity list (see planUpdate).
	ipSh     []sparseRows
	v4Levels int
	segs     []sparseSeg

	scr []workerScratch

	// The worker pool, the cuts of a phase into the workers' ranges, and
	// the tasks of the phases (method values, made once).
	pool                    *pool
	cuts                    []int
	forwardTask, updateTask func(w, lo, hi int)
}

// workerScratch is one worker's scratch space.
type workerScratch struct {
	grad  []float32
	grads []float32 // denseRows rows of gradients (dense rows)
	dh    []float32
	tmp   []float32
	x     []float32 // prefix sum of the current sample (0 or 1 layer)
	coef  []float32 // per group: denseRows entity components (dense rows)
}

// newTrainer returns a trainer of m for n training pairs, with its pool of
// workers started; close stops it.
func newTrainer(m *Model, n, workers int) *trainer {
	cfg := m.cfg
	t := &trainer{
		m:       m,
		cfg:     cfg,
		d:       m.dim,
		L:       len(m.layers),
		workers: workers,
		src: batchSource{
			smp: sampler.Config{
				BatchSize: cfg.MiniBatchSize,
				Random:    cfg.RandomNegativeSamplingRate,
				Shuffled:  cfg.ShuffledNegativeSamplingRate,
			},
			enc:      m.enc,
			entities: cfg.NumEntityVectors,
		},
		opt:      newOptimizer(m),
		v4Levels: len(cfg.IPv4Prefixes),
	}
	t.K = t.src.smp.GroupSize()
	t.ipSh = newShards(t.v4Levels+1, m.enc.Rows())
	p := min(t.src.smp.Positives(), n)
	t.cur, t.next = newBatchInputs(&t.src, p), newBatchInputs(&t.src, p)
	t.fw = newForwardOut(p, t.K, t.d, t.L)
	t.scr = make([]workerScratch, workers)
	for w := range t.scr {
		d := t.d
		buf := make([]float32, 4*d+denseRows*(p+1))
		t.scr[w] = workerScratch{
			grad: buf[:d:d], dh: buf[d : 2*d : 2*d], tmp: buf[2*d : 3*d : 3*d],
			x: buf[3*d : 4*d : 4*d], coef: buf[4*d:],
		}
		if t.L > 0 {
			t.scr[w].grads = make([]float32, denseRows*d)
		}
	}
	t.cuts = make([]int, workers+1)
	t.forwardTask, t.updateTask = t.forwardBlock, t.updateBlock
	t.pool = newPool(workers)
	return t
}

// close stops the trainer's worker pool.
func (t *trainer) close() {
	t.pool.close()
}

// loop trains the epochs on data, reporting to opts.Progress; began is
// when Train started.
func (t *trainer) loop(ctx context.Context, data *Dataset, began time.Time, opts *TrainOptions) error {
	ord := newOrder(data)
	p := t.src.smp.Positives()
	batches := (ord.Len() + p - 1) / p
	rep := newReporter(t, began, opts)
	// Each epoch shuffles the order the one before left: a continuation
	// replays the shuffles of the epochs it continues (about a
	// thousandth of an epoch's training each).
	for ep := 1; ep <= t.ep0; ep++ {
		if ep%64 == 0 && ctx.Err() != nil {
			return fmt.Errorf("ipinsights: training stopped before its first epoch: %w", ctx.Err())
		}
		sampler.Shuffle(ord.ids, rng.New(t.cfg.Seed, rng.Stream(0x73687566, uint64(ep)))) // "shuf"
	}
	for ep := 1; ep <= t.cfg.Epochs; ep++ {
		sampler.Shuffle(ord.ids, rng.New(t.cfg.Seed, rng.Stream(0x73687566, uint64(t.ep0+ep)))) // "shuf"
		rep.startEpoch(ep)
		if err := t.runBatches(ctx, ord, 0, batches, true, rep); err != nil {
			return err
		}
		rep.endEpoch(batches)
	}
	data.rows.addEntitiesTo(&t.m.seen)
	return nil
}

// runBatches trains the batches of the pairs of ord, in its order: batch j
// of ord is batch b0+j of the epoch, of batches in all (0 when not known
// yet). last says whether ord ends the epoch.
func (t *trainer) runBatches(ctx context.Context, ord *order, b0, batches int, last bool, rep *reporter) error {
	n := ord.Len()
	p := t.src.smp.Positives()
	nb := (n + p - 1) / p
	ep, seed := t.ep0+rep.ep, t.cfg.Seed // the epoch of the random streams
	job := func(j int) batchJob {
		return batchJob{src: ord, lo: j * p, hi: min((j+1)*p, n), seed: seed, stream: rng.Stream(uint64(ep), uint64(b0+j))}
	}
	for j := range nb {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("ipinsights: training stopped in epoch %d: %w", rep.ep, err)
		}
		if !rep.started {
			rep.started = true
			rep.firstBatch = time.Since(rep.began)
		}
		var ahead batchJob
		if j+1 < nb {
			ahead = job(j + 1)
		}
		loss, correct, samples := t.trainBatch(job(j), ahead)
		rep.batchDone(b0+j+1, batches, last && j+1 == nb, loss, correct, samples)
	}
	return nil
}

// reporter sums the metrics of training and reports them to a Progress.
type reporter struct {
	t          *trainer
	progress   Progress
	validation *Dataset
	began      time.Time
	started    bool          // the first batch has started
	firstBatch time.Duration // from began to the start of the first batch
	ep         int
	total      int64
	interval   span
	epoch      span
}

func newReporter(t *trainer, began time.Time, opts *TrainOptions) *reporter {
	return &reporter{t: t, progress: opts.Progress, validation: opts.Validation, began: began}
}

// startEpoch starts epoch ep.
func (r *reporter) startEpoch(ep int) {
	r.ep = ep
	r.epoch = span{since: time.Now()}
	r.interval = span{since: r.epoch.since}
}

// batchDone records batch b (1-based) of batches in the epoch (0: not
// known yet); last says whether it ends the epoch, which endEpoch reports.
func (r *reporter) batchDone(b, batches int, last bool, loss float64, correct, samples int) {
	r.total += int64(samples)
	r.interval.add(loss, correct, samples)
	r.epoch.add(loss, correct, samples)
	if r.progress != nil && b%r.t.cfg.BatchMetricsPublishInterval == 0 && !last {
		now := time.Now()
		mt := r.interval.metrics(now)
		mt.Epoch, mt.Batch, mt.Batches, mt.Samples, mt.Elapsed, mt.FirstBatch = r.ep, b, batches, r.total, now.Sub(r.began), r.firstBatch
		r.progress.Record(mt)
		r.interval = span{since: now}
	}
}

// endEpoch reports the end of the epoch, of batches batches, with the
// validation AUC when there is validation data.
func (r *reporter) endEpoch(batches int) {
	if r.progress == nil {
		return
	}
	mt := r.epoch.metrics(time.Now())
	mt.Epoch, mt.Batch, mt.Batches, mt.EpochEnd, mt.Samples, mt.FirstBatch = r.ep, batches, batches, true, r.total, r.firstBatch
	if r.validation != nil && r.validation.Len() > 0 {
		r.t.m.invalidate()
		mt.ValidationAUC = r.t.m.discriminatorAUC(r.validation)
	}
	mt.Elapsed = time.Since(r.began)
	r.progress.Record(mt)
}

// span sums the batches between two progress reports.
type span struct {
	loss    float64
	correct int64
	samples int64
	since   time.Time
}

func (s *span) add(loss float64, correct, samples int) {
	s.loss += loss
	s.correct += int64(correct)
	s.samples += int64(samples)
}

// metrics returns the span's loss, accuracy and rate until now.
func (s *span) metrics(now time.Time) Metrics {
	return Metrics{
		CrossEntropy:     s.loss / float64(s.samples),
		Accuracy:         float64(s.correct) / float64(s.samples),
		SamplesPerSecond: float64(s.samples) / now.Sub(s.since).Seconds(),
		ValidationAUC:    math.NaN(),
	}
}

// trainBatch runs one optimiser step on the batch of job and returns the
// summed cross-entropy, the correctly classified samples and the samples.
// When ahead has positives, its batch is prepared during this one's sparse
// phase, so that a trainBatch of ahead that follows starts at once.
func (t *trainer) trainBatch(job, ahead batchJob) (float64, int, int) {
	t.startBatch(job, ahead)
	t.runPhases()
	var loss float64
	var correct int
	for g := 0; g < t.cur.groups; g++ {
		loss += t.fw.lossG[g]
		correct += int(t.fw.corrG[g])
	}
	return loss, correct, t.cur.groups * t.K
}

// startBatch makes the batch of job the current one, preparing it unless
// it was prepared during the previous batch, and ahead the batch to prepare
// during it.
func (t *trainer) startBatch(job, ahead batchJob) {
	if !t.next.preparedFor(job) {
		t.next.prepare(&t.src, job)
	}
	t.cur, t.next = t.next, t.cur
	t.cur.ready = false
	t.ahead = ahead
}

// runPhases runs the phases of the current batch (see trainer).
func (t *trainer) runPhases() {
	t.forwardCuts()
	t.pool.run(t.cuts, 1, t.forwardTask)
	t.opt.beginStep()
	t.planUpdate()
	block := spBlock
	if t.L > 0 {
		block = denseRows // the dense rows' blocks must start at multiples of it
	}
	t.pool.run(t.cuts, block, t.updateTask)
}

// logLoss is the binary cross-entropy of score s (log-odds) for the label,
// computed without overflow: softplus(-s) for a positive, softplus(s) for a
// negative.
func logLoss(s float64, positive bool) float64 {
	if positive {
		s = -s
	}
	return math.Max(s, 0) + math.Log1p(math.Exp(-math.Abs(s)))
}
