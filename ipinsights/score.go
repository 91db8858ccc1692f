package ipinsights

import (
	"fmt"
	"math"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/internal/f32"
)

// Result is the score of one (entity, IP) pair.
type Result struct {
	// DotProduct is SageMaker's dot_product: the dot product of the entity
	// and IP embeddings, the log-odds that the pair is real rather than a
	// random pairing. Higher means more normal; unbounded.
	DotProduct float64
	// EntitySeen reports whether the entity occurred in the training data.
	// An unseen entity's vector is an untrained (or another entity's) hash
	// bucket, so its score says nothing about the address: SageMaker scores
	// such pairs silently; here the caller can tell.
	EntitySeen bool
}

// Pair is an (entity, IP address) pair, as the readers of every input
// format give it: a training row, an inference request's record, a
// CloudTrail event's principal and source address.
type Pair struct {
	Entity string
	IP     netip.Addr
}

// scoreAhead is how many pairs ahead batch scoring encodes addresses and
// starts loading their rows (which are cache misses: the tables are large).
const scoreAhead = 4

// scoreChunk is how many Pairs ScoreBatch encodes at a time.
const scoreChunk = 256

// scratch holds the per-goroutine buffers of a forward pass.
type scratch struct {
	rows  [embedding.MaxLevels]int32
	ring  [scoreAhead][embedding.MaxLevels]int32 // encoded rows of the pairs ahead
	nring [scoreAhead]uint8
	x     []float32 // sum of prefix rows
	h, t  []float32 // hidden layer buffers
	u     []float32 // W_last^T e when no cache row is available
	ts    []embedding.Tuple
	wg    sync.WaitGroup // batch scoring: the helpers of this caller
}

func (m *Model) newScratch() *scratch {
	d := m.dim
	buf := make([]float32, 4*d)
	return &scratch{x: buf[:d:d], h: buf[d : 2*d : 2*d], t: buf[2*d : 3*d : 3*d], u: buf[3*d:], ts: make([]embedding.Tuple, scoreChunk)}
}

func (m *Model) getScratch() *scratch {
	if s, ok := m.scratch.Get().(*scratch); ok {
		return s
	}
	return m.newScratch()
}

func (m *Model) putScratch(s *scratch) { m.scratch.Put(s) }

// lastInput returns the input of the last dense layer for address a: the
// prefix sum passed through every layer but the last (ReLU after each).
func (m *Model) lastInput(s *scratch, a embedding.Addr) []float32 {
	n := m.enc.Encode(s.rows[:], a)
	return m.lastInputRows(s, s.rows[:n])
}

// lastInputRows is lastInput for the encoded prefix rows of an address.
func (m *Model) lastInputRows(s *scratch, rows []int32) []float32 {
	d := m.dim
	r := int(rows[0])
	copy(s.x, m.ip[r*d:(r+1)*d])
	for _, r := range rows[1:] {
		f32.Add(s.x, m.ip[int(r)*d:(int(r)+1)*d])
	}
	h := s.x
	for l := 0; l+1 < len(m.layers); l++ {
		out := s.h
		if l%2 == 1 {
			out = s.t
		}
		denseReLU(out, m.layers[l], h)
		h = out
	}
	return h
}

// denseReLU sets dst = max(0, W x + b).
func denseReLU(dst []float32, ly layer, x []float32) {
	f32.MatVec(dst, ly.w, x)
	for i, b := range ly.b {
		if v := dst[i] + b; v > 0 {
			dst[i] = v
		} else {
			dst[i] = 0
		}
	}
}

// projection returns u = W_last^T e and c = e.b_last for an entity row, so
// that score = u.h + c where h is the input of the last layer (for a model
// without dense layers u = e, c = 0). Rows are cached on first use.
func (m *Model) projection(s *scratch, row int) ([]float32, float32) {
	d := m.dim
	e := m.entity[row*d : (row+1)*d]
	if len(m.layers) == 0 {
		return e, 0
	}
	m.projOnce.Do(m.initProjCache)
	if m.proj == nil {
		return projectInto(s.u, m.layers[len(m.layers)-1], e)
	}
	state := &m.projState[row]
	cached := m.proj[row*(d+1) : (row+1)*(d+1)]
	switch state.Load() {
	case projDone:
		return cached[:d], cached[d]
	case projEmpty:
		if state.CompareAndSwap(projEmpty, projBusy) {
			u, c := projectInto(cached[:d], m.layers[len(m.layers)-1], e)
			cached[d] = c
			state.Store(projDone)
			return u, c
		}
	}
	return projectInto(s.u, m.layers[len(m.layers)-1], e)
}

