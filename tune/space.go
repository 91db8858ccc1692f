package tune

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// Scale is how a range is searched: values spread evenly (Linear) or
// evenly in their logarithm (Log), as AMT's ScalingType.
type Scale int

// The scales. The zero Scale means the default scale of the hyperparameter
// (see DefaultRanges).
const (
	Linear Scale = iota + 1
	Log
)

func (s Scale) String() string {
	switch s {
	case Linear:
		return "linear"
	case Log:
		return "log"
	}
	return "default"
}

// Range is the range of one tuned hyperparameter.
type Range struct {
	// Name is the hyperparameter's SageMaker name (learning_rate).
	Name string
	// Min and Max bound the values searched, both included. Integer
	// hyperparameters take integer bounds.
	Min, Max float64
	// Scale is Linear or Log; zero means the hyperparameter's default.
	Scale Scale
}

// limit is a hyperparameter that AMT tunes for IP Insights: its
// recommended range, which a Range may narrow but not widen, and the
// default scale of this package.
type limit struct {
	name     string
	min, max float64
	integer  bool
	scale    Scale
}

// limits are AMT's recommended ranges for IP Insights (SageMaker developer
// guide, "Tune an IP Insights Model"), in the order of SageMaker's
// hyperparameter documentation. AMT documents no scale; ranges that span
// orders of magnitude default to Log here.
var limits = []limit{
	{"num_entity_vectors", 10000, 1000000, true, Log},
	{"vector_dim", 8, 256, true, Log},
	{"epochs", 1, 100, true, Linear},
	{"learning_rate", 1e-4, 0.1, false, Log},
	{"mini_batch_size", 100, 50000, true, Log},
	{"num_ip_encoder_layers", 1, 10, true, Linear},
	{"random_negative_sampling_rate", 0, 10, true, Linear},
	{"shuffled_negative_sampling_rate", 0, 10, true, Linear},
	{"weight_decay", 0, 1, false, Linear},
}

func findLimit(name string) (limit, bool) {
	for _, l := range limits {
		if l.name == name {
			return l, true
		}
	}
	return limit{}, false
}

// Tunable returns the names of the hyperparameters AMT tunes for IP
// Insights, in the order of SageMaker's documentation.
func Tunable() []string {
	names := make([]string, len(limits))
	for i, l := range limits {
		names[i] = l.name
	}
	return names
}

// DefaultRanges returns AMT's recommended ranges for IP Insights, with
// this package's default scales: Log for num_entity_vectors, vector_dim,
// learning_rate and mini_batch_size, Linear for the others.
func DefaultRanges() []Range {
	rs := make([]Range, len(limits))
	for i, l := range limits {
		rs[i] = Range{Name: l.name, Min: l.min, Max: l.max, Scale: l.scale}
	}
	return rs
}

// Integer reports whether r's hyperparameter takes integer values.
func (r Range) Integer() bool {
	l, _ := findLimit(r.Name)
	return l.integer
}

func (r Range) String() string {
	s := r.Name + "=" + formatValue(r.Min, r.Integer()) + ":" + formatValue(r.Max, r.Integer())
	if r.Scale != 0 {
		s += ":" + r.Scale.String()
	}
	return s
}

// RangeError reports a range that AMT would not accept for IP Insights,
// or one this package cannot search: an unknown or untunable
// hyperparameter, bounds outside AMT's recommended range or in the wrong
// order, a logarithmic scale over values that are not all positive.
type RangeError struct {
	Range   string // the range as given
	Reason  string
	Allowed string // what would be accepted, when there is something to say
}

func (e *RangeError) Error() string {
	s := fmt.Sprintf("range %s: %s", e.Range, e.Reason)
	if e.Allowed != "" {
		s += "; allowed: " + e.Allowed
	}
	return s
}

