package sagemaker_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/csvio"
	"github.com/ipinsights/ipinsights-go/internal/test/awstest"
	"github.com/ipinsights/ipinsights-go/internal/test/smemu"
	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/ipinsights/ipinsights-go/sagemaker"
)

// localScores trains locally on train with hp and scores the rows of test.
func localScores(t *testing.T, train, test string, hp map[string]string) []float64 {
	t.Helper()
	data, _, err := ipinsights.LoadDataset(context.Background(), train, csvio.Options{})
	require.NoError(t, err)
	cfg, err := ipinsights.ParseHyperparameters(hp)
	require.NoError(t, err)
	m, err := ipinsights.Train(context.Background(), cfg, data, nil)
	require.NoError(t, err)
	r, err := csvio.Open(test, csvio.Options{MaxFields: -1})
	require.NoError(t, err)
	defer r.Close()
	var out []float64
	for r.Next() {
		out = append(out, m.Score(string(r.Entity()), r.Addr()).DotProduct)
	}
	require.NoError(t, r.Err())
	return out
}

func TestDelegateTrainTransformEndToEnd(t *testing.T) {
	dir := t.TempDir()
	train, test, labels := logins(t, dir, 40, 30)
	env, c, ev := newClient(t, smemu.Options{}, nil)
	ctx := context.Background()

	hp := map[string]string{"seed": "1", "optimizer": "adam"} // ours: accepted, never sent
	for k, v := range tinyHP {
		hp[k] = v
	}
	valid := filepath.Join(dir, "valid.csv")
	writeFile(t, valid, "user-001,1.2.3.4\nuser-002,1.2.3.5\nuser-001,1.2.4.4\n")
	tj, err := c.PrepareTraining(t.Context(), sagemaker.TrainingSpec{Train: train, Validation: valid, Hyperparameters: hp, JobName: "e2e-train"})
	require.NoError(t, err)
	assert.Equal(t, []string{"ipv4_hash_rows", "ipv6_hash_rows", "optimizer", "seed"}, tj.NotSent)
	assert.ElementsMatch(t, ipinsights.SageMakerNames(), keys(tj.Hyperparameters), "every SageMaker hyperparameter is sent, nothing else")
	plan := c.PlanTraining(tj).String()
	assert.Contains(t, plan, "training job   e2e-train  on 1 x ml.m4.xlarge")
	assert.Contains(t, plan, "1200 rows from "+train)

	res, err := c.RunTraining(ctx, tj)
	require.NoError(t, err)
	assert.Equal(t, "s3://ipinsights-test/ipinsights/output/e2e-train/output/model.tar.gz", res.ModelArtifacts)
	assert.GreaterOrEqual(t, res.BillableSeconds, int64(1))
	metrics := map[string]float64{}
	for _, m := range res.Metrics {
		metrics[m.Name] = m.Value
	}
	assert.Contains(t, metrics, smemu.MetricValidation, "the validation channel was used")
	assert.Greater(t, metrics[smemu.MetricAccuracy], 0.5)

	var statuses []string
	for _, e := range ev.of(sagemaker.EventStatus) {
		statuses = append(statuses, e.Status)
	}
	assert.Equal(t, []string{"InProgress/Starting", "InProgress/Downloading", "InProgress/Training", "InProgress/Uploading", "Completed/Completed"}, statuses)
	assert.NotEmpty(t, ev.of(sagemaker.EventMetrics))

	d, err := env.SageMaker.DescribeTrainingJob(ctx, &sm.DescribeTrainingJobInput{TrainingJobName: aws.String("e2e-train")})
	require.NoError(t, err)
	assert.NotContains(t, d.HyperParameters, "seed")
	assert.Equal(t, "8", d.HyperParameters["vector_dim"])
	assert.Equal(t, "text/csv", aws.ToString(d.InputDataConfig[0].ContentType))
	assert.Equal(t, "File", string(d.AlgorithmSpecification.TrainingInputMode))
	assert.Equal(t, "382416733822.dkr.ecr.us-east-1.amazonaws.com/ipinsights:1", aws.ToString(d.AlgorithmSpecification.TrainingImage))

	// Score the labeled rows (three columns: the label is not sent).
	xj, err := c.PrepareTransform(t.Context(), sagemaker.TransformSpec{Input: sagemaker.RowsFile{Path: test}, JobName: "e2e-transform", ModelName: "e2e-model"})
	require.NoError(t, err)
	xj.ModelData = res.ModelArtifacts
	out, err := c.RunTransform(ctx, xj)
	require.NoError(t, err)
	require.Len(t, out.Scores, len(labels))
	assert.Empty(t, env.Emulator.Models(), "the model is deleted")
	assert.Contains(t, env.Emulator.Calls(), "DeleteModel")

	// The emulated SageMaker ran our trainer on the same rows with the same
	// hyperparameters: its scores are ours, row for row.
	ours := localScores(t, train, test, hp)
	for i := range ours {
		assert.InDelta(t, ours[i], out.Scores[i], 1e-6*(1+math.Abs(ours[i])), "row %d", i+1)
	}
	p, err := sagemaker.Compare(ours, out.Scores, sagemaker.CompareOptions{Anomalous: labels})
	require.NoError(t, err)
	assert.InDelta(t, 1, p.Spearman, 1e-12)
	assert.InDelta(t, 1, p.KendallTauB, 1e-12)
	assert.Greater(t, p.Ours.AUC, 0.8, "the tiny model detects the random addresses")
}

