package tune

import (
	"math"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// AMT's recommended ranges for IP Insights, from the SageMaker developer
// guide's "Tune an IP Insights Model" (DESIGN.md section 1).
func TestDefaultRangesAreAMTs(t *testing.T) {
	want := map[string][2]float64{
		"epochs": {1, 100}, "learning_rate": {1e-4, 0.1}, "mini_batch_size": {100, 50000},
		"num_entity_vectors": {10000, 1000000}, "num_ip_encoder_layers": {1, 10},
		"random_negative_sampling_rate": {0, 10}, "shuffled_negative_sampling_rate": {0, 10},
		"vector_dim": {8, 256}, "weight_decay": {0, 1},
	}
	got := map[string][2]float64{}
	for _, r := range DefaultRanges() {
		got[r.Name] = [2]float64{r.Min, r.Max}
		require.NoError(t, r.Validate())
		assert.Equal(t, r.Name != "learning_rate" && r.Name != "weight_decay", r.Integer(), r.Name)
	}
	assert.Equal(t, want, got)
	// Every tunable is a SageMaker hyperparameter.
	for _, n := range Tunable() {
		assert.Contains(t, ipinsights.SageMakerNames(), n)
	}
}

func TestParseRange(t *testing.T) {
	r, err := ParseRange("learning_rate=0.001:0.05:log")
	require.NoError(t, err)
	assert.Equal(t, Range{Name: "learning_rate", Min: 0.001, Max: 0.05, Scale: Log}, r)
	r, err = ParseRange(" epochs = 2:8 ")
	require.NoError(t, err)
	assert.Equal(t, Range{Name: "epochs", Min: 2, Max: 8}, r)
	assert.Equal(t, "epochs=2:8", r.String())

	for in, msg := range map[string]string{
		"epochs=1:200":                       "range epochs=1:200: outside AMT's allowed values; allowed: 1:100 (AMT's recommended range, which a range may narrow)",
		"learning_rate=0.00001:0.01":         "range learning_rate=1e-05:0.01: outside AMT's allowed values",
		"seed=1:10":                          "range seed=1:10: not a hyperparameter that AMT tunes for IP Insights; allowed: num_entity_vectors, vector_dim, epochs",
		"bogus=1:2":                          "not a hyperparameter that AMT tunes",
		"epochs=5:2":                         "the minimum is above the maximum",
		"epochs=1.5:3":                       "bounds of an integer hyperparameter must be integers",
		"weight_decay=0:0.5:log":             "a logarithmic scale needs a positive minimum",
		"epochs=1:5:cubic":                   `unknown scale "cubic"`,
		"epochs=1":                           "want key=min:max or key=min:max:log",
		"epochs":                             "want key=min:max",
		"epochs=a:5":                         `minimum "a" is not a number`,
		"vector_dim=8:NaN":                   "bounds are not numbers",
		"random_negative_sampling_rate=-1:3": "outside AMT's allowed values",
	} {
		_, err := ParseRange(in)
		var re *RangeError
		require.ErrorAs(t, err, &re, in)
		assert.Contains(t, err.Error(), msg, in)
		assert.NotContains(t, err.Error(), "\n")
	}
}

func TestNewSpace(t *testing.T) {
	s, err := NewSpace(map[string]string{"vector_dim": "64", "seed": "7"}, []Range{{Name: "epochs", Min: 1, Max: 5}}, Bayesian)
	require.NoError(t, err)
	assert.Equal(t, []string{"num_entity_vectors", "epochs", "learning_rate", "mini_batch_size", "num_ip_encoder_layers",
		"random_negative_sampling_rate", "shuffled_negative_sampling_rate", "weight_decay"}, s.Names(), "vector_dim is fixed")
	r, _ := s.rangeOf("epochs")
	assert.Equal(t, Range{Name: "epochs", Min: 1, Max: 5, Scale: Linear}, r, "the default scale filled in")
	r, _ = s.rangeOf("learning_rate")
	assert.Equal(t, Log, r.Scale)
	assert.Equal(t, map[string]string{"vector_dim": "64", "seed": "7", "epochs": "3"}, s.Hyperparameters(map[string]string{"epochs": "3"}))

	// Hyperband: epochs is the static maximum, never tuned.
	s, err = NewSpace(nil, nil, Hyperband)
	require.NoError(t, err)
	assert.Equal(t, "10", s.Static["epochs"], "DefaultConfig's epochs")
	assert.NotContains(t, s.Names(), "epochs")
	_, err = NewSpace(nil, []Range{{Name: "epochs", Min: 1, Max: 9}}, Hyperband)
	assert.ErrorContains(t, err, "Hyperband allocates epochs itself")

	for _, tc := range []struct {
		static map[string]string
		ranges []Range
		msg    string
	}{
		{map[string]string{"epochs": "3"}, []Range{{Name: "epochs", Min: 1, Max: 5}}, "epochs is also given a fixed value (3)"},
		{nil, []Range{{Name: "epochs", Min: 1, Max: 5}, {Name: "epochs", Min: 2, Max: 3}}, "a second range for epochs"},
		{nil, []Range{{Name: "vector_dim", Min: 4, Max: 16}}, "outside AMT's allowed values"},
		{map[string]string{"vector_dim": "3"}, nil, "hyperparameter vector_dim=\"3\": out of range"},
		{map[string]string{"random_negative_sampling_rate": "0"}, []Range{{Name: "shuffled_negative_sampling_rate", Min: 0, Max: 0}}, "no value of the two negative sampling rates has random + shuffled rate >= 1"},
	} {
		_, err := NewSpace(tc.static, tc.ranges, Random)
		assert.ErrorContains(t, err, tc.msg)
	}
}

func TestDecodeCoversRanges(t *testing.T) {
	s, err := NewSpace(map[string]string{}, []Range{
		{Name: "epochs", Min: 1, Max: 4},
		{Name: "vector_dim", Min: 8, Max: 64},
		{Name: "learning_rate", Min: 0.001, Max: 0.1},
		{Name: "weight_decay", Min: 0, Max: 0.5},
	}, Random)
	require.NoError(t, err)
	counts := map[float64]int{}
	const n = 4000
	for i := range n {
		u := make([]float64, s.Dims())
		for j := range u {
			u[j] = (float64(i) + 0.5) / n
		}
		v := s.decode(u)
		for j, r := range s.Ranges {
			assert.GreaterOrEqual(t, v[j], r.Min, r.Name)
			assert.LessOrEqual(t, v[j], r.Max, r.Name)
			if r.Integer() {
				assert.Equal(t, math.Trunc(v[j]), v[j], r.Name)
			}
		}
		counts[v[slices.Index(s.Names(), "epochs")]]++ // linear integer
		// Decoding the encoded values gives them back.
		assert.Equal(t, v, s.decode(s.encode(v)))
	}
	for e := 1.0; e <= 4; e++ {
		assert.InDelta(t, n/4, counts[e], 1, "epochs %v: each integer takes a quarter of the interval", e)
	}
	// Continuous values are rounded to 4 significant digits.
	u := []float64{0.5, 0.5, 0.5, 0.123456789, 0.5, 0.5, 0.5, 0.5, 0.987654321}
	v := s.decode(u)
	for j, r := range s.Ranges {
		if !r.Integer() {
			assert.Equal(t, strconv.FormatFloat(v[j], 'g', 4, 64), strconv.FormatFloat(v[j], 'g', -1, 64), r.Name)
			assert.NotEqual(t, 0.0, v[j], r.Name)
		}
	}
}

func TestParseStrategy(t *testing.T) {
	for in, want := range map[string]Strategy{"bayesian": Bayesian, "Random": Random, "HYPERBAND": Hyperband} {
		got, err := ParseStrategy(in)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	_, err := ParseStrategy("grid")
	assert.EqualError(t, err, `tune: unknown strategy "grid": want bayesian, random or hyperband`)
}
