package ipinsights

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"net/netip"
	"slices"

	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/rng"
)

// ErrNotCalibrated is returned when a percentile or an alert rule is asked
// of a model that has no calibration: one trained or saved before
// calibration existed, or one whose calibration was removed.
var ErrNotCalibrated = errors.New("ipinsights: the model has no calibration")

// Defaults of CalibrationOptions.
const (
	// DefaultMinEntityPairs is the number of calibration pairs from which
	// an entity is ranked against its own pairs rather than all of them.
	DefaultMinEntityPairs = 50
	// DefaultEntityQuantiles is the number of dot products kept per
	// entity: all of them up to this many, else this many quantiles.
	DefaultEntityQuantiles = 32
	// DefaultMaxCalibrationPairs bounds the pairs scored; larger sets are
	// sampled.
	DefaultMaxCalibrationPairs = 4_000_000
)

// globalQuantiles is the number of dot products the global distribution
// keeps: all of them up to this many, else this many quantiles spaced as
// an entity's (64 KiB; of 300,000 pairs, one every 1.2 ranks at the rate
// 0.001, every 8 at 0.05, every 37 among the highest).
const globalQuantiles = 16384

// CalibrationOptions configure Calibrate. The zero value gives the
// defaults.
type CalibrationOptions struct {
	// MinEntityPairs is the number of calibration pairs an entity needs
	// to be ranked against its own pairs; entities with fewer are ranked
	// against all pairs. 0 means DefaultMinEntityPairs.
	MinEntityPairs int
	// EntityQuantiles is the number of dot products kept per such entity:
	// all of its pairs' when it has at most this many, else this many
	// quantiles, dense among its lowest scores (where alerts are decided)
	// and sparse among its highest: of n pairs and k quantiles, the j-th
	// is the score at rank (n-1)(j/(k-1))^2 from the lowest (the lowest
	// and the highest included). Each costs 4 bytes in memory and in the model file, on
	// top of 16 bytes per entity. 0 means DefaultEntityQuantiles; at
	// least 2.
	EntityQuantiles int
	// MaxPairs bounds the pairs scored: from a larger dataset, a uniform
	// sample of MaxPairs pairs is drawn, the same for a given model seed.
	// Calibrate holds 16 bytes per pair scored. 0 means
	// DefaultMaxCalibrationPairs.
	MaxPairs int
	// Workers bounds the scoring goroutines as in ScoreTuplesWorkers; 0
	// means GOMAXPROCS.
	Workers int
	// Previous, when set, is the calibration of the model this one
	// continues (a warm start, TrainOptions.Init). An entity that has its
	// own distribution in Previous and no pair among those scored now
	// keeps it: the pairs its values stand for (its quantiles, read at
	// every rank) join the pairs scored now, in its own distribution and
	// in the global one, so that an entity absent from today's traffic
	// keeps its habits rather than falling back on everyone's. Every
	// other entity, and the rest of the global distribution, come from the
	// pairs scored now. Kept pairs were scored by the earlier model, whose
	// entity rows a warm start changes only where new pairs touch them
	// (but whose IP tables it moves). When they number more than MaxPairs
	// they are thinned evenly in rank, to MaxPairs in all.
	Previous *Calibration
}

// withDefaults validates o and fills its zero fields.
func (o *CalibrationOptions) withDefaults() (CalibrationOptions, error) {
	var c CalibrationOptions
	if o != nil {
		c = *o
	}
	switch {
	case c.MinEntityPairs < 0 || int64(c.MinEntityPairs) > math.MaxUint32:
		return c, fmt.Errorf("ipinsights: calibration: minimum of entity pairs %d out of range", c.MinEntityPairs)
	case c.EntityQuantiles < 0 || c.EntityQuantiles == 1 || c.EntityQuantiles > math.MaxUint16:
		return c, fmt.Errorf("ipinsights: calibration: %d entity quantiles, want 2 to %d", c.EntityQuantiles, math.MaxUint16)
	case c.MaxPairs < 0:
		return c, fmt.Errorf("ipinsights: calibration: negative maximum of pairs %d", c.MaxPairs)
	case c.Workers < 0:
		return c, fmt.Errorf("ipinsights: calibration: negative number of workers %d", c.Workers)
	}
	if c.MinEntityPairs == 0 {
		c.MinEntityPairs = DefaultMinEntityPairs
	}
	if c.EntityQuantiles == 0 {
		c.EntityQuantiles = DefaultEntityQuantiles
	}
	if c.MaxPairs == 0 {
		c.MaxPairs = DefaultMaxCalibrationPairs
	}
	return c, nil
}

