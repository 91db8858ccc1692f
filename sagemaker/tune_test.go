package sagemaker_test

import (
	"context"
	"maps"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/internal/test/smemu"
	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/ipinsights/ipinsights-go/sagemaker"
	"github.com/ipinsights/ipinsights-go/tune"
)

// tuneStatic fixes every tunable but three, at small values; the emulator
// adds smallTables.
var tuneStatic = map[string]string{
	"num_entity_vectors": "10000", "vector_dim": "8", "mini_batch_size": "300", "num_ip_encoder_layers": "1",
	"shuffled_negative_sampling_rate": "0", "weight_decay": "0.00001",
	"ipv4_hash_rows": "4096", "ipv6_hash_rows": "1024", "seed": "3",
}

var tuneRanges = []tune.Range{
	{Name: "epochs", Min: 1, Max: 3},
	{Name: "learning_rate", Min: 0.005, Max: 0.05, Scale: tune.Log},
	{Name: "random_negative_sampling_rate", Min: 1, Max: 4},
}

func TestDelegateTuningEndToEnd(t *testing.T) {
	dir := t.TempDir()
	train, _, _ := logins(t, dir, 40, 30)
	valid := filepath.Join(dir, "valid.csv")
	writeFile(t, valid, "user-001,1.2.3.4\nuser-002,1.2.3.5\nuser-001,1.2.4.4\n")
	env, c, ev := newClient(t, smemu.Options{}, nil)
	ctx := context.Background()

	j, err := c.PrepareTuning(context.Background(), sagemaker.TuningSpec{
		Train: train, Validation: valid, Static: tuneStatic, Ranges: tuneRanges,
		MaxJobs: 4, MaxParallelJobs: 2, EarlyStopping: true, Seed: 7, JobName: "e2e-tune",
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"ipv4_hash_rows", "ipv6_hash_rows", "seed"}, j.NotSent)
	assert.Equal(t, []string{"epochs", "learning_rate", "random_negative_sampling_rate"}, j.Space.Names())
	wantStatic := map[string]string{}
	for _, n := range ipinsights.SageMakerNames() {
		if n != "epochs" && n != "learning_rate" && n != "random_negative_sampling_rate" {
			wantStatic[n] = ""
		}
	}
	assert.ElementsMatch(t, keys(wantStatic), keys(j.Static), "every SageMaker hyperparameter that is not tuned, nothing else")
	plan := c.PlanTuning(j).String()
	assert.Contains(t, plan, "S3 upload")
	assert.Contains(t, plan, "tuning job     e2e-tune  on 1 x ml.m4.xlarge  (4 training jobs, 2 at a time, each at most 24h0m0s, 30 GB volume)")
	assert.NotContains(t, plan, "training job ")
	assert.Empty(t, env.Emulator.Calls(), "preparing creates nothing")

	res, err := c.RunTuning(ctx, j)
	require.NoError(t, err)
	require.Len(t, res.Trials, 4)
	require.GreaterOrEqual(t, res.Best, 0)
	best := res.Trials[res.Best]
	for _, tr := range res.Trials {
		assert.True(t, strings.HasPrefix(tr.TrainingJob, "e2e-tune-"), tr.TrainingJob)
		assert.Equal(t, "Completed", tr.Status)
		assert.LessOrEqual(t, tr.Objective, best.Objective)
		assert.Equal(t, []string{"epochs", "learning_rate", "random_negative_sampling_rate"}, sortedKeys(tr.Hyperparameters))
	}
	assert.Equal(t, env.Emulator.TuningTrainingJobs("e2e-tune"), trialNames(res.Trials), "in creation order")
	want := maps.Clone(tuneStatic)
	maps.Copy(want, best.Hyperparameters)
	assert.Equal(t, want, res.BestHyperparameters, "our extras too, as a local search gives them")
	assert.Equal(t, "s3://ipinsights-test/ipinsights/output/"+best.TrainingJob+"/output/model.tar.gz", res.ModelArtifacts)
	assert.NotEmpty(t, ev.of(sagemaker.EventStatus))

	// What SageMaker was asked for.
	d, err := env.SageMaker.DescribeHyperParameterTuningJob(ctx, &sm.DescribeHyperParameterTuningJobInput{HyperParameterTuningJobName: aws.String("e2e-tune")})
	require.NoError(t, err)
	cfg := d.HyperParameterTuningJobConfig
	assert.Equal(t, types.HyperParameterTuningJobStrategyTypeBayesian, cfg.Strategy)
	assert.Equal(t, "validation:discriminator_auc", aws.ToString(cfg.HyperParameterTuningJobObjective.MetricName))
	assert.Equal(t, types.HyperParameterTuningJobObjectiveTypeMaximize, cfg.HyperParameterTuningJobObjective.Type)
	assert.Equal(t, types.TrainingJobEarlyStoppingTypeAuto, cfg.TrainingJobEarlyStoppingType)
	assert.Equal(t, int32(4), aws.ToInt32(cfg.ResourceLimits.MaxNumberOfTrainingJobs))
	assert.Equal(t, int32(2), aws.ToInt32(cfg.ResourceLimits.MaxParallelTrainingJobs))
	assert.Equal(t, int32(7), aws.ToInt32(cfg.RandomSeed))
	require.Len(t, cfg.ParameterRanges.IntegerParameterRanges, 2)
	assert.Equal(t, "epochs", aws.ToString(cfg.ParameterRanges.IntegerParameterRanges[0].Name))
	assert.Equal(t, "1", aws.ToString(cfg.ParameterRanges.IntegerParameterRanges[0].MinValue))
	assert.Equal(t, "3", aws.ToString(cfg.ParameterRanges.IntegerParameterRanges[0].MaxValue))
	assert.Equal(t, types.HyperParameterScalingTypeLinear, cfg.ParameterRanges.IntegerParameterRanges[0].ScalingType)
	require.Len(t, cfg.ParameterRanges.ContinuousParameterRanges, 1)
	lr := cfg.ParameterRanges.ContinuousParameterRanges[0]
	assert.Equal(t, []string{"learning_rate", "0.005", "0.05"}, []string{aws.ToString(lr.Name), aws.ToString(lr.MinValue), aws.ToString(lr.MaxValue)})
	assert.Equal(t, types.HyperParameterScalingTypeLogarithmic, lr.ScalingType)
	def := d.TrainingJobDefinition
	assert.Equal(t, j.Static, def.StaticHyperParameters)
	assert.Equal(t, "382416733822.dkr.ecr.us-east-1.amazonaws.com/ipinsights:1", aws.ToString(def.AlgorithmSpecification.TrainingImage))
	require.Len(t, def.InputDataConfig, 2)
	assert.Equal(t, "s3://ipinsights-test/ipinsights/input/e2e-tune/validation/", aws.ToString(def.InputDataConfig[1].DataSource.S3DataSource.S3Uri))
}

