package sagemaker_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/csvio"
	"github.com/ipinsights/ipinsights-go/internal/awstest"
	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/ipinsights/ipinsights-go/sagemaker"
)

func TestEndpointScoreFile(t *testing.T) {
	dir := t.TempDir()
	train, test, labels := logins(t, dir, 20, 20)
	cfg, err := ipinsights.ParseHyperparameters(tinyHP)
	require.NoError(t, err)
	data, _, err := ipinsights.LoadDataset(train, csvio.Options{})
	require.NoError(t, err)
	m, err := ipinsights.Train(context.Background(), cfg, data, nil)
	require.NoError(t, err)

	live := &awstest.Endpoint{Name: "live", Model: m}
	srv := httptest.NewServer(live)
	defer srv.Close()
	rt := sagemakerruntime.NewFromConfig(awstest.Config(), func(o *sagemakerruntime.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	ep := &sagemaker.Endpoint{API: rt, Name: "live", BatchRows: 7}
	got, err := ep.ScoreFile(context.Background(), test)
	require.NoError(t, err)
	require.Len(t, got, len(labels))
	assert.Equal(t, int64(len(labels)+6)/7, live.Requests.Load(), "batches of at most 7 rows")
	want := localScores(t, train, test, tinyHP)
	assert.Equal(t, want, roundTo(got, want))

	_, err = (&sagemaker.Endpoint{API: rt, Name: "other"}).ScoreFile(context.Background(), test)
	assert.ErrorContains(t, err, "endpoint other, rows 1-40")
	assert.ErrorContains(t, err, "Endpoint not found.")

	bad := httptest.NewServer(&awstest.Endpoint{Name: "live", Model: m, ExtraPrediction: true})
	defer bad.Close()
	rt = sagemakerruntime.NewFromConfig(awstest.Config(), func(o *sagemakerruntime.Options) { o.BaseEndpoint = aws.String(bad.URL) })
	_, err = (&sagemaker.Endpoint{API: rt, Name: "live", BatchRows: 10}).ScoreFile(context.Background(), test)
	assert.ErrorContains(t, err, "answered 11 predictions for rows 1-10")
	assert.True(t, strings.HasPrefix(err.Error(), "sagemaker: "))
}
