package ipinsights

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultsAreSageMakerContainerDefaults(t *testing.T) {
	// DESIGN.md section 1, "container default" column.
	c := DefaultConfig()
	require.NoError(t, c.Validate())
	assert.Equal(t, map[string]string{
		"num_entity_vectors":              "100000",
		"vector_dim":                      "128",
		"epochs":                          "10",
		"learning_rate":                   "0.001",
		"mini_batch_size":                 "5000",
		"num_ip_encoder_layers":           "1",
		"random_negative_sampling_rate":   "1",
		"shuffled_negative_sampling_rate": "1",
		"weight_decay":                    "1e-05",
		"batch_metrics_publish_interval":  "1000",
	}, c.SageMakerHyperparameters())
	assert.Len(t, SageMakerNames(), 10)
}

func TestParseTutorialHyperparameters(t *testing.T) {
	c, err := ParseHyperparameters(map[string]string{
		"num_entity_vectors": "20000", "random_negative_sampling_rate": "5", "vector_dim": "128",
		"mini_batch_size": "1000", "epochs": "5", "learning_rate": "0.01",
	})
	require.NoError(t, err)
	assert.Equal(t, 20000, c.NumEntityVectors)
	assert.Equal(t, 5, c.RandomNegativeSamplingRate)
	assert.Equal(t, 1, c.ShuffledNegativeSamplingRate)
	assert.Equal(t, 0.01, c.LearningRate)
	// Round trip through the string map, extras included.
	c.Seed, c.Optimizer, c.IPv4Prefixes = 99, "sgd", []int{16, 24}
	back, err := ParseHyperparameters(c.Hyperparameters())
	require.NoError(t, err)
	assert.Equal(t, c, back)
	assert.NotContains(t, c.SageMakerHyperparameters(), "seed")
	assert.NotContains(t, c.Hyperparameters(), "workers", "workers does not change the model")
}

func TestHyperparameterErrors(t *testing.T) {
	cases := []struct {
		hp   map[string]string
		key  string
		text string
	}{
		{map[string]string{"vector_dimm": "8"}, "vector_dimm", "unknown hyperparameter"},
		{map[string]string{"vector_dim": "2"}, "vector_dim", `hyperparameter vector_dim="2": out of range; allowed: 4 to 4096`},
		{map[string]string{"vector_dim": "4097"}, "vector_dim", "out of range"},
		{map[string]string{"vector_dim": "abc"}, "vector_dim", "not an integer"},
		{map[string]string{"vector_dim": "8.5"}, "vector_dim", "not an integer"},
		{map[string]string{"num_entity_vectors": "250000001"}, "num_entity_vectors", "allowed: 1 to 250000000"},
		{map[string]string{"num_entity_vectors": "0"}, "num_entity_vectors", "out of range"},
		{map[string]string{"learning_rate": "11"}, "learning_rate", "allowed: 1e-6 to 10.0"},
		{map[string]string{"learning_rate": "1e-7"}, "learning_rate", "out of range"},
		{map[string]string{"learning_rate": "NaN"}, "learning_rate", "not a finite number"},
		{map[string]string{"weight_decay": "-0.1"}, "weight_decay", "out of range"},
		{map[string]string{"mini_batch_size": "500001"}, "mini_batch_size", "out of range"},
		{map[string]string{"num_ip_encoder_layers": "101"}, "num_ip_encoder_layers", "out of range"},
		{map[string]string{"epochs": "0"}, "epochs", "out of range"},
		{map[string]string{"random_negative_sampling_rate": "501"}, "random_negative_sampling_rate", "out of range"},
		{map[string]string{"batch_metrics_publish_interval": "0"}, "batch_metrics_publish_interval", "out of range"},
		{map[string]string{"random_negative_sampling_rate": "0", "shuffled_negative_sampling_rate": "0"},
			"random_negative_sampling_rate+shuffled_negative_sampling_rate", `="0": the sum of the two negative sampling rates is out of range; allowed: 1 to 500`},
		{map[string]string{"random_negative_sampling_rate": "300", "shuffled_negative_sampling_rate": "201"},
			"random_negative_sampling_rate+shuffled_negative_sampling_rate", `="501"`},
		{map[string]string{"optimizer": "rmsprop"}, "optimizer", "allowed: adam or sgd"},
		{map[string]string{"seed": "-1"}, "seed", "not an unsigned integer"},
		{map[string]string{"ipv4_prefix_lengths": "8,40"}, "ipv4_prefix_lengths", "prefix length out of range"},
		{map[string]string{"ipv4_prefix_lengths": "24,16"}, "ipv4_prefix_lengths", "strictly ascending"},
		{map[string]string{"ipv6_prefix_lengths": "a,b"}, "ipv6_prefix_lengths", "not a comma-separated list"},
		{map[string]string{"ipv4_hash_rows": "0"}, "ipv4_hash_rows", "out of range"},
		{map[string]string{"workers": "2"}, "workers", "not a hyperparameter: the number of training goroutines does not change the model; it is TrainOptions.Workers"},
	}
	for _, c := range cases {
		_, err := ParseHyperparameters(c.hp)
		var he *HyperparameterError
		require.True(t, errors.As(err, &he), "%v: %v", c.hp, err)
		assert.Equal(t, c.key, he.Key)
		assert.Contains(t, err.Error(), c.text)
	}
	// Accepted edge values and forms.
	for _, hp := range []map[string]string{
		{"vector_dim": "4"}, {"vector_dim": "4096"}, {"learning_rate": "1e-6"}, {"learning_rate": "10"},
		{"random_negative_sampling_rate": "0"}, {"shuffled_negative_sampling_rate": "0"},
		{"random_negative_sampling_rate": "250", "shuffled_negative_sampling_rate": "250"},
		{"epochs": "5.0"}, {"epochs": " 5 "}, {"num_ip_encoder_layers": "0"}, {"optimizer": "SGD"},
	} {
		_, err := ParseHyperparameters(hp)
		assert.NoError(t, err, "%v", hp)
	}
	bad := DefaultConfig()
	bad.VectorDim = 3
	assert.ErrorContains(t, bad.Validate(), "vector_dim")
	assert.Error(t, Config{}.Validate(), "the zero Config is not valid")
}

func TestReadHyperparametersFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "hyperparameters.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"vector_dim": "64", "epochs": 3, "learning_rate": "0.01"}`), 0o644))
	hp, err := ReadHyperparametersFile(path)
	require.NoError(t, err)
	c, err := ParseHyperparameters(hp)
	require.NoError(t, err)
	assert.Equal(t, 64, c.VectorDim)
	assert.Equal(t, 3, c.Epochs)

	require.NoError(t, os.WriteFile(path, []byte(`{"vector_dim": [1]}`), 0o644))
	_, err = ReadHyperparametersFile(path)
	assert.ErrorContains(t, err, "vector_dim")
	require.NoError(t, os.WriteFile(path, []byte(`["vector_dim"]`), 0o644))
	_, err = ReadHyperparametersFile(path)
	assert.ErrorContains(t, err, path)
}