func sortedKeys(m map[string]string) []string {
	ks := keys(m)
	for i := range ks {
		for k := i + 1; k < len(ks); k++ {
			if ks[k] < ks[i] {
				ks[i], ks[k] = ks[k], ks[i]
			}
		}
	}
	return ks
}

func trialNames(ts []sagemaker.TuningTrial) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.TrainingJob)
	}
	return out
}

func TestDelegateTuningHyperband(t *testing.T) {
	dir := t.TempDir()
	train, _, _ := logins(t, dir, 10, 10)
	env, c, _ := newClient(t, smemu.Options{}, nil)
	static := maps.Clone(tuneStatic)
	static["epochs"] = "2"
	j, err := c.PrepareTuning(context.Background(), sagemaker.TuningSpec{Train: train, Validation: train, Static: static, Ranges: tuneRanges[1:],
		Strategy: tune.Hyperband, MaxJobs: 2, JobName: "hb"})
	require.NoError(t, err)
	_, err = c.RunTuning(context.Background(), j)
	require.NoError(t, err)
	d, err := env.SageMaker.DescribeHyperParameterTuningJob(context.Background(), &sm.DescribeHyperParameterTuningJobInput{HyperParameterTuningJobName: aws.String("hb")})
	require.NoError(t, err)
	hb := d.HyperParameterTuningJobConfig.StrategyConfig.HyperbandStrategyConfig
	assert.Equal(t, []int32{1, 2}, []int32{aws.ToInt32(hb.MinResource), aws.ToInt32(hb.MaxResource)}, "MaxResource is the static epochs")
	assert.Equal(t, types.TrainingJobEarlyStoppingTypeOff, d.HyperParameterTuningJobConfig.TrainingJobEarlyStoppingType)
	assert.Equal(t, "2", d.TrainingJobDefinition.StaticHyperParameters["epochs"])
}