func keys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestDelegateSplitsLargeUploadsIntoParts(t *testing.T) {
	dir := t.TempDir()
	train, test, _ := logins(t, dir, 20, 20)
	env, c, ev := newClient(t, smemu.Options{}, func(o *sagemaker.Options) { o.PartBytes = 4096 })
	tj, err := c.PrepareTraining(t.Context(), sagemaker.TrainingSpec{Train: train, Hyperparameters: tinyHP, JobName: "parts"})
	require.NoError(t, err)
	res, err := c.RunTraining(context.Background(), tj)
	require.NoError(t, err)
	uploads := ev.of(sagemaker.EventUpload)
	assert.Greater(t, len(uploads), 2, "400 rows of ~20 bytes in 4 KiB parts")
	assert.Contains(t, uploads[1].Resource, "/train/part-00001.csv")

	// Several parts in, several .out files back, in row order.
	xj, err := c.PrepareTransform(t.Context(), sagemaker.TransformSpec{Input: sagemaker.RowsFile{Path: train}, ModelData: res.ModelArtifacts})
	require.NoError(t, err)
	out, err := c.RunTransform(context.Background(), xj)
	require.NoError(t, err)
	assert.Equal(t, localScores(t, train, train, tinyHP), roundTo(out.Scores, localScores(t, train, train, tinyHP)))
	assert.Empty(t, env.Emulator.Models())
	_ = test
}

// roundTo returns got, with each value replaced by want's when they agree
// to 1e-9 relative, so that assert.Equal shows only real differences.
func roundTo(got, want []float64) []float64 {
	out := make([]float64, len(got))
	for i := range got {
		out[i] = got[i]
		if i < len(want) && math.Abs(got[i]-want[i]) <= 1e-9*(1+math.Abs(want[i])) {
			out[i] = want[i]
		}
	}
	return out
}

