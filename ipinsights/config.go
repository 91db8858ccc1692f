package ipinsights

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/ipinsights/ipinsights-go/embedding"
)

// Config holds every hyperparameter of a model: SageMaker IP Insights' own,
// with SageMaker's names, ranges and container defaults, and the extras of
// this implementation. Start from DefaultConfig (the zero Config is not
// valid: zero is a meaningful value for several SageMaker hyperparameters)
// or from ParseHyperparameters.
type Config struct {
	// SageMaker hyperparameters (see the SageMaker developer guide, "IP
	// Insights hyperparameters"). The comments give the hyperparameter name.

	NumEntityVectors             int     // num_entity_vectors: entity hash buckets, 1..250,000,000
	VectorDim                    int     // vector_dim: embedding size, 4..4096
	Epochs                       int     // epochs: passes over the training data, >= 1
	LearningRate                 float64 // learning_rate: 1e-6..10
	MiniBatchSize                int     // mini_batch_size: expanded samples per batch, 1..500,000
	NumIPEncoderLayers           int     // num_ip_encoder_layers: dense layers after the prefix encoder, 0..100
	RandomNegativeSamplingRate   int     // random_negative_sampling_rate: R, 0..500
	ShuffledNegativeSamplingRate int     // shuffled_negative_sampling_rate: S, 0..500; 1 <= R+S <= 500
	WeightDecay                  float64 // weight_decay: L2 factor, 0..10
	BatchMetricsPublishInterval  int     // batch_metrics_publish_interval: batches between progress reports, >= 1

	// Extras of this implementation. They are stored in the model file and
	// are never sent to SageMaker (see SageMakerHyperparameters). The
	// number of training goroutines, which does not change the model, is
	// not a hyperparameter but TrainOptions.Workers.

	Seed         uint64 // seed: seeds initialisation, shuffling and negative sampling
	Optimizer    string // optimizer: "adam" (as SageMaker) or "sgd"
	IPv4Prefixes []int  // ipv4_prefix_lengths: IPv4 prefix lengths of the encoder
	IPv6Prefixes []int  // ipv6_prefix_lengths: IPv6 prefix lengths of the encoder
	IPv4HashRows int    // ipv4_hash_rows: rows of each hashed IPv4 prefix table
	IPv6HashRows int    // ipv6_hash_rows: rows of the shared IPv6 prefix table
}

// DefaultConfig returns the SageMaker container defaults and the defaults of
// the extras.
func DefaultConfig() Config {
	enc := embedding.DefaultEncoderConfig()
	return Config{
		NumEntityVectors:             100000,
		VectorDim:                    128,
		Epochs:                       10,
		LearningRate:                 0.001,
		MiniBatchSize:                5000,
		NumIPEncoderLayers:           1,
		RandomNegativeSamplingRate:   1,
		ShuffledNegativeSamplingRate: 1,
		WeightDecay:                  0.00001,
		BatchMetricsPublishInterval:  1000,

		Seed:         1,
		Optimizer:    "adam",
		IPv4Prefixes: enc.V4Prefixes,
		IPv6Prefixes: enc.V6Prefixes,
		IPv4HashRows: enc.V4HashRows,
		IPv6HashRows: enc.V6HashRows,
	}
}

// HyperparameterError reports a hyperparameter that is unknown, not a
// number, or out of its allowed range.
type HyperparameterError struct {
	Key     string
	Value   string
	Allowed string // the allowed range or values; empty for an unknown key
	Reason  string
}

func (e *HyperparameterError) Error() string {
	s := fmt.Sprintf("hyperparameter %s=%q: %s", e.Key, e.Value, e.Reason)
	if e.Allowed != "" {
		s += "; allowed: " + e.Allowed
	}
	return s
}

type kind int

const (
	kInt kind = iota
	kFloat
	kUint
	kString
	kPrefixes
)

// param describes one hyperparameter: its name, how to parse and range-check
// it, and where it lives in Config.
type param struct {
	name      string
	sagemaker bool
	shapes    bool // shapes the model's tables: a warm start must keep it
	kind      kind
	min, max  float64
	allowed   string
	intp      func(*Config) *int
	floatp    func(*Config) *float64
}

