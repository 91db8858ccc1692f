package ipinsights

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/internal/f32"
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
}

// ErrNoData is returned by Train for an empty training set.
var ErrNoData = errors.New("ipinsights: no training data")

// Train trains a model on data with the hyperparameters of cfg.
//
// Training is synchronous data-parallel: every mini-batch is split over
// cfg.Workers goroutines, the gradients are reduced in a fixed order, and one
// optimiser step follows. The result is bit-identical for a given seed and
// data whatever the number of workers. Train stops early, returning the
// context's error, when ctx is cancelled. data is not modified; Train
// works on its own copy of the pairs (24 bytes a pair, see the package
// documentation's Memory section).
func Train(ctx context.Context, cfg Config, data *Dataset, opts *TrainOptions) (*Model, error) {
	if opts == nil {
		opts = &TrainOptions{}
	}
	if data == nil || data.Len() == 0 && data.invalid == 0 {
		return nil, ErrNoData
	}
	if data.invalid > 0 {
		return nil, fmt.Errorf("ipinsights: the training data was given %s with an invalid (zero) address; see Dataset.Invalid", plural.Count(data.invalid, "pair", "pairs"))
	}
	m, err := newModel(cfg)
	if err != nil {
		return nil, err
	}
	m.initParams()
	t := newTrainer(m, data.Len())
	err = t.run(ctx, data.tuples, opts)
	m.invalidate()
	if err != nil {
		return nil, err
	}
	return m, nil
}

// trainer holds the optimiser state and the per-batch buffers of training.
// Every per-batch buffer is indexed by group (positive) or sample, never by
// worker, so results do not depend on the number of workers; the only
// per-worker state is scratch space.
type trainer struct {
	m       *Model
	cfg     Config
	d, L, K int
	src     batchSource
	workers int

	// Optimiser state: Adam moments (nil for sgd) and the step constants.
	// The moments of an embedding row lie side by side, first m then v
	// (2*d floats a row), so that a touched row costs one memory region.
	entMV, ipMV []float32
	lyM, lyV    []layer
	step        int
	adam        f32.Adam
	sgdLR, wd   float32

	// The inputs of the current batch, and those of the next one: the
	// next batch is prepared into next during the current one's sparse
	// phase, as item aheadItem (-1: none), when ahead has positives.
	// trainBatch swaps them.
	cur, next *batchInputs
	ahead     batchJob
	aheadItem int

	// What the forward phase computes for the current batch.
	xs     []float32 // per sample: prefix sum x (only with 2+ layers)
	acts   [][]float32
	deltas [][]float32
	dXs    []float32 // per sample: gradient wrt x (only with 2+ layers)
	us     []float32 // per group: W_last^T e (e itself without layers)
	gs     []float32 // per sample: dLoss/dscore
	xbar   []float32 // per group: sum over samples of gs * (last layer input)
	gsum   []float32 // per group: sum of gs
	dE     []float32 // per group: gradient wrt the entity row (xbar without layers)
	lossG  []float64 // per group: summed cross-entropy
	corrG  []int32   // per group: correctly classified samples

	// The IP rows of the batch, de-duplicated by the forward phase (the
	// entity rows are de-duplicated with the batch's inputs, cur.ent). They
	// are split into shards that never share a row, built in parallel:
	// shard k < v4Levels holds the rows of IPv4 prefix level k (each level
	// has its own table), the last shard every IPv6 row (the IPv6 levels
	// share one table). segs maps the items of the sparse phase to these
	// lists (see planSparse).
	ipSh     []sparseRows
	v4Levels int
	segs     []sparseSeg

	// Per-worker scratch.
	scr []workerScratch

	// The worker pool, the cuts of its phases into the workers' ranges,
	// and the tasks of the phases (method values, made once).
	pool                               *pool
	cuts                               []int
	forwardTask, denseTask, sparseTask func(w, lo, hi int)
	capture                            *gradCapture // tests: record gradients instead of applying them
}

// sparseSeg is a run of items of the sparse phase: items from item on are
// rows j0, j0+1, ... of rows.
type sparseSeg struct {
	item, j0, n int
	rows        *sparseRows
	entity      bool // rows of the entity table, else of the IP table
}

type workerScratch struct {
	grad []float32
	dh   []float32
	tmp  []float32
	x    []float32 // prefix sum of the current sample (0 or 1 layer)
	coef []float32 // per group: one entity component (dense rows)
}

