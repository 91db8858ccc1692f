package tune

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/rng"
)

func TestMedianStop(t *testing.T) {
	prev := [][]float64{
		{0.80, 0.90, 0.94},
		{0.70, 0.80},
		{0.90, 0.96, 0.98},
	}
	// Epoch 1: the running averages are 0.80, 0.70, 0.90, median 0.80.
	assert.Empty(t, medianStop([]float64{0.80}, prev), "equal to the median is not worse")
	assert.Equal(t, "epoch 1: 0.7900 below the median 0.8000 of 3 earlier trials' running averages", medianStop([]float64{0.79}, prev))
	// Epoch 2: averages 0.85, 0.75, 0.93, median 0.85: the trial's value
	// at the epoch is compared, not its own average.
	assert.Empty(t, medianStop([]float64{0.5, 0.86}, prev))
	assert.NotEmpty(t, medianStop([]float64{0.99, 0.84}, prev))
	// Epoch 3: only two earlier trials got there: too few to judge.
	assert.Empty(t, medianStop([]float64{0.1, 0.1, 0.1}, prev))
	assert.Empty(t, medianStop([]float64{0.1}, prev[:2]), "two earlier trials are too few")
	assert.InDelta(t, 0.825, median([]float64{0.93, 0.75, 0.85, 0.2, 0.99, 0.8}), 1e-12, "even count: the mean of the middle two, 0.8 and 0.85")
}

func TestHyperbandRungs(t *testing.T) {
	h := newHyperband(1, 10)
	require.Equal(t, 3, h.brackets, "floor(log3(10)) + 1")
	var rungs [3][]int
	for b := range 3 {
		for e := 1; e <= 10; e++ {
			if h.isRung(b, e) {
				rungs[b] = append(rungs[b], e)
			}
		}
	}
	assert.Equal(t, [3][]int{{1, 3}, {3}, nil}, rungs, "rungs r with 3r <= 10")
	assert.Equal(t, []int{0, 1, 2, 0}, []int{h.bracket(0), h.bracket(1), h.bracket(2), h.bracket(3)})

	// Bracket 0, rung 1: while fewer than 3 values are recorded, only the
	// best so far goes on; then the best third.
	assert.Empty(t, h.judge(0, 1, 0.80))
	assert.NotEmpty(t, h.judge(0, 1, 0.70), "below the best of 2")
	assert.Empty(t, h.judge(0, 1, 0.90), "the best of 3")
	assert.NotEmpty(t, h.judge(0, 1, 0.85), "4 values: only the best (4/3 = 1) goes on")
	assert.Empty(t, h.judge(0, 2, 0.1), "not a rung")
	assert.Empty(t, h.judge(2, 9, 0.1), "bracket 2 has no rung")
	for _, v := range []float64{0.5, 0.6} {
		h.judge(0, 1, v)
	}
	// 6 values: 0.90, 0.85, 0.80, 0.70, 0.6, 0.5 and the 7th: the best 2 go on.
	assert.Empty(t, h.judge(0, 1, 0.86))
	assert.Contains(t, h.judge(0, 1, 0.84), "not in the best third of 8 trials (threshold 0.8600)")
}

func TestCholeskyAndSolve(t *testing.T) {
	a := [][]float64{{4}, {2, 3}, {-2, 1, 6}}
	l, ok := cholesky(a)
	require.True(t, ok)
	full := [][]float64{{4, 2, -2}, {2, 3, 1}, {-2, 1, 6}}
	for i := range 3 {
		for j := range 3 {
			s := 0.0
			for k := range 3 {
				s += l[i][k] * l[j][k]
			}
			assert.InDelta(t, full[i][j], s, 1e-12)
		}
	}
	x := cholSolve(l, []float64{1, 2, 3})
	for i := range 3 {
		assert.InDelta(t, []float64{1, 2, 3}[i], dot(full[i], x), 1e-12)
	}
	_, ok = cholesky([][]float64{{1}, {2, 1}})
	assert.False(t, ok, "not positive definite")
}

func TestGPInterpolatesAndEIExplores(t *testing.T) {
	f := func(u []float64) float64 { return -(u[0] - 0.3) * (u[0] - 0.3) }
	var x [][]float64
	var y []float64
	for _, u := range []float64{0.05, 0.5, 0.7, 0.95} {
		x = append(x, []float64{u})
		y = append(y, f([]float64{u}))
	}
	g := fitGP(x, y)
	require.NotNil(t, g)
	for i := range x {
		mu, sd := g.predict(x[i])
		assert.InDelta(t, y[i], mu, 0.01, "the posterior passes near the data")
		assert.Less(t, sd, 0.05)
	}
	_, far := g.predict([]float64{0.27})
	_, near := g.predict([]float64{0.5})
	assert.Greater(t, far, near, "uncertainty grows away from the data")
	assert.InDelta(t, 0.3989, expectedImprovement(0, 1, 0, 0), 1e-4, "sigma * phi(0)")
	assert.Equal(t, 0.0, expectedImprovement(-1, 0, 0, 0))

	s, err := NewSpace(nil, []Range{{Name: "weight_decay", Min: 0, Max: 1}}, Bayesian)
	require.NoError(t, err)
	// A one-dimensional space: fix every other tunable.
	for _, n := range Tunable() {
		if n != "weight_decay" {
			s.Static[n] = "1"
		}
	}
	s.Ranges = []Range{{Name: "weight_decay", Min: 0, Max: 1, Scale: Linear}}
	// Sequential Bayesian optimisation of f finds its maximum at 0.3.
	for i := range 6 {
		g := fitGP(x, y)
		u := g.suggest(rng.New(1, uint64(i)), s, x, y, map[string]bool{})
		require.NotNil(t, u)
		x = append(x, u)
		y = append(y, f(u))
	}
	assert.Greater(t, slices.Max(y), -0.0004, "within 0.02 of the maximum after 6 steps")
}
