package f32

import (
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// The kernel benchmarks run at the tutorial's vector_dim (128) with three
// implementations: the assembly (asm), the pure-Go fallback (go) and
// gonum's blas32 (gonum), which the project could have used instead.
// Compare them with benchstat, e.g.
//
//	go test ./internal/f32 -run XXX -bench Kernel -count 6 > k.txt && benchstat -col /impl k.txt

const benchDim = 128

func benchImpls(b *testing.B, own func(b *testing.B), gonum func(b *testing.B)) {
	saved := accel
	defer func() { accel = saved }()
	if hasAVX2FMA() {
		accel = true
		b.Run("impl=asm", own)
	}
	accel = false
	b.Run("impl=go", own)
	b.Run("impl=gonum", gonum)
}

func benchVecs() (w, x, y []float32) {
	r := rand.New(rand.NewPCG(1, 1))
	return randVec(r, benchDim*benchDim), randVec(r, benchDim), randVec(r, benchDim)
}

var sink float32

func BenchmarkKernelDot(b *testing.B) {
	_, x, y := benchVecs()
	vx, vy := blas32.Vector{N: benchDim, Inc: 1, Data: x}, blas32.Vector{N: benchDim, Inc: 1, Data: y}
	benchImpls(b, func(b *testing.B) {
		for b.Loop() {
			sink += Dot(x, y)
		}
	}, func(b *testing.B) {
		for b.Loop() {
			sink += blas32.Dot(vx, vy)
		}
	})
}

func BenchmarkKernelAxpy(b *testing.B) {
	_, x, y := benchVecs()
	vx, vy := blas32.Vector{N: benchDim, Inc: 1, Data: x}, blas32.Vector{N: benchDim, Inc: 1, Data: y}
	benchImpls(b, func(b *testing.B) {
		for b.Loop() {
			Axpy(y, 1e-3, x)
		}
	}, func(b *testing.B) {
		for b.Loop() {
			blas32.Axpy(1e-3, vx, vy)
		}
	})
}

func BenchmarkKernelMatVec(b *testing.B)  { benchGemv(b, blas.NoTrans, MatVec) }
func BenchmarkKernelMatTVec(b *testing.B) { benchGemv(b, blas.Trans, MatTVec) }

// benchGemv times a 128x128 matrix-vector kernel against gonum's Gemv with
// the same transposition.
func benchGemv(b *testing.B, tr blas.Transpose, own func(dst, w, x []float32)) {
	w, x, y := benchVecs()
	gw := blas32.General{Rows: benchDim, Cols: benchDim, Stride: benchDim, Data: w}
	vx, vy := blas32.Vector{N: benchDim, Inc: 1, Data: x}, blas32.Vector{N: benchDim, Inc: 1, Data: y}
	benchImpls(b, func(b *testing.B) {
		for b.Loop() {
			own(y, w, x)
		}
	}, func(b *testing.B) {
		for b.Loop() {
			blas32.Gemv(tr, 1, gw, vx, 0, vy)
		}
	})
}

// BenchmarkKernelAdam updates one 128-float row, restarting every
// iteration from the same parameters and moments (so that repeated steps do
// not drift into other number ranges; the copies cost every column alike).
// gonum has no Adam; its column runs the pure-Go step with the first moment
// updated by blas32 (Scal and Axpy), the nearest it offers.
func BenchmarkKernelAdam(b *testing.B) {
	_, g, p0 := benchVecs()
	m0, v0 := make([]float32, benchDim), make([]float32, benchDim)
	for i := range m0 {
		m0[i], v0[i] = 0.1*g[i], 0.01*g[i]*g[i]
	}
	p, m, v := make([]float32, benchDim), make([]float32, benchDim), make([]float32, benchDim)
	reset := func() { copy(p, p0); copy(m, m0); copy(v, v0) }
	a := AdamStep(10, 0.01, 0.9, 0.999, 1e-8, 1e-5)
	benchImpls(b, func(b *testing.B) {
		for b.Loop() {
			reset()
			a.Update(p, m, v, g)
		}
	}, func(b *testing.B) {
		vm, vg := blas32.Vector{N: benchDim, Inc: 1, Data: m}, blas32.Vector{N: benchDim, Inc: 1, Data: g}
		for b.Loop() {
			reset()
			blas32.Scal(a.Beta1, vm)
			blas32.Axpy(1-a.Beta1, vg, vm)
			a.updateGo(p, m, v, g) // second moment and step: no BLAS equivalent
		}
	})
}

// The batch benchmarks time the three products of a one-layer batch of the
// tutorial configuration (143 groups, vector_dim 128): the projections
// U = E W, the entity gradients D = X W^T and the weight gradient
// G = E^T X. impl=asm (AVX2), impl=asm512 (AVX-512, where the CPU has it)
// and impl=go run the batched kernels, impl=vecs the
// matrix-vector kernels they replace (one call a vector, as the trainer did
// before), impl=gonum blas32.Gemm. Compare with benchstat -col /impl.
const benchGroups = 143

func benchBatch(b *testing.B, tr blas.Transpose, own func(dst, e, w []float32), vecs func(dst, e, w []float32)) {
	r := rand.New(rand.NewPCG(2, 2))
	e, w := randVec(r, benchGroups*benchDim), randVec(r, benchDim*benchDim)
	dst := make([]float32, benchGroups*benchDim)
	saved, saved512 := accel, accel512
	defer func() { accel, accel512 = saved, saved512 }()
	run := func(f func(dst, e, w []float32)) func(b *testing.B) {
		return func(b *testing.B) {
			for b.Loop() {
				f(dst, e, w)
			}
		}
	}
	if hasAVX2FMA() {
		accel, accel512 = true, false
		b.Run("impl=asm", run(own))
		if hasAVX512() {
			accel512 = true
			b.Run("impl=asm512", run(own))
			accel512 = false
		}
		b.Run("impl=vecs", run(vecs))
	}
	accel = false
	b.Run("impl=go", run(own))
	accel, accel512 = saved, saved512
	ge := blas32.General{Rows: benchGroups, Cols: benchDim, Stride: benchDim, Data: e}
	gw := blas32.General{Rows: benchDim, Cols: benchDim, Stride: benchDim, Data: w}
	gd := blas32.General{Rows: benchGroups, Cols: benchDim, Stride: benchDim, Data: dst}
	b.Run("impl=gonum", func(b *testing.B) {
		for b.Loop() {
			if tr == blas.Trans { // G = E^T X: shapes 128x143 times 143x128
				gg := blas32.General{Rows: benchDim, Cols: benchDim, Stride: benchDim, Data: dst[:benchDim*benchDim]}
				blas32.Gemm(blas.Trans, blas.NoTrans, 1, ge, ge, 0, gg)
				continue
			}
			blas32.Gemm(blas.NoTrans, tr, 1, ge, gw, 0, gd)
		}
	})
}

func BenchmarkKernelBatchProject(b *testing.B) {
	benchBatch(b, blas.NoTrans, func(dst, e, w []float32) { MatMul(dst, e, w, benchDim) },
		func(dst, e, w []float32) {
			for g := range benchGroups {
				MatTVec(dst[g*benchDim:(g+1)*benchDim], w, e[g*benchDim:(g+1)*benchDim])
			}
		})
}

func BenchmarkKernelBatchEntityGrad(b *testing.B) {
	benchBatch(b, blas.Trans, func(dst, x, w []float32) { MatMulT(dst, x, w, benchDim) },
		func(dst, x, w []float32) {
			for g := range benchGroups {
				MatVec(dst[g*benchDim:(g+1)*benchDim], w, x[g*benchDim:(g+1)*benchDim])
			}
		})
}

func BenchmarkKernelBatchWeightGrad(b *testing.B) {
	coef := make([]float32, benchGroups)
	benchBatch(b, blas.Trans, func(dst, e, x []float32) { MatTMul(dst[:benchDim*benchDim], e, benchDim, e, benchGroups) },
		func(dst, e, x []float32) {
			for r := range benchDim {
				for g := range benchGroups {
					coef[g] = e[g*benchDim+r]
				}
				MatTVec(dst[r*benchDim:(r+1)*benchDim], e, coef)
			}
		})
}
