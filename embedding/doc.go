// Package embedding holds the building blocks of an IP Insights model that do
// not depend on training: the stable entity hash, the prefix-structured IP
// encoder that maps an address to rows of an embedding table, and the float32
// vector kernels that the trainer and the scorer run in their inner loops.
//
// The hash and the encoder are deterministic and platform independent: the
// same entity string or address gives the same rows on every machine and Go
// version, so a model file trained on one machine scores on another.
//
// The kernels run as AVX2/FMA assembly on amd64 CPUs that have both, and as
// pure Go elsewhere (or with the purego build tag, or IPINSIGHTS_NOASM=1 in
// the environment). Each implementation is deterministic, so training is
// bit-reproducible on a machine; the two round sums in a different order, so
// results on machines with and without AVX2 agree to float32 rounding only.
package embedding
