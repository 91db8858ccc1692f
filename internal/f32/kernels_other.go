//go:build !amd64 || purego

package f32

// accel and accel512 are always false here: only the pure-Go kernels exist.
var accel, accel512 = false, false

func hasAVX2FMA() bool { return false }
func hasAVX512() bool  { return false }

func dotAVX2(x, y []float32) float32                 { panic("f32: no assembly kernels") }
func axpyAVX2(dst []float32, a float32, x []float32) { panic("f32: no assembly kernels") }
func addAVX2(dst, x []float32)                       { panic("f32: no assembly kernels") }
func matTVecAVX2(dst, w, x []float32)                { panic("f32: no assembly kernels") }
func matVecAVX2(dst, w, x []float32)                 { panic("f32: no assembly kernels") }
func adamAVX2(p, m, v, g []float32, c *[8]float32)   { panic("f32: no assembly kernels") }

func mm6x16AVX2(c []float32, ldc int, a []float32, ai, ap int, b []float32, ldb, k int) {
	panic("f32: no assembly kernels")
}

func mm6x8AVX2(c []float32, ldc int, a []float32, ai, ap int, b []float32, ldb, k int) {
	panic("f32: no assembly kernels")
}

func mm1x16AVX2(c []float32, ldc int, a []float32, ai, ap int, b []float32, ldb, k int) {
	panic("f32: no assembly kernels")
}

func mm1x8AVX2(c []float32, ldc int, a []float32, ai, ap int, b []float32, ldb, k int) {
	panic("f32: no assembly kernels")
}

func mvs4AVX2(c []float32, ldc int, a, b []float32, m int)   { panic("f32: no assembly kernels") }
func mvs4AVX512(c []float32, ldc int, a, b []float32, m int) { panic("f32: no assembly kernels") }

func mm6x32AVX512(c []float32, ldc int, a []float32, ai, ap int, b []float32, ldb, k int) {
	panic("f32: no assembly kernels")
}

// Prefetch asks the CPU to bring x into cache ahead of use; it does nothing
// on this platform.
func Prefetch(x []float32) {}