// Validate checks r against AMT's recommended range of its hyperparameter.
func (r Range) Validate() error {
	l, ok := findLimit(r.Name)
	bad := func(reason, allowed string) error {
		return &RangeError{Range: r.String(), Reason: reason, Allowed: allowed}
	}
	if !ok {
		return bad("not a hyperparameter that AMT tunes for IP Insights", strings.Join(Tunable(), ", "))
	}
	within := fmt.Sprintf("%s:%s (AMT's recommended range, which a range may narrow)", formatValue(l.min, l.integer), formatValue(l.max, l.integer))
	switch {
	case math.IsNaN(r.Min) || math.IsNaN(r.Max):
		return bad("bounds are not numbers", within)
	case l.integer && (r.Min != math.Trunc(r.Min) || r.Max != math.Trunc(r.Max)):
		return bad("bounds of an integer hyperparameter must be integers", within)
	case r.Min > r.Max:
		return bad("the minimum is above the maximum", within)
	case r.Min < l.min || r.Max > l.max:
		return bad("outside AMT's allowed values", within)
	case r.Scale == Log && r.Min <= 0:
		return bad("a logarithmic scale needs a positive minimum", "")
	case r.Scale != 0 && r.Scale != Linear && r.Scale != Log:
		return bad("unknown scale", "linear, log")
	}
	return nil
}

// ParseRange parses a range written key=min:max, key=min:max:log or
// key=min:max:linear, and validates it.
func ParseRange(s string) (Range, error) {
	key, spec, ok := strings.Cut(s, "=")
	key = strings.TrimSpace(key)
	parts := strings.Split(spec, ":")
	if !ok || key == "" || len(parts) < 2 || len(parts) > 3 {
		return Range{}, &RangeError{Range: s, Reason: "want key=min:max or key=min:max:log"}
	}
	r := Range{Name: key}
	var err error
	if r.Min, err = strconv.ParseFloat(strings.TrimSpace(parts[0]), 64); err != nil {
		return Range{}, &RangeError{Range: s, Reason: fmt.Sprintf("minimum %q is not a number", parts[0])}
	}
	if r.Max, err = strconv.ParseFloat(strings.TrimSpace(parts[1]), 64); err != nil {
		return Range{}, &RangeError{Range: s, Reason: fmt.Sprintf("maximum %q is not a number", parts[1])}
	}
	if len(parts) == 3 {
		switch strings.ToLower(strings.TrimSpace(parts[2])) {
		case "log", "logarithmic":
			r.Scale = Log
		case "linear":
			r.Scale = Linear
		default:
			return Range{}, &RangeError{Range: s, Reason: fmt.Sprintf("unknown scale %q", parts[2]), Allowed: "linear, log"}
		}
	}
	if err := r.Validate(); err != nil {
		return Range{}, err
	}
	return r, nil
}

// Strategy is how the next hyperparameters are chosen, as AMT's Strategy.
type Strategy string

// The strategies.
const (
	// Bayesian fits a Gaussian process to the objective values of the
	// trials so far and picks the point of highest expected improvement;
	// the first trials are random (see Options.RandomTrials).
	Bayesian Strategy = "Bayesian"
	// Random draws every trial independently, uniformly in each range's
	// scale.
	Random Strategy = "Random"
	// Hyperband draws trials at random and stops them at rungs of epochs
	// (MinEpochs x 3^k) unless they are in the best third of the trials
	// that reached the same rung (asynchronous successive halving in
	// brackets). Epochs are its resource: the epochs hyperparameter is
	// static and is the maximum.
	Hyperband Strategy = "Hyperband"
)

// ParseStrategy parses a strategy name, in any case.
func ParseStrategy(s string) (Strategy, error) {
	for _, st := range []Strategy{Bayesian, Random, Hyperband} {
		if strings.EqualFold(s, string(st)) {
			return st, nil
		}
	}
	return "", fmt.Errorf("tune: unknown strategy %q: want bayesian, random or hyperband", s)
}

// Space is the search space of a tuning job: the static hyperparameters
// and the ranges of the tuned ones. The same Space drives a local search
// (Run) and a SageMaker tuning job.
type Space struct {
	// Static holds the hyperparameters that every trial shares, as given
	// (SageMaker's names and this implementation's extras); with
	// Hyperband it includes epochs, the maximum number of epochs.
	Static map[string]string
	// Ranges holds the tuned hyperparameters, in the order of Tunable.
	Ranges []Range
}