func newTrainer(m *Model, n int) *trainer {
	cfg := m.cfg
	t := &trainer{
		m:   m,
		cfg: cfg,
		d:   m.dim,
		L:   len(m.layers),
		src: batchSource{
			smp: sampler.Config{
				BatchSize: cfg.MiniBatchSize,
				Random:    cfg.RandomNegativeSamplingRate,
				Shuffled:  cfg.ShuffledNegativeSamplingRate,
			},
			enc:      m.enc,
			entities: cfg.NumEntityVectors,
		},
		workers: cfg.workers(),
		wd:      float32(cfg.WeightDecay),
		sgdLR:   float32(cfg.LearningRate),
	}
	t.v4Levels = len(cfg.IPv4Prefixes)
	t.ipSh = newShards(t.v4Levels+1, m.enc.Rows())
	t.K = t.src.smp.GroupSize()
	if cfg.Optimizer == "adam" {
		t.entMV = make([]float32, 2*len(m.entity))
		t.ipMV = make([]float32, 2*len(m.ip))
		adviseHugePages(t.entMV)
		adviseHugePages(t.ipMV)
		for range m.layers {
			t.lyM = append(t.lyM, layer{w: make([]float32, t.d*t.d), b: make([]float32, t.d)})
			t.lyV = append(t.lyV, layer{w: make([]float32, t.d*t.d), b: make([]float32, t.d)})
		}
	}
	p := min(t.src.smp.Positives(), n)
	t.alloc(p)
	t.cur, t.next = newBatchInputs(&t.src, p), newBatchInputs(&t.src, p)
	t.cuts = make([]int, t.workers+1)
	t.scr = make([]workerScratch, t.workers)
	for w := range t.scr {
		buf := make([]float32, 4*t.d+p)
		t.scr[w] = workerScratch{
			grad: buf[:t.d:t.d], dh: buf[t.d : 2*t.d : 2*t.d], tmp: buf[2*t.d : 3*t.d : 3*t.d],
			x: buf[3*t.d : 4*t.d : 4*t.d], coef: buf[4*t.d:],
		}
	}
	t.forwardTask, t.denseTask, t.sparseTask = t.forwardBlock, t.denseBlock, t.sparseBlock
	t.pool = newPool(t.workers)
	return t
}

// alloc sizes the per-batch buffers for p positives.
func (t *trainer) alloc(p int) {
	d, k := t.d, t.K
	s := p * k
	t.us = make([]float32, p*d)
	t.gs = make([]float32, s)
	t.xbar = make([]float32, p*d)
	t.gsum = make([]float32, p)
	if t.L > 0 {
		t.dE = make([]float32, p*d)
	}
	t.lossG = make([]float64, p)
	t.corrG = make([]int32, p)
	if t.L >= 2 {
		t.xs = make([]float32, s*d)
		t.dXs = make([]float32, s*d)
		t.acts = make([][]float32, t.L-1)
		t.deltas = make([][]float32, t.L-1)
		for l := range t.acts {
			t.acts[l] = make([]float32, s*d)
			t.deltas[l] = make([]float32, s*d)
		}
	}
}

func (t *trainer) run(ctx context.Context, data []embedding.Tuple, opts *TrainOptions) error {
	defer t.close()
	return t.loop(ctx, data, opts)
}

// close stops the trainer's worker pool.
func (t *trainer) close() {
	t.pool.close()
}

// evenCuts divides n items into equal ranges, one a worker.
func (t *trainer) evenCuts(n int) {
	for w := range t.cuts {
		t.cuts[w] = w * n / t.workers
	}
}

// forwardBlock runs items lo to hi of the forward phase on worker w.
func (t *trainer) forwardBlock(w, lo, hi int) {
	ns := len(t.ipSh)
	for k := lo; k < min(hi, ns); k++ {
		t.dedupShard(k)
	}
	for g := max(lo, ns) - ns; g < hi-ns; g++ {
		t.forward(w, g)
	}
}

// denseBlock runs items lo to hi of the dense phase on worker w.
func (t *trainer) denseBlock(w, lo, hi int) {
	for i := lo; i < hi; i++ {
		t.denseRow(w, i)
	}
}

