package ipinsights

import (
	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/rng"
	"github.com/ipinsights/ipinsights-go/sampler"
)

// batchJob names one mini-batch: positions lo to hi of the epoch's order
// of the training pairs, which the shuffled negatives of a batch of one
// positive are drawn from too, and the random stream of its negatives.
type batchJob struct {
	src          *order
	lo, hi       int
	seed, stream uint64
}

// positives returns the number of positives of the batch.
func (j batchJob) positives() int { return j.hi - j.lo }

// order is the training pairs in the order of an epoch: the ids of the
// Dataset's rows, which training shuffles in place every epoch. It costs 4
// bytes a pair; the pairs themselves are not copied. Shuffling the ids
// gives the same order as shuffling the pairs would (sampler.Shuffle).
type order struct {
	rows *rowStore
	ids  []uint32
}

// newOrder returns the pairs of d in the order they were added.
func newOrder(d *Dataset) *order {
	return &order{rows: &d.rows, ids: d.rows.ids(make([]uint32, 0, d.Len()))}
}

// Len returns the number of pairs.
func (o *order) Len() int { return len(o.ids) }

// At returns the pair at position i.
func (o *order) At(i int) embedding.Tuple { return o.rows.tuple(o.ids[i]) }

// batchSource is what preparing a batch reads besides its job; it is fixed
// for a training and read-only.
type batchSource struct {
	smp      sampler.Config
	enc      *embedding.Encoder
	entities int // rows of the entity table
}

// batchInputs is everything that preparing a batch writes: the sampled
// batch, its encoded rows and its de-duplicated entity rows. The phases of
// a batch read them and never write them.
//
// The trainer holds two, the current batch's and the next one's, and swaps
// them by pointer between batches; the next batch is prepared, during the
// current one's update phase, by prepare, which reaches nothing but its own
// batchInputs and the read-only batchSource.
type batchInputs struct {
	job   batchJob
	ready bool // prepared and not yet trained

	rng      rng.RNG           // the negatives' stream
	pos      []embedding.Tuple // the positives
	batch    sampler.Batch
	groups   int
	invBatch float32    // 1 / samples
	eRows    []int32    // per group: entity row
	ipRows   []int32    // per sample: MaxLevels prefix rows
	nLv      []uint8    // per sample: rows used in ipRows
	ent      sparseRows // the entity rows, de-duplicated
}

// newBatchInputs returns batch inputs for up to p positives of src.
func newBatchInputs(src *batchSource, p int) *batchInputs {
	s := p * src.smp.GroupSize()
	return &batchInputs{
		pos:    make([]embedding.Tuple, 0, p),
		eRows:  make([]int32, p),
		ipRows: make([]int32, s*embedding.MaxLevels),
		nLv:    make([]uint8, s),
		ent:    newSparseRows(src.entities),
	}
}

// prepare builds the batch of job: it samples the negatives, de-duplicates
// the entity rows (releasing those of the batch prepared here before) and
// encodes the addresses. The IP rows are de-duplicated later, by the
// forward phase.
func (in *batchInputs) prepare(src *batchSource, job batchJob) {
	in.job = job
	in.rng.Seed(job.seed, job.stream)
	in.pos = in.pos[:0]
	for i := job.lo; i < job.hi; i++ {
		in.pos = append(in.pos, job.src.At(i))
	}
	src.smp.Fill(&in.batch, in.pos, job.src, &in.rng)
	in.groups = len(in.pos)
	in.invBatch = 1 / float32(in.groups*src.smp.GroupSize())
	e := &in.ent
	e.reset()
	for g, h := range in.batch.Entities {
		r := int32(embedding.Bucket(h, src.entities))
		in.eRows[g] = r
		e.ref(r, int32(g))
	}
	e.build()
	const ml = embedding.MaxLevels
	for i, a := range in.batch.Addrs {
		in.nLv[i] = uint8(src.enc.Encode(in.ipRows[i*ml:(i+1)*ml], a))
	}
	in.ready = true
}

// preparedFor reports whether in holds the prepared, not yet trained batch
// of job.
func (in *batchInputs) preparedFor(job batchJob) bool {
	return in.ready && in.job == job
}

// sampleRows returns the prefix rows of sample i.
func (in *batchInputs) sampleRows(i int) []int32 {
	const ml = embedding.MaxLevels
	return in.ipRows[i*ml : i*ml+int(in.nLv[i])]
}

// sparseRows de-duplicates the rows of one embedding table touched by a
// batch. slot has one entry per table row (-1 when unused in this batch).
type sparseRows struct {
	slot []int32
	uniq []int32 // rows in order of first use
	off  []int32 // list of uniq[j] is refs[off[j]:off[j+1]]
	refs []int32 // group or sample indices
	cnt  []int32
	tmp  []int32 // (row) per reference, in batch order
	who  []int32 // (group or sample) per reference
}

func newSparseRows(rows int) sparseRows {
	s := sparseRows{slot: make([]int32, rows)}
	for i := range s.slot {
		s.slot[i] = -1
	}
	return s
}

// newShards returns n sparseRows sharing one slot table of rows entries;
// they must never be given the same row.
func newShards(n, rows int) []sparseRows {
	sh := make([]sparseRows, n)
	sh[0] = newSparseRows(rows)
	for k := 1; k < n; k++ {
		sh[k].slot = sh[0].slot
	}
	return sh
}

func (s *sparseRows) reset() {
	for _, r := range s.uniq {
		s.slot[r] = -1
	}
	s.uniq, s.cnt, s.tmp, s.who = s.uniq[:0], s.cnt[:0], s.tmp[:0], s.who[:0]
}

// ref records that unit (a group or a sample) touches row.
func (s *sparseRows) ref(row, unit int32) {
	j := s.slot[row]
	if j < 0 {
		j = int32(len(s.uniq))
		s.slot[row] = j
		s.uniq = append(s.uniq, row)
		s.cnt = append(s.cnt, 0)
	}
	s.cnt[j]++
	s.tmp = append(s.tmp, j)
	s.who = append(s.who, unit)
}

// firstUseAt returns the first row (index into uniq) whose first reference
// is unit u or later; rows are in order of first use, so this is the
// number of rows first used before u. It needs build.
func (s *sparseRows) firstUseAt(u int32) int {
	lo, hi := 0, len(s.uniq)
	for lo < hi {
		j := int(uint(lo+hi) >> 1)
		if s.refs[s.off[j]] < u {
			lo = j + 1
		} else {
			hi = j
		}
	}
	return lo
}

// build lays the references out row by row, keeping batch order in a row.
func (s *sparseRows) build() {
	n := len(s.uniq)
	s.off = growInt32(s.off, n+1)
	s.off[0] = 0
	for j := 0; j < n; j++ {
		s.off[j+1] = s.off[j] + s.cnt[j]
	}
	s.refs = growInt32(s.refs, len(s.tmp))
	copy(s.cnt, s.off[:n]) // reuse cnt as the fill cursor
	for k, j := range s.tmp {
		s.refs[s.cnt[j]] = s.who[k]
		s.cnt[j]++
	}
}

// refsOf returns the units that touch uniq[j], in batch order. It needs
// build.
func (s *sparseRows) refsOf(j int) []int32 {
	return s.refs[s.off[j]:s.off[j+1]]
}

func growInt32(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n, n+n/4)
	}
	return s[:n]
}
