package stats

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMedian(t *testing.T) {
	assert.Equal(t, 3.0, Median([]float64{5, 3, 1}))
	// An even count: the mean of the two middle values (2 and 4), not the
	// lower (2, gonum's stat.Quantile with stat.Empirical) nor the upper.
	assert.Equal(t, 3.0, Median([]float64{4, 100, 2, -7}))
	assert.Equal(t, 7.0, Median([]float64{7}))
	assert.Equal(t, 1.5, Median([]float64{2, 1}))
	assert.True(t, math.IsNaN(Median(nil)))

	xs := []float64{3, 1, 2, 4}
	Median(xs)
	assert.Equal(t, []float64{3, 1, 2, 4}, xs, "the input keeps its order")
}
