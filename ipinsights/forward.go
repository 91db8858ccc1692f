package ipinsights

import (
	"math"

	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/internal/f32"
)

// forwardOut holds what the forward phase computes for a batch, per group or
// per sample, for the update phase to sum.
type forwardOut struct {
	e     []float32 // per group: the entity row (with layers only)
	us    []float32 // per group: W_last^T e (e itself without layers)
	cs    []float32 // per group: e.b_last (0 without layers)
	gs    []float32 // per sample: dLoss/dscore
	xbar  []float32 // per group: sum over samples of gs * (last layer input)
	gsum  []float32 // per group: sum of gs
	dE    []float32 // per group: gradient wrt the entity row (nil without layers: xbar is)
	lossG []float64 // per group: summed cross-entropy
	corrG []int32   // per group: correctly classified samples

	// Only with 2+ layers, per sample:
	xs     []float32   // prefix sum x, the input of the first layer
	acts   [][]float32 // per hidden layer: its output
	deltas [][]float32 // per hidden layer: gradient wrt its pre-activation
	dXs    []float32   // gradient wrt x
}

// newForwardOut sizes the forward phase's outputs for p positives of k
// samples, vector_dim d and the given encoder layers.
func newForwardOut(p, k, d, layers int) forwardOut {
	s := p * k
	// The projections and entity rows have room for whole blocks of
	// groupBlock groups, and one row more: the products of a block always
	// take groupBlock rows (those past the batch's groups are computed and
	// not used), and the weight gradients of the last rows of W read a few
	// columns past the last group's row (lastGrads).
	pb := (p+groupBlock-1)/groupBlock*groupBlock + 1
	f := forwardOut{
		us:    make([]float32, pb*d),
		cs:    make([]float32, p),
		gs:    make([]float32, s),
		xbar:  make([]float32, p*d),
		gsum:  make([]float32, p),
		lossG: make([]float64, p),
		corrG: make([]int32, p),
	}
	if layers > 0 {
		f.e = make([]float32, pb*d)
		f.dE = make([]float32, p*d)
	}
	if layers >= 2 {
		f.xs = make([]float32, s*d)
		f.dXs = make([]float32, s*d)
		f.acts = make([][]float32, layers-1)
		f.deltas = make([][]float32, layers-1)
		for l := range f.acts {
			f.acts[l] = make([]float32, s*d)
			f.deltas[l] = make([]float32, s*d)
		}
	}
	return f
}

// groupBlock is how many groups the forward phase takes at a time: the
// dense layer's products for a block are one matrix-matrix product each
// (f32.MatMul, f32.MatMulT), whose kernel works on six rows at once.
const groupBlock = 6

// forwardCuts gives each worker an equal share of the blocks of groups, in
// batch order; worker 0's range begins with the de-duplication of the IP
// shards.
func (t *trainer) forwardCuts() {
	ns := len(t.ipSh)
	t.cuts[0] = 0
	for w := 1; w <= t.workers; w++ {
		t.cuts[w] = ns + (t.groupCut(w)+groupBlock-1)/groupBlock
	}
}

// groupCut returns the first group of worker w's share in the forward
// phase (the number of groups for w = workers), a whole number of blocks.
func (t *trainer) groupCut(w int) int {
	blocks := (t.cur.groups + groupBlock - 1) / groupBlock
	return min(t.cur.groups, w*blocks/t.workers*groupBlock)
}

