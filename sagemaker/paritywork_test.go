package sagemaker_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/csvio"
	"github.com/ipinsights/ipinsights-go/internal/test/awstest"
	"github.com/ipinsights/ipinsights-go/internal/test/smemu"
	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/ipinsights/ipinsights-go/sagemaker"
	"github.com/ipinsights/ipinsights-go/server"
)

// The whole parity workflow is one library call: train here and on the
// emulated SageMaker with the same data and hyperparameters, score the
// labeled rows on both sides and compare. The emulator runs our trainer,
// so both sides agree exactly.
func TestParityTrainsAndScoresOnBothSides(t *testing.T) {
	dir := t.TempDir()
	train, test, labels := logins(t, dir, 40, 30)
	env, c, ev := newClient(t, smemu.Options{}, nil)
	spec := sagemaker.ParitySpec{
		Rows: sagemaker.RowsFile{Path: test}, Labeled: true,
		Training: sagemaker.TrainingSpec{Train: train, Hyperparameters: tinyHP, JobName: "parity-train"},
		Compare:  sagemaker.CompareOptions{TopK: 10},
	}
	job, err := c.PrepareParity(t.Context(), spec)
	require.NoError(t, err)
	plan := job.Plan().String()
	assert.Contains(t, plan, "training job   parity-train")
	assert.Contains(t, plan, "transform job")
	assert.Contains(t, plan, "80 rows from "+test)
	assert.Empty(t, env.Emulator.Calls(), "preparing creates nothing")

	res, err := job.Run(t.Context())
	require.NoError(t, err)
	require.Len(t, res.Ours, len(labels))
	require.Len(t, res.SageMaker, len(labels))
	require.Len(t, res.Seen, len(labels))
	assert.Equal(t, res.Ours, roundTo(res.SageMaker, res.Ours))
	p := res.Report
	assert.Equal(t, len(labels), p.N)
	assert.InDelta(t, 1, p.Spearman, 1e-12)
	assert.InDelta(t, 1, p.KendallTauB, 1e-12)
	assert.Equal(t, 10, p.TopK)
	require.NotNil(t, p.Ours, "the labels were read")
	assert.Equal(t, len(labels)/2, p.Ours.Anomalies)
	assert.Greater(t, p.Ours.AUC, 0.8)
	assert.Equal(t, p.Ours.AUC, p.SageMaker.AUC)
	require.NotNil(t, res.Training)
	assert.Equal(t, "parity-train", res.Training.JobName)
	require.NotNil(t, res.Transform)
	assert.Equal(t, res.Transform.Scores, res.SageMaker)
	assert.Empty(t, env.Emulator.Models(), "the transform's model is deleted")
	assert.NotNil(t, res.Model)

	// Our side reports through the client's Reporter, under SageMaker's
	// metric names; the SageMaker model is told as soon as it exists.
	var local []sagemaker.Event
	for _, e := range ev.of(sagemaker.EventMetrics) {
		if e.Resource == "local training" {
			local = append(local, e)
		}
	}
	require.Len(t, local, 4, "one event per epoch (tinyHP: 4 epochs)")
	assert.Equal(t, "epoch 4", local[3].Message)
	assert.Equal(t, smemu.MetricAccuracy, local[3].Metrics[0].Name)
	assert.False(t, local[3].Time.IsZero())
	var notes []string
	for _, e := range ev.of(sagemaker.EventNote) {
		notes = append(notes, e.String())
	}
	assert.Contains(t, strings.Join(notes, "\n"), "parity-train: model s3://ipinsights-test/ipinsights/output/parity-train/output/model.tar.gz")

	// Reusing that training job and our model: no training anywhere, the
	// same scores.
	ev2 := &events{}
	spec.TrainingJob, spec.Model, spec.Progress = "parity-train", res.Model, ev2
	job, err = c.PrepareParity(t.Context(), spec)
	require.NoError(t, err)
	assert.Nil(t, job.Training)
	assert.NotContains(t, job.Plan().String(), "training job")
	res2, err := job.Run(t.Context())
	require.NoError(t, err)
	assert.Equal(t, res.Ours, res2.Ours)
	assert.Equal(t, res.SageMaker, roundTo(res2.SageMaker, res.SageMaker))
	assert.Nil(t, res2.Training)
	assert.Len(t, env.Emulator.TrainingJobs(), 1)
	assert.Empty(t, ev2.all, "nothing trained locally")
}

