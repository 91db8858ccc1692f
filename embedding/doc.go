// Package embedding maps the inputs of an IP Insights model to rows of its
// embedding tables: the stable entity hash (EntityHash, Bucket), the encoded
// pair that training and scoring share (Tuple), and the prefix-structured IP
// encoder that maps an address to rows (Encoder).
//
// The hash and the encoder are deterministic and platform independent: the
// same entity string or address gives the same rows on every machine and Go
// version, so a model file trained on one machine scores on another.
package embedding