// Calibration is the distribution of a model's dot products over normal
// pairs: over all of them (global), and per entity for the entities with
// enough pairs, keyed by the entity's full 64-bit hash
// (embedding.EntityHash), not by its shared table row. It turns a dot
// product into a percentile (Percentile) and a false-positive rate into a
// threshold (Threshold, AlertRule). A Calibration is immutable and safe
// for concurrent use.
//
// Memory cost: 16 bytes per entity with its own distribution (hash, pair
// count, offset) plus 4 bytes per value kept, at most EntityQuantiles
// values (with the defaults at most 144 bytes per entity), plus at most
// 64 KiB for the global distribution. The model file holds the same less
// the offsets (12 bytes per entity plus 4 per value). A calibration made
// with a network history adds at most 128 KiB, for the two kinds of pairs
// of AlertByNetwork.
type Calibration struct {
	global dist
	// Per entity with its own distribution, by ascending hash: the hash,
	// the number of pairs, and its values: values[offsets[i]:offsets[i+1]].
	hashes  []uint64
	counts  []uint32
	offsets []uint32
	values  []float32

	minEntityPairs  int
	entityQuantiles int
	skipped         int64 // pairs left out: entity not seen in training

	// net splits the pairs scored by whether their address is in one of
	// their entity's usual networks; nil when the model had no network
	// history (see AlertByNetwork).
	net *netCalibration
}

// dist is the distribution of n dot products: v holds all of them in
// ascending order when len(v) == n, else k = len(v) >= 2 quantiles, the
// j-th at rank (n-1)(j/(k-1))^2 (see rank): dense among the lowest
// scores, where alerts are decided, sparse among the highest. The lowest
// and the highest value are kept.
type dist struct {
	n int
	v []float32
}

// newDist summarises sorted (ascending, not empty) in at most k values.
func newDist(sorted []float32, k int) dist {
	n := len(sorted)
	if n <= k {
		return dist{n: n, v: slices.Clone(sorted)}
	}
	d := dist{n: n, v: make([]float32, k)}
	for j := range d.v {
		d.v[j] = float32(interpolate(sorted, d.rank(j)))
	}
	d.v[k-1] = sorted[n-1] // exactly, whatever the rounding of rank
	return d
}

// rank returns the rank of d.v[j] among the n values (0 the lowest).
func (d dist) rank(j int) float64 {
	k := len(d.v)
	if k == d.n {
		return float64(j)
	}
	u := float64(j) / float64(k-1)
	return float64(d.n-1) * u * u
}

// interpolate returns the value at fractional position r of v, linear
// between neighbours.
func interpolate(v []float32, r float64) float64 {
	i := int(r)
	if i >= len(v)-1 {
		return float64(v[len(v)-1])
	}
	f := r - float64(i)
	a, b := float64(v[i]), float64(v[i+1])
	if f == 0 || a == b {
		return a
	}
	return a + f*(b-a)
}

// exact reports whether d keeps every value.
func (d dist) exact() bool { return len(d.v) == d.n }

// share returns the share of d's values at or below x: exact when d keeps
// every value, else interpolated linearly in rank between quantiles. It
// is 0 below the lowest value and 1 from the highest on.
func (d dist) share(x float64) float64 {
	return d.shareOf(x, d.exact())
}