func TestDelegateRejectsBadInputsBeforeCreatingAnything(t *testing.T) {
	dir := t.TempDir()
	env, c, _ := newClient(t, smemu.Options{}, nil)
	v6 := filepath.Join(dir, "v6.csv")
	writeFile(t, v6, "alice,1.2.3.4\nbob,2001:db8::1\n")
	_, err := c.PrepareTraining(t.Context(), sagemaker.TrainingSpec{Train: v6, Hyperparameters: tinyHP})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "v6.csv:2: 2001:db8::1 is an IPv6 address")

	bad := filepath.Join(dir, "bad.csv")
	writeFile(t, bad, "alice,1.2.3.4\nbob,1.2.3\n")
	_, err = c.PrepareTransform(t.Context(), sagemaker.TransformSpec{Input: sagemaker.RowsFile{Path: bad}, ModelData: "s3://b/m.tar.gz"})
	var pe *csvio.ParseError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, 2, pe.Line)

	_, err = c.PrepareTraining(t.Context(), sagemaker.TrainingSpec{Train: v6, Hyperparameters: map[string]string{"vector_dim": "2"}})
	var he *ipinsights.HyperparameterError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, "vector_dim", he.Key)

	_, err = c.PrepareTraining(t.Context(), sagemaker.TrainingSpec{Train: filepath.Join(dir, "missing.csv")})
	assert.Error(t, err)
	_, err = c.PrepareTraining(t.Context(), sagemaker.TrainingSpec{TrainS3: "s3://b/k", JobName: "bad_name"})
	assert.ErrorContains(t, err, "bad_name")

	_, err = sagemaker.New(env.SageMaker, env.S3, sagemaker.Options{Region: "us-east-1", RoleARN: "SageMakerRole", Bucket: "b-1"})
	assert.ErrorContains(t, err, "not an IAM role ARN")
	_, err = sagemaker.New(env.SageMaker, env.S3, sagemaker.Options{Region: "mars-north-1", RoleARN: awstest.Role, Bucket: "b-1"})
	assert.ErrorContains(t, err, "no IP Insights image")
	assert.Empty(t, env.Emulator.Calls())
}

func TestDelegateMissingBucket(t *testing.T) {
	dir := t.TempDir()
	train, _, _ := logins(t, dir, 5, 5)
	env, c, _ := newClient(t, smemu.Options{}, func(o *sagemaker.Options) { o.Bucket = "no-such-bucket" })
	tj, err := c.PrepareTraining(t.Context(), sagemaker.TrainingSpec{Train: train, Hyperparameters: tinyHP})
	require.NoError(t, err)
	_, err = c.RunTraining(context.Background(), tj)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "NoSuchBucket")
	assert.Empty(t, env.Emulator.TrainingJobs(), "nothing is created when the upload fails")

	// Data named on S3 in a missing bucket: SageMaker refuses the job.
	tj, err = c.PrepareTraining(t.Context(), sagemaker.TrainingSpec{TrainS3: "s3://no-such-bucket/train/", Hyperparameters: tinyHP})
	require.NoError(t, err)
	_, err = c.RunTraining(context.Background(), tj)
	var api smithy.APIError
	require.ErrorAs(t, err, &api)
	assert.Equal(t, "ValidationException", api.ErrorCode())
	assert.Contains(t, api.ErrorMessage(), `No S3 objects found under S3 URL "s3://no-such-bucket/train/"`)
	assert.Empty(t, env.Emulator.TrainingJobs())
}

func TestDelegateRoleSageMakerCannotAssume(t *testing.T) {
	dir := t.TempDir()
	train, _, _ := logins(t, dir, 5, 5)
	env, c, _ := newClient(t, smemu.Options{Roles: []string{"arn:aws:iam::123456789012:role/Other"}}, nil)
	tj, err := c.PrepareTraining(t.Context(), sagemaker.TrainingSpec{Train: train, Hyperparameters: tinyHP})
	require.NoError(t, err)
	_, err = c.RunTraining(context.Background(), tj)
	var api smithy.APIError
	require.ErrorAs(t, err, &api)
	assert.Equal(t, "ValidationException", api.ErrorCode())
	assert.Contains(t, api.ErrorMessage(), "Could not assume role "+awstest.Role)
	assert.Empty(t, env.Emulator.TrainingJobs())
}

func TestDelegateTrainingJobFailsOnMalformedCSV(t *testing.T) {
	env, c, ev := newClient(t, smemu.Options{}, nil)
	ctx := context.Background()
	// Data already on S3 is not checked locally: SageMaker finds the bad row.
	_, err := env.S3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(awstest.Bucket), Key: aws.String("data/train.csv"),
		Body: strings.NewReader("alice,10.0.0.1\nbob,10.0.0.2\ncarol,10.0.0.300\n"),
	})
	require.NoError(t, err)
	tj, err := c.PrepareTraining(t.Context(), sagemaker.TrainingSpec{TrainS3: "s3://ipinsights-test/data/", Hyperparameters: tinyHP, JobName: "bad-data"})
	require.NoError(t, err)
	_, err = c.RunTraining(ctx, tj)
	var je *sagemaker.JobError
	require.ErrorAs(t, err, &je)
	assert.Equal(t, "Failed", je.Status)
	assert.Equal(t, "bad-data", je.Name)
	assert.Contains(t, je.Reason, "ClientError: Unable to parse entity or IP address correctly")
	assert.Contains(t, je.Reason, "s3://ipinsights-test/data/train.csv:3")
	st := ev.of(sagemaker.EventStatus)
	assert.Equal(t, "Failed/Failed", st[len(st)-1].Status)
}

