// Package rng is the seeded random number generator of training and of the
// synthetic data: xoshiro256** (Blackman and Vigna 2018), seeded through
// splitmix64, with a documented algorithm so that its output for a seed and a
// stream is fixed forever. Stream derives independent streams from keys such
// as (epoch, batch), so that work split among goroutines draws the same
// numbers whatever the number of goroutines.
package rng
