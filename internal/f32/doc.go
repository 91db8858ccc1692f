// Package f32 holds the float32 vector kernels that the trainer and the
// scorer run in their inner loops: dot products, axpy, matrix-vector
// products (one vector, or a mini-batch of them at once) and the Adam and
// SGD row updates.
//
// On amd64 CPUs with AVX2 and FMA the kernels run as assembly, the
// matrix-matrix products with AVX-512 where the CPU has it (the same bits:
// a 512-bit lane sums in the order of the 256-bit lane it replaces);
// everywhere else, and with the purego build tag, as pure Go. Only build
// tags choose: no environment variable changes the kernels of a running
// program. Each implementation is deterministic, so training is
// bit-reproducible on a machine; assembly and pure Go sum in a different
// order, so results on machines with and without AVX2 agree to float32
// rounding only. The kernels never allocate; slices that are written to are
// named dst; a length mismatch is a programmer error and panics.
//
// The package is internal, as gonum keeps internal/asm/f32: users see the
// concepts (embedding.Encoder, ipinsights.Model), never Axpy.
package f32