func TestDelegateCancelStopsTrainingJob(t *testing.T) {
	dir := t.TempDir()
	train, _, _ := logins(t, dir, 5, 5)
	started := make(chan string, 1)
	env, c, ev := newClient(t, smemu.Options{BeforeTraining: blockUntilStopped(started)}, nil)
	tj, err := c.PrepareTraining(t.Context(), sagemaker.TrainingSpec{Train: train, Hyperparameters: tinyHP, JobName: "cancel-me"})
	require.NoError(t, err)
	ctx := cancelWhenRunning(t, ev, started, "cancel-me")
	_, err = c.RunTraining(ctx, tj)
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "training job cancel-me stopped")
	assert.Equal(t, "Stopped", env.Emulator.Status("cancel-me"))
	assert.Contains(t, env.Emulator.Calls(), "StopTrainingJob")
	assert.Len(t, ev.of(sagemaker.EventStop), 1)
}

func TestDelegateCancelStopsTransformAndDeletesModel(t *testing.T) {
	dir := t.TempDir()
	train, test, _ := logins(t, dir, 5, 5)
	started := make(chan string, 1)
	env, c, ev := newClient(t, smemu.Options{BeforeTransform: blockUntilStopped(started)}, nil)
	tj, err := c.PrepareTraining(t.Context(), sagemaker.TrainingSpec{Train: train, Hyperparameters: tinyHP, JobName: "t1"})
	require.NoError(t, err)
	_, err = c.RunTraining(context.Background(), tj)
	require.NoError(t, err)

	xj, err := c.PrepareTransform(t.Context(), sagemaker.TransformSpec{Input: sagemaker.RowsFile{Path: test}, TrainingJob: "t1", JobName: "x1", ModelName: "m1"})
	require.NoError(t, err)
	ctx := cancelWhenRunning(t, ev, started, "x1")
	_, err = c.RunTransform(ctx, xj)
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, "Stopped", env.Emulator.Status("x1"))
	assert.Empty(t, env.Emulator.Models(), "the model is deleted after a cancel")
	assert.Contains(t, env.Emulator.Calls(), "StopTransformJob")
}

func TestDelegateTransformFailureDeletesModel(t *testing.T) {
	dir := t.TempDir()
	_, test, _ := logins(t, dir, 5, 5)
	env, c, _ := newClient(t, smemu.Options{}, nil)
	_, err := env.S3.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(awstest.Bucket), Key: aws.String("models/model.tar.gz"), Body: strings.NewReader("not a tarball"),
	})
	require.NoError(t, err)
	xj, err := c.PrepareTransform(t.Context(), sagemaker.TransformSpec{Input: sagemaker.RowsFile{Path: test}, ModelData: "s3://ipinsights-test/models/model.tar.gz", JobName: "x-bad"})
	require.NoError(t, err)
	_, err = c.RunTransform(context.Background(), xj)
	var je *sagemaker.JobError
	require.ErrorAs(t, err, &je)
	assert.Equal(t, "transform job", je.Kind)
	assert.Contains(t, je.Reason, "Unable to load the model")
	assert.Empty(t, env.Emulator.Models(), "the model is deleted after a failure")

	// A training job that does not exist: nothing is created.
	xj, err = c.PrepareTransform(t.Context(), sagemaker.TransformSpec{Input: sagemaker.RowsFile{Path: test}, TrainingJob: "never-ran"})
	require.NoError(t, err)
	_, err = c.RunTransform(context.Background(), xj)
	assert.ErrorContains(t, err, "Requested resource not found")
	assert.Empty(t, env.Emulator.Models())
}

