package sagemaker

import (
	"bytes"
	"math"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// kendallBrute is tau-b by its definition, in O(n^2).
func kendallBrute(x, y []float64) float64 {
	var c, d, tx, ty float64
	for i := range x {
		for j := i + 1; j < len(x); j++ {
			dx, dy := x[i]-x[j], y[i]-y[j]
			switch {
			case dx == 0 && dy == 0:
			case dx == 0:
				tx++
			case dy == 0:
				ty++
			case dx*dy > 0:
				c++
			default:
				d++
			}
		}
	}
	return (c - d) / math.Sqrt((c+d+tx)*(c+d+ty))
}

func TestKendallTauBMatchesDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{2, 3, 10, 57, 300} {
		for _, levels := range []int{3, 20, 1 << 30} { // many ties, some, none
			x, y := make([]float64, n), make([]float64, n)
			for i := range x {
				x[i] = float64(r.IntN(levels))
				y[i] = x[i] + float64(r.IntN(levels)) // correlated
			}
			got, want := KendallTauB(x, y), kendallBrute(x, y)
			if math.IsNaN(want) {
				assert.True(t, math.IsNaN(got), "n=%d levels=%d", n, levels)
				continue
			}
			assert.InDelta(t, want, got, 1e-12, "n=%d levels=%d", n, levels)
		}
	}
}

func TestRankCorrelationsKnownValues(t *testing.T) {
	// scipy.stats.kendalltau's documented example: tau-b = -0.47140452079103173.
	assert.InDelta(t, -0.47140452079103173, KendallTauB([]float64{12, 2, 1, 12, 2}, []float64{1, 4, 7, 1, 0}), 1e-15)
	// Wikipedia's Spearman example (IQ vs. hours of TV): rho = -29/165.
	iq := []float64{106, 86, 100, 101, 99, 103, 97, 113, 112, 110}
	tv := []float64{7, 0, 27, 50, 28, 29, 20, 12, 6, 17}
	assert.InDelta(t, -29.0/165, Spearman(iq, tv), 1e-12)
	// Any increasing transform keeps the ranks.
	x := []float64{3, -1, 2.5, 7, 0}
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = math.Exp(v)
	}
	assert.InDelta(t, 1, Spearman(x, y), 1e-12)
	assert.InDelta(t, 1, KendallTauB(x, y), 1e-12)
	assert.True(t, math.IsNaN(KendallTauB([]float64{1, 1, 1}, []float64{1, 2, 3})))
}

func TestTopKShared(t *testing.T) {
	x := []float64{-5, -4, -3, 1, 2, 3}
	assert.Equal(t, 3, TopKShared(x, x, 3))
	rev := []float64{3, 2, 1, -3, -4, -5}
	assert.Equal(t, 0, TopKShared(x, rev, 3))
	assert.Equal(t, 2, TopKShared(x, []float64{-5, 9, -3, 1, -9, 3}, 3)) // rows 0 and 2 shared
}

func TestCompare(t *testing.T) {
	ours := []float64{-3, -2, -1, 0.5, 1, 2, 3, 4}
	sm := []float64{-2.5, -2.9, -0.5, 1, 0.8, 2.5, 3.5, 4.5} // rows 0 and 1 swapped, 3 and 4 swapped
	anom := []bool{true, true, true, false, false, false, false, false}
	p, err := Compare(ours, sm, CompareOptions{TopK: 3, Anomalous: anom, Seen: []bool{true, true, true, true, true, true, false, false}})
	require.NoError(t, err)
	assert.Equal(t, 8, p.N)
	assert.InDelta(t, 1-6*4.0/(8*63), p.Spearman, 1e-12) // two swaps of neighbours: sum d^2 = 4
	assert.InDelta(t, (28-2*2)/28.0, p.KendallTauB, 1e-12)
	assert.Equal(t, 3, p.TopKShared)
	assert.Equal(t, 1.0, p.FlagAgreement) // same signs everywhere
	assert.Equal(t, 1.0, p.Ours.AUC)
	assert.Equal(t, 1.0, p.SageMaker.Recall)
	require.NotNil(t, p.SeenOnly)
	assert.Equal(t, 6, p.SeenOnly.N)

	var b bytes.Buffer
	require.NoError(t, p.WriteText(&b))
	assert.Contains(t, b.String(), "Kendall tau-b              0.8571")
	assert.Contains(t, b.String(), "top-3 most anomalous      3 shared (100.0%)")
	assert.Contains(t, b.String(), "over the 6 rows whose entity was seen")
	assert.Contains(t, b.String(), "SageMaker    1.0000")

	_, err = Compare(ours, sm[:7], CompareOptions{})
	assert.ErrorContains(t, err, "8 scores of ours, 7 of SageMaker's")
	_, err = Compare([]float64{1, math.NaN()}, []float64{1, 2}, CompareOptions{})
	assert.ErrorContains(t, err, "row 2 has a NaN score")
	_, err = Compare(ours, sm, CompareOptions{Anomalous: make([]bool, 8)})
	assert.ErrorContains(t, err, "both normal (0) and anomalous (1)")
	p, err = Compare(ours, sm, CompareOptions{})
	require.NoError(t, err)
	assert.Equal(t, 8, p.TopK, "DefaultTopK capped at the number of rows")
}

func BenchmarkKendallTauB(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	n := 1_000_000
	x, y := make([]float64, n), make([]float64, n)
	for i := range x {
		x[i] = r.NormFloat64()
		y[i] = x[i] + r.NormFloat64()
	}
	b.ResetTimer()
	for b.Loop() {
		KendallTauB(x, y)
	}
}
