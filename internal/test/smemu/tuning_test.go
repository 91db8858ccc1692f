package smemu_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/internal/test/awstest"
	"github.com/ipinsights/ipinsights-go/internal/test/smemu"
)

func tuningInput(name string, edit func(*sm.CreateHyperParameterTuningJobInput)) *sm.CreateHyperParameterTuningJobInput {
	tr := trainingInput("unused", nil)
	in := &sm.CreateHyperParameterTuningJobInput{
		HyperParameterTuningJobName: aws.String(name),
		HyperParameterTuningJobConfig: &types.HyperParameterTuningJobConfig{
			Strategy: types.HyperParameterTuningJobStrategyTypeRandom,
			HyperParameterTuningJobObjective: &types.HyperParameterTuningJobObjective{
				Type: types.HyperParameterTuningJobObjectiveTypeMaximize, MetricName: aws.String(smemu.MetricValidation)},
			ResourceLimits: &types.ResourceLimits{MaxNumberOfTrainingJobs: aws.Int32(3), MaxParallelTrainingJobs: aws.Int32(2)},
			ParameterRanges: &types.ParameterRanges{IntegerParameterRanges: []types.IntegerParameterRange{
				{Name: aws.String("epochs"), MinValue: aws.String("1"), MaxValue: aws.String("2")}}},
			RandomSeed: aws.Int32(3),
		},
		TrainingJobDefinition: &types.HyperParameterTrainingJobDefinition{
			AlgorithmSpecification: &types.HyperParameterAlgorithmSpecification{TrainingImage: aws.String(image), TrainingInputMode: types.TrainingInputModeFile},
			RoleArn:                tr.RoleArn,
			InputDataConfig: append(tr.InputDataConfig, types.Channel{
				ChannelName: aws.String("validation"), ContentType: aws.String("text/csv"),
				DataSource: tr.InputDataConfig[0].DataSource,
			}),
			OutputDataConfig:      tr.OutputDataConfig,
			ResourceConfig:        tr.ResourceConfig,
			StoppingCondition:     tr.StoppingCondition,
			StaticHyperParameters: map[string]string{"num_entity_vectors": "50", "vector_dim": "4", "mini_batch_size": "64"},
		},
	}
	if edit != nil {
		edit(in)
	}
	return in
}

func TestTuningJobRunsTrainingJobs(t *testing.T) {
	env := awstest.Start(t, smemu.Options{})
	put(t, env, "train/part-0.csv", "a,1.2.3.4\nb,5.6.7.8\na,1.2.3.5\nb,5.6.7.9\n")
	ctx := context.Background()
	_, err := env.SageMaker.CreateHyperParameterTuningJob(ctx, tuningInput("tj", nil))
	require.NoError(t, err)
	var d *sm.DescribeHyperParameterTuningJobOutput
	for {
		d, err = env.SageMaker.DescribeHyperParameterTuningJob(ctx, &sm.DescribeHyperParameterTuningJobInput{HyperParameterTuningJobName: aws.String("tj")})
		require.NoError(t, err)
		if d.HyperParameterTuningJobStatus != types.HyperParameterTuningJobStatusInProgress {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	assert.Equal(t, types.HyperParameterTuningJobStatusCompleted, d.HyperParameterTuningJobStatus)
	assert.Equal(t, int32(3), aws.ToInt32(d.TrainingJobStatusCounters.Completed))
	assert.Equal(t, int32(3), aws.ToInt32(d.ObjectiveStatusCounters.Succeeded))
	require.NotNil(t, d.BestTrainingJob)
	jobs := env.Emulator.TuningTrainingJobs("tj")
	require.Len(t, jobs, 3)
	assert.Regexp(t, `^tj-001-[0-9a-f]{8}$`, jobs[0])

	// Listed in pages.
	var names []string
	in := &sm.ListTrainingJobsForHyperParameterTuningJobInput{HyperParameterTuningJobName: aws.String("tj"), MaxResults: aws.Int32(2)}
	for {
		out, err := env.SageMaker.ListTrainingJobsForHyperParameterTuningJob(ctx, in)
		require.NoError(t, err)
		for _, s := range out.TrainingJobSummaries {
			names = append(names, aws.ToString(s.TrainingJobName))
			assert.Contains(t, []string{"1", "2"}, s.TunedHyperParameters["epochs"])
			assert.Equal(t, types.ObjectiveStatusSucceeded, s.ObjectiveStatus)
		}
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	assert.Equal(t, jobs, names)
	td, err := env.SageMaker.DescribeTrainingJob(ctx, &sm.DescribeTrainingJobInput{TrainingJobName: aws.String(jobs[0])})
	require.NoError(t, err)
	assert.Equal(t, "4", td.HyperParameters["vector_dim"], "static hyperparameters reach the training jobs")
}

func TestTuningJobValidation(t *testing.T) {
	env := awstest.Start(t, smemu.Options{})
	put(t, env, "train/part-0.csv", "a,1.2.3.4\n")
	for _, tc := range []struct {
		name string
		edit func(*sm.CreateHyperParameterTuningJobInput)
		msg  string
	}{
		{"a-tuning-job-name-of-thirty-three", nil, "Member must have length less than or equal to 32"},
		{"x", func(in *sm.CreateHyperParameterTuningJobInput) {
			in.HyperParameterTuningJobConfig.HyperParameterTuningJobObjective.MetricName = aws.String("train:accuracy")
		}, "must be validation:discriminator_auc"},
		{"x", func(in *sm.CreateHyperParameterTuningJobInput) {
			in.HyperParameterTuningJobConfig.Strategy = types.HyperParameterTuningJobStrategyTypeHyperband
			in.HyperParameterTuningJobConfig.TrainingJobEarlyStoppingType = types.TrainingJobEarlyStoppingTypeAuto
		}, "TrainingJobEarlyStoppingType must be Off"},
		{"x", func(in *sm.CreateHyperParameterTuningJobInput) {
			in.HyperParameterTuningJobConfig.ParameterRanges.IntegerParameterRanges[0].Name = aws.String("seed")
		}, "untunable hyperparameters: [seed]"},
		{"x", func(in *sm.CreateHyperParameterTuningJobInput) {
			in.TrainingJobDefinition.StaticHyperParameters["epochs"] = "3"
		}, "epochs is both static and tunable"},
	} {
		_, err := env.SageMaker.CreateHyperParameterTuningJob(context.Background(), tuningInput(tc.name, tc.edit))
		assert.ErrorContains(t, err, tc.msg)
	}
	assert.Empty(t, env.Emulator.TuningJobs())
}