func projectInto(dst []float32, last layer, e []float32) ([]float32, float32) {
	f32.MatTVec(dst, last.w, e)
	return dst, f32.Dot(e, last.b)
}

const (
	projEmpty uint32 = iota
	projBusy
	projDone
	// maxProjCache bounds the memory of the projection cache (floats).
	maxProjCache = 1 << 28
)

func (m *Model) initProjCache() {
	n := m.cfg.NumEntityVectors * (m.dim + 1)
	if n > maxProjCache {
		return
	}
	m.proj = make([]float32, n)
	adviseHugePages(m.proj) // read at random, as the tables are
	m.projState = make([]atomic.Uint32, m.cfg.NumEntityVectors)
}

// invalidate drops cached projections after the parameters changed.
func (m *Model) invalidate() {
	m.projOnce = sync.Once{}
	m.proj = nil
	m.projState = nil
}

func (m *Model) scoreTuple(s *scratch, t embedding.Tuple) Result {
	n := m.enc.Encode(s.rows[:], t.Addr)
	return m.scoreRows(s, t, s.rows[:n])
}

// scoreRows scores t whose address is encoded as rows.
func (m *Model) scoreRows(s *scratch, t embedding.Tuple, rows []int32) Result {
	row := embedding.Bucket(t.Entity, m.cfg.NumEntityVectors)
	u, c := m.projection(s, row)
	h := m.lastInputRows(s, rows)
	return Result{
		DotProduct: float64(f32.Dot(u, h) + c),
		EntitySeen: m.seen.has(t.Entity),
	}
}

// scoreRange scores ts into dst (of equal length). It encodes addresses
// scoreAhead pairs ahead and starts loading their prefix rows and entity
// projections, so that the memory accesses of several pairs overlap.
func (m *Model) scoreRange(s *scratch, dst []Result, ts []embedding.Tuple) {
	d := m.dim
	if len(m.layers) > 0 {
		m.projOnce.Do(m.initProjCache)
	}
	ahead := func(j int) {
		slot := j % scoreAhead
		n := m.enc.Encode(s.ring[slot][:], ts[j].Addr)
		s.nring[slot] = uint8(n)
		for _, r := range s.ring[slot][:n] {
			f32.Prefetch(m.ip[int(r)*d : (int(r)+1)*d])
		}
		row := embedding.Bucket(ts[j].Entity, m.cfg.NumEntityVectors)
		if m.proj != nil {
			f32.Prefetch(m.proj[row*(d+1) : (row+1)*(d+1)])
		} else {
			f32.Prefetch(m.entity[row*d : (row+1)*d])
		}
	}
	for j := 0; j < min(scoreAhead, len(ts)); j++ {
		ahead(j)
	}
	for i, t := range ts {
		slot := i % scoreAhead
		dst[i] = m.scoreRows(s, t, s.ring[slot][:s.nring[slot]])
		if j := i + scoreAhead; j < len(ts) {
			ahead(j)
		}
	}
}

// scorePairs scores pairs into dst (of equal length), encoding them
// scoreChunk at a time.
func (m *Model) scorePairs(s *scratch, dst []Result, pairs []Pair) {
	for lo := 0; lo < len(pairs); lo += scoreChunk {
		hi := min(lo+scoreChunk, len(pairs))
		ts := s.ts[:hi-lo]
		invalid := false
		for i, p := range pairs[lo:hi] {
			ts[i] = embedding.NewTuple(p.Entity, p.IP)
			invalid = invalid || !p.IP.IsValid()
		}
		m.scoreRange(s, dst[lo:hi], ts)
		if invalid { // rare: a second pass only for chunks that need it
			for i, p := range pairs[lo:hi] {
				if !p.IP.IsValid() {
					dst[lo+i].DotProduct = math.NaN()
				}
			}
		}
	}
}

