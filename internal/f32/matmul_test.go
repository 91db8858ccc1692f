package f32

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMatMulMatchesMatVecs(t *testing.T) { bothImpls(t, testMatMulMatchesMatVecs) }

// testMatMulMatchesMatVecs checks the promise the trainer's reproducibility
// rests on: each row of a product is the matrix-vector product it batches,
// to the bit. The shapes cover the 6- and 1-row blocks, the 16- and
// 8-column blocks, MatMulT's 4-row blocks and tails, zeros (which MatTVec's
// pure-Go loop skips) and sizes that are not multiples of 8 (no assembly).
func testMatMulMatchesMatVecs(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, m := range []int{1, 5, 6, 7, 13, 143} {
		for _, k := range []int{1, 3, 8, 16, 24, 128} {
			for _, n := range []int{1, 5, 8, 13, 16, 24, 40, 128} {
				a, b := randVec(r, m*k), randVec(r, k*n)
				for i := 0; i < len(a); i += 7 {
					a[i] = 0
				}
				got := make([]float32, m*n)
				MatMul(got, a, b, k)
				want := make([]float32, n)
				for i := range m {
					MatTVec(want, b, a[i*k:(i+1)*k])
					require.Equal(t, want, got[i*n:(i+1)*n], "MatMul m=%d k=%d n=%d row %d", m, k, n, i)
				}

				at := make([]float32, k*m) // A^T, row-major
				for i := range m {
					for p := range k {
						at[p*m+i] = a[i*k+p]
					}
				}
				clear(got)
				MatTMul(got, at, m, b, k)
				for i := range m {
					MatTVec(want, b, a[i*k:(i+1)*k])
					require.Equal(t, want, got[i*n:(i+1)*n], "MatTMul m=%d k=%d n=%d row %d", m, k, n, i)
				}
				// Rows 1 to m-1 alone: a block of rows of the product.
				if m > 1 {
					part := make([]float32, (m-1)*n)
					MatTMul(part, at[1:], m, b, k)
					require.Equal(t, got[n:], part, "MatTMul rows 1 to %d", m)
				}

				bt := randVec(r, n*k) // B given by rows of length k
				clear(got)
				MatMulT(got, a, bt, k)
				for i := range m {
					MatVec(want, bt, a[i*k:(i+1)*k])
					require.Equal(t, want, got[i*n:(i+1)*n], "MatMulT m=%d k=%d n=%d row %d", m, k, n, i)
				}
				// And against float64, to float32 rounding.
				i, j := m-1, n-1
				var s, sc float64
				for p := range k {
					s += float64(a[i*k+p]) * float64(bt[j*k+p])
					sc += math.Abs(float64(a[i*k+p]) * float64(bt[j*k+p]))
				}
				close32(t, s, got[i*n+j], sc, "MatMulT against float64")
			}
		}
	}
}

func TestMatMulPanicsOnMismatch(t *testing.T) {
	assert.Panics(t, func() { MatMul(make([]float32, 5), make([]float32, 6), make([]float32, 9), 3) })
	assert.Panics(t, func() { MatMulT(make([]float32, 4), make([]float32, 5), make([]float32, 4), 2) })
	assert.Panics(t, func() { MatTMul(make([]float32, 4), make([]float32, 4), 2, make([]float32, 4), 0) })
	assert.Panics(t, func() { MatTMul(make([]float32, 4), make([]float32, 3), 2, make([]float32, 4), 2) })
	assert.Panics(t, func() { MatTMul(make([]float32, 6), make([]float32, 9), 2, make([]float32, 4), 2) })
}