// shareOf is share, interpolated in rank between neighbouring values
// unless exact.
func (d dist) shareOf(x float64, exact bool) float64 {
	v := d.v
	// j: the number of values at or below x.
	j, _ := slices.BinarySearchFunc(v, x, func(e float32, x float64) int {
		if float64(e) <= x {
			return -1
		}
		return 1
	})
	switch {
	case j == 0:
		return 0
	case j == len(v):
		return 1
	case exact:
		return float64(j) / float64(d.n)
	}
	a, b := float64(v[j-1]), float64(v[j]) // a <= x < b
	ra, rb := d.rank(j-1), d.rank(j)
	r := ra + (x-a)/(b-a)*(rb-ra)
	return (r + 1) / float64(d.n)
}

// logTail is the logarithm of the share of d's values at or below x,
// interpolated in rank between neighbouring values (so strictly
// increasing between distinct values), and continued below the lowest
// value v0 as log(1/n) + (x - v0): the share keeps falling by a factor e
// per unit of dot product (the score is a log-odds) instead of reaching
// 0. Percentile ranks pairs below an entity's lowest calibration pair
// with it, so that they keep their order.
func (d dist) logTail(x float64) float64 {
	if v0 := float64(d.v[0]); x < v0 {
		return x - v0 - math.Log(float64(d.n))
	}
	return math.Log(d.shareOf(x, false))
}

// valueAtRank returns the value at fractional rank r (0 the lowest, n-1
// the highest), interpolated linearly in rank between kept values.
func (d dist) valueAtRank(r float64) float64 {
	r = min(max(r, 0), float64(d.n-1))
	if d.exact() {
		return interpolate(d.v, r)
	}
	k := len(d.v)
	// The j with rank(j) <= r < rank(j+1), from the inverse of rank,
	// corrected for its rounding.
	j := min(int(float64(k-1)*math.Sqrt(r/float64(d.n-1))), k-2)
	for j > 0 && d.rank(j) > r {
		j--
	}
	for j < k-2 && d.rank(j+1) <= r {
		j++
	}
	ra, rb := d.rank(j), d.rank(j+1)
	a, b := float64(d.v[j]), float64(d.v[j+1])
	return a + (r-ra)/(rb-ra)*(b-a)
}

// threshold returns the dot product below which the share fpr of d's
// pairs lies: with k = floor(fpr*n), the midpoint between the k-th lowest
// value and the next, which flags k pairs of the calibration (the lowest
// value itself when k is 0: nothing is flagged).
func (d dist) threshold(fpr float64) float64 {
	return d.thresholdCount(math.Floor(fpr * float64(d.n)))
}

// thresholdCount returns the dot product below which the k (a whole
// number) lowest of d's pairs lie, as threshold does.
func (d dist) thresholdCount(k float64) float64 {
	if k < 1 {
		return float64(d.v[0])
	}
	return d.valueAtRank(k - 0.5)
}

// Percentile is a pair's dot product ranked among the dot products of the
// calibration pairs.
type Percentile struct {
	// Value is the share of the calibration pairs whose dot product is at
	// or below the pair's, in [0, 1]: 0.01 means that 1% of normal pairs
	// score as low or lower. Low means unusual. It is exact for
	// distributions kept whole and interpolated between quantiles
	// otherwise. Below the lowest calibration score, where that share is
	// 0, Value stays positive and keeps falling with the dot product (by
	// a factor e per unit, below 1/Pairs), so that pairs more unusual than
	// every calibration pair still rank by their score. For a pair with
	// PerEntity set, the fall below the entity's lowest pair follows the
	// global distribution. Value is NaN for a NaN dot product (the score
	// of an invalid address).
	Value float64
	// Pairs is the number of calibration pairs Value ranks against: the
	// entity's own when PerEntity, else all of them.
	Pairs int
	// PerEntity reports whether Value ranks the pair among its entity's
	// own calibration pairs; it is false for entities with fewer than
	// MinEntityPairs pairs.
	PerEntity bool
}