// Score scores one pair. The dot product of an invalid address (the zero
// netip.Addr) is NaN; so it is in ScoreBatch.
func (m *Model) Score(entity string, ip netip.Addr) Result {
	if !ip.IsValid() {
		return Result{DotProduct: math.NaN(), EntitySeen: m.seen.has(embedding.EntityHash(entity))}
	}
	s := m.getScratch()
	r := m.scoreTuple(s, embedding.NewTuple(entity, ip))
	m.putScratch(s)
	return r
}

// ScoreBatch scores pairs into dst, which it grows when too short, and
// returns it. Large batches are spread over GOMAXPROCS goroutines (see
// ScoreBatchWorkers to bound them). It does not allocate when dst is long
// enough.
func (m *Model) ScoreBatch(dst []Result, pairs []Pair) []Result {
	return m.ScoreBatchWorkers(dst, pairs, 0)
}

// ScoreBatchWorkers is ScoreBatch over at most workers goroutines, the
// calling one included, and never more than GOMAXPROCS: 1 scores in the
// calling goroutine only, 0 means GOMAXPROCS (as ScoreBatch). A server
// that scores several batches at once bounds each so that together they
// do not queue for the same cores. The results do not depend on workers.
// It panics if workers is negative.
func (m *Model) ScoreBatchWorkers(dst []Result, pairs []Pair, workers int) []Result {
	dst = growResults(dst, len(pairs))
	m.parallel(scoreJob{m: m, dst: dst, pairs: pairs}, len(pairs), workers)
	return dst
}

// ScoreTuples is ScoreBatch for encoded pairs (see embedding.NewTuple and
// embedding.EntityHashBytes), for callers that parse input without
// allocating strings. It does not allocate when dst is long enough.
func (m *Model) ScoreTuples(dst []Result, ts []embedding.Tuple) []Result {
	return m.ScoreTuplesWorkers(dst, ts, 0)
}

// ScoreTuplesWorkers is ScoreTuples over at most workers goroutines, as
// ScoreBatchWorkers: 1 scores in the calling goroutine only, 0 means
// GOMAXPROCS. It panics if workers is negative.
func (m *Model) ScoreTuplesWorkers(dst []Result, ts []embedding.Tuple, workers int) []Result {
	dst = growResults(dst, len(ts))
	m.parallel(scoreJob{m: m, dst: dst, ts: ts}, len(ts), workers)
	return dst
}

// parallelMin is the batch size from which scoring is spread over goroutines.
const parallelMin = 4096

// scoreJob is a slice of a scoring batch: either pairs or ts is set.
type scoreJob struct {
	m     *Model
	dst   []Result
	pairs []Pair
	ts    []embedding.Tuple
	wg    *sync.WaitGroup // nil for the caller's own part
}

// slice returns the part [lo, hi) of j.
func (j scoreJob) slice(lo, hi int) scoreJob {
	j.dst = j.dst[lo:hi]
	if j.pairs != nil {
		j.pairs = j.pairs[lo:hi]
	} else {
		j.ts = j.ts[lo:hi]
	}
	return j
}

func (j scoreJob) run(s *scratch) {
	if j.pairs != nil {
		j.m.scorePairs(s, j.dst, j.pairs)
	} else {
		j.m.scoreRange(s, j.dst, j.ts)
	}
}

// scorePool is the process-wide pool of scoring goroutines, started on the
// first large batch with one goroutine per GOMAXPROCS. Its goroutines wait
// on jobs for the life of the process; a pool (rather than goroutines per
// batch) keeps batch scoring free of allocations.
var scorePool struct {
	once sync.Once
	jobs chan scoreJob
}

func scoreWorker(jobs <-chan scoreJob) {
	for j := range jobs {
		s := j.m.getScratch()
		j.run(s)
		j.m.putScratch(s)
		j.wg.Done()
	}
}

// parallel runs job, n items long, split over up to workers goroutines
// (0: GOMAXPROCS) when it is large: the caller scores the first part, the
// pool the others.
func (m *Model) parallel(job scoreJob, n, workers int) {
	if workers < 0 {
		panic(fmt.Sprintf("ipinsights: negative number of scoring workers %d", workers))
	}
	w := runtime.GOMAXPROCS(0)
	if workers > 0 {
		w = min(w, workers)
	}
	s := m.getScratch()
	defer m.putScratch(s)
	if n < parallelMin || w == 1 {
		job.run(s)
		return
	}
	scorePool.once.Do(func() {
		scorePool.jobs = make(chan scoreJob)
		for range runtime.GOMAXPROCS(0) {
			go scoreWorker(scorePool.jobs)
		}
	})
	chunk := (n + w - 1) / w
	for lo := chunk; lo < n; lo += chunk {
		part := job.slice(lo, min(lo+chunk, n))
		part.wg = &s.wg
		s.wg.Add(1)
		scorePool.jobs <- part
	}
	job.slice(0, min(chunk, n)).run(s)
	s.wg.Wait()
}