// sparseBlock runs items lo to hi of the sparse phase on worker w.
func (t *trainer) sparseBlock(w, lo, hi int) {
	for i := lo; i < min(lo+spAhead, hi); i++ {
		t.prefetchSparse(i)
	}
	for i := lo; i < hi; i++ {
		if n := i + spAhead; n < hi {
			t.prefetchSparse(n)
		}
		if i == t.aheadItem {
			t.next.prepare(&t.src, t.ahead)
			continue
		}
		t.sparseRow(w, i)
	}
}

func (t *trainer) loop(ctx context.Context, data []embedding.Tuple, opts *TrainOptions) error {
	tuples := append([]embedding.Tuple(nil), data...)
	p := t.src.smp.Positives()
	batches := (len(tuples) + p - 1) / p
	seed := t.cfg.Seed
	began := time.Now()
	var total int64

	type span struct {
		loss    float64
		correct int64
		samples int64
		since   time.Time
	}
	var interval, epoch span

	for ep := 1; ep <= t.cfg.Epochs; ep++ {
		sampler.Shuffle(tuples, rng.New(seed, rng.Stream(0x73687566, uint64(ep)))) // "shuf"
		epoch = span{since: time.Now()}
		interval = span{since: epoch.since}
		for b := 0; b < batches; b++ {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("ipinsights: training stopped in epoch %d: %w", ep, err)
			}
			job := func(b int) batchJob {
				return batchJob{pos: tuples[b*p : min((b+1)*p, len(tuples))], all: tuples, seed: seed, stream: rng.Stream(uint64(ep), uint64(b))}
			}
			var ahead batchJob
			if b+1 < batches {
				ahead = job(b + 1)
			}
			loss, correct, n := t.trainBatch(job(b), ahead)
			total += int64(n)
			interval.loss += loss
			interval.correct += int64(correct)
			interval.samples += int64(n)
			epoch.loss += loss
			epoch.correct += int64(correct)
			epoch.samples += int64(n)
			if opts.Progress != nil && (b+1)%t.cfg.BatchMetricsPublishInterval == 0 && b+1 < batches {
				now := time.Now()
				opts.Progress.Record(Metrics{
					Epoch: ep, Batch: b + 1, Batches: batches, Samples: total,
					CrossEntropy:     interval.loss / float64(interval.samples),
					Accuracy:         float64(interval.correct) / float64(interval.samples),
					SamplesPerSecond: float64(interval.samples) / now.Sub(interval.since).Seconds(),
					ValidationAUC:    math.NaN(),
					Elapsed:          now.Sub(began),
				})
				interval = span{since: now}
			}
		}
		if opts.Progress != nil {
			now := time.Now()
			mt := Metrics{
				Epoch: ep, Batch: batches, Batches: batches, EpochEnd: true, Samples: total,
				CrossEntropy:     epoch.loss / float64(epoch.samples),
				Accuracy:         float64(epoch.correct) / float64(epoch.samples),
				SamplesPerSecond: float64(epoch.samples) / now.Sub(epoch.since).Seconds(),
				ValidationAUC:    math.NaN(),
			}
			if opts.Validation != nil && opts.Validation.Len() > 0 {
				t.m.invalidate()
				mt.ValidationAUC = t.m.discriminatorAUC(opts.Validation.tuples)
			}
			mt.Elapsed = time.Since(began)
			opts.Progress.Record(mt)
		}
	}
	t.m.seen = seenOf(data)
	return nil
}

func seenOf(data []embedding.Tuple) seenSet {
	s := newSeenSet(nil)
	for _, tp := range data {
		s.add(tp.Entity)
	}
	return s
}

// trainBatch runs one optimiser step on the batch of job and returns the
// summed cross-entropy, the correctly classified samples and the samples.
// When ahead has positives, its batch is prepared during this one's sparse
// phase, so that a trainBatch of ahead that follows starts at once.
func (t *trainer) trainBatch(job, ahead batchJob) (float64, int, int) {
	if !t.next.preparedFor(job) {
		t.next.prepare(&t.src, job)
	}
	t.cur, t.next = t.next, t.cur
	t.cur.ready = false
	t.ahead = ahead
	t.runPhases()
	var loss float64
	var correct int
	for g := 0; g < t.cur.groups; g++ {
		loss += t.lossG[g]
		correct += int(t.corrG[g])
	}
	return loss, correct, t.cur.groups * t.K
}