// SageMaker's side may be an endpoint the user already runs: nothing is
// created, and there is nothing to confirm.
func TestParityOnAnEndpoint(t *testing.T) {
	dir := t.TempDir()
	train, test, labels := logins(t, dir, 20, 20)
	data, _, err := ipinsights.LoadDataset(context.Background(), train, csvio.Options{})
	require.NoError(t, err)
	cfg, err := ipinsights.ParseHyperparameters(tinyHP)
	require.NoError(t, err)
	m, err := ipinsights.Train(context.Background(), cfg, data, nil)
	require.NoError(t, err)
	h, err := server.New(m, server.Options{})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	defer srv.Close()
	rt := sagemakerruntime.NewFromConfig(awstest.Config(), func(o *sagemakerruntime.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	ep := &sagemaker.Endpoint{API: rt, Name: "users-endpoint"}

	ev := &events{}
	job, err := ep.PrepareParity(t.Context(), sagemaker.ParitySpec{
		Rows: sagemaker.RowsFile{Path: test}, Labeled: true, Progress: ev,
		Training: sagemaker.TrainingSpec{Train: train, Hyperparameters: tinyHP},
	})
	require.NoError(t, err)
	assert.Empty(t, job.Plan().Resources)
	assert.Nil(t, job.Training)
	assert.Nil(t, job.Transform)
	res, err := job.Run(t.Context())
	require.NoError(t, err)
	assert.Len(t, res.SageMaker, len(labels))
	assert.InDelta(t, 1, res.Report.Spearman, 1e-12, "the endpoint serves the model we train locally")
	assert.Nil(t, res.Transform)
	assert.Len(t, ev.of(sagemaker.EventMetrics), 4, "local training reports through the spec's Reporter")

	_, err = ep.PrepareParity(t.Context(), sagemaker.ParitySpec{Rows: sagemaker.RowsFile{Path: test}, Model: m, TrainingJob: "j"})
	assert.ErrorContains(t, err, "an endpoint and a training job cannot both score SageMaker's side")
}

// Bad inputs fail when preparing, before anything is created: the rows are
// read once, labels included.
func TestParityRejectsBadInputsBeforeCreatingAnything(t *testing.T) {
	dir := t.TempDir()
	train, test, _ := logins(t, dir, 5, 5)
	env, c, _ := newClient(t, smemu.Options{}, nil)
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		writeFile(t, p, body)
		return p
	}
	for _, tc := range []struct {
		spec sagemaker.ParitySpec
		msg  string
	}{
		{sagemaker.ParitySpec{Training: sagemaker.TrainingSpec{Train: train}}, "no rows to score"},
		{sagemaker.ParitySpec{Rows: sagemaker.RowsFile{Path: test}, Training: sagemaker.TrainingSpec{TrainS3: "s3://b/train/"}},
			"local training needs a local training file"},
		{sagemaker.ParitySpec{Rows: sagemaker.RowsFile{Path: test}, Training: sagemaker.TrainingSpec{Train: train, Hyperparameters: map[string]string{"vector_dim": "1"}}},
			"vector_dim"},
		{sagemaker.ParitySpec{Rows: sagemaker.RowsFile{Path: file("nolabel.csv", "a,10.0.0.1\nb,10.0.0.2\n")}, Labeled: true, Training: sagemaker.TrainingSpec{Train: train, Hyperparameters: tinyHP}},
			"nolabel.csv:1: no label column"},
		{sagemaker.ParitySpec{Rows: sagemaker.RowsFile{Path: file("badlabel.csv", "a,10.0.0.1,0\nb,10.0.0.2,yes\n")}, Labeled: true, Training: sagemaker.TrainingSpec{Train: train, Hyperparameters: tinyHP}},
			`badlabel.csv:2: label "yes"`},
		{sagemaker.ParitySpec{Rows: sagemaker.RowsFile{Path: file("v6.csv", "a,10.0.0.1\nb,2001:db8::1\n")}, Training: sagemaker.TrainingSpec{Train: train, Hyperparameters: tinyHP}},
			"v6.csv:2: 2001:db8::1 is an IPv6 address"},
		{sagemaker.ParitySpec{Rows: sagemaker.RowsFile{Path: file("header.csv", "entity,ip,label\na,10.0.0.1,0\n")}, Training: sagemaker.TrainingSpec{Train: train, Hyperparameters: tinyHP}},
			"header.csv:1: unparsable IP address"},
	} {
		_, err := c.PrepareParity(t.Context(), tc.spec)
		assert.ErrorContains(t, err, tc.msg)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := c.PrepareParity(ctx, sagemaker.ParitySpec{Rows: sagemaker.RowsFile{Path: test}, Training: sagemaker.TrainingSpec{Train: train, Hyperparameters: tinyHP}})
	assert.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, env.Emulator.Calls())
}

// A failing SageMaker side fails the run: the error is SageMaker's, the
// model is deleted.
func TestParityTransformFailure(t *testing.T) {
	dir := t.TempDir()
	train, test, _ := logins(t, dir, 5, 5)
	env, c, _ := newClient(t, smemu.Options{}, nil)
	job, err := c.PrepareParity(t.Context(), sagemaker.ParitySpec{
		Rows: sagemaker.RowsFile{Path: test}, TrainingJob: "never-ran",
		Training: sagemaker.TrainingSpec{Train: train, Hyperparameters: tinyHP},
	})
	require.NoError(t, err)
	_, err = job.Run(t.Context())
	assert.ErrorContains(t, err, "never-ran")
	assert.Empty(t, env.Emulator.Models())
	assert.Empty(t, env.Emulator.TransformJobs())
}
