package f32

// Matrix-matrix products, for the dense layer of a mini-batch: the same
// matrix-vector product for ~143 vectors at once. Batching lets a block of
// the matrix stay in the L1 cache while many vectors pass, instead of
// streaming the whole matrix from L2 for every vector.
//
// Each product is bit-identical, row by row, to the matrix-vector kernel it
// batches (MatMul and MatTMul to MatTVec, MatMulT to MatVec), on either
// implementation: the blocks change which products share a pass over
// memory, never the order in which an element's products are summed.

// MatMul sets dst = A B for A of m rows and k columns and B of k rows and n
// columns, all row-major: m = len(a)/k, n = len(b)/k, len(dst) = m*n. Row
// i of dst is exactly MatTVec(dst_i, b, a_i).
func MatMul(dst, a, b []float32, k int) {
	m, n := shape(dst, a, b, k, "MatMul")
	mm(dst, a, k, 1, b, m, k, n)
}

// MatTMul sets dst = A^T B, where A has k rows of stride lda of which the
// first m columns are used (A's element (p, i) is a[p*lda+i]; len(a) is at
// least (k-1)*lda+m), and B has k rows of n columns, row-major: n =
// len(b)/k, m = len(dst)/n. Row i of dst is exactly MatTVec(dst_i, b,
// column i of A). A block of rows of a product with m*lda columns is thus a
// product too: dst rows r0 to r1 take a[r0:] and m = r1-r0.
func MatTMul(dst, a []float32, lda int, b []float32, k int) {
	if k <= 0 || len(b)%k != 0 || len(b) == 0 || len(dst)%(len(b)/k) != 0 {
		panic("f32: MatTMul shape mismatch")
	}
	n := len(b) / k
	m := len(dst) / n
	if m > lda || m > 0 && len(a) < (k-1)*lda+m {
		panic("f32: MatTMul shape mismatch")
	}
	mm(dst, a, 1, lda, b, m, k, n)
}

// MatMulT sets dst = A B^T for A of m rows and k columns and B of n rows and
// k columns, all row-major: m = len(a)/k, n = len(b)/k, len(dst) = m*n. Row
// i of dst is exactly MatVec(dst_i, b, a_i).
func MatMulT(dst, a, b []float32, k int) {
	m, n := shape(dst, a, b, k, "MatMulT")
	if accel && k%8 == 0 {
		n4 := n &^ 3
		for r := 0; r < n4; r += 4 {
			if accel512 {
				mvs4AVX512(dst[r:], n, a, b[r*k:(r+4)*k], m)
			} else {
				mvs4AVX2(dst[r:], n, a, b[r*k:(r+4)*k], m)
			}
		}
		if n4 < n {
			for i := range m {
				matVecAVX2(dst[i*n+n4:(i+1)*n], b[n4*k:], a[i*k:(i+1)*k])
			}
		}
		return
	}
	for i := range m {
		x := a[i*k : (i+1)*k]
		for r := range n {
			dst[i*n+r] = Dot(b[r*k:(r+1)*k], x)
		}
	}
}

// shape returns the rows of a and of b of a product with inner dimension
// k, and panics on shapes that do not fit.
func shape(dst, a, b []float32, k int, name string) (m, n int) {
	if k <= 0 || len(a)%k != 0 || len(b)%k != 0 {
		panic("f32: " + name + " shape mismatch")
	}
	m, n = len(a)/k, len(b)/k
	if len(dst) != m*n {
		panic("f32: " + name + " shape mismatch")
	}
	return m, n
}

// mm sets dst (m x n) = A B, A's element (i, p) at a[i*ai + p*ap], B
// row-major (k x n). Every element sums its products in order of p, as
// MatTVec does.
func mm(dst, a []float32, ai, ap int, b []float32, m, k, n int) {
	if accel && n%8 == 0 {
		m6, n16 := m-m%6, n&^15
		for i := 0; i < m; {
			rows := 6
			if i >= m6 {
				rows = 1
			}
			c, ar := dst[i*n:], a[i*ai:]
			j := 0
			if accel512 && rows == 6 {
				for ; j+32 <= n16; j += 32 {
					mm6x32AVX512(c[j:], n, ar, ai, ap, b[j:], n, k)
				}
			}
			for ; j < n16; j += 16 {
				if rows == 6 {
					mm6x16AVX2(c[j:], n, ar, ai, ap, b[j:], n, k)
				} else {
					mm1x16AVX2(c[j:], n, ar, ai, ap, b[j:], n, k)
				}
			}
			if n16 < n {
				if rows == 6 {
					mm6x8AVX2(c[n16:], n, ar, ai, ap, b[n16:], n, k)
				} else {
					mm1x8AVX2(c[n16:], n, ar, ai, ap, b[n16:], n, k)
				}
			}
			i += rows
		}
		return
	}
	// As MatTVec's loop, element for element.
	for i := range m {
		row := dst[i*n : (i+1)*n]
		clear(row)
		for p := range k {
			if x := a[i*ai+p*ap]; x != 0 {
				Axpy(row, x, b[p*n:(p+1)*n])
			}
		}
	}
}