var params = []param{
	{name: "num_entity_vectors", shapes: true, sagemaker: true, kind: kInt, min: 1, max: 250_000_000, allowed: "1 to 250000000", intp: func(c *Config) *int { return &c.NumEntityVectors }},
	{name: "vector_dim", shapes: true, sagemaker: true, kind: kInt, min: 4, max: 4096, allowed: "4 to 4096", intp: func(c *Config) *int { return &c.VectorDim }},
	{name: "epochs", sagemaker: true, kind: kInt, min: 1, max: math.MaxInt32, allowed: "an integer >= 1", intp: func(c *Config) *int { return &c.Epochs }},
	{name: "learning_rate", sagemaker: true, kind: kFloat, min: 1e-6, max: 10, allowed: "1e-6 to 10.0", floatp: func(c *Config) *float64 { return &c.LearningRate }},
	{name: "mini_batch_size", sagemaker: true, kind: kInt, min: 1, max: 500_000, allowed: "1 to 500000", intp: func(c *Config) *int { return &c.MiniBatchSize }},
	{name: "num_ip_encoder_layers", shapes: true, sagemaker: true, kind: kInt, min: 0, max: 100, allowed: "0 to 100", intp: func(c *Config) *int { return &c.NumIPEncoderLayers }},
	{name: "random_negative_sampling_rate", sagemaker: true, kind: kInt, min: 0, max: 500, allowed: "0 to 500, with 1 <= random + shuffled rate <= 500", intp: func(c *Config) *int { return &c.RandomNegativeSamplingRate }},
	{name: "shuffled_negative_sampling_rate", sagemaker: true, kind: kInt, min: 0, max: 500, allowed: "0 to 500, with 1 <= random + shuffled rate <= 500", intp: func(c *Config) *int { return &c.ShuffledNegativeSamplingRate }},
	{name: "weight_decay", sagemaker: true, kind: kFloat, min: 0, max: 10, allowed: "0.0 to 10.0", floatp: func(c *Config) *float64 { return &c.WeightDecay }},
	{name: "batch_metrics_publish_interval", sagemaker: true, kind: kInt, min: 1, max: math.MaxInt32, allowed: "an integer >= 1", intp: func(c *Config) *int { return &c.BatchMetricsPublishInterval }},

	{name: "seed", kind: kUint, allowed: "an integer 0 to 18446744073709551615"},
	{name: "optimizer", kind: kString, allowed: "adam or sgd"},
	{name: "ipv4_prefix_lengths", shapes: true, kind: kPrefixes, max: 32, allowed: "1 to 16 ascending lengths in 1..32, comma separated"},
	{name: "ipv6_prefix_lengths", shapes: true, kind: kPrefixes, max: 128, allowed: "1 to 16 ascending lengths in 1..128, comma separated"},
	{name: "ipv4_hash_rows", shapes: true, kind: kInt, min: 1, max: 1 << 30, allowed: "1 to 1073741824", intp: func(c *Config) *int { return &c.IPv4HashRows }},
	{name: "ipv6_hash_rows", shapes: true, kind: kInt, min: 1, max: 1 << 30, allowed: "1 to 1073741824", intp: func(c *Config) *int { return &c.IPv6HashRows }},
}

func findParam(name string) *param {
	for i := range params {
		if params[i].name == name {
			return &params[i]
		}
	}
	return nil
}

// SageMakerNames returns the names of SageMaker IP Insights'
// hyperparameters, in the order of its documentation.
func SageMakerNames() []string {
	var names []string
	for _, p := range params {
		if p.sagemaker {
			names = append(names, p.name)
		}
	}
	return names
}

// ParseHyperparameters returns DefaultConfig with the given hyperparameters
// applied. Keys are spelled as SageMaker spells them (vector_dim, not
// VectorDim) plus this implementation's extras; values are strings as in a
// SageMaker training job. An unknown key, a malformed value or an
// out-of-range value is a *HyperparameterError.
func ParseHyperparameters(hp map[string]string) (Config, error) {
	c := DefaultConfig()
	if err := c.Set(hp); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Set applies hyperparameters to c, then validates the result; on error c
// is left unchanged. Keys are applied in sorted order, so the first error
// reported does not depend on map iteration order.
func (c *Config) Set(hp map[string]string) error {
	keys := make([]string, 0, len(hp))
	for k := range hp {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	n := *c // set replaces the prefix slices rather than writing to them
	for _, k := range keys {
		if err := n.set(k, hp[k]); err != nil {
			return err
		}
	}
	if err := n.Validate(); err != nil {
		return err
	}
	*c = n
	return nil
}

func (c *Config) set(key, raw string) error {
	p := findParam(key)
	if p == nil && key == "workers" {
		// A hyperparameter of earlier versions.
		return &HyperparameterError{Key: key, Value: raw, Reason: "not a hyperparameter: the number of training goroutines does not change the model; it is TrainOptions.Workers"}
	}
	if p == nil {
		return &HyperparameterError{Key: key, Value: raw, Reason: "unknown hyperparameter (known: " + strings.Join(knownNames(), ", ") + ")"}
	}
	v := strings.TrimSpace(raw)
	bad := func(reason string) error {
		return &HyperparameterError{Key: key, Value: raw, Allowed: p.allowed, Reason: reason}
	}
	switch p.kind {
	case kInt:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			// SageMaker's SDK may render integers as floats ("5.0").
			f, ferr := strconv.ParseFloat(v, 64)
			if ferr != nil || f != math.Trunc(f) || math.IsInf(f, 0) {
				return bad("not an integer")
			}
			if f < p.min || f > p.max {
				return bad("out of range")
			}
			n = int64(f)
		}
		if float64(n) < p.min || float64(n) > p.max {
			return bad("out of range")
		}
		*p.intp(c) = int(n)
	case kFloat:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return bad("not a finite number")
		}
		if f < p.min || f > p.max {
			return bad("out of range")
		}
		*p.floatp(c) = f
	case kUint:
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return bad("not an unsigned integer")
		}
		c.Seed = n
	case kString:
		s := strings.ToLower(v)
		if s != "adam" && s != "sgd" {
			return bad("unknown optimizer")
		}
		c.Optimizer = s
	case kPrefixes:
		var ps []int
		for f := range strings.SplitSeq(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return bad("not a comma-separated list of integers")
			}
			ps = append(ps, n)
		}
		if len(ps) == 0 || len(ps) > embedding.MaxLevels {
			return bad("wrong number of prefix lengths")
		}
		for i, n := range ps {
			if n < 1 || n > int(p.max) {
				return bad("prefix length out of range")
			}
			if i > 0 && n <= ps[i-1] {
				return bad("prefix lengths must be strictly ascending")
			}
		}
		if key == "ipv4_prefix_lengths" {
			c.IPv4Prefixes = ps
		} else {
			c.IPv6Prefixes = ps
		}
	}
	return nil
}

