package synth

import (
	"math"

	"github.com/ipinsights/ipinsights-go/rng"
)

// gamma draws a Gamma(shape, 1) variate for shape >= 1 (Marsaglia and Tsang
// 2000).
func gamma(r *rng.RNG, shape float64) float64 {
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := r.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := r.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}

// beta draws a Beta(a, b) variate for a, b >= 1.
func beta(r *rng.RNG, a, b float64) float64 {
	x := gamma(r, a)
	return x / (x + gamma(r, b))
}

// lomax draws numpy's pareto(a): a Pareto II (Lomax) variate with scale 1,
// (1/U)^(1/a) - 1 for U uniform in (0, 1].
func lomax(r *rng.RNG, a float64) float64 {
	u := 1 - r.Float64()
	return math.Pow(1/u, 1/a) - 1
}

// floorMod returns x mod n in [0, n), as Python's % does for ints.
func floorMod(x, n int) int {
	m := x % n
	if m < 0 {
		m += n
	}
	return m
}