// runPhases runs the parallel phases of the prepared batch: forward and
// backward per group together with the de-duplication of the IP rows, then
// the dense layers' rows (none without layers), then the touched embedding
// rows together with the preparation of the next batch (t.ahead), if any.
func (t *trainer) runPhases() {
	t.forwardCuts()
	t.pool.run(t.cuts, 2, t.forwardTask)
	t.beginStep()
	t.evenCuts(t.L * t.d)
	t.pool.run(t.cuts, 2, t.denseTask)
	t.planSparse()
	t.pool.run(t.cuts, spBlock, t.sparseTask)
}

// forwardCuts gives each worker an equal share of the groups, in batch
// order; worker 0's range begins with the de-duplication of the IP shards.
func (t *trainer) forwardCuts() {
	ns := len(t.ipSh)
	t.cuts[0] = 0
	for w := 1; w <= t.workers; w++ {
		t.cuts[w] = ns + w*t.cur.groups/t.workers
	}
}

// planSparse numbers the touched rows for the sparse phase and cuts them
// into the workers' ranges. Worker w's range holds the rows whose first
// use lies in its share of the groups in the forward phase (forwardCuts),
// table by table: the rows a worker loaded and whose gradients it wrote in
// the forward phase are then likely still in its own cache. Updating them
// on the other core costs a quarter more time per row on the 2-core test
// machine (BenchmarkBatchMemoryFloor with the ranges swapped).
func (t *trainer) planSparse() {
	t.segs = t.segs[:0]
	item := 0
	t.aheadItem = -1
	for w := range t.workers {
		t.cuts[w] = item
		if w == t.workers-1 && len(t.ahead.pos) > 0 {
			// The last worker, usually the last to start, prepares the
			// next batch first; the others take over its rows if they
			// finish theirs before it does.
			t.aheadItem = item
			item++
		}
		g0, g1 := w*t.cur.groups/t.workers, (w+1)*t.cur.groups/t.workers
		add := func(s *sparseRows, entity bool, lo, hi int32) {
			j0, j1 := s.firstUseAt(lo), s.firstUseAt(hi)
			if j1 > j0 {
				t.segs = append(t.segs, sparseSeg{item: item, j0: j0, n: j1 - j0, rows: s, entity: entity})
				item += j1 - j0
			}
		}
		add(&t.cur.ent, true, int32(g0), int32(g1))
		for k := range t.ipSh {
			add(&t.ipSh[k], false, int32(g0*t.K), int32(g1*t.K))
		}
	}
	t.cuts[t.workers] = item
}

// prefetchGroup starts loading the entity row and the IP rows of group g.
func (t *trainer) prefetchGroup(g int) {
	d, K := t.d, t.K
	in := t.cur
	er := int(in.eRows[g])
	f32.Prefetch(t.m.entity[er*d : (er+1)*d])
	for i := g * K; i < (g+1)*K; i++ {
		for _, r := range in.sampleRows(i) {
			f32.Prefetch(t.m.ip[int(r)*d : (int(r)+1)*d])
		}
	}
}

// dedupShard de-duplicates the IP rows of shard k (see trainer.ipSh),
// visiting samples in batch order. It first releases the shard's rows of
// the previous batch.
func (t *trainer) dedupShard(k int) {
	s := &t.ipSh[k]
	s.reset()
	const ml = embedding.MaxLevels
	in := t.cur
	if k < t.v4Levels {
		for i, a := range in.batch.Addrs {
			if a.Is4() {
				s.ref(in.ipRows[i*ml+k], int32(i))
			}
		}
	} else {
		for i, a := range in.batch.Addrs {
			if !a.Is4() {
				for _, r := range in.sampleRows(i) {
					s.ref(r, int32(i))
				}
			}
		}
	}
	s.build()
}

// ipRowsTouched returns the IP rows of the current batch (tests).
func (t *trainer) ipRowsTouched() []int32 {
	var rows []int32
	for k := range t.ipSh {
		rows = append(rows, t.ipSh[k].uniq...)
	}
	return rows
}

func (t *trainer) beginStep() {
	t.step++
	if t.entMV != nil {
		t.adam = f32.AdamStep(t.step, t.cfg.LearningRate, 0.9, 0.999, 1e-8, t.cfg.WeightDecay)
	}
}

