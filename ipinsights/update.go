package ipinsights

import (
	"math"

	"github.com/ipinsights/ipinsights-go/internal/f32"
)

// optimizer holds the state of the optimiser, Adam (as SageMaker) or SGD,
// and applies its step to one parameter row at a time. Embedding rows are
// updated lazily: only the rows that a batch touched.
type optimizer struct {
	// Adam's moments, nil for sgd. The moments of an embedding row lie
	// side by side, first m then v (2*d floats a row), so that a touched
	// row costs one memory region.
	entMV, ipMV []float32
	lyM, lyV    []layer

	lr, decay float64
	step      int
	adam      f32.Adam // the constants of the current step
	sgdLR, wd float32
}

func newOptimizer(m *Model) optimizer {
	cfg := m.cfg
	o := optimizer{
		lr: cfg.LearningRate, decay: cfg.WeightDecay,
		sgdLR: float32(cfg.LearningRate), wd: float32(cfg.WeightDecay),
	}
	if cfg.Optimizer == "adam" {
		d := m.dim
		o.entMV = make([]float32, 2*len(m.entity))
		o.ipMV = make([]float32, 2*len(m.ip))
		adviseHugePages(o.entMV)
		adviseHugePages(o.ipMV)
		for range m.layers {
			o.lyM = append(o.lyM, layer{w: make([]float32, d*d), b: make([]float32, d)})
			o.lyV = append(o.lyV, layer{w: make([]float32, d*d), b: make([]float32, d)})
		}
	}
	return o
}

// beginStep starts an optimiser step.
func (o *optimizer) beginStep() {
	o.step++
	if o.entMV != nil {
		o.adam = f32.AdamStep(o.step, o.lr, 0.9, 0.999, 1e-8, o.decay)
	}
}

// moments returns the Adam moments of row r of the entity or the IP table,
// m then v; nil for sgd.
func (o *optimizer) moments(entity bool, r, d int) []float32 {
	mv := o.ipMV
	if entity {
		mv = o.entMV
	}
	if mv == nil {
		return nil
	}
	return mv[2*r*d : 2*(r+1)*d]
}

// updateRow applies the step to the embedding row p, of moments mv, with
// gradient g.
func (o *optimizer) updateRow(p, mv, g []float32) {
	if mv == nil {
		f32.SGDUpdate(p, g, o.sgdLR, o.wd)
		return
	}
	d := len(p)
	o.adam.Update(p, mv[:d], mv[d:], g)
}

// updateDense applies the step to row r of dense layer l, ly, with gradient
// gw for the row's weights and gb for its bias. Biases take no weight decay.
func (o *optimizer) updateDense(ly layer, l, r int, gw []float32, gb float32) {
	d := len(gw)
	wrow := ly.w[r*d : (r+1)*d]
	if o.entMV == nil {
		f32.SGDUpdate(wrow, gw, o.sgdLR, o.wd)
		ly.b[r] -= o.sgdLR * gb
		return
	}
	o.adam.Update(wrow, o.lyM[l].w[r*d:(r+1)*d], o.lyV[l].w[r*d:(r+1)*d], gw)
	a := o.adam
	mb := &o.lyM[l].b[r]
	vb := &o.lyV[l].b[r]
	*mb = a.Beta1**mb + (1-a.Beta1)*gb
	*vb = a.Beta2**vb + (1-a.Beta2)*gb*gb
	ly.b[r] -= a.LR * *mb / (float32(math.Sqrt(float64(*vb))) + a.Eps)
}

// denseRows is how many rows of a dense layer the update phase takes at a
// time: the gradients of a block of the last layer's rows are one
// matrix-matrix product (f32.MatTMul).
const denseRows = 6

// updateBlock runs items lo to hi of the update phase on worker w: item
// l*d + r, below the dense layers' rows L*d, is row r of dense layer l; the
// items from L*d on are those of planUpdate.
func (t *trainer) updateBlock(w, lo, hi int) {
	if nd := t.L * t.d; lo < nd {
		t.denseBlock(w, lo, min(hi, nd))
		lo = nd
	}
	if lo < hi {
		t.sparseBlock(w, lo, hi)
	}
}

