// Package embedding holds the building blocks of an IP Insights model that do
// not depend on training: the stable entity hash, the prefix-structured IP
// encoder that maps an address to rows of an embedding table, and the float32
// vector kernels that the trainer and the scorer run in their inner loops.
//
// Everything here is deterministic and platform independent: the same entity
// string or address gives the same rows on every machine and Go version, so
// a model file trained on one machine scores identically on another.
package embedding