// forward computes the scores, loss and gradients of group g. It reads the
// parameters and writes only group g's and its samples' slots.
func (t *trainer) forward(w, g int) {
	d, K, L := t.d, t.K, t.L
	m := t.m
	in := t.cur
	// Start loading the group's prefix rows, which are spread over hundreds
	// of megabytes, before the projection below keeps the CPU busy.
	t.prefetchGroup(g)
	er := int(in.eRows[g])
	e := m.entity[er*d : (er+1)*d]
	u := t.us[g*d : (g+1)*d]
	var c float32
	if L == 0 {
		copy(u, e)
	} else {
		last := m.layers[L-1]
		f32.MatTVec(u, last.w, e)
		c = f32.Dot(e, last.b)
	}
	xb := t.xbar[g*d : (g+1)*d]
	clear(xb)
	var gsum float32
	// The cross-entropy of a sample is softplus(-s) for the positive and
	// softplus(s) for a negative, max(±s, 0) + log1p(exp(-|s|)); the
	// exponential is shared with the sigmoid, and the log1p terms of the
	// group are summed as one log of their product (each factor is in
	// [1, 2], so the product cannot overflow).
	var relu float64
	prod := 1.0
	var correct int32
	sc := &t.scr[w]
	for k := 0; k < K; k++ {
		i := g*K + k
		rows := in.sampleRows(i)
		r0 := int(rows[0])
		x := m.ip[r0*d : (r0+1)*d]
		if L >= 2 || len(rows) > 1 {
			// The prefix sum; with 2+ layers it is kept for the backward
			// pass of the first layer.
			x = sc.x
			if L >= 2 {
				x = t.xs[i*d : (i+1)*d]
			}
			copy(x, m.ip[r0*d:(r0+1)*d])
			for _, r := range rows[1:] {
				f32.Add(x, m.ip[int(r)*d:(int(r)+1)*d])
			}
		}
		h := x
		for l := 0; l+1 < L; l++ {
			a := t.acts[l][i*d : (i+1)*d]
			denseReLU(a, m.layers[l], h)
			h = a
		}
		s := float64(f32.Dot(u, h) + c)
		ex := math.Exp(-math.Abs(s))
		p := 1 / (1 + ex) // sigmoid(s)
		if s < 0 {
			p = ex / (1 + ex)
		}
		prod *= 1 + ex
		label := 0.0
		if k == 0 {
			label = 1
			relu += max(-s, 0)
		} else {
			relu += max(s, 0)
		}
		if (s > 0) == (k == 0) {
			correct++
		}
		gi := float32(p-label) * in.invBatch
		t.gs[i] = gi
		f32.Axpy(xb, gi, h)
		gsum += gi
	}
	t.gsum[g] = gsum
	t.lossG[g] = relu + math.Log(prod)
	t.corrG[g] = correct
	if L == 0 {
		return // dE of the group is xbar (see sparseRow)
	}
	dE := t.dE[g*d : (g+1)*d]
	last := m.layers[L-1]
	f32.MatVec(dE, last.w, xb)
	f32.Axpy(dE, gsum, last.b)
	if L >= 2 {
		for k := 0; k < K; k++ {
			i := g*K + k
			dh := sc.dh
			f32.ScaleTo(dh, t.gs[i], u)
			for l := L - 2; l >= 0; l-- {
				a := t.acts[l][i*d : (i+1)*d]
				dz := t.deltas[l][i*d : (i+1)*d]
				for j := range dz {
					if a[j] > 0 {
						dz[j] = dh[j]
					} else {
						dz[j] = 0
					}
				}
				out := sc.tmp
				if l == 0 {
					out = t.dXs[i*d : (i+1)*d]
				}
				f32.MatTVec(out, m.layers[l].w, dz)
				dh, sc.tmp = out, dh
			}
		}
	}
}