// NewSpace returns the search space of static hyperparameters and ranges:
// every hyperparameter of Tunable that static does not fix is tuned, over
// its range in ranges or else its default range (DefaultRanges). A range
// for a hyperparameter that static fixes, two ranges for one
// hyperparameter, or an invalid range is an error (*RangeError); so are
// static hyperparameters that ipinsights.ParseHyperparameters refuses, and
// ranges of the two negative sampling rates that allow no value with
// random + shuffled rate >= 1. With Hyperband, epochs is not tuned: it is
// the static maximum (DefaultConfig's when static lacks it), and a range
// for it is an error.
func NewSpace(static map[string]string, ranges []Range, strategy Strategy) (*Space, error) {
	cfg, err := ipinsights.ParseHyperparameters(static)
	if err != nil {
		return nil, fmt.Errorf("tune: static hyperparameters: %w", err)
	}
	s := &Space{Static: maps.Clone(static)}
	if s.Static == nil {
		s.Static = map[string]string{}
	}
	given := map[string]Range{}
	for _, r := range ranges {
		if err := r.Validate(); err != nil {
			return nil, err
		}
		if _, dup := given[r.Name]; dup {
			return nil, &RangeError{Range: r.String(), Reason: "a second range for " + r.Name}
		}
		if v, fixed := static[r.Name]; fixed {
			return nil, &RangeError{Range: r.String(), Reason: fmt.Sprintf("%s is also given a fixed value (%s)", r.Name, v)}
		}
		if strategy == Hyperband && r.Name == "epochs" {
			return nil, &RangeError{Range: r.String(), Reason: "Hyperband allocates epochs itself: give the maximum as a fixed epochs hyperparameter instead"}
		}
		given[r.Name] = r
	}
	if strategy == Hyperband {
		if _, ok := s.Static["epochs"]; !ok {
			s.Static["epochs"] = strconv.Itoa(cfg.Epochs)
		}
	}
	for _, d := range DefaultRanges() {
		if _, fixed := s.Static[d.Name]; fixed {
			continue
		}
		r, ok := given[d.Name]
		if !ok {
			r = d
		}
		if r.Scale == 0 {
			r.Scale = d.Scale
			if r.Scale == Log && r.Min <= 0 {
				r.Scale = Linear
			}
		}
		s.Ranges = append(s.Ranges, r)
	}
	// 1 <= random + shuffled rate must be reachable.
	maxRate := func(name string, fixed int) float64 {
		if r, ok := s.rangeOf(name); ok {
			return r.Max
		}
		return float64(fixed)
	}
	if maxRate("random_negative_sampling_rate", cfg.RandomNegativeSamplingRate)+maxRate("shuffled_negative_sampling_rate", cfg.ShuffledNegativeSamplingRate) < 1 {
		return nil, &RangeError{Range: "random_negative_sampling_rate, shuffled_negative_sampling_rate",
			Reason: "no value of the two negative sampling rates has random + shuffled rate >= 1"}
	}
	return s, nil
}

func (s *Space) rangeOf(name string) (Range, bool) {
	for _, r := range s.Ranges {
		if r.Name == name {
			return r, true
		}
	}
	return Range{}, false
}

// Dims returns the number of tuned hyperparameters.
func (s *Space) Dims() int { return len(s.Ranges) }

// decode maps a point of the unit cube (one coordinate per range) to the
// tuned hyperparameters' values. Integer values split the unit interval
// into equal parts (in the range's scale); continuous values are rounded
// to 4 significant digits, so that the string form is the value trained.
func (s *Space) decode(u []float64) []float64 {
	v := make([]float64, len(s.Ranges))
	for i, r := range s.Ranges {
		x := min(max(u[i], 0), 1)
		switch {
		case r.Integer() && r.Scale == Log:
			lo, hi := math.Log(r.Min-0.5), math.Log(r.Max+0.5)
			v[i] = math.Round(math.Exp(lo + x*(hi-lo)))
		case r.Integer():
			v[i] = math.Floor(r.Min + x*(r.Max-r.Min+1))
		case r.Scale == Log:
			v[i] = math.Exp(math.Log(r.Min) + x*(math.Log(r.Max)-math.Log(r.Min)))
		default:
			v[i] = r.Min + x*(r.Max-r.Min)
		}
		if !r.Integer() {
			v[i], _ = strconv.ParseFloat(strconv.FormatFloat(v[i], 'g', 4, 64), 64)
		}
		v[i] = min(max(v[i], r.Min), r.Max)
	}
	return v
}

