package smemu_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ipinsights/ipinsights-go/inference"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/internal/test/awstest"
	"github.com/ipinsights/ipinsights-go/internal/test/smemu"
)

const image = "382416733822.dkr.ecr.us-east-1.amazonaws.com/ipinsights:1"

func put(t *testing.T, env *awstest.Env, key, body string) {
	t.Helper()
	_, err := env.S3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(awstest.Bucket), Key: aws.String(key), Body: strings.NewReader(body)})
	require.NoError(t, err)
}

func get(t *testing.T, env *awstest.Env, key string) string {
	t.Helper()
	out, err := env.S3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(awstest.Bucket), Key: aws.String(key)})
	require.NoError(t, err)
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	require.NoError(t, err)
	return string(b)
}

func trainingInput(name string, hp map[string]string) *sm.CreateTrainingJobInput {
	return &sm.CreateTrainingJobInput{
		TrainingJobName:        aws.String(name),
		RoleArn:                aws.String(awstest.Role),
		AlgorithmSpecification: &types.AlgorithmSpecification{TrainingImage: aws.String(image), TrainingInputMode: types.TrainingInputModeFile},
		HyperParameters:        hp,
		InputDataConfig: []types.Channel{{
			ChannelName: aws.String("train"), ContentType: aws.String("text/csv"),
			DataSource: &types.DataSource{S3DataSource: &types.S3DataSource{S3DataType: types.S3DataTypeS3Prefix, S3Uri: aws.String("s3://ipinsights-test/train/")}},
		}},
		OutputDataConfig:  &types.OutputDataConfig{S3OutputPath: aws.String("s3://ipinsights-test/out")},
		ResourceConfig:    &types.ResourceConfig{InstanceType: types.TrainingInstanceTypeMlM4Xlarge, InstanceCount: aws.Int32(1), VolumeSizeInGB: aws.Int32(30)},
		StoppingCondition: &types.StoppingCondition{MaxRuntimeInSeconds: aws.Int32(3600)},
	}
}

var hp = map[string]string{"num_entity_vectors": "50", "vector_dim": "4", "epochs": "2", "mini_batch_size": "64"}

// small keeps the emulated models small (our own hyperparameters, applied
// by the emulator).
var small = map[string]string{"ipv4_hash_rows": "1024", "ipv6_hash_rows": "256"}

const rows = "alice,10.0.0.1\nbob,10.0.1.1\nalice,10.0.0.2\ncarol,192.0.2.1\nbob,10.0.1.7\n"

