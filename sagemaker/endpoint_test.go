package sagemaker_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/csvio"
	"github.com/ipinsights/ipinsights-go/internal/test/awstest"
	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/ipinsights/ipinsights-go/sagemaker"
	"github.com/ipinsights/ipinsights-go/server"
)

// counting counts the requests h answers.
type counting struct {
	h http.Handler
	n atomic.Int64
}

func (c *counting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.n.Add(1)
	c.h.ServeHTTP(w, r)
}

func TestEndpointScoreFile(t *testing.T) {
	dir := t.TempDir()
	train, test, labels := logins(t, dir, 20, 20)
	cfg, err := ipinsights.ParseHyperparameters(tinyHP)
	require.NoError(t, err)
	data, _, err := ipinsights.LoadDataset(context.Background(), train, csvio.Options{})
	require.NoError(t, err)
	m, err := ipinsights.Train(context.Background(), cfg, data, nil)
	require.NoError(t, err)

	// The project's own drop-in server stands in for the endpoint.
	h, err := server.New(m, server.Options{})
	require.NoError(t, err)
	live := &counting{h: h}
	srv := httptest.NewServer(live)
	defer srv.Close()
	rt := sagemakerruntime.NewFromConfig(awstest.Config(), func(o *sagemakerruntime.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	ep := &sagemaker.Endpoint{API: rt, Name: "live", BatchRows: 7}
	got, err := ep.ScoreFile(context.Background(), sagemaker.RowsFile{Path: test})
	require.NoError(t, err)
	require.Len(t, got, len(labels))
	assert.Equal(t, int64(len(labels)+6)/7, live.n.Load(), "batches of at most 7 rows")
	want := localScores(t, train, test, tinyHP)
	assert.Equal(t, want, roundTo(got, want))

	// An endpoint without a model answers 503.
	empty, err := server.New(nil, server.Options{})
	require.NoError(t, err)
	down := httptest.NewServer(empty)
	defer down.Close()
	rt = sagemakerruntime.NewFromConfig(awstest.Config(), func(o *sagemakerruntime.Options) {
		o.BaseEndpoint = aws.String(down.URL)
		o.RetryMaxAttempts = 1
	})
	_, err = (&sagemaker.Endpoint{API: rt, Name: "down"}).ScoreFile(context.Background(), sagemaker.RowsFile{Path: test})
	assert.ErrorContains(t, err, "sagemaker: endpoint down, rows 1-40")

	// One prediction too many is caught.
	extra := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jsonlines")
		w.Write([]byte(strings.Repeat("{\"dot_product\": 1.0}\n", 11)))
	}))
	defer extra.Close()
	rt = sagemakerruntime.NewFromConfig(awstest.Config(), func(o *sagemakerruntime.Options) { o.BaseEndpoint = aws.String(extra.URL) })
	_, err = (&sagemaker.Endpoint{API: rt, Name: "live", BatchRows: 10}).ScoreFile(context.Background(), sagemaker.RowsFile{Path: test})
	assert.ErrorContains(t, err, "sagemaker: endpoint live answered 11 predictions for rows 1-10")
}