// encode is the inverse of decode: the centre of the part of the unit
// interval that decodes to each value.
func (s *Space) encode(v []float64) []float64 {
	u := make([]float64, len(s.Ranges))
	for i, r := range s.Ranges {
		switch {
		case r.Min == r.Max:
			u[i] = 0.5
		case r.Integer() && r.Scale == Log:
			lo, hi := math.Log(r.Min-0.5), math.Log(r.Max+0.5)
			u[i] = (math.Log(v[i]) - lo) / (hi - lo)
		case r.Integer():
			u[i] = (v[i] - r.Min + 0.5) / (r.Max - r.Min + 1)
		case r.Scale == Log:
			u[i] = (math.Log(v[i]) - math.Log(r.Min)) / (math.Log(r.Max) - math.Log(r.Min))
		default:
			u[i] = (v[i] - r.Min) / (r.Max - r.Min)
		}
	}
	return u
}

// values returns the tuned hyperparameters of v as SageMaker's strings.
func (s *Space) values(v []float64) map[string]string {
	hp := make(map[string]string, len(v))
	for i, r := range s.Ranges {
		hp[r.Name] = formatValue(v[i], r.Integer())
	}
	return hp
}

// Hyperparameters returns the static hyperparameters with tuned on top:
// the complete map of one trial.
func (s *Space) Hyperparameters(tuned map[string]string) map[string]string {
	hp := maps.Clone(s.Static)
	maps.Copy(hp, tuned)
	return hp
}

// Start returns the tuned hyperparameters of a trial given as a map such
// as a hyperparameters.json file holds: the values of the tuned
// hyperparameters, which must lie in their ranges; for a tuned one that hp
// lacks, its DefaultConfig value, which must lie in its range too. Other
// keys of hp must agree with the static configuration. It also returns
// the values in the order of Ranges.
func (s *Space) Start(hp map[string]string) (map[string]string, []float64, error) {
	base, err := ipinsights.ParseHyperparameters(s.Static)
	if err != nil {
		return nil, nil, err
	}
	fixed, defaults := base.Hyperparameters(), ipinsights.DefaultConfig().Hyperparameters()
	tuned := map[string]bool{}
	for _, r := range s.Ranges {
		tuned[r.Name] = true
	}
	for _, k := range slices.Sorted(maps.Keys(hp)) {
		if tuned[k] {
			continue
		}
		if want, ok := fixed[k]; !ok || !sameValue(hp[k], want) {
			return nil, nil, fmt.Errorf("tune: start: %s=%s, but %s is not tuned and is %s", k, hp[k], k, orUnknown(want, ok))
		}
	}
	out := map[string]string{}
	v := make([]float64, len(s.Ranges))
	for i, r := range s.Ranges {
		str, given := hp[r.Name]
		if !given {
			str = defaults[r.Name]
		}
		x, err := strconv.ParseFloat(strings.TrimSpace(str), 64)
		if err != nil || x < r.Min || x > r.Max || r.Integer() && x != math.Trunc(x) {
			if !given {
				return nil, nil, fmt.Errorf("tune: start: no value for %s, and its default %s is outside the range %s", r.Name, str, r)
			}
			return nil, nil, fmt.Errorf("tune: start: %s=%s is outside the range %s", r.Name, str, r)
		}
		v[i] = x
		out[r.Name] = formatValue(x, r.Integer())
	}
	if _, err := s.config(out); err != nil {
		return nil, nil, fmt.Errorf("tune: start: %w", err)
	}
	return out, v, nil
}

func sameValue(a, b string) bool {
	if strings.TrimSpace(a) == b {
		return true
	}
	x, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
	y, err2 := strconv.ParseFloat(b, 64)
	return err1 == nil && err2 == nil && x == y
}

func orUnknown(v string, ok bool) string {
	if !ok {
		return "not a hyperparameter of the model"
	}
	return "fixed at " + v
}

// Names returns the names of the tuned hyperparameters, in order.
func (s *Space) Names() []string {
	names := make([]string, len(s.Ranges))
	for i, r := range s.Ranges {
		names[i] = r.Name
	}
	return names
}

func formatValue(v float64, integer bool) string {
	if integer {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// config returns the configuration of a trial, or the error of
// hyperparameters that do not make one (the joint constraint on the
// negative sampling rates).
func (s *Space) config(tuned map[string]string) (ipinsights.Config, error) {
	return ipinsights.ParseHyperparameters(s.Hyperparameters(tuned))
}