// waitTraining polls until the job ends and returns its description.
func waitTraining(t *testing.T, env *awstest.Env, name string) *sm.DescribeTrainingJobOutput {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); {
		d, err := env.SageMaker.DescribeTrainingJob(context.Background(), &sm.DescribeTrainingJobInput{TrainingJobName: aws.String(name)})
		require.NoError(t, err)
		if s := d.TrainingJobStatus; s != types.TrainingJobStatusInProgress && s != types.TrainingJobStatusStopping {
			return d
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("training job %s did not end", name)
	return nil
}

func apiCode(t *testing.T, err error) (string, string) {
	t.Helper()
	var api smithy.APIError
	require.ErrorAs(t, err, &api)
	return api.ErrorCode(), api.ErrorMessage()
}

func TestCreateTrainingJobValidation(t *testing.T) {
	env := awstest.Start(t, smemu.Options{Extras: small})
	ctx := context.Background()
	put(t, env, "train/a.csv", rows)

	in := trainingInput("ok-name", hp)
	in.RoleArn = aws.String("SageMakerRole")
	code, msg := apiCode(t, func() error { _, err := env.SageMaker.CreateTrainingJob(ctx, in); return err }())
	assert.Equal(t, "ValidationException", code)
	assert.Equal(t, `1 validation error detected: Value 'SageMakerRole' at 'roleArn' failed to satisfy constraint: Member must satisfy regular expression pattern: ^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$`, msg)

	in = trainingInput("under_score", hp)
	_, msg = apiCode(t, func() error { _, err := env.SageMaker.CreateTrainingJob(ctx, in); return err }())
	assert.Contains(t, msg, "at 'trainingJobName'")

	in = trainingInput("other-image", hp)
	in.AlgorithmSpecification.TrainingImage = aws.String("174872318107.dkr.ecr.us-west-2.amazonaws.com/ipinsights:1")
	_, msg = apiCode(t, func() error { _, err := env.SageMaker.CreateTrainingJob(ctx, in); return err }())
	assert.Contains(t, msg, "only the IP Insights image of us-east-1")

	in = trainingInput("empty-prefix", hp)
	in.InputDataConfig[0].DataSource.S3DataSource.S3Uri = aws.String("s3://ipinsights-test/nothing/")
	_, msg = apiCode(t, func() error { _, err := env.SageMaker.CreateTrainingJob(ctx, in); return err }())
	assert.Contains(t, msg, `No S3 objects found under S3 URL "s3://ipinsights-test/nothing/"`)

	_, err := env.SageMaker.CreateTrainingJob(ctx, trainingInput("dup", hp))
	require.NoError(t, err)
	_, err = env.SageMaker.CreateTrainingJob(ctx, trainingInput("dup", hp))
	var inUse *types.ResourceInUse
	require.ErrorAs(t, err, &inUse, "a typed SDK error")
	assert.Contains(t, inUse.ErrorMessage(), "a training job with this name already exists")

	_, err = env.SageMaker.DescribeTrainingJob(ctx, &sm.DescribeTrainingJobInput{TrainingJobName: aws.String("nope")})
	_, msg = apiCode(t, err)
	assert.Equal(t, "Requested resource not found.", msg)
	assert.Equal(t, []string{"dup"}, env.Emulator.TrainingJobs())
	waitTraining(t, env, "dup")
	_, err = env.SageMaker.StopTrainingJob(ctx, &sm.StopTrainingJobInput{TrainingJobName: aws.String("dup")})
	_, msg = apiCode(t, err)
	assert.Equal(t, "The request was rejected because the training job is in status Completed.", msg)
}

func TestTrainingJobLifecycleAndArtifacts(t *testing.T) {
	env := awstest.Start(t, smemu.Options{Extras: small})
	ctx := context.Background()
	put(t, env, "train/a.csv", rows)
	out, err := env.SageMaker.CreateTrainingJob(ctx, trainingInput("life", hp))
	require.NoError(t, err)
	assert.Equal(t, "arn:aws:sagemaker:us-east-1:123456789012:training-job/life", aws.ToString(out.TrainingJobArn))
	d := waitTraining(t, env, "life")
	assert.Equal(t, types.TrainingJobStatusCompleted, d.TrainingJobStatus)
	assert.Equal(t, types.SecondaryStatusCompleted, d.SecondaryStatus)
	var sts []types.SecondaryStatus
	for _, tr := range d.SecondaryStatusTransitions {
		sts = append(sts, tr.Status)
		assert.NotNil(t, tr.StartTime)
	}
	assert.Equal(t, []types.SecondaryStatus{"Starting", "Downloading", "Training", "Uploading", "Completed"}, sts)
	assert.Equal(t, "s3://ipinsights-test/out/life/output/model.tar.gz", aws.ToString(d.ModelArtifacts.S3ModelArtifacts))
	assert.NotNil(t, d.TrainingEndTime)
	assert.WithinDuration(t, time.Now(), aws.ToTime(d.CreationTime), time.Minute, "timestamps travel as epoch seconds")
	names := map[string]bool{}
	for _, m := range d.FinalMetricDataList {
		names[aws.ToString(m.MetricName)] = true
	}
	assert.True(t, names[smemu.MetricCrossEntropy] && names[smemu.MetricAccuracy])
	assert.NotEmpty(t, get(t, env, "out/life/output/model.tar.gz"))
}

func TestTrainingJobFailures(t *testing.T) {
	env := awstest.Start(t, smemu.Options{Extras: small})
	ctx := context.Background()
	put(t, env, "train/a.csv", rows)
	withSeed := map[string]string{"seed": "3"}
	for k, v := range hp {
		withSeed[k] = v
	}
	_, err := env.SageMaker.CreateTrainingJob(ctx, trainingInput("extra-hp", withSeed))
	require.NoError(t, err)
	d := waitTraining(t, env, "extra-hp")
	assert.Equal(t, types.TrainingJobStatusFailed, d.TrainingJobStatus)
	assert.Equal(t, "ClientError: Additional hyperparameters are not allowed (u'seed' was unexpected)", aws.ToString(d.FailureReason))
	assert.Nil(t, d.ModelArtifacts)

	_, err = env.SageMaker.CreateTrainingJob(ctx, trainingInput("bad-range", map[string]string{"vector_dim": "2"}))
	require.NoError(t, err)
	d = waitTraining(t, env, "bad-range")
	assert.Contains(t, aws.ToString(d.FailureReason), "vector_dim")

	put(t, env, "v6/a.csv", "alice,10.0.0.1\nbob,2001:db8::1\n")
	in := trainingInput("ipv6", hp)
	in.InputDataConfig[0].DataSource.S3DataSource.S3Uri = aws.String("s3://ipinsights-test/v6/")
	_, err = env.SageMaker.CreateTrainingJob(ctx, in)
	require.NoError(t, err)
	d = waitTraining(t, env, "ipv6")
	assert.Equal(t, "ClientError: Unable to parse entity or IP address correctly: s3://ipinsights-test/v6/a.csv:2: 2001:db8::1 is not an IPv4 address", aws.ToString(d.FailureReason))
}

func TestStopTrainingJob(t *testing.T) {
	started := make(chan string, 1)
	env := awstest.Start(t, smemu.Options{Extras: small, BeforeTraining: func(ctx context.Context, job string) error {
		started <- job
		<-ctx.Done()
		return ctx.Err()
	}})
	ctx := context.Background()
	put(t, env, "train/a.csv", rows)
	_, err := env.SageMaker.CreateTrainingJob(ctx, trainingInput("stop-me", hp))
	require.NoError(t, err)
	assert.Equal(t, "stop-me", <-started)
	_, err = env.SageMaker.StopTrainingJob(ctx, &sm.StopTrainingJobInput{TrainingJobName: aws.String("stop-me")})
	require.NoError(t, err)
	d := waitTraining(t, env, "stop-me")
	assert.Equal(t, types.TrainingJobStatusStopped, d.TrainingJobStatus)
	assert.Equal(t, types.SecondaryStatusStopped, d.SecondaryStatus)
	st := d.SecondaryStatusTransitions
	assert.Equal(t, types.SecondaryStatus("Stopping"), st[len(st)-2].Status)
}

// trainedModel trains a model in the emulator and creates a SageMaker model
// of it.
func trainedModel(t *testing.T, env *awstest.Env, name string) {
	t.Helper()
	put(t, env, "train/a.csv", rows)
	_, err := env.SageMaker.CreateTrainingJob(context.Background(), trainingInput(name+"-train", hp))
	require.NoError(t, err)
	d := waitTraining(t, env, name+"-train")
	require.Equal(t, types.TrainingJobStatusCompleted, d.TrainingJobStatus)
	_, err = env.SageMaker.CreateModel(context.Background(), &sm.CreateModelInput{
		ModelName: aws.String(name), ExecutionRoleArn: aws.String(awstest.Role),
		PrimaryContainer: &types.ContainerDefinition{Image: aws.String(image), ModelDataUrl: d.ModelArtifacts.S3ModelArtifacts},
	})
	require.NoError(t, err)
}

func transformInput(name, model, accept string) *sm.CreateTransformJobInput {
	return &sm.CreateTransformJobInput{
		TransformJobName: aws.String(name), ModelName: aws.String(model),
		BatchStrategy: types.BatchStrategyMultiRecord, MaxPayloadInMB: aws.Int32(6),
		TransformInput: &types.TransformInput{
			DataSource:  &types.TransformDataSource{S3DataSource: &types.TransformS3DataSource{S3DataType: types.S3DataTypeS3Prefix, S3Uri: aws.String("s3://ipinsights-test/score/in/")}},
			ContentType: aws.String("text/csv"), SplitType: types.SplitTypeLine,
		},
		TransformOutput:    &types.TransformOutput{S3OutputPath: aws.String("s3://ipinsights-test/score/out"), Accept: aws.String(accept), AssembleWith: types.AssemblyTypeLine},
		TransformResources: &types.TransformResources{InstanceType: types.TransformInstanceTypeMlM4Xlarge, InstanceCount: aws.Int32(1)},
	}
}

func waitTransform(t *testing.T, env *awstest.Env, name string) *sm.DescribeTransformJobOutput {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); {
		d, err := env.SageMaker.DescribeTransformJob(context.Background(), &sm.DescribeTransformJobInput{TransformJobName: aws.String(name)})
		require.NoError(t, err)
		if s := d.TransformJobStatus; s != types.TransformJobStatusInProgress && s != types.TransformJobStatusStopping {
			return d
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("transform job %s did not end", name)
	return nil
}

func TestTransformOutputFormats(t *testing.T) {
	env := awstest.Start(t, smemu.Options{Extras: small})
	ctx := context.Background()
	trainedModel(t, env, "m")
	put(t, env, "score/in/sub/a.csv", "alice,10.0.0.1\nbob,10.0.1.1\ncarol,198.51.100.1\n")

	_, err := env.SageMaker.CreateTransformJob(ctx, transformInput("lines", "m", "application/jsonlines"))
	require.NoError(t, err)
	require.Equal(t, types.TransformJobStatusCompleted, waitTransform(t, env, "lines").TransformJobStatus)
	lines := get(t, env, "score/out/sub/a.csv.out")
	preds, err := inference.DecodeResponse(inference.JSONLines, []byte(lines))
	require.NoError(t, err)
	assert.Len(t, preds, 3)
	assert.Equal(t, 3, strings.Count(lines, "\n"))
	assert.True(t, strings.HasPrefix(lines, `{"dot_product":`), lines)

	env2 := *transformInput("json", "m", "application/json")
	env2.TransformOutput.S3OutputPath = aws.String("s3://ipinsights-test/score/json")
	_, err = env.SageMaker.CreateTransformJob(ctx, &env2)
	require.NoError(t, err)
	waitTransform(t, env, "json")
	js := get(t, env, "score/json/sub/a.csv.out")
	assert.True(t, strings.HasPrefix(js, `{"predictions":[{"dot_product":`), js)
	jp, err := inference.DecodeResponse(inference.JSON, []byte(js))
	require.NoError(t, err)
	assert.Equal(t, preds, jp, "the same scores in either format")

	verbose := *transformInput("verbose", "m", "application/jsonlines; verbose=True")
	verbose.TransformOutput.S3OutputPath = aws.String("s3://ipinsights-test/score/verbose")
	_, err = env.SageMaker.CreateTransformJob(ctx, &verbose)
	require.NoError(t, err)
	waitTransform(t, env, "verbose")
	vp, err := inference.DecodeResponse(inference.JSONLines, []byte(get(t, env, "score/verbose/sub/a.csv.out")))
	require.NoError(t, err)
	assert.Len(t, vp[0].EntityEmbedding, 4)
	assert.Len(t, vp[0].IPEmbedding, 4)

	csvOut := *transformInput("csv", "m", "text/csv")
	_, err = env.SageMaker.CreateTransformJob(ctx, &csvOut)
	require.NoError(t, err)
	d := waitTransform(t, env, "csv")
	assert.Equal(t, types.TransformJobStatusFailed, d.TransformJobStatus)
	assert.Contains(t, aws.ToString(d.FailureReason), "IP Insights answers application/json or application/jsonlines")

	put(t, env, "score/bad/a.csv", "alice,10.0.0.1\nbob,10.0.1\n")
	bad := *transformInput("bad", "m", "application/jsonlines")
	bad.TransformInput.DataSource.S3DataSource.S3Uri = aws.String("s3://ipinsights-test/score/bad/")
	_, err = env.SageMaker.CreateTransformJob(ctx, &bad)
	require.NoError(t, err)
	d = waitTransform(t, env, "bad")
	assert.Contains(t, aws.ToString(d.FailureReason), "s3://ipinsights-test/score/bad/a.csv:2")
}

func TestModels(t *testing.T) {
	env := awstest.Start(t, smemu.Options{Extras: small})
	ctx := context.Background()
	trainedModel(t, env, "keep")
	assert.Equal(t, []string{"keep"}, env.Emulator.Models())
	_, err := env.SageMaker.CreateModel(ctx, &sm.CreateModelInput{
		ModelName: aws.String("keep"), ExecutionRoleArn: aws.String(awstest.Role),
		PrimaryContainer: &types.ContainerDefinition{Image: aws.String(image), ModelDataUrl: aws.String("s3://ipinsights-test/out/keep-train/output/model.tar.gz")},
	})
	_, msg := apiCode(t, err)
	assert.Equal(t, `Cannot create already existing model "arn:aws:sagemaker:us-east-1:123456789012:model/keep".`, msg)
	_, err = env.SageMaker.CreateModel(ctx, &sm.CreateModelInput{
		ModelName: aws.String("nodata"), ExecutionRoleArn: aws.String(awstest.Role),
		PrimaryContainer: &types.ContainerDefinition{Image: aws.String(image), ModelDataUrl: aws.String("s3://ipinsights-test/none/model.tar.gz")},
	})
	_, msg = apiCode(t, err)
	assert.Equal(t, "Could not find model data at s3://ipinsights-test/none/model.tar.gz.", msg)
	_, err = env.SageMaker.CreateTransformJob(ctx, transformInput("no-model", "ghost", "application/jsonlines"))
	_, msg = apiCode(t, err)
	assert.Equal(t, `Could not find model "arn:aws:sagemaker:us-east-1:123456789012:model/ghost".`, msg)
	_, err = env.SageMaker.DeleteModel(ctx, &sm.DeleteModelInput{ModelName: aws.String("keep")})
	require.NoError(t, err)
	_, err = env.SageMaker.DeleteModel(ctx, &sm.DeleteModelInput{ModelName: aws.String("keep")})
	_, msg = apiCode(t, err)
	assert.Equal(t, `Could not find model "arn:aws:sagemaker:us-east-1:123456789012:model/keep".`, msg)
	assert.Empty(t, env.Emulator.Models())
}

func TestWireProtocolErrors(t *testing.T) {
	env := awstest.Start(t, smemu.Options{Extras: small})
	do := func(method, target, auth, body string) (int, string, string) {
		req, err := http.NewRequest(method, env.SageMakerURL, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("X-Amz-Target", target)
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), string(b)
	}
	const auth = "AWS4-HMAC-SHA256 Credential=x"
	code, typ, _ := do("POST", "SageMaker.DescribeTrainingJob", "", "{}")
	assert.Equal(t, http.StatusForbidden, code)
	assert.Equal(t, "MissingAuthenticationTokenException", typ)
	code, typ, _ = do("POST", "SageMaker.CreateEndpoint", auth, "{}")
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Equal(t, "UnknownOperationException", typ)
	code, typ, body := do("POST", "SageMaker.DescribeTrainingJob", auth, "{not json")
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Equal(t, "SerializationException", typ)
	assert.Contains(t, body, `"__type":"SerializationException"`)
	code, _, _ = do("GET", "SageMaker.DescribeTrainingJob", auth, "")
	assert.Equal(t, http.StatusMethodNotAllowed, code)
	code, typ, _ = do("POST", "SageMaker.DescribeTrainingJob", auth, `{"TrainingJobName":"`+strings.Repeat("x", 2<<20)+`"}`)
	assert.Equal(t, http.StatusRequestEntityTooLarge, code)
	assert.Equal(t, "SerializationException", typ)
}
