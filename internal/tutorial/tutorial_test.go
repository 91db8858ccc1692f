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
