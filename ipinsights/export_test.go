package ipinsights

import "github.com/ipinsights/ipinsights-go/embedding"

// Test access to the trainer's internals.

// orderOf returns the pairs ts, in their order, as training orders a
// Dataset's pairs.
func orderOf(ts []embedding.Tuple) *order {
	d := NewDataset()
	d.AddTuples(ts...)
	return newOrder(d)
}

// jobOf returns the batch of positions lo to hi of o.
func jobOf(o *order, lo, hi int, seed, stream uint64) batchJob {
	return batchJob{src: o, lo: lo, hi: hi, seed: seed, stream: stream}
}

// gradCapture holds the gradients of one batch: entity and ip those of the
// embedding tables (zero in the rows the batch does not touch), w and b
// those of the dense layers. Weight decay is not included.
type gradCapture struct {
	entity, ip []float32
	w, b       [][]float32
}

// gradients makes the batch of job the current one and computes its
// gradients as an optimiser step would, without applying them.
func (t *trainer) gradients(job batchJob) *gradCapture {
	t.startBatch(job, batchJob{})
	t.forwardCuts()
	t.pool.run(t.cuts, 2, t.forwardTask)
	d := t.d
	c := &gradCapture{entity: make([]float32, len(t.m.entity)), ip: make([]float32, len(t.m.ip))}
	for l, ly := range t.m.layers {
		c.w = append(c.w, make([]float32, len(ly.w)))
		c.b = append(c.b, make([]float32, len(ly.b)))
		for r := range d {
			if l == t.L-1 { // as denseBlock computes the last layer's rows
				t.lastGrads(c.w[l][r*d:(r+1)*d], r, r+1)
				c.b[l][r] = t.lastBiasGrads(t.scr[0].coef, r, 1)[0]
				continue
			}
			c.b[l][r] = t.denseGrad(c.w[l][r*d:(r+1)*d], t.scr[0].coef, l, r)
		}
	}
	t.planUpdate()
	for item := t.L * d; item < t.cuts[t.workers]; item++ {
		row, entity, refs := t.sparseTarget(item)
		dst := c.ip
		if entity {
			dst = c.entity
		}
		t.sparseGrad(dst[row*d:(row+1)*d], entity, refs)
	}
	return c
}

// ipRowsTouched returns the IP rows of the current batch, once the forward
// phase has de-duplicated them.
func (t *trainer) ipRowsTouched() []int32 {
	var rows []int32
	for k := range t.ipSh {
		rows = append(rows, t.ipSh[k].uniq...)
	}
	return rows
}