func TestJobErrorMessage(t *testing.T) {
	err := error(&sagemaker.JobError{Kind: "training job", Name: "j", Status: "Failed", Reason: "ClientError: x"})
	assert.Equal(t, "sagemaker: training job j failed: ClientError: x", err.Error())
	var je *sagemaker.JobError
	assert.True(t, errors.As(fmt.Errorf("wrapped: %w", err), &je))
}

// Data already on S3 is used in place: nothing is uploaded, and the
// validation channel is there exactly when validation data is given.
func TestDelegateTrainingFromS3(t *testing.T) {
	dir := t.TempDir()
	train, _, _ := logins(t, dir, 20, 20)
	env, c, ev := newClient(t, smemu.Options{}, nil)
	ctx := context.Background()
	for _, key := range []string{"data/train/part.csv", "data/validation/part.csv"} {
		body, err := os.ReadFile(train)
		require.NoError(t, err)
		_, err = env.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(awstest.Bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
		require.NoError(t, err)
	}
	channels := func(job string) []string {
		d, err := env.SageMaker.DescribeTrainingJob(ctx, &sm.DescribeTrainingJobInput{TrainingJobName: aws.String(job)})
		require.NoError(t, err)
		var names []string
		for _, ch := range d.InputDataConfig {
			names = append(names, aws.ToString(ch.ChannelName)+" "+aws.ToString(ch.DataSource.S3DataSource.S3Uri))
		}
		return names
	}

	tj, err := c.PrepareTraining(t.Context(), sagemaker.TrainingSpec{TrainS3: "s3://ipinsights-test/data/train/", ValidationS3: "s3://ipinsights-test/data/validation/",
		Hyperparameters: tinyHP, JobName: "s3-both"})
	require.NoError(t, err)
	assert.NotContains(t, c.PlanTraining(tj).String(), "S3 upload")
	_, err = c.RunTraining(ctx, tj)
	require.NoError(t, err)
	assert.Equal(t, []string{"train s3://ipinsights-test/data/train/", "validation s3://ipinsights-test/data/validation/"}, channels("s3-both"))

	tj, err = c.PrepareTraining(t.Context(), sagemaker.TrainingSpec{TrainS3: "s3://ipinsights-test/data/train/", Hyperparameters: tinyHP, JobName: "s3-train"})
	require.NoError(t, err)
	_, err = c.RunTraining(ctx, tj)
	require.NoError(t, err)
	assert.Equal(t, []string{"train s3://ipinsights-test/data/train/"}, channels("s3-train"))
	assert.Empty(t, ev.of(sagemaker.EventUpload))

	// A local validation file next to training data on S3: only it is
	// uploaded.
	tj, err = c.PrepareTraining(t.Context(), sagemaker.TrainingSpec{TrainS3: "s3://ipinsights-test/data/train/", Validation: train, Hyperparameters: tinyHP, JobName: "s3-local"})
	require.NoError(t, err)
	plan := c.PlanTraining(tj).String()
	assert.Equal(t, 1, strings.Count(plan, "S3 upload"), plan)
	assert.Contains(t, plan, "ipinsights/input/s3-local/validation/")
	_, err = c.RunTraining(ctx, tj)
	require.NoError(t, err)
	assert.Equal(t, []string{"train s3://ipinsights-test/data/train/", "validation s3://ipinsights-test/ipinsights/input/s3-local/validation/"}, channels("s3-local"))
	assert.Len(t, ev.of(sagemaker.EventUpload), 1)
}

// Options.Image replaces the region's image in the jobs the client creates.
func TestDelegateImageOverride(t *testing.T) {
	env, c, _ := newClient(t, smemu.Options{}, func(o *sagemaker.Options) { o.Image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:dev" })
	tj, err := c.PrepareTraining(t.Context(), sagemaker.TrainingSpec{TrainS3: "s3://ipinsights-test/data/", Hyperparameters: tinyHP, JobName: "own-image"})
	require.NoError(t, err)
	_, err = c.RunTraining(context.Background(), tj)
	// The emulator runs SageMaker's image only, and says so.
	assert.ErrorContains(t, err, "this emulator runs only the IP Insights image")
	assert.Empty(t, env.Emulator.TrainingJobs())
}
