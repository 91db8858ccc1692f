package f32

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
)

func randVec(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// close32 compares with a tolerance relative to the magnitude of the terms
// summed (float32 has 24 bits of mantissa).
func close32(t *testing.T, want float64, got float32, scale float64, msg string) {
	t.Helper()
	assert.InDelta(t, want, float64(got), 1e-5*scale+1e-6, msg)
}

// bothImpls runs f with the assembly kernels (where the CPU has them: AVX2,
// then AVX-512 for the kernels that have such a version) and with the
// pure-Go fallback forced, so that every kernel test covers each.
func bothImpls(t *testing.T, f func(t *testing.T)) {
	saved, saved512 := accel, accel512
	defer func() { accel, accel512 = saved, saved512 }()
	if hasAVX2FMA() {
		accel, accel512 = true, false
		t.Run("asm", f)
		if hasAVX512() {
			accel512 = true
			t.Run("asm512", f)
		}
	}
	accel, accel512 = false, false
	t.Run("go", f)
}

func TestKernelsAgainstFloat64(t *testing.T) { bothImpls(t, testKernelsAgainstFloat64) }

func testKernelsAgainstFloat64(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	// Lengths cover every loop of the assembly: blocks of 32, 8 and the
	// scalar tail; matrices with column counts that are and are not
	// multiples of 8 and 64, row counts that are and are not multiples of 4.
	for _, n := range []int{1, 3, 4, 7, 8, 16, 33, 64, 72, 128, 136, 200} {
		x, y := randVec(r, n), randVec(r, n)
		var dot, scale float64
		for i := range x {
			dot += float64(x[i]) * float64(y[i])
			scale += math.Abs(float64(x[i]) * float64(y[i]))
		}
		close32(t, dot, Dot(x, y), scale, "Dot")

		dst := append([]float32(nil), y...)
		Axpy(dst, 0.5, x)
		for i := range dst {
			close32(t, float64(y[i])+0.5*float64(x[i]), dst[i], 1, "Axpy")
		}
		dst = append([]float32(nil), y...)
		Add(dst, x)
		for i := range dst {
			close32(t, float64(y[i])+float64(x[i]), dst[i], 1, "Add")
		}

		rows := n + 2
		w := randVec(r, rows*n)
		v := randVec(r, rows)
		mv := make([]float32, rows)
		MatVec(mv, w, x)
		mtv := make([]float32, n)
		MatTVec(mtv, w, v)
		for i := 0; i < rows; i++ {
			var s, sc float64
			for j := 0; j < n; j++ {
				s += float64(w[i*n+j]) * float64(x[j])
				sc += math.Abs(float64(w[i*n+j]) * float64(x[j]))
			}
			close32(t, s, mv[i], sc, "MatVec")
		}
		for j := 0; j < n; j++ {
			var s, sc float64
			for i := 0; i < rows; i++ {
				s += float64(w[i*n+j]) * float64(v[i])
				sc += math.Abs(float64(w[i*n+j]) * float64(v[i]))
			}
			close32(t, s, mtv[j], sc, "MatTVec")
		}
	}
}

func TestKernelsPanicOnMismatch(t *testing.T) {
	assert.Panics(t, func() { Dot(make([]float32, 3), make([]float32, 4)) })
	assert.Panics(t, func() { Axpy(make([]float32, 3), 1, make([]float32, 4)) })
	assert.Panics(t, func() { MatVec(make([]float32, 2), make([]float32, 5), make([]float32, 3)) })
}

func TestAdamMatchesTextbook(t *testing.T) { bothImpls(t, testAdamMatchesTextbook) }

func testAdamMatchesTextbook(t *testing.T) {
	// One parameter, three steps, against Kingma and Ba's algorithm 1 in
	// float64 with explicit bias correction.
	const lr, b1, b2, eps, wd = 0.01, 0.9, 0.999, 1e-8, 0.1
	p, m, v := []float32{0.5}, []float32{0}, []float32{0}
	pr, mr, vr := 0.5, 0.0, 0.0
	for step, g := range []float64{0.3, -0.2, 0.05} {
		AdamStep(step+1, lr, b1, b2, eps, wd).Update(p, m, v, []float32{float32(g)})
		gg := g + wd*pr
		mr = b1*mr + (1-b1)*gg
		vr = b2*vr + (1-b2)*gg*gg
		mhat := mr / (1 - math.Pow(b1, float64(step+1)))
		vhat := vr / (1 - math.Pow(b2, float64(step+1)))
		pr -= lr * mhat / (math.Sqrt(vhat) + eps)
		assert.InDelta(t, pr, float64(p[0]), 1e-6, "step %d", step+1)
	}
	q := []float32{1}
	SGDUpdate(q, []float32{2}, 0.1, 0.5)
	assert.InDelta(t, 1-0.1*(2+0.5), float64(q[0]), 1e-7)
}

func TestAdamVectorMatchesScalar(t *testing.T) { bothImpls(t, testAdamVectorMatchesScalar) }

// testAdamVectorMatchesScalar updates vectors whose lengths exercise the
// 8-wide loop and the tail, against the textbook update element by element.
func testAdamVectorMatchesScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const lr, b1, b2, eps, wd = 0.01, 0.9, 0.999, 1e-8, 1e-5
	for _, n := range []int{1, 7, 8, 19, 128} {
		p, m, v := randVec(r, n), randVec(r, n), randVec(r, n)
		for i := range v {
			v[i] = v[i] * v[i] // second moments are non-negative
		}
		g := randVec(r, n)
		p0, m0, v0 := append([]float32(nil), p...), append([]float32(nil), m...), append([]float32(nil), v...)
		const step = 7
		AdamStep(step, lr, b1, b2, eps, wd).Update(p, m, v, g)
		for i := 0; i < n; i++ {
			gg := float64(g[i]) + wd*float64(p0[i])
			mr := b1*float64(m0[i]) + (1-b1)*gg
			vr := b2*float64(v0[i]) + (1-b2)*gg*gg
			mhat := mr / (1 - math.Pow(b1, step))
			vhat := vr / (1 - math.Pow(b2, step))
			pr := float64(p0[i]) - lr*mhat/(math.Sqrt(vhat)+eps)
			assert.InDelta(t, mr, float64(m[i]), 1e-6*(1+math.Abs(mr)), "m[%d] of %d", i, n)
			assert.InDelta(t, vr, float64(v[i]), 1e-6*(1+math.Abs(vr)), "v[%d] of %d", i, n)
			assert.InDelta(t, pr, float64(p[i]), 1e-6*(1+math.Abs(pr)), "p[%d] of %d", i, n)
		}
	}
}