func knownNames() []string {
	names := make([]string, len(params))
	for i, p := range params {
		names[i] = p.name
	}
	return names
}

// Validate checks every field against its range, and the joint constraint
// 1 <= random_negative_sampling_rate + shuffled_negative_sampling_rate <= 500.
func (c Config) Validate() error {
	hp := c.Hyperparameters()
	probe := DefaultConfig()
	for _, p := range params {
		v, ok := hp[p.name]
		if !ok {
			continue
		}
		if err := probe.set(p.name, v); err != nil {
			return err
		}
	}
	if r := c.RandomNegativeSamplingRate + c.ShuffledNegativeSamplingRate; r < 1 || r > 500 {
		return &HyperparameterError{
			Key:     "random_negative_sampling_rate+shuffled_negative_sampling_rate",
			Value:   strconv.Itoa(r),
			Allowed: "1 to 500",
			Reason:  "the sum of the two negative sampling rates is out of range",
		}
	}
	if _, err := embedding.NewEncoder(c.encoderConfig()); err != nil {
		return fmt.Errorf("hyperparameters: %w", err)
	}
	return nil
}

// Hyperparameters returns every hyperparameter as SageMaker-style strings:
// SageMaker's and the extras recorded in model files. ParseHyperparameters
// of the result gives c back.
func (c Config) Hyperparameters() map[string]string {
	hp := make(map[string]string, len(params))
	for _, p := range params {
		switch p.kind {
		case kInt:
			hp[p.name] = strconv.Itoa(*p.intp(&c))
		case kFloat:
			hp[p.name] = strconv.FormatFloat(*p.floatp(&c), 'g', -1, 64)
		case kUint:
			hp[p.name] = strconv.FormatUint(c.Seed, 10)
		case kString:
			hp[p.name] = c.Optimizer
		case kPrefixes:
			ps := c.IPv4Prefixes
			if p.name == "ipv6_prefix_lengths" {
				ps = c.IPv6Prefixes
			}
			parts := make([]string, len(ps))
			for i, n := range ps {
				parts[i] = strconv.Itoa(n)
			}
			hp[p.name] = strings.Join(parts, ",")
		}
	}
	return hp
}

// SageMakerHyperparameters returns only SageMaker's hyperparameters, as the
// string map a SageMaker training job takes.
func (c Config) SageMakerHyperparameters() map[string]string {
	hp := c.Hyperparameters()
	for _, p := range params {
		if !p.sagemaker {
			delete(hp, p.name)
		}
	}
	return hp
}

// ReadHyperparametersFile reads a hyperparameters.json file: one JSON object
// whose values are strings, as SageMaker writes it to
// /opt/ml/input/config/hyperparameters.json. Numbers and booleans are
// accepted too and taken as their JSON text.
func ReadHyperparametersFile(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%s: not a JSON object of hyperparameters: %w", path, err)
	}
	hp := make(map[string]string, len(raw))
	for k, v := range raw {
		var s string
		if err := json.Unmarshal(v, &s); err == nil {
			hp[k] = s
			continue
		}
		t := strings.TrimSpace(string(v))
		if t == "" || t[0] == '{' || t[0] == '[' || t == "null" {
			return nil, fmt.Errorf("%s: hyperparameter %s: value %s is not a string or number", path, k, t)
		}
		hp[k] = t
	}
	return hp, nil
}

func (c Config) encoderConfig() embedding.EncoderConfig {
	return embedding.EncoderConfig{
		V4Prefixes: slices.Clone(c.IPv4Prefixes),
		V6Prefixes: slices.Clone(c.IPv6Prefixes),
		V4HashRows: c.IPv4HashRows,
		V6HashRows: c.IPv6HashRows,
	}
}