// Calibrate scores the pairs of normal (traffic believed normal: a
// held-out day, yesterday's logs) with m and returns their distribution.
// Pairs of entities that m did not see in training are left out (their
// scores carry no information; see Skipped). When m has a network history,
// the calibration also holds the share of the pairs scored whose address
// is not in one of their entity's usual networks, and the distributions of
// both kinds (see AlertByNetwork and UnseenNetworkShare). m is not modified: attach
// the result with WithCalibration. From more than opts.MaxPairs pairs, a
// uniform sample is used, the same for a given model seed. Calibrate
// stops with ctx's error when ctx is done. It returns an error when no
// pair of a seen entity is left or a score is NaN.
func (m *Model) Calibrate(ctx context.Context, normal *Dataset, opts *CalibrationOptions) (*Calibration, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if normal == nil || normal.Len() == 0 {
		return nil, errors.New("ipinsights: calibration: no pairs")
	}
	ts := sampleTuples(normal.All(), normal.Len(), o.MaxPairs, m.cfg.Seed)
	pairs := make([]scoredPair, 0, len(ts))
	var res []Result
	var seen []bool // per pair, with a network history: its network is usual
	var skipped int64
	const chunk = 1 << 16
	for lo := 0; lo < len(ts); lo += chunk {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		part := ts[lo:min(lo+chunk, len(ts))]
		res = m.ScoreTuplesWorkers(res, part, o.Workers)
		for i, r := range res {
			if !r.EntitySeen {
				skipped++
				continue
			}
			if math.IsNaN(r.DotProduct) {
				return nil, errors.New("ipinsights: calibration: the model scores NaN")
			}
			pairs = append(pairs, scoredPair{h: part[i].Entity, dot: float32(r.DotProduct)})
			if m.hist != nil {
				seen = append(seen, m.hist.networkSeen(part[i]))
			}
		}
	}
	if len(pairs) == 0 {
		return nil, fmt.Errorf("ipinsights: calibration: none of the %d pairs has an entity seen in training", len(ts))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var net *netCalibration
	if m.hist != nil {
		// Before carryEntities: the pairs it adds have no address.
		net = newNetCalibration(pairs, seen)
	}
	if o.Previous != nil {
		pairs = carryEntities(pairs, o.Previous, o.MaxPairs)
	}
	c, err := buildCalibration(pairs, skipped, o)
	if err != nil {
		return nil, err
	}
	c.net = net
	return c, nil
}

// carryEntities appends to pairs the pairs that the entities of prev with
// their own distribution and no pair in pairs stand for (see
// CalibrationOptions.Previous): n pairs for an entity of n, its
// distribution's values at ranks 0 to n-1, unless that makes more than
// maxPairs in all, when each entity gets its share of maxPairs, at ranks
// spread evenly over 0 to n-1 (and at least 2 of them).
func carryEntities(pairs []scoredPair, prev *Calibration, maxPairs int) []scoredPair {
	present := make([]bool, len(prev.hashes))
	for _, p := range pairs {
		if i, ok := prev.find(p.h); ok {
			present[i] = true
		}
	}
	var total int64
	for i := range prev.hashes {
		if !present[i] {
			total += int64(prev.counts[i])
		}
	}
	for i, h := range prev.hashes {
		if present[i] {
			continue
		}
		d := prev.entity(i)
		k := d.n
		if total > int64(maxPairs) {
			k = min(d.n, 2+int(int64(d.n)*int64(maxPairs)/total))
		}
		for j := range k {
			r := float64(j)
			if k < d.n {
				r = float64(j) * float64(d.n-1) / float64(k-1)
			}
			pairs = append(pairs, scoredPair{h: h, dot: float32(d.valueAtRank(r))})
		}
	}
	return pairs
}

// scoredPair is a calibration pair: its entity hash and dot product.
type scoredPair struct {
	h   uint64
	dot float32
}

// buildCalibration summarises pairs (not empty, not NaN; sorted in place)
// with the options o (defaults filled in).
func buildCalibration(pairs []scoredPair, skipped int64, o CalibrationOptions) (*Calibration, error) {
	c := &Calibration{minEntityPairs: o.MinEntityPairs, entityQuantiles: o.EntityQuantiles, skipped: skipped}
	all := make([]float32, len(pairs))
	for i, p := range pairs {
		all[i] = p.dot
	}
	slices.Sort(all)
	c.global = newDist(all, globalQuantiles)
	all = nil
	slices.SortFunc(pairs, func(a, b scoredPair) int {
		if a.h != b.h {
			if a.h < b.h {
				return -1
			}
			return 1
		}
		if a.dot < b.dot {
			return -1
		}
		if a.dot > b.dot {
			return 1
		}
		return 0
	})
	c.offsets = []uint32{0}
	var dots []float32
	for lo := 0; lo < len(pairs); {
		hi := lo + 1
		for hi < len(pairs) && pairs[hi].h == pairs[lo].h {
			hi++
		}
		if n := hi - lo; n >= o.MinEntityPairs {
			dots = dots[:0]
			for _, p := range pairs[lo:hi] {
				dots = append(dots, p.dot)
			}
			d := newDist(dots, o.EntityQuantiles)
			if int64(len(c.values))+int64(len(d.v)) > math.MaxUint32 {
				return nil, errors.New("ipinsights: calibration: too many entity values; lower MaxPairs or EntityQuantiles")
			}
			c.hashes = append(c.hashes, pairs[lo].h)
			c.counts = append(c.counts, uint32(min(int64(n), math.MaxUint32)))
			c.values = append(c.values, d.v...)
			c.offsets = append(c.offsets, uint32(len(c.values)))
		}
		lo = hi
	}
	return c, nil
}

// calibrationStream is the RNG stream of the calibration sample.
const calibrationStream = 0x63616c69 // "cali"

// sampleTuples returns ts when it has at most k pairs, else k of them
// drawn uniformly without replacement, in their order (selection
// sampling, Knuth's algorithm S), from the seed's calibration stream.
func sampleTuples(all iter.Seq[embedding.Tuple], n, k int, seed uint64) []embedding.Tuple {
	out := make([]embedding.Tuple, 0, min(n, k))
	if n <= k {
		for t := range all {
			out = append(out, t)
		}
		return out
	}
	r := rng.New(seed, calibrationStream)
	i := 0
	for t := range all {
		// Take t with probability (k - taken) / (pairs left).
		if r.IntN(n-i) < k-len(out) {
			out = append(out, t)
		}
		i++
	}
	return out
}

// WithCalibration returns a model that shares m's parameters and has the
// calibration c (nil: none), which Save writes to the model file. m is not
// modified, so that a model in use by other goroutines never changes: a
// Model stays immutable after Train, Load or WithCalibration. c should
// come from Calibrate of m or of a model with the same parameters. The
// new model shares m's tables (no copy) but starts with empty scoring
// caches.
func (m *Model) WithCalibration(c *Calibration) *Model {
	cp := m.clone()
	cp.calib = c
	return cp
}

// Calibration returns the model's calibration, nil when it has none.
func (m *Model) Calibration() *Calibration { return m.calib }

// Percentile scores one pair and ranks its dot product against the
// calibration pairs (see Calibration.Percentile). It returns
// ErrNotCalibrated when the model has no calibration.
func (m *Model) Percentile(entity string, ip netip.Addr) (Percentile, error) {
	if m.calib == nil {
		return Percentile{}, ErrNotCalibrated
	}
	r := m.Score(entity, ip)
	return m.calib.Percentile(embedding.EntityHash(entity), r.DotProduct), nil
}

// Percentile ranks the dot product dot of a pair whose entity has the hash
// entity (embedding.EntityHash; the Entity of an embedding.Tuple) against
// the calibration pairs: the entity's own when it had at least
// MinEntityPairs of them, else all of them. Batch scorers call it with
// each Result of ScoreTuples. It does not allocate.
func (c *Calibration) Percentile(entity uint64, dot float64) Percentile {
	if math.IsNaN(dot) {
		return Percentile{Value: math.NaN()}
	}
	i, ok := c.find(entity)
	if !ok {
		g := c.global
		if dot < float64(g.v[0]) {
			return Percentile{Value: math.Exp(g.logTail(dot)), Pairs: g.n}
		}
		return Percentile{Value: g.share(dot), Pairs: g.n}
	}
	d := c.entity(i)
	p := Percentile{Pairs: d.n, PerEntity: true}
	if v0 := float64(d.v[0]); dot < v0 {
		// Below the entity's lowest pair: 1/n, falling as the global
		// distribution does from there.
		p.Value = math.Exp(c.global.logTail(dot)-c.global.logTail(v0)) / float64(d.n)
	} else {
		p.Value = d.share(dot)
	}
	return p
}

// find returns the index of the entity with hash h, if it has its own
// distribution.
func (c *Calibration) find(h uint64) (int, bool) {
	return slices.BinarySearch(c.hashes, h)
}

func (c *Calibration) entity(i int) dist {
	return dist{n: int(c.counts[i]), v: c.values[c.offsets[i]:c.offsets[i+1]]}
}

// Threshold returns the dot-product threshold that flags the share fpr of
// the calibration pairs, all entities together: a pair is flagged when its
// dot product is below the threshold (as in Evaluate). With n pairs it
// flags floor(fpr*n) of them: the threshold lies halfway between the
// highest flagged and the lowest unflagged dot product (interpolated
// between quantiles for a large calibration). fpr must be in (0, 1).
func (c *Calibration) Threshold(fpr float64) (float64, error) {
	if err := checkRate(fpr); err != nil {
		return 0, err
	}
	return c.global.threshold(fpr), nil
}

func checkRate(fpr float64) error {
	if !(fpr > 0 && fpr < 1) {
		return fmt.Errorf("ipinsights: false-positive rate %v is not between 0 and 1", fpr)
	}
	return nil
}

// Pairs returns the number of calibration pairs (of entities seen in
// training).
func (c *Calibration) Pairs() int { return c.global.n }

// Entities returns the number of entities with their own distribution.
func (c *Calibration) Entities() int { return len(c.hashes) }

// Skipped returns the number of pairs Calibrate left out because their
// entity was not seen in training.
func (c *Calibration) Skipped() int64 { return c.skipped }

// MinEntityPairs returns the number of pairs from which an entity was
// given its own distribution (CalibrationOptions.MinEntityPairs).
func (c *Calibration) MinEntityPairs() int { return c.minEntityPairs }

// EntityQuantiles returns the number of values kept at most per entity
// (CalibrationOptions.EntityQuantiles).
func (c *Calibration) EntityQuantiles() int { return c.entityQuantiles }

// AlertBasis is what an AlertRule compares against its false-positive
// rate.
type AlertBasis int

const (
	// AlertDefault is the basis that measured best on the tutorial's
	// attack test with a held-out calibration (the README's detection
	// quality section has the figures): AlertByNetwork when the model has
	// what it needs (Model.HasNetworkCalibration), else AlertByDotProduct,
	// the better of the bases that need no network history. A Calibration
	// alone has no history: its AlertRule resolves AlertDefault to
	// AlertByDotProduct.
	AlertDefault AlertBasis = iota
	// AlertByDotProduct flags a pair whose dot product is below the
	// global threshold of the rate (Calibration.Threshold): the share fpr
	// of all calibration pairs.
	AlertByDotProduct
	// AlertByPercentile flags a pair whose Percentile.Value is at most the
	// rate: each entity with its own distribution is held to the rate on
	// its own pairs, the others to the rate on all pairs.
	AlertByPercentile
	// AlertByNetwork ranks the pairs whose address is not in one of their
	// entity's usual networks (Explanation.NetworkSeen false: the
	// network at the history's finest level is not among those the
	// model's network history keeps for the entity) before all the others,
	// and each kind by dot product. At the rate fpr it flags the share fpr
	// of the calibration pairs: when that is at most the share u of
	// unusual-network pairs (UnseenNetworkShare), the unusual-network
	// pairs below the dot product that flags fpr/u of them; above u, every
	// unusual-network pair and the usual-network pairs below the dot
	// product that flags (fpr-u)/(1-u) of them. It needs a model with a
	// network history whose calibration was computed with it
	// (Model.AlertRule returns ErrNoNetworkCalibration otherwise), and
	// the pair's address (AlertRule.AlertTuple).
	AlertByNetwork
)

// ErrNoNetworkCalibration is returned when the AlertByNetwork basis is
// asked of a model without a network history, or whose calibration was
// computed without one (saved before the basis existed, or calibrated
// before the history was added): calibrating the model again, with its
// history, gives it what the basis needs.
var ErrNoNetworkCalibration = errors.New("ipinsights: the network alert basis needs a network history and a calibration computed with it")

// String returns "default", "dot_product", "percentile" or "network",
// the names ParseAlertBasis reads.
func (b AlertBasis) String() string {
	switch b {
	case AlertDefault:
		return "default"
	case AlertByDotProduct:
		return "dot_product"
	case AlertByPercentile:
		return "percentile"
	case AlertByNetwork:
		return "network"
	}
	return fmt.Sprintf("AlertBasis(%d)", int(b))
}

// ParseAlertBasis reads "default", "dot_product", "percentile" or
// "network".
func ParseAlertBasis(s string) (AlertBasis, error) {
	switch s {
	case "default":
		return AlertDefault, nil
	case "dot_product":
		return AlertByDotProduct, nil
	case "percentile":
		return AlertByPercentile, nil
	case "network":
		return AlertByNetwork, nil
	}
	return 0, fmt.Errorf("ipinsights: unknown alert basis %q (want default, dot_product, percentile or network)", s)
}

func (b AlertBasis) resolve() AlertBasis {
	if b == AlertDefault {
		return AlertByDotProduct
	}
	return b
}

// AlertRule flags pairs at a false-positive rate stated on the
// calibration pairs. It is a small value, safe for concurrent use; the
// zero AlertRule flags nothing.
type AlertRule struct {
	cal       *Calibration
	fpr       float64
	basis     AlertBasis
	threshold float64
	// With AlertByNetwork: the history that tells usual networks, and
	// the dot-product thresholds of pairs in an unusual network and in a
	// usual one (+Inf flags every such pair, -Inf none).
	hist                   *networkHistory
	unseenBelow, seenBelow float64
}

// AlertRule returns the rule that flags the share fpr of normal pairs on
// basis, AlertByDotProduct or AlertByPercentile (AlertDefault: the better
// measured of the two, AlertByDotProduct). fpr must be in (0, 1).
// AlertByNetwork needs the model's network history: ask Model.AlertRule.
func (c *Calibration) AlertRule(fpr float64, basis AlertBasis) (AlertRule, error) {
	if err := checkRate(fpr); err != nil {
		return AlertRule{}, err
	}
	basis = basis.resolve()
	switch basis {
	case AlertByDotProduct, AlertByPercentile:
	case AlertByNetwork:
		return AlertRule{}, fmt.Errorf("%w (a Calibration alone has no history: ask the model for the rule)", ErrNoNetworkCalibration)
	default:
		return AlertRule{}, fmt.Errorf("ipinsights: unknown alert basis %d", int(basis))
	}
	return AlertRule{cal: c, fpr: fpr, basis: basis, threshold: c.global.threshold(fpr)}, nil
}

// AlertRule is Calibration.AlertRule of the model's calibration, which
// also gives AlertByNetwork rules when the model has a network history and
// its calibration was computed with one (HasNetworkCalibration): then
// AlertDefault is AlertByNetwork, else AlertByDotProduct (the rule's
// Basis tells which). It returns ErrNotCalibrated when the model has no
// calibration, and ErrNoNetworkCalibration when AlertByNetwork is asked
// without what it needs.
func (m *Model) AlertRule(fpr float64, basis AlertBasis) (AlertRule, error) {
	if m.calib == nil {
		return AlertRule{}, ErrNotCalibrated
	}
	if basis == AlertDefault && m.HasNetworkCalibration() {
		basis = AlertByNetwork
	}
	if basis != AlertByNetwork {
		return m.calib.AlertRule(fpr, basis)
	}
	switch {
	case m.hist == nil:
		return AlertRule{}, fmt.Errorf("%w: the model has no network history", ErrNoNetworkCalibration)
	case m.calib.net == nil:
		return AlertRule{}, fmt.Errorf("%w: the model's calibration was computed without its network history", ErrNoNetworkCalibration)
	}
	if err := checkRate(fpr); err != nil {
		return AlertRule{}, err
	}
	r := AlertRule{cal: m.calib, fpr: fpr, basis: AlertByNetwork, threshold: m.calib.global.threshold(fpr), hist: m.hist}
	r.unseenBelow, r.seenBelow = m.calib.net.thresholds(fpr)
	return r, nil
}

// Alert reports whether the pair of an entity with hash entity
// (embedding.EntityHash) and dot product dot is flagged. A NaN dot product
// (an invalid address) is never flagged. Scores of entities not seen in
// training carry no information, and so do their alerts. An
// AlertByNetwork rule, which needs the address, applies the global
// dot-product threshold of its rate instead (as AlertByDotProduct):
// AlertTuple applies the rule itself.
func (r AlertRule) Alert(entity uint64, dot float64) bool {
	switch {
	case r.cal == nil:
		return false
	case r.basis == AlertByDotProduct || r.basis == AlertByNetwork:
		return dot < r.threshold
	}
	return r.cal.Percentile(entity, dot).Value <= r.fpr
}

// AlertTuple reports whether the pair t (the Tuple of ScoreTuples and
// ExplainTuples), of dot product dot, is flagged: as Alert, and on
// AlertByNetwork by whether t's address is in one of its entity's usual
// networks and by dot. It does not allocate.
func (r AlertRule) AlertTuple(t embedding.Tuple, dot float64) bool {
	if r.basis != AlertByNetwork || r.hist == nil {
		return r.Alert(t.Entity, dot)
	}
	if math.IsNaN(dot) {
		return false
	}
	if r.hist.networkSeen(t) {
		return dot < r.seenBelow
	}
	return dot < r.unseenBelow
}

// FPR returns the rule's false-positive rate.
func (r AlertRule) FPR() float64 { return r.fpr }

// Basis returns what the rule compares (never AlertDefault: the zero
// AlertRule says AlertByDotProduct).
func (r AlertRule) Basis() AlertBasis {
	if r.basis == AlertDefault {
		return AlertByDotProduct
	}
	return r.basis
}

// Threshold returns the global dot-product threshold of the rule's rate,
// which the rule applies when its basis is AlertByDotProduct.
func (r AlertRule) Threshold() float64 { return r.threshold }

// NetworkThresholds returns, for an AlertByNetwork rule, the dot products
// below which it flags a pair whose address is in an unusual network
// (unseen) and in one of its entity's usual networks (seen): +Inf flags
// every such pair, -Inf none. Both are NaN on another basis.
func (r AlertRule) NetworkThresholds() (unseen, seen float64) {
	if r.basis != AlertByNetwork {
		return math.NaN(), math.NaN()
	}
	return r.unseenBelow, r.seenBelow
}
