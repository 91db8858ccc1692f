package sagemaker_test

import (
	"context"
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/sagemaker"
)

// TestLiveSageMaker runs the delegate flow against real AWS: a training
// job and a batch transform on ml.m4.xlarge (about ten billable instance
// minutes, see the README). It runs only when IPINSIGHTS_LIVE_SAGEMAKER=1,
// IPINSIGHTS_SAGEMAKER_ROLE_ARN and IPINSIGHTS_SAGEMAKER_BUCKET are set,
// with credentials and the region from the usual AWS configuration:
//
//	IPINSIGHTS_LIVE_SAGEMAKER=1 IPINSIGHTS_SAGEMAKER_ROLE_ARN=arn:aws:iam::...:role/... \
//	IPINSIGHTS_SAGEMAKER_BUCKET=my-bucket AWS_REGION=us-east-1 \
//	go test ./sagemaker -run TestLiveSageMaker -v -timeout 60m
func TestLiveSageMaker(t *testing.T) {
	if os.Getenv("IPINSIGHTS_LIVE_SAGEMAKER") != "1" {
		t.Skip("live SageMaker test: set IPINSIGHTS_LIVE_SAGEMAKER=1 (it creates billable jobs; see the README)")
	}
	role, bucket := os.Getenv("IPINSIGHTS_SAGEMAKER_ROLE_ARN"), os.Getenv("IPINSIGHTS_SAGEMAKER_BUCKET")
	if role == "" || bucket == "" {
		t.Skip("live SageMaker test: IPINSIGHTS_SAGEMAKER_ROLE_ARN and IPINSIGHTS_SAGEMAKER_BUCKET must be set")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Minute)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, cfg.Region, "set AWS_REGION")
	smc := sm.NewFromConfig(cfg)
	c, err := sagemaker.New(smc, s3.NewFromConfig(cfg), sagemaker.Options{
		Region: cfg.Region, RoleARN: role, Bucket: bucket, Prefix: "ipinsights-live-test",
		PollInterval: 20 * time.Second, MaxRuntime: time.Hour,
		Progress: sagemaker.ReporterFunc(func(e sagemaker.Event) { t.Log(e) }),
	})
	require.NoError(t, err)

	dir := t.TempDir()
	train, test, labels := logins(t, dir, 40, 30)
	tj, err := c.PrepareTraining(ctx, sagemaker.TrainingSpec{Train: train, Hyperparameters: tinyHP})
	require.NoError(t, err)
	xj, err := c.PrepareTransform(ctx, sagemaker.TransformSpec{Input: sagemaker.RowsFile{Path: test}})
	require.NoError(t, err)
	res, err := c.RunTraining(ctx, tj)
	require.NoError(t, err)
	t.Logf("model %s, %d billable seconds, metrics %v", res.ModelArtifacts, res.BillableSeconds, res.Metrics)
	xj.ModelData = res.ModelArtifacts
	out, err := c.RunTransform(ctx, xj)
	require.NoError(t, err)
	require.Len(t, out.Scores, len(labels))
	for i, s := range out.Scores {
		require.False(t, math.IsNaN(s) || math.IsInf(s, 0), "row %d", i+1)
	}

	// The model is gone from SageMaker.
	_, err = smc.DescribeModel(ctx, &sm.DescribeModelInput{ModelName: aws.String(xj.ModelName)})
	var api smithy.APIError
	require.True(t, errors.As(err, &api), "DescribeModel of a deleted model fails: %v", err)
	assert.Equal(t, "ValidationException", api.ErrorCode())

	p, err := sagemaker.Compare(localScores(t, train, test, tinyHP), out.Scores, sagemaker.CompareOptions{Anomalous: labels, TopK: 20})
	require.NoError(t, err)
	var report strings.Builder
	require.NoError(t, p.WriteText(&report))
	t.Log("\n" + report.String())
	// Two different implementations on tiny data: no exact agreement, but
	// both must tell random addresses from home networks.
	assert.Greater(t, p.SageMaker.AUC, 0.6)
	assert.Greater(t, p.Spearman, 0.3)
}
