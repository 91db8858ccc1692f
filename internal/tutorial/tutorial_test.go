package tutorial

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunSmall(t *testing.T) {
	res, err := Run(context.Background(), Options{Users: 60, Seed: 2, Override: map[string]string{
		"vector_dim": "8", "epochs": "2", "ipv4_hash_rows": "4096", "ipv6_hash_rows": "256",
	}})
	require.NoError(t, err)
	assert.Equal(t, "8", res.Hyperparameters["vector_dim"])
	assert.Equal(t, "20000", res.Hyperparameters["num_entity_vectors"], "tutorial values stay where not overridden")
	assert.Equal(t, len(res.Data.Test), res.Eval.N)
	assert.Equal(t, 2, res.LastEpoch.Epoch)
	assert.Greater(t, res.Eval.AUC, 0.6, "even a tiny model ranks attacks below normal logins")
	assert.Greater(t, res.SamplesPerSecond(), 0.0)
	_, err = Run(context.Background(), Options{Users: 10, Override: map[string]string{"vector_dim": "1"}})
	assert.ErrorContains(t, err, "vector_dim")
}

func TestConfig(t *testing.T) {
	// The tutorial's values, DESIGN.md section 1.
	cfg, hp, err := Config(nil)
	require.NoError(t, err)
	assert.Equal(t, 20000, cfg.NumEntityVectors)
	assert.Equal(t, 128, cfg.VectorDim)
	assert.Equal(t, 5, cfg.RandomNegativeSamplingRate)
	assert.Equal(t, 1000, cfg.MiniBatchSize)
	assert.Equal(t, 5, cfg.Epochs)
	assert.InDelta(t, 0.01, cfg.LearningRate, 1e-12)
	assert.Equal(t, Hyperparameters, hp)

	cfg, hp, err = Config(map[string]string{"epochs": "1", "seed": "2"})
	require.NoError(t, err)
	assert.Equal(t, 1, cfg.Epochs)
	assert.Equal(t, uint64(2), cfg.Seed)
	assert.Equal(t, 128, cfg.VectorDim, "tutorial values stay where not overridden")
	assert.Equal(t, "1", hp["epochs"])
	assert.Equal(t, "5", Hyperparameters["epochs"], "the tutorial's map is not modified")

	_, _, err = Config(map[string]string{"vector_dim": "1"})
	assert.ErrorContains(t, err, "vector_dim")
}