func TestDelegateTuningRejectsBadSpecsBeforeCreatingAnything(t *testing.T) {
	dir := t.TempDir()
	train, _, _ := logins(t, dir, 5, 5)
	env, c, _ := newClient(t, smemu.Options{}, nil)
	for _, tc := range []struct {
		spec sagemaker.TuningSpec
		msg  string
	}{
		{sagemaker.TuningSpec{Train: train, MaxJobs: 2}, "a tuning job needs validation data: its objective validation:discriminator_auc is measured on it"},
		{sagemaker.TuningSpec{Train: train, Validation: train}, "a tuning job needs at least 1 training job"},
		{sagemaker.TuningSpec{Train: train, Validation: train, MaxJobs: 2, MaxParallelJobs: 3}, "3 parallel training jobs: want 1 to the number of training jobs (2)"},
		{sagemaker.TuningSpec{Train: train, Validation: train, MaxJobs: 2, Strategy: tune.Hyperband, EarlyStopping: true}, "Hyperband stops training jobs itself"},
		{sagemaker.TuningSpec{Train: train, Validation: train, MaxJobs: 2, Ranges: []tune.Range{{Name: "epochs", Min: 1, Max: 101}}}, "range epochs=1:101: outside AMT's allowed values"},
		{sagemaker.TuningSpec{Train: train, Validation: train, MaxJobs: 2, JobName: "a-name-longer-than-thirty-two-chars"}, "must be 1 to 32 letters"},
		{sagemaker.TuningSpec{Train: filepath.Join(dir, "missing.csv"), Validation: train, MaxJobs: 2}, "no such file"},
	} {
		_, err := c.PrepareTuning(context.Background(), tc.spec)
		assert.ErrorContains(t, err, tc.msg)
	}
	assert.Empty(t, env.Emulator.Calls())
}

func TestDelegateCancelStopsTuningJob(t *testing.T) {
	dir := t.TempDir()
	train, _, _ := logins(t, dir, 5, 5)
	started := make(chan string, 4)
	env, c, ev := newClient(t, smemu.Options{BeforeTraining: blockUntilStopped(started)}, nil)
	j, err := c.PrepareTuning(context.Background(), sagemaker.TuningSpec{Train: train, Validation: train, Static: tuneStatic, Ranges: tuneRanges,
		MaxJobs: 3, MaxParallelJobs: 2, JobName: "cancel-tune"})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-started
		cancel()
	}()
	_, err = c.RunTuning(ctx, j)
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "tuning job cancel-tune stopped")
	assert.Equal(t, "Stopped", env.Emulator.TuningStatus("cancel-tune"))
	assert.Contains(t, env.Emulator.Calls(), "StopHyperParameterTuningJob")
	for _, tj := range env.Emulator.TuningTrainingJobs("cancel-tune") {
		assert.Equal(t, "Stopped", env.Emulator.Status(tj), "the tuning job's training jobs are stopped too")
	}
	assert.Len(t, ev.of(sagemaker.EventStop), 1)
}