// denseBlock runs items lo to hi of the update phase, rows of the dense
// layers, on worker w: item l*d + r is row r of dense layer l. lo is a
// multiple of denseRows, or the first row of a layer.
func (t *trainer) denseBlock(w, lo, hi int) {
	d := t.d
	sc := &t.scr[w]
	for i := lo; i < hi; {
		l, r := i/d, i%d
		if l < t.L-1 {
			gb := t.denseGrad(sc.grad, sc.coef, l, r)
			t.opt.updateDense(t.m.layers[l], l, r, sc.grad, gb)
			i++
			continue
		}
		// Rows r to r+n of the last layer, computed as a whole block (those
		// past the layer's end are not used; see newForwardOut).
		n := hi - i
		rows := min(denseRows, d)
		t.lastGrads(sc.grads[:rows*d], r, r+rows)
		gbs := t.lastBiasGrads(sc.coef, r, n)
		for k := range n {
			t.opt.updateDense(t.m.layers[l], l, r+k, sc.grads[k*d:(k+1)*d], gbs[k])
		}
		i += n
	}
}

// lastGrads sets dst to the gradients of the weights of rows r0 to r1 of
// the last dense layer: row r sums e_g[r] xbar_g over the groups g in batch
// order, the rows together as one product of the batch's entity rows
// (gathered by the forward phase) and their xbar.
func (t *trainer) lastGrads(dst []float32, r0, r1 int) {
	d, groups := t.d, t.cur.groups
	f32.MatTMul(dst, t.fw.e[r0:(groups-1)*d+r1], d, t.fw.xbar[:groups*d], groups)
}

// lastBiasGrads returns the gradients of the biases of rows r to r+n (n at
// most denseRows) of the last dense layer, each the sum of e_g[r] gsum_g
// over the groups in batch order, in the first n floats of coef, which is
// scratch space of denseRows floats a group: it gathers the n columns of
// the groups' entity rows in one pass, then takes a dot product a row.
func (t *trainer) lastBiasGrads(coef []float32, r, n int) []float32 {
	d, groups := t.d, t.cur.groups
	fw := &t.fw
	for g := range groups {
		e := fw.e[g*d+r : g*d+r+n]
		for k, v := range e {
			coef[k*groups+g] = v
		}
	}
	gbs := coef[n*groups : n*groups+n]
	for k := range n {
		gbs[k] = f32.Dot(fw.gsum[:groups], coef[k*groups:(k+1)*groups])
	}
	return gbs
}

// denseGrad sets dst to the gradient of the weights of row r of hidden
// dense layer l (not the last) and returns that of its bias. Every row sums
// over the samples in batch order.
func (t *trainer) denseGrad(dst, coef []float32, l, r int) float32 {
	d := t.d
	in, fw := t.cur, &t.fw
	clear(dst)
	x := fw.xs
	if l > 0 {
		x = fw.acts[l-1]
	}
	dz := fw.deltas[l]
	var gb float32
	for i := range in.groups * t.K {
		if v := dz[i*d+r]; v != 0 {
			f32.Axpy(dst, v, x[i*d:(i+1)*d])
			gb += v
		}
	}
	return gb
}

// sparseSeg is a run of items of the update phase: items from item on are
// rows j0, j0+1, ... of rows.
type sparseSeg struct {
	item, j0, n int
	rows        *sparseRows
	entity      bool // rows of the entity table, else of the IP table
}

