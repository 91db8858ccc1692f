package f32

import "math"

// The kernels below are the float32 inner loops of training and scoring;
// they never allocate. Slices that are written to are named dst. Length
// mismatches are programmer errors and panic.
//
// On amd64 CPUs with AVX2 and FMA the work is done by assembly
// (kernels_amd64.s); everywhere else, and with the purego build tag, by the
// pure-Go loops of this file
// (the *Go functions), which are written with four independent accumulators
// so that the compiler keeps them in registers. Both give the same results up
// to float32 rounding order; each is deterministic.

// Dot returns the dot product of x and y, which must have equal lengths.
func Dot(x, y []float32) float32 {
	if len(x) != len(y) {
		panic("f32: Dot length mismatch")
	}
	if accel {
		return dotAVX2(x, y)
	}
	return dotGo(x, y)
}

func dotGo(x, y []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		xs, ys := x[i:i+4:i+4], y[i:i+4:i+4]
		s0 += xs[0] * ys[0]
		s1 += xs[1] * ys[1]
		s2 += xs[2] * ys[2]
		s3 += xs[3] * ys[3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// Axpy adds a*x to dst.
func Axpy(dst []float32, a float32, x []float32) {
	if len(dst) != len(x) {
		panic("f32: Axpy length mismatch")
	}
	if accel {
		axpyAVX2(dst, a, x)
		return
	}
	axpyGo(dst, a, x)
}

func axpyGo(dst []float32, a float32, x []float32) {
	i := 0
	for ; i+4 <= len(x); i += 4 {
		d, xs := dst[i:i+4:i+4], x[i:i+4:i+4]
		d[0] += a * xs[0]
		d[1] += a * xs[1]
		d[2] += a * xs[2]
		d[3] += a * xs[3]
	}
	for ; i < len(x); i++ {
		dst[i] += a * x[i]
	}
}

// Add adds x to dst element-wise.
func Add(dst, x []float32) {
	if len(dst) != len(x) {
		panic("f32: Add length mismatch")
	}
	if accel {
		addAVX2(dst, x)
		return
	}
	addGo(dst, x)
}

func addGo(dst, x []float32) {
	i := 0
	for ; i+4 <= len(x); i += 4 {
		d, xs := dst[i:i+4:i+4], x[i:i+4:i+4]
		d[0] += xs[0]
		d[1] += xs[1]
		d[2] += xs[2]
		d[3] += xs[3]
	}
	for ; i < len(x); i++ {
		dst[i] += x[i]
	}
}

// ScaleTo sets dst to a*x.
func ScaleTo(dst []float32, a float32, x []float32) {
	if len(dst) != len(x) {
		panic("f32: ScaleTo length mismatch")
	}
	for i, v := range x {
		dst[i] = a * v
	}
}

// MatVec sets dst = W x for a row-major matrix W of len(dst) rows and len(x)
// columns.
func MatVec(dst, w, x []float32) {
	n := len(x)
	if len(w) != len(dst)*n {
		panic("f32: MatVec shape mismatch")
	}
	if accel && n%8 == 0 {
		matVecAVX2(dst, w, x)
		return
	}
	for r := range dst {
		dst[r] = Dot(w[r*n:(r+1)*n], x)
	}
}

// MatTVec sets dst = W^T x for a row-major matrix W of len(x) rows and
// len(dst) columns.
func MatTVec(dst, w, x []float32) {
	n := len(dst)
	if len(w) != len(x)*n {
		panic("f32: MatTVec shape mismatch")
	}
	if accel && n%8 == 0 {
		matTVecAVX2(dst, w, x)
		return
	}
	clear(dst)
	for r, a := range x {
		if a != 0 {
			Axpy(dst, a, w[r*n:(r+1)*n])
		}
	}
}

// Adam holds the constants of one Adam step (Kingma and Ba 2015) with an L2
// penalty folded into the gradient, as SageMaker's weight_decay is.
type Adam struct {
	LR          float32 // learning rate, already bias-corrected for this step
	Beta1       float32
	Beta2       float32
	Eps         float32
	WeightDecay float32
}

// AdamStep returns the constants of step t (1-based) for learning rate lr.
// The bias corrections of both moments are folded into the step size and the
// epsilon, which is exact: lr*mhat/(sqrt(vhat)+eps) = lr*c2/c1 * m/(sqrt(v)+eps*c2)
// with c1 = 1-beta1^t and c2 = sqrt(1-beta2^t).
func AdamStep(t int, lr, beta1, beta2, eps, wd float64) Adam {
	c1 := 1 - math.Pow(beta1, float64(t))
	c2 := math.Sqrt(1 - math.Pow(beta2, float64(t)))
	return Adam{
		LR:          float32(lr * c2 / c1),
		Beta1:       float32(beta1),
		Beta2:       float32(beta2),
		Eps:         float32(eps * c2),
		WeightDecay: float32(wd),
	}
}

// Update applies one Adam step to the parameters p with moments m and v and
// gradient g (all of equal length). g is left unchanged.
func (a Adam) Update(p, m, v, g []float32) {
	if len(m) != len(p) || len(v) != len(p) || len(g) != len(p) {
		panic("f32: Adam.Update length mismatch")
	}
	if accel && len(p) >= 8 {
		n := len(p) &^ 7
		c := [8]float32{a.LR, a.Beta1, a.Beta2, a.Eps, a.WeightDecay, 1 - a.Beta1, 1 - a.Beta2}
		adamAVX2(p[:n], m[:n], v[:n], g[:n], &c)
		p, m, v, g = p[n:], m[n:], v[n:], g[n:]
	}
	a.updateGo(p, m, v, g)
}

func (a Adam) updateGo(p, m, v, g []float32) {
	b1, b2 := a.Beta1, a.Beta2
	c1, c2 := 1-b1, 1-b2
	for i := range p {
		gi := g[i] + a.WeightDecay*p[i]
		mi := b1*m[i] + c1*gi
		vi := b2*v[i] + c2*gi*gi
		m[i], v[i] = mi, vi
		p[i] -= a.LR * mi / (float32(math.Sqrt(float64(vi))) + a.Eps)
	}
}

// SGDUpdate applies one plain gradient step with L2 penalty wd to p.
func SGDUpdate(p, g []float32, lr, wd float32) {
	if len(g) != len(p) {
		panic("f32: SGDUpdate length mismatch")
	}
	for i := range p {
		p[i] -= lr * (g[i] + wd*p[i])
	}
}

// Accelerated reports whether the kernels run as AVX2/FMA assembly (true) or
// as pure Go.
func Accelerated() bool { return accel }
