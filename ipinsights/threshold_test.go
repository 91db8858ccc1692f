package ipinsights

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Ten labeled dot products, lowest first: anomalies (A) and normal (n)
// pairs in the order A A n A A n A n n n, with a tie at 2.
var (
	thDots = []float64{-5, -4, -3, -2, 2, 2, 3, 4, 5, 6}
	thAnom = []bool{true, true, false, true, true, false, true, false, false, false}
)

func TestThresholdForRecall(t *testing.T) {
	// Cumulative anomalies flagged by group: -5: 1, -4: 2, -3: 2, -2: 3,
	// {2, 2}: 4, 3: 5.
	for _, c := range []struct {
		recall    float64
		threshold float64
		tp, fp    int
	}{
		{0.0001, -4.5, 1, 0},
		{0.2, -4.5, 1, 0},
		{0.4, -3.5, 2, 0},
		{0.5, 0, 3, 1}, // halfway between -2 and 2
		{0.6, 0, 3, 1},
		{0.79, 2.5, 4, 2}, // the tie at 2 is flagged whole
		{0.8, 2.5, 4, 2},
		{0.99, 3.5, 5, 2},
		{1, 3.5, 5, 2},
	} {
		ev, err := ThresholdForRecall(thDots, thAnom, c.recall)
		require.NoError(t, err, "recall %v", c.recall)
		assert.Equal(t, c.threshold, ev.Threshold, "recall %v", c.recall)
		assert.Equal(t, c.tp, ev.TP, "recall %v", c.recall)
		assert.Equal(t, c.fp, ev.FP, "recall %v", c.recall)
		assert.GreaterOrEqual(t, ev.Recall, c.recall)
	}
	for _, bad := range []float64{0, -1, 1.5, math.NaN()} {
		_, err := ThresholdForRecall(thDots, thAnom, bad)
		assert.ErrorContains(t, err, "not in (0, 1]", "%v", bad)
	}
}

func TestThresholdForPrecision(t *testing.T) {
	// Precision by group: -5: 1/1, -4: 2/2, -3: 2/3, -2: 3/4, {2, 2}:
	// 4/6, 3: 5/7, 4: 5/8, 5: 5/9, 6: 5/10.
	for _, c := range []struct {
		precision float64
		threshold float64
		tp, fp    int
	}{
		{1, -3.5, 2, 0},
		{0.8, -3.5, 2, 0},
		{0.75, 0, 3, 1},
		{0.7, 3.5, 5, 2},
		{0.5, math.Nextafter(6, 7), 5, 5}, // everything
	} {
		ev, err := ThresholdForPrecision(thDots, thAnom, c.precision)
		require.NoError(t, err, "precision %v", c.precision)
		assert.Equal(t, c.threshold, ev.Threshold, "precision %v", c.precision)
		assert.Equal(t, c.tp, ev.TP, "precision %v", c.precision)
		assert.Equal(t, c.fp, ev.FP, "precision %v", c.precision)
		assert.GreaterOrEqual(t, ev.Precision, c.precision)
	}

	// The most anomalous-looking pair is normal: no threshold reaches 1.
	_, err := ThresholdForPrecision([]float64{-1, 0, 1}, []bool{false, true, false}, 1)
	var ue *UnreachableError
	require.ErrorAs(t, err, &ue)
	assert.ErrorIs(t, err, ErrUnreachable)
	assert.Equal(t, 0.5, ue.Best)
	assert.Equal(t, 1.0, ue.BestRecall)
	assert.EqualError(t, err, "ipinsights: no threshold reaches precision 1: the best is 0.5000 (at recall 1.0000)")

	for _, bad := range []float64{0, 2, math.NaN()} {
		_, err := ThresholdForPrecision(thDots, thAnom, bad)
		assert.ErrorContains(t, err, "not in (0, 1]", "%v", bad)
	}
}

func TestThresholdLabelErrors(t *testing.T) {
	for name, f := range map[string]func([]float64, []bool) error{
		"recall":    func(d []float64, a []bool) error { _, err := ThresholdForRecall(d, a, 0.9); return err },
		"precision": func(d []float64, a []bool) error { _, err := ThresholdForPrecision(d, a, 0.9); return err },
	} {
		assert.ErrorContains(t, f([]float64{1, 2}, []bool{false, false}), "labels must include both", name)
		assert.ErrorContains(t, f([]float64{1, 2}, []bool{true, true}), "labels must include both", name)
		assert.ErrorContains(t, f([]float64{1, math.NaN()}, []bool{true, false}), "NaN", name)
		assert.ErrorContains(t, f([]float64{1}, []bool{true, false}), "differ in length", name)
		assert.False(t, errors.Is(f([]float64{1}, []bool{true, false}), ErrUnreachable), name)
	}
}