// TestAsmMatchesGo checks that the assembly and the pure-Go kernels agree
// to float32 rounding on the tutorial's shapes (vector_dim 128).
func TestAsmMatchesGo(t *testing.T) {
	if !hasAVX2FMA() {
		t.Skip("CPU without AVX2/FMA: only the pure-Go kernels exist here")
	}
	saved := accel
	defer func() { accel = saved }()
	r := rand.New(rand.NewPCG(5, 6))
	const d = 128
	w, x, y := randVec(r, d*d), randVec(r, d), randVec(r, d)
	run := func(on bool) (float32, []float32, []float32, []float32) {
		accel = on
		a := append([]float32(nil), y...)
		Axpy(a, 0.25, x)
		mv, mtv := make([]float32, d), make([]float32, d)
		MatVec(mv, w, x)
		MatTVec(mtv, w, x)
		return Dot(x, y), a, mv, mtv
	}
	d1, a1, mv1, mtv1 := run(true)
	d2, a2, mv2, mtv2 := run(false)
	assert.InDelta(t, d2, d1, 1e-4)
	assert.InDeltaSlice(t, a2, a1, 1e-6)
	assert.InDeltaSlice(t, mv2, mv1, 1e-3)
	assert.InDeltaSlice(t, mtv2, mtv1, 1e-3)
}

func TestDotSmall(t *testing.T) {
	// 1*4 + 2*(-5) + 3*6 = 12, exact in float32 on either implementation.
	bothImpls(t, func(t *testing.T) {
		if got := Dot([]float32{1, 2, 3}, []float32{4, -5, 6}); got != 12 {
			t.Fatalf("Dot = %v, want 12", got)
		}
	})
}
