package ipinsights

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bruteAUC counts positive-negative pairs directly.
func bruteAUC(scores []float64, pos []bool) float64 {
	var wins, n float64
	for i := range scores {
		for j := range scores {
			if pos[i] && !pos[j] {
				n++
				switch {
				case scores[i] > scores[j]:
					wins++
				case scores[i] == scores[j]:
					wins += 0.5
				}
			}
		}
	}
	return wins / n
}

func TestAUCMatchesPairCounting(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for trial := 0; trial < 20; trial++ {
		n := 5 + r.IntN(200)
		scores := make([]float64, n)
		pos := make([]bool, n)
		for i := range scores {
			scores[i] = float64(r.IntN(20)) // many ties
			pos[i] = r.IntN(3) == 0
		}
		pos[0], pos[1] = true, false
		assert.InDelta(t, bruteAUC(scores, pos), AUC(scores, pos), 1e-12)
	}
	assert.Equal(t, 1.0, AUC([]float64{3, 2, 1}, []bool{true, false, false}))
	assert.Equal(t, 0.0, AUC([]float64{3, 2, 1}, []bool{false, false, true}))
	assert.Equal(t, 0.5, AUC([]float64{1, 1}, []bool{true, false}))
	assert.True(t, math.IsNaN(AUC([]float64{1, 2}, []bool{true, true})))
}

func TestEvaluateConfusion(t *testing.T) {
	// Anomalous pairs should have low dot products; threshold 0 flags < 0.
	dots := []float64{-5, -1, 0.5, 3, -2, 4, 0}
	anom := []bool{true, true, true, false, false, false, false}
	ev, err := Evaluate(dots, anom, 0)
	require.NoError(t, err)
	assert.Equal(t, 7, ev.N)
	assert.Equal(t, 3, ev.Anomalies)
	assert.Equal(t, [4]int{2, 1, 3, 1}, [4]int{ev.TP, ev.FP, ev.TN, ev.FN})
	assert.InDelta(t, 2.0/3, ev.Precision, 1e-12)
	assert.InDelta(t, 2.0/3, ev.Recall, 1e-12)
	assert.InDelta(t, 1.0/4, ev.FPR, 1e-12)
	assert.InDelta(t, bruteAUC([]float64{5, 1, -0.5, -3, 2, -4, 0}, anom), ev.AUC, 1e-12)

	ev, err = Evaluate(dots, anom, -100)
	require.NoError(t, err)
	assert.True(t, math.IsNaN(ev.Precision), "nothing flagged: precision undefined")
	assert.Equal(t, 0.0, ev.Recall)

	_, err = Evaluate([]float64{1}, []bool{true}, 0)
	assert.ErrorContains(t, err, "both normal (0) and anomalous (1)")
	_, err = Evaluate([]float64{1, math.NaN()}, []bool{true, false}, 0)
	assert.Error(t, err)
	_, err = Evaluate([]float64{1}, []bool{true, false}, 0)
	assert.Error(t, err)
}

func TestROCCurve(t *testing.T) {
	dots := []float64{-5, -1, 0.5, 3, -2, 4, 0}
	anom := []bool{true, true, true, false, false, false, false}
	pts := ROCCurve(dots, anom)
	require.Len(t, pts, 8)
	assert.Equal(t, ROCPoint{Threshold: math.Inf(-1)}, pts[0])
	last := pts[len(pts)-1]
	assert.Equal(t, 1.0, last.FPR)
	assert.Equal(t, 1.0, last.TPR)
	// Trapezoid area equals the AUC.
	area := 0.0
	for i := 1; i < len(pts); i++ {
		require.GreaterOrEqual(t, pts[i].FPR, pts[i-1].FPR)
		require.GreaterOrEqual(t, pts[i].TPR, pts[i-1].TPR)
		area += (pts[i].FPR - pts[i-1].FPR) * (pts[i].TPR + pts[i-1].TPR) / 2
	}
	ev, _ := Evaluate(dots, anom, 0)
	assert.InDelta(t, ev.AUC, area, 1e-12)
	// Each point's threshold flags exactly the dots below it.
	for _, p := range pts[1:] {
		var tp, fp float64
		for i, d := range dots {
			if d < p.Threshold {
				if anom[i] {
					tp++
				} else {
					fp++
				}
			}
		}
		assert.Equal(t, tp/3, p.TPR)
		assert.Equal(t, fp/4, p.FPR)
	}
}