// planUpdate numbers the items of the update phase and cuts them into the
// workers' ranges. The rows of the dense layers come first, items 0 to
// L*d, at the start of worker 0's range. Then come the touched embedding
// rows: worker w's range holds those whose first use lies in its share of
// the groups in the forward phase (forwardCuts), table by table: the rows a
// worker loaded and whose gradients it wrote in the forward phase are then
// likely still in its own cache.
//
// The last worker, usually the last to start, first prepares the next
// batch, while worker 0 updates the dense rows: both are serial work of a
// similar time with one layer, and the dense rows alone gain nothing from
// being split over two cores, each of which would then read the other's
// half of the batch's entity rows and gradients. The others take over a
// worker's items when they finish theirs first.
func (t *trainer) planUpdate() {
	t.segs = t.segs[:0]
	item := t.L * t.d
	t.aheadItem = -1
	for w := range t.workers {
		if w > 0 {
			t.cuts[w] = item
		}
		if w == t.workers-1 && t.ahead.positives() > 0 {
			t.aheadItem = item
			item++
		}
		g0, g1 := t.groupCut(w), t.groupCut(w+1)
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
	t.cuts[0] = 0
	t.cuts[t.workers] = item
}

// The update phase takes embedding rows in blocks of spBlock (denseRows
// with dense layers), and a worker starts loading the row spAhead after the
// current one, and its moments: rows are spread over hundreds of megabytes,
// so each is a cache miss. Prefetching stays within the block (the first
// rows are prefetched when the block is taken) so that the rows land in the
// cache of the worker that updates them, not in the other worker's, which
// then has them written back.
const (
	spBlock = 8
	spAhead = 2
)

// sparseBlock runs items lo to hi of the update phase, from L*d on, on
// worker w.
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

// prefetchSparse starts loading the parameter row and moments of an item
// of the update phase (not a dense row).
func (t *trainer) prefetchSparse(item int) {
	if item == t.aheadItem {
		return
	}
	row, entity, _ := t.sparseTarget(item)
	p, mv := t.rowState(row, entity)
	f32.Prefetch(p)
	f32.Prefetch(mv)
}

// sparseRow sums the gradient of the embedding row of an item of the
// update phase and applies the optimiser to it.
func (t *trainer) sparseRow(w, item int) {
	row, entity, refs := t.sparseTarget(item)
	gr := t.scr[w].grad
	t.sparseGrad(gr, entity, refs)
	p, mv := t.rowState(row, entity)
	t.opt.updateRow(p, mv, gr)
}

// sparseTarget returns, for an item of the update phase, the row it
// updates, in the entity table or the IP table, and the groups (entity) or
// samples (IP) that touch the row, in batch order.
func (t *trainer) sparseTarget(item int) (row int, entity bool, refs []int32) {
	k := 0
	for k+1 < len(t.segs) && item >= t.segs[k+1].item {
		k++
	}
	sg := &t.segs[k]
	j := sg.j0 + item - sg.item
	return int(sg.rows.uniq[j]), sg.entity, sg.rows.refsOf(j)
}

// rowState returns the parameters and the Adam moments (nil for sgd) of a
// row of the entity or the IP table.
func (t *trainer) rowState(row int, entity bool) (p, mv []float32) {
	d := t.d
	table := t.m.ip
	if entity {
		table = t.m.entity
	}
	return table[row*d : (row+1)*d], t.opt.moments(entity, row, d)
}

// sparseGrad sets dst to the gradient of an embedding row of the entity or
// the IP table touched by refs, summed in batch order.
func (t *trainer) sparseGrad(dst []float32, entity bool, refs []int32) {
	d := t.d
	fw := &t.fw
	clear(dst)
	if entity {
		dE := fw.dE
		if t.L == 0 {
			dE = fw.xbar // the entity gradient of a group without layers
		}
		for _, g := range refs {
			f32.Add(dst, dE[int(g)*d:(int(g)+1)*d])
		}
		return
	}
	for _, i := range refs {
		if t.L >= 2 {
			f32.Add(dst, fw.dXs[int(i)*d:(int(i)+1)*d])
		} else {
			g := int(i) / t.K
			f32.Axpy(dst, fw.gs[i], fw.us[g*d:(g+1)*d])
		}
	}
}
