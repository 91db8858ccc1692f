package sagemaker_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/internal/test/awstest"
	"github.com/ipinsights/ipinsights-go/internal/test/smemu"
	"github.com/ipinsights/ipinsights-go/sagemaker"
)

// recordingSM records the create requests of training and tuning jobs and
// refuses them (an API error, so that the client does not try to stop
// what it created).
type recordingSM struct {
	*sm.Client
	train *sm.CreateTrainingJobInput
	tune  *sm.CreateHyperParameterTuningJobInput
}

var errRecorded = &smithy.GenericAPIError{Code: "Recorded", Message: "recorded by the test"}

func (r *recordingSM) CreateTrainingJob(_ context.Context, in *sm.CreateTrainingJobInput, _ ...func(*sm.Options)) (*sm.CreateTrainingJobOutput, error) {
	r.train = in
	return nil, errRecorded
}

func (r *recordingSM) CreateHyperParameterTuningJob(_ context.Context, in *sm.CreateHyperParameterTuningJobInput, _ ...func(*sm.Options)) (*sm.CreateHyperParameterTuningJobOutput, error) {
	r.tune = in
	return nil, errRecorded
}

// TestJobDefinitionFromOptions checks that a training job and the training
// jobs of a tuning job are defined alike from the client's options: the
// output path, the instances and the runtime limit (rounded up to whole
// seconds), after both uploaded their data.
func TestJobDefinitionFromOptions(t *testing.T) {
	dir := t.TempDir()
	train, _, _ := logins(t, dir, 10, 10)
	valid := filepath.Join(dir, "valid.csv")
	writeFile(t, valid, "user-001,1.2.3.4\n")
	env := awstest.Start(t, smemu.Options{Extras: smallTables})
	rec := &recordingSM{Client: env.SageMaker}
	ev := &events{}
	c, err := sagemaker.New(rec, env.S3, sagemaker.Options{
		Region: awstest.Region, RoleARN: awstest.Role, Bucket: awstest.Bucket, Prefix: "p",
		InstanceType: "ml.c5.xlarge", InstanceCount: 2, VolumeSizeGB: 50, MaxRuntime: 90*time.Second + 500*time.Millisecond,
		Progress: ev,
	})
	require.NoError(t, err)
	ctx := t.Context()

	tj, err := c.PrepareTraining(ctx, sagemaker.TrainingSpec{Train: train, Validation: valid, Hyperparameters: tinyHP, JobName: "def-train"})
	require.NoError(t, err)
	_, err = c.RunTraining(ctx, tj)
	require.ErrorIs(t, err, errRecorded)
	uj, err := c.PrepareTuning(ctx, sagemaker.TuningSpec{Train: train, Validation: valid, Static: tuneStatic, Ranges: tuneRanges, MaxJobs: 2, MaxParallelJobs: 1, JobName: "def-tune"})
	require.NoError(t, err)
	_, err = c.RunTuning(ctx, uj)
	require.ErrorIs(t, err, errRecorded)

	require.NotNil(t, rec.train)
	require.NotNil(t, rec.tune)
	def := rec.tune.TrainingJobDefinition
	for name, got := range map[string]struct {
		out           *string
		typ           string
		count, volume *int32
		runtime       *int32
	}{
		"training": {rec.train.OutputDataConfig.S3OutputPath, string(rec.train.ResourceConfig.InstanceType), rec.train.ResourceConfig.InstanceCount, rec.train.ResourceConfig.VolumeSizeInGB, rec.train.StoppingCondition.MaxRuntimeInSeconds},
		"tuning":   {def.OutputDataConfig.S3OutputPath, string(def.ResourceConfig.InstanceType), def.ResourceConfig.InstanceCount, def.ResourceConfig.VolumeSizeInGB, def.StoppingCondition.MaxRuntimeInSeconds},
	} {
		assert.Equal(t, "s3://"+awstest.Bucket+"/p/output", *got.out, name)
		assert.Equal(t, "ml.c5.xlarge", got.typ, name)
		assert.EqualValues(t, 2, *got.count, name)
		assert.EqualValues(t, 50, *got.volume, name)
		assert.EqualValues(t, 91, *got.runtime, name)
	}

	// Both uploaded their data and said which hyperparameters they keep.
	assert.Len(t, ev.of(sagemaker.EventUpload), 4, "training and validation data, for each job")
	notes := map[string]string{}
	for _, e := range ev.of(sagemaker.EventNote) {
		notes[e.Resource] = e.Message
	}
	assert.Equal(t, "not sent to SageMaker (this implementation's own hyperparameters): [ipv4_hash_rows ipv6_hash_rows]", notes["def-train"])
	assert.Equal(t, "not sent to SageMaker (this implementation's own hyperparameters): [ipv4_hash_rows ipv6_hash_rows seed]", notes["def-tune"])
}
