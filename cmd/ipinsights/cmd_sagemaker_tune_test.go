package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/internal/test/smemu"
)

// smTuneFlags fix all tunables but two at tiny values.
var smTuneFlags = []string{"--hp", "num_entity_vectors=100", "--hp", "vector_dim=8", "--hp", "mini_batch_size=256",
	"--hp", "num_ip_encoder_layers=1", "--hp", "shuffled_negative_sampling_rate=0", "--hp", "weight_decay=0.00001",
	"--hp", "random_negative_sampling_rate=3", "--hp", "ipv4_hash_rows=4096", "--hp", "ipv6_hash_rows=1024",
	"--range", "epochs=1:3", "--range", "learning_rate=0.005:0.05:log", "--poll", "2ms"}

func TestSageMakerTune(t *testing.T) {
	env := fakeAWS(t, smemu.Options{})
	dir, train, _ := loginFiles(t)
	out := filepath.Join(dir, "tuned")
	args := append([]string{"sagemaker", "tune", "--train", train, "--validation", train, "--max-jobs", "3", "--max-parallel-jobs", "2",
		"--job-name", "cli-tune", "--out", out}, smTuneFlags...)

	// Without --yes the plan is shown and the answer read from stdin.
	code, stdout, stderr := runCLI(t, "n\n", args...)
	assert.Equal(t, exitData, code)
	assert.Contains(t, stderr, "tuning job     cli-tune  on 1 x ml.m4.xlarge  (3 training jobs, 2 at a time")
	assert.Contains(t, stderr, "not confirmed: nothing was created")
	assert.Empty(t, stdout)
	assert.Empty(t, env.Emulator.Calls())

	code, stdout, stderr = runCLI(t, "y\n", args...)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "not sent to SageMaker (this implementation's own hyperparameters): [ipv4_hash_rows ipv6_hash_rows]")
	assert.Contains(t, stderr, "cli-tune [Completed]: training jobs: 3 completed")
	assert.Regexp(t, `trial\s+training job\s+status\s+objective\s+seconds\s+epochs\s+lr`, stdout)
	assert.Equal(t, 3, strings.Count(stdout, "  Completed"), stdout)
	assert.Contains(t, stdout, "best training job  cli-tune-")
	assert.Contains(t, stdout, "columns: lr=learning_rate", "the abbreviated columns are explained, as tune does")
	assert.Contains(t, stdout, "model              s3://ipinsights-test/ipinsights/output/cli-tune-")

	// The best hyperparameters, extras included, train locally.
	hpFile := filepath.Join(out, "hyperparameters.json")
	b, err := os.ReadFile(hpFile)
	require.NoError(t, err)
	var hp map[string]string
	require.NoError(t, json.Unmarshal(b, &hp))
	assert.Equal(t, "4096", hp["ipv4_hash_rows"])
	assert.Contains(t, []string{"1", "2", "3"}, hp["epochs"])
	code, _, stderr = runCLI(t, "", "train", "--quiet", "--train", train, "--model", filepath.Join(dir, "m.bin"), "--hyperparameters", hpFile)
	require.Equal(t, exitOK, code, stderr)
}

func TestSageMakerTuneBadInput(t *testing.T) {
	env := fakeAWS(t, smemu.Options{})
	_, train, _ := loginFiles(t)
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--validation", train, "--max-jobs", "2", "--objective", "attack_auc"}, "sagemaker tune maximises validation:discriminator_auc only"},
		{[]string{"--max-jobs", "2"}, "--validation or --validation-s3 is required"},
		{[]string{"--validation", train}, "--max-jobs is required"},
		{[]string{"--validation", train, "--max-jobs", "2", "--max-parallel-jobs", "3"}, "--max-parallel-jobs 3: want 1 to --max-jobs (2)"},
		{[]string{"--validation", train, "--max-jobs", "2", "--range", "vector_dim=4:300"}, "range vector_dim=4:300: outside AMT's allowed values; allowed: 8:256"},
		{[]string{"--validation", train, "--max-jobs", "2", "--range", "epochs=1:3", "--hp", "epochs=2"}, "epochs is also given a fixed value (2)"},
		{[]string{"--validation", train, "--max-jobs", "2", "--strategy", "hyperband", "--early-stopping", "auto"}, "hyperband stops training jobs itself"},
	} {
		args := append([]string{"sagemaker", "tune", "--yes", "--train", train}, tc.args...)
		code, _, stderr := runCLI(t, "", args...)
		assert.Equal(t, exitUsage, code, "%v: %s", tc.args, stderr)
		assert.Contains(t, stderr, tc.msg, "%v", tc.args)
		assert.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %q", stderr)
	}
	assert.Empty(t, env.Emulator.Calls())
}
