// Package sampler turns encoded training tuples into mini-batches: it shuffles
// the tuples every epoch, and for every positive (entity, address) pair adds
// R random negatives (random addresses of the same family) and S shuffled
// negatives (the same entity paired with the address of another positive of
// the batch), as SageMaker IP Insights does.
//
// Randomness comes from package rng, a small seeded generator with a
// documented algorithm (xoshiro256**, seeded through splitmix64). Every batch draws from
// its own stream derived from (seed, epoch, batch), never from a stream per
// worker goroutine, so the batches, and therefore the trained model, do not
// depend on how many goroutines train.
package sampler
