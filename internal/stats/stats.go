// Package stats holds the summary statistics that the benchmark harnesses
// and the CLI report, so that each figure has one definition.
package stats

import (
	"math"
	"slices"
)

// Median returns the median of xs: the middle value of the sorted values
// for an odd count, the mean of the two middle values for an even count,
// and NaN for none. xs is not modified.
func Median(xs []float64) float64 {
	n := len(xs)
	if n == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