// forwardBlock runs items lo to hi of the forward phase on worker w: shard
// k is item k, block b of groupBlock groups item len(ipSh)+b. The IP rows
// are de-duplicated here, while other workers already compute groups,
// rather than in a phase of their own: with a single large shard (the IPv4
// /16 encoder alone) that phase would run on one worker while the others
// wait.
func (t *trainer) forwardBlock(w, lo, hi int) {
	ns := len(t.ipSh)
	for k := lo; k < hi; k++ {
		if k < ns {
			t.dedupShard(k)
			continue
		}
		g0 := (k - ns) * groupBlock
		t.forward(w, g0, min(g0+groupBlock, t.cur.groups))
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

// forward computes the scores, loss and gradients of groups g0 to g1 on
// worker w: the projections of the groups' entity rows, then each sample's
// score, loss and dLoss/dscore, then the gradients wrt the entity rows and,
// with 2+ layers, wrt each sample's prefix sum. It reads the parameters
// and the batch's inputs, and writes only the groups' and their samples'
// slots of t.fw.
func (t *trainer) forward(w, g0, g1 int) {
	d, K := t.d, t.K
	fw := &t.fw
	sc := &t.scr[w]
	// Start loading the groups' prefix rows, which are spread over hundreds
	// of megabytes, before the projection below keeps the CPU busy.
	for g := g0; g < g1; g++ {
		t.prefetchGroup(g)
	}
	t.project(g0, g1)
	invBatch := t.cur.invBatch
	for g := g0; g < g1; g++ {
		u, c := fw.us[g*d:(g+1)*d], fw.cs[g]
		xb := fw.xbar[g*d : (g+1)*d]
		clear(xb)
		var gsum float32
		loss := groupLoss{prod: 1}
		for k := 0; k < K; k++ {
			i := g*K + k
			h := t.lastInput(sc, i)
			gi := float32(loss.add(float64(f32.Dot(u, h)+c), k == 0)) * invBatch
			fw.gs[i] = gi
			f32.Axpy(xb, gi, h)
			gsum += gi
		}
		fw.gsum[g] = gsum
		fw.lossG[g] = loss.total()
		fw.corrG[g] = loss.correct
	}
	if t.L >= 1 {
		t.backwardEntity(g0, g1)
	}
	if t.L >= 2 {
		for g := g0; g < g1; g++ {
			t.backwardHidden(sc, g, fw.us[g*d:(g+1)*d])
		}
	}
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

// project sets, for the entity row e of each group g0 to g1, u = W_last^T e
// and c = e.b_last (u = e and c = 0 without layers), so that a sample's
// score is u.h + c, h the input of the last layer. u and c are the groups'
// slots of t.fw.us and t.fw.cs; with layers, the entity rows are gathered
// into t.fw.e, for one product over the block and for the dense rows' gradients.
func (t *trainer) project(g0, g1 int) {
	d := t.d
	fw := &t.fw
	dst := fw.e
	if t.L == 0 {
		dst = fw.us
	}
	for g := g0; g < g1; g++ {
		er := int(t.cur.eRows[g])
		copy(dst[g*d:(g+1)*d], t.m.entity[er*d:(er+1)*d])
	}
	if t.L == 0 {
		clear(fw.cs[g0:g1])
		return
	}
	last := t.m.layers[t.L-1]
	// A whole block, also when the batch ends before it (see newForwardOut).
	f32.MatMul(fw.us[g0*d:(g0+groupBlock)*d], fw.e[g0*d:(g0+groupBlock)*d], last.w, d)
	for g := g0; g < g1; g++ {
		fw.cs[g] = f32.Dot(fw.e[g*d:(g+1)*d], last.b)
	}
}

// lastInput returns the input of the last layer for sample i (the IP vector
// itself without layers): the sum of the sample's prefix rows, through the
// hidden layers. With 2+ layers the sum and the hidden layers' outputs are
// kept in t.fw for the backward pass; otherwise the sum is in the worker's
// scratch, or is the sample's single prefix row itself.
func (t *trainer) lastInput(sc *workerScratch, i int) []float32 {
	d, L := t.d, t.L
	ip := t.m.ip
	rows := t.cur.sampleRows(i)
	r0 := int(rows[0])
	x := ip[r0*d : (r0+1)*d]
	if L >= 2 || len(rows) > 1 {
		x = sc.x
		if L >= 2 {
			x = t.fw.xs[i*d : (i+1)*d]
		}
		copy(x, ip[r0*d:(r0+1)*d])
		for _, r := range rows[1:] {
			f32.Add(x, ip[int(r)*d:(int(r)+1)*d])
		}
	}
	h := x
	for l := 0; l+1 < L; l++ {
		a := t.fw.acts[l][i*d : (i+1)*d]
		denseReLU(a, t.m.layers[l], h)
		h = a
	}
	return h
}

// groupLoss sums the cross-entropy and the correct classifications of a
// group's samples. The cross-entropy of a sample is softplus(-s) for the
// positive and softplus(s) for a negative, max(±s, 0) + log1p(exp(-|s|));
// the exponential is shared with the sigmoid, and the log1p terms of the
// group are summed as one log of their product (each factor is in [1, 2],
// so the product cannot overflow). prod must start at 1.
type groupLoss struct {
	relu    float64
	prod    float64
	correct int32
}

// add records a sample of score s (log-odds) and returns dLoss/ds,
// sigmoid(s) - label.
func (l *groupLoss) add(s float64, positive bool) float64 {
	ex := math.Exp(-math.Abs(s))
	p := 1 / (1 + ex) // sigmoid(s)
	if s < 0 {
		p = ex / (1 + ex)
	}
	l.prod *= 1 + ex
	label := 0.0
	if positive {
		label = 1
		l.relu += max(-s, 0)
	} else {
		l.relu += max(s, 0)
	}
	if (s > 0) == positive {
		l.correct++
	}
	return p - label
}

// total returns the summed cross-entropy of the samples added.
func (l *groupLoss) total() float64 {
	return l.relu + math.Log(l.prod)
}

// backwardEntity sets the gradients of groups g0 to g1 wrt their entity
// rows, W_last xbar + gsum b_last, given the groups' xbar and gsum (with
// layers only; without, the gradient is xbar itself).
func (t *trainer) backwardEntity(g0, g1 int) {
	d := t.d
	fw := &t.fw
	last := t.m.layers[t.L-1]
	f32.MatMulT(fw.dE[g0*d:g1*d], fw.xbar[g0*d:g1*d], last.w, d)
	for g := g0; g < g1; g++ {
		f32.Axpy(fw.dE[g*d:(g+1)*d], fw.gsum[g], last.b)
	}
}

// backwardHidden takes the gradient of each sample of group g from the
// input of the last layer (gs * u, u the group's projection) down through
// the hidden layers to the prefix sum (t.fw.dXs), keeping each hidden
// layer's delta for the dense rows' gradients. It needs 2+ layers.
func (t *trainer) backwardHidden(sc *workerScratch, g int, u []float32) {
	d, K := t.d, t.K
	fw := &t.fw
	for i := g * K; i < (g+1)*K; i++ {
		dh, tmp := sc.dh, sc.tmp
		f32.ScaleTo(dh, fw.gs[i], u)
		for l := t.L - 2; l >= 0; l-- {
			a := fw.acts[l][i*d : (i+1)*d]
			dz := fw.deltas[l][i*d : (i+1)*d]
			for j := range dz {
				if a[j] > 0 {
					dz[j] = dh[j]
				} else {
					dz[j] = 0
				}
			}
			out := tmp
			if l == 0 {
				out = fw.dXs[i*d : (i+1)*d]
			}
			f32.MatTVec(out, t.m.layers[l].w, dz)
			dh, tmp = out, dh
		}
	}
}
