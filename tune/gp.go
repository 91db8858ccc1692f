package tune

import (
	"math"
	"slices"

	"github.com/ipinsights/ipinsights-go/rng"
)

// gp is a Gaussian process regression of standardised objective values on
// points of the unit cube, with a Matérn 5/2 kernel of one length scale
// (Rasmussen and Williams, "Gaussian Processes for Machine Learning", 2006,
// eq. 4.17 and algorithm 2.1). The length scale and the noise are the
// pair of a small grid with the highest marginal likelihood.
type gp struct {
	x            [][]float64
	chol         [][]float64 // lower Cholesky factor of K + noise*I
	alpha        []float64   // (K + noise*I)^-1 y
	scale, noise float64
	mean, std    float64 // of the raw objective values
}

// Grids of the kernel's length scale (in unit-cube distances) and noise
// variance (in units of the objective's variance).
var (
	gpScales = []float64{0.1, 0.2, 0.35, 0.5, 0.75, 1, 1.5, 2.5}
	gpNoises = []float64{1e-6, 1e-3, 1e-2, 0.1}
)

func matern52(d2, scale float64) float64 {
	r := math.Sqrt(5*d2) / scale
	return (1 + r + r*r/3) * math.Exp(-r)
}

func dist2(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		d := a[i] - b[i]
		s += d * d
	}
	return s
}

// fitGP fits y (raw objective values) at x; it returns nil when no kernel
// of the grid gives a positive definite matrix.
func fitGP(x [][]float64, y []float64) *gp {
	n := len(y)
	mean := 0.0
	for _, v := range y {
		mean += v
	}
	mean /= float64(n)
	std := 0.0
	for _, v := range y {
		std += (v - mean) * (v - mean)
	}
	std = math.Sqrt(std / float64(n))
	if std == 0 {
		std = 1
	}
	ys := make([]float64, n)
	for i, v := range y {
		ys[i] = (v - mean) / std
	}
	var best *gp
	bestLML := math.Inf(-1)
	for _, sc := range gpScales {
		for _, nz := range gpNoises {
			k := make([][]float64, n)
			for i := range k {
				k[i] = make([]float64, n)
				for j := range i + 1 {
					k[i][j] = matern52(dist2(x[i], x[j]), sc)
				}
				k[i][i] += nz
			}
			l, ok := cholesky(k)
			if !ok {
				continue
			}
			alpha := cholSolve(l, ys)
			lml := -0.5 * dot(ys, alpha)
			for i := range n {
				lml -= math.Log(l[i][i])
			}
			if lml > bestLML {
				bestLML = lml
				best = &gp{x: x, chol: l, alpha: alpha, scale: sc, noise: nz, mean: mean, std: std}
			}
		}
	}
	return best
}

// predict returns the posterior mean and standard deviation at u, in raw
// objective units.
func (g *gp) predict(u []float64) (mu, sigma float64) {
	n := len(g.x)
	ks := make([]float64, n)
	for i, xi := range g.x {
		ks[i] = matern52(dist2(u, xi), g.scale)
	}
	mu = dot(ks, g.alpha)
	v := forwardSub(g.chol, ks)
	variance := max(1-dot(v, v), 1e-12)
	return g.mean + g.std*mu, g.std * math.Sqrt(variance)
}

// expectedImprovement is the expected improvement over best of a normal
// posterior (mu, sigma) when maximising, with exploration margin xi.
func expectedImprovement(mu, sigma, best, xi float64) float64 {
	if sigma <= 0 {
		return max(mu-best-xi, 0)
	}
	z := (mu - best - xi) / sigma
	return (mu-best-xi)*normCDF(z) + sigma*normPDF(z)
}

func normPDF(z float64) float64 { return math.Exp(-z*z/2) / math.Sqrt(2*math.Pi) }
func normCDF(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }

// Candidates of the acquisition search: uniform points, and perturbations
// of the best points so far, whose standard deviation is eiLocalSD in unit
// cube coordinates.
const (
	eiUniform    = 2000
	eiLocalBest  = 3
	eiLocal      = 200
	eiLocalSD    = 0.08
	eiMargin     = 0.01 // xi, in units of the objective's standard deviation
	eiMaxRetries = 20
)

// suggest returns the point of highest expected improvement among random
// candidates, snapped to the values the space can take, that differs from
// every point tried (by its decoded values), or nil when there is none.
func (g *gp) suggest(r *rng.RNG, s *Space, x [][]float64, y []float64, tried map[string]bool) []float64 {
	best := slices.Max(y)
	order := make([]int, len(y))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmpNaN(y[b], y[a]) })
	var bestU []float64
	bestEI := -1.0
	consider := func(u []float64) {
		v := s.decode(u)
		if tried[key(v)] {
			return
		}
		u = s.encode(v)
		mu, sd := g.predict(u)
		if ei := expectedImprovement(mu, sd, best, eiMargin*g.std); ei > bestEI {
			bestEI, bestU = ei, u
		}
	}
	d := s.Dims()
	for range eiUniform {
		u := make([]float64, d)
		for j := range u {
			u[j] = r.Float64()
		}
		consider(u)
	}
	for _, i := range order[:min(eiLocalBest, len(order))] {
		for range eiLocal {
			u := slices.Clone(x[i])
			for j := range u {
				u[j] = min(max(u[j]+eiLocalSD*r.NormFloat64(), 0), 1)
			}
			consider(u)
		}
	}
	return bestU
}

// key identifies a point by its decoded values.
func key(v []float64) string {
	b := make([]byte, 0, 8*len(v))
	for _, x := range v {
		b = append(b, []byte(formatValue(x, false))...)
		b = append(b, ',')
	}
	return string(b)
}

// cholesky returns the lower factor of the symmetric positive definite
// matrix whose lower triangle is a, or false.
func cholesky(a [][]float64) ([][]float64, bool) {
	n := len(a)
	l := make([][]float64, n)
	for i := range l {
		l[i] = make([]float64, n)
		for j := range i + 1 {
			s := a[i][j]
			for k := range j {
				s -= l[i][k] * l[j][k]
			}
			if i == j {
				if s <= 0 || math.IsNaN(s) {
					return nil, false
				}
				l[i][i] = math.Sqrt(s)
			} else {
				l[i][j] = s / l[j][j]
			}
		}
	}
	return l, true
}

// forwardSub solves l v = b.
func forwardSub(l [][]float64, b []float64) []float64 {
	v := make([]float64, len(b))
	for i := range b {
		s := b[i]
		for k := range i {
			s -= l[i][k] * v[k]
		}
		v[i] = s / l[i][i]
	}
	return v
}

// cholSolve solves (l l^T) x = b.
func cholSolve(l [][]float64, b []float64) []float64 {
	v := forwardSub(l, b)
	n := len(v)
	x := make([]float64, n)
	for i := n - 1; i >= 0; i-- {
		s := v[i]
		for k := i + 1; k < n; k++ {
			s -= l[k][i] * x[k]
		}
		x[i] = s / l[i][i]
	}
	return x
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