// denseRow computes the gradient of row r of a dense layer (item = l*d + r)
// and applies the optimiser to it. Every row sums over groups or samples in
// batch order.
func (t *trainer) denseRow(w, item int) {
	d, L := t.d, t.L
	l, r := item/d, item%d
	m := t.m
	gw := t.scr[w].grad
	clear(gw)
	var gb float32
	if l == L-1 {
		// gw = sum over groups of e_g[r] xbar_g: gather the coefficients,
		// then one transposed product over the groups in batch order.
		groups := t.cur.groups
		coef := t.scr[w].coef[:groups]
		for g, er := range t.cur.eRows[:groups] {
			coef[g] = m.entity[int(er)*d+r]
		}
		f32.MatTVec(gw, t.xbar[:groups*d], coef)
		gb = f32.Dot(t.gsum[:groups], coef)
	} else {
		in := t.xs
		if l > 0 {
			in = t.acts[l-1]
		}
		n := t.cur.groups * t.K
		dz := t.deltas[l]
		for i := 0; i < n; i++ {
			if v := dz[i*d+r]; v != 0 {
				f32.Axpy(gw, v, in[i*d:(i+1)*d])
				gb += v
			}
		}
	}
	ly := m.layers[l]
	wrow := ly.w[r*d : (r+1)*d]
	if t.capture != nil {
		copy(t.capture.w[l][r*d:(r+1)*d], gw)
		t.capture.b[l][r] = gb
		return
	}
	if t.entMV == nil {
		f32.SGDUpdate(wrow, gw, t.sgdLR, t.wd)
		ly.b[r] -= t.sgdLR * gb
		return
	}
	t.adam.Update(wrow, t.lyM[l].w[r*d:(r+1)*d], t.lyV[l].w[r*d:(r+1)*d], gw)
	// Biases take no weight decay.
	a := t.adam
	mb := &t.lyM[l].b[r]
	vb := &t.lyV[l].b[r]
	*mb = a.Beta1**mb + (1-a.Beta1)*gb
	*vb = a.Beta2**vb + (1-a.Beta2)*gb*gb
	ly.b[r] -= a.LR * *mb / (float32(math.Sqrt(float64(*vb))) + a.Eps)
}

// The sparse phase takes rows in blocks of spBlock, and a worker starts
// loading the row spAhead after the current one, and its moments: rows are
// spread over hundreds of megabytes, so each is a cache miss. Prefetching
// stays within the block (the first rows are prefetched when the block is
// taken) so that the rows land in the cache of the worker that updates
// them, not in the other worker's, which then has them written back.
const (
	spBlock = 8
	spAhead = 2
)

// prefetchSparse starts loading the parameter row and moments of an item
// of the sparse phase.
func (t *trainer) prefetchSparse(item int) {
	if item == t.aheadItem {
		return
	}
	p, mv, _, _, _ := t.sparseTarget(item)
	f32.Prefetch(p)
	f32.Prefetch(mv)
}

// sparseRow sums the gradient of one touched embedding row and applies the
// optimiser to it.
func (t *trainer) sparseRow(w, item int) {
	d := t.d
	gr := t.scr[w].grad
	clear(gr)
	p, mv, s, j, entity := t.sparseTarget(item)
	refs := s.refsOf(j)
	var capt []float32
	if entity {
		dE := t.dE
		if t.L == 0 {
			dE = t.xbar // the entity gradient of a group without layers
		}
		for _, g := range refs {
			f32.Add(gr, dE[int(g)*d:(int(g)+1)*d])
		}
		if t.capture != nil {
			r := int(s.uniq[j])
			capt = t.capture.entity[r*d : (r+1)*d]
		}
	} else {
		for _, i := range refs {
			if t.L >= 2 {
				f32.Add(gr, t.dXs[int(i)*d:(int(i)+1)*d])
			} else {
				g := int(i) / t.K
				f32.Axpy(gr, t.gs[i], t.us[g*d:(g+1)*d])
			}
		}
		if t.capture != nil {
			r := int(s.uniq[j])
			capt = t.capture.ip[r*d : (r+1)*d]
		}
	}
	switch {
	case capt != nil:
		copy(capt, gr)
	case mv == nil:
		f32.SGDUpdate(p, gr, t.sgdLR, t.wd)
	default:
		t.adam.Update(p, mv[:d], mv[d:], gr)
	}
}

// sparseTarget returns, for an item of the sparse phase, the parameter row,
// its Adam moments (m then v; nil for sgd), the de-duplicated list and
// index that hold its references, and whether the row is an entity row.
func (t *trainer) sparseTarget(item int) (p, mv []float32, s *sparseRows, j int, entity bool) {
	d := t.d
	k := 0
	for k+1 < len(t.segs) && item >= t.segs[k+1].item {
		k++
	}
	sg := &t.segs[k]
	s, j = sg.rows, sg.j0+item-sg.item
	table, state := t.m.entity, t.entMV
	if !sg.entity {
		table, state = t.m.ip, t.ipMV
	}
	r := int(s.uniq[j])
	p = table[r*d : (r+1)*d]
	if state != nil {
		mv = state[2*r*d : 2*(r+1)*d]
	}
	return p, mv, s, j, sg.entity
}

// gradCapture receives the gradients of one batch instead of the optimiser
// (tests only). Weight decay is not included.
type gradCapture struct {
	entity, ip []float32
	w, b       [][]float32
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
