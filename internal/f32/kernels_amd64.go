//go:build amd64 && !purego

package f32

import "golang.org/x/sys/cpu"

// accel selects the AVX2/FMA assembly kernels, and accel512 the AVX-512
// versions of the matrix-matrix ones (which give the same bits). They are
// set once at start-up (tests switch them to run every kernel every way).
var (
	accel    = hasAVX2FMA()
	accel512 = accel && hasAVX512()
)

func hasAVX2FMA() bool { return cpu.X86.HasAVX2 && cpu.X86.HasFMA }

// hasAVX512 reports whether the CPU runs AVX-512 (and the OS saves its
// registers, which package cpu checks).
func hasAVX512() bool { return cpu.X86.HasAVX512F }

//go:noescape
func dotAVX2(x, y []float32) float32

//go:noescape
func axpyAVX2(dst []float32, a float32, x []float32)

//go:noescape
func addAVX2(dst, x []float32)

//go:noescape
func matTVecAVX2(dst, w, x []float32)

//go:noescape
func matVecAVX2(dst, w, x []float32)

//go:noescape
func adamAVX2(p, m, v, g []float32, c *[8]float32)

//go:noescape
func mm6x16AVX2(c []float32, ldc int, a []float32, ai, ap int, b []float32, ldb, k int)

//go:noescape
func mm6x8AVX2(c []float32, ldc int, a []float32, ai, ap int, b []float32, ldb, k int)

//go:noescape
func mm1x16AVX2(c []float32, ldc int, a []float32, ai, ap int, b []float32, ldb, k int)

//go:noescape
func mm1x8AVX2(c []float32, ldc int, a []float32, ai, ap int, b []float32, ldb, k int)

//go:noescape
func mvs4AVX2(c []float32, ldc int, a, b []float32, m int)

//go:noescape
func mm6x32AVX512(c []float32, ldc int, a []float32, ai, ap int, b []float32, ldb, k int)

//go:noescape
func mvs4AVX512(c []float32, ldc int, a, b []float32, m int)

//go:noescape
func prefetchAsm(x []float32)

// Prefetch asks the CPU to bring x into cache ahead of use (a hint; it
// changes no value).
func Prefetch(x []float32) { prefetchAsm(x) }