func growResults(dst []Result, n int) []Result {
	if cap(dst) < n {
		return make([]Result, n)
	}
	return dst[:n]
}

// ScoreVerbose scores one pair and also returns the entity embedding and
// the IP embedding (the output of the IP encoder), as SageMaker's verbose
// responses do. The slices are new. Their dot product equals the score up to
// float32 rounding (the score is computed in a different order). For an
// invalid address (the zero netip.Addr) the dot product and every element
// of the IP embedding are NaN, as in Score and IPEmbedding; the entity
// embedding and EntitySeen are the entity's.
func (m *Model) ScoreVerbose(entity string, ip netip.Addr) (Result, []float32, []float32) {
	e, v := make([]float32, m.dim), make([]float32, m.dim)
	if !ip.IsValid() {
		copy(e, m.entityRow(embedding.EntityHash(entity)))
		fillNaN(v)
		return m.Score(entity, ip), e, v
	}
	r := m.ScoreTupleVerbose(e, v, embedding.NewTuple(entity, ip))
	return r, e, v
}

// ScoreTupleVerbose is ScoreVerbose for an encoded pair (see
// embedding.NewTupleBytes) that writes the entity embedding to entityDst
// and the IP embedding to ipDst instead of returning new slices, for
// callers that answer verbose requests without allocating per record. Its
// result equals ScoreTuples' for t, bit for bit. It panics unless both
// slices are VectorDim() long. It does not allocate.
func (m *Model) ScoreTupleVerbose(entityDst, ipDst []float32, t embedding.Tuple) Result {
	if len(entityDst) != m.dim || len(ipDst) != m.dim {
		panic(fmt.Sprintf("ipinsights: ScoreTupleVerbose: embedding slices of length %d and %d, want VectorDim %d", len(entityDst), len(ipDst), m.dim))
	}
	s := m.getScratch()
	defer m.putScratch(s)
	n := m.enc.Encode(s.rows[:], t.Addr)
	// As scoreRows computes it, so that the score is ScoreTuples'.
	row := embedding.Bucket(t.Entity, m.cfg.NumEntityVectors)
	u, c := m.projection(s, row)
	h := m.lastInputRows(s, s.rows[:n])
	r := Result{
		DotProduct: float64(f32.Dot(u, h) + c),
		EntitySeen: m.seen.has(t.Entity),
	}
	copy(entityDst, m.entity[row*m.dim:(row+1)*m.dim])
	m.encoderOutput(ipDst, h)
	return r
}

// EntityEmbedding returns a copy of the embedding of entity.
func (m *Model) EntityEmbedding(entity string) []float32 {
	return append([]float32(nil), m.entityRow(embedding.EntityHash(entity))...)
}

// IPEmbedding returns the IP embedding of ip: the output of the encoder
// (prefix sum, then the dense layers). For an invalid address (the zero
// netip.Addr) every element is NaN, as the dot product of Score is.
func (m *Model) IPEmbedding(ip netip.Addr) []float32 {
	out := make([]float32, m.dim)
	if !ip.IsValid() {
		fillNaN(out)
		return out
	}
	s := m.getScratch()
	defer m.putScratch(s)
	m.encoderOutput(out, m.lastInput(s, embedding.AddrFrom(ip)))
	return out
}

// encoderOutput sets dst to the output of the IP encoder whose last dense
// layer has input h (see lastInput).
func (m *Model) encoderOutput(dst, h []float32) {
	if len(m.layers) == 0 {
		copy(dst, h)
		return
	}
	last := m.layers[len(m.layers)-1]
	f32.MatVec(dst, last.w, h)
	f32.Add(dst, last.b)
}

func fillNaN(dst []float32) {
	nan := float32(math.NaN())
	for i := range dst {
		dst[i] = nan
	}
}

// EntitySeen reports whether entity occurred in the training data.
func (m *Model) EntitySeen(entity string) bool {
	return m.seen.has(embedding.EntityHash(entity))
}
