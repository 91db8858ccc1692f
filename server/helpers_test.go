package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/ipinsights/ipinsights-go/alert"
	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/inference"

	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/internal/test/testmodel"
	"github.com/ipinsights/ipinsights-go/ipinsights"
)

var (
	modelOnce    sync.Once
	modelA       *ipinsights.Model
	modelB       *ipinsights.Model
	modelErr     error
	sampleRecord []ipinsights.Pair
)

// models returns two tiny models trained once per test binary,
// differing by seed, and records that cover seen and unseen
// entities, IPv4 and IPv6, and an entity that CSV must quote.
func models(t testing.TB) (*ipinsights.Model, *ipinsights.Model, []ipinsights.Pair) {
	t.Helper()
	modelOnce.Do(func() {
		if modelA, modelErr = testmodel.Train(1, 8, 4000); modelErr != nil {
			return
		}
		if modelB, modelErr = testmodel.Train(2, 8, 4000); modelErr != nil {
			return
		}
		pairs := testmodel.Pairs(1, 100, 3)
		sampleRecord = append(sampleRecord, pairs...)
		sampleRecord = append(sampleRecord,
			ipinsights.Pair{Entity: "never seen, \"really\"", IP: pairs[0].IP},
			ipinsights.Pair{Entity: testmodel.Entity(1), IP: netip.MustParseAddr("2001:db8::7")},
		)
	})
	require.NoError(t, modelErr)
	return modelA, modelB, sampleRecord
}

var (
	explainedOnce                   sync.Once
	calibratedModel, explainedModel *ipinsights.Model
	explainedErr                    error
)

// explainedModels returns the first model of models with a calibration
// (calibrated), and with a calibration and a network history (explained),
// both counted on its training pairs. Entities with 20 calibration pairs
// or more (most of the 100 trained ones) have distributions of their own.
func explainedModels(t testing.TB) (calibrated, explained *ipinsights.Model) {
	t.Helper()
	m, _, _ := models(t)
	explainedOnce.Do(func() {
		data := ipinsights.NewDataset()
		for _, p := range testmodel.Pairs(1, 100, 4000) {
			data.Add(p.Entity, p.IP)
		}
		ctx := context.Background()
		var c *ipinsights.Calibration
		if c, explainedErr = m.Calibrate(ctx, data, &ipinsights.CalibrationOptions{MinEntityPairs: 20}); explainedErr != nil {
			return
		}
		calibratedModel = m.WithCalibration(c)
		explainedModel, explainedErr = calibratedModel.WithNetworkHistory(ctx, data, nil)
	})
	require.NoError(t, explainedErr)
	return calibratedModel, explainedModel
}

// newServer starts a Server of m behind an httptest server.
func newServer(t testing.TB, m *ipinsights.Model, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New(m, opts)
	require.NoError(t, err)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

// post sends a request and returns the status, the Content-Type and the body.
func post(t testing.TB, url, contentType, accept string, body []byte) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	return do(t, req)
}

func do(t testing.TB, req *http.Request) (int, string, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

// wantPredictions returns what m answers for recs in rf.
func wantPredictions(m *ipinsights.Model, recs []ipinsights.Pair, rf inference.ResponseFormat) []inference.Prediction {
	out := make([]inference.Prediction, len(recs))
	for i, r := range recs {
		res, e, v := m.ScoreVerbose(r.Entity, r.IP)
		out[i].DotProduct = res.DotProduct
		if rf.Seen {
			out[i].EntitySeen = res.EntitySeen
		}
		if rf.Verbose {
			out[i].EntityEmbedding, out[i].IPEmbedding = e, v
		}
		if rf.Percentile || rf.Explain {
			out[i].Extra = wantMembers(m, r, rf)
		}
	}
	return out
}

// wantMembers returns the members that percentile=True and explain=True
// add to the prediction of r, as the CLI's JSON lines write them, from
// the model's one-pair methods.
func wantMembers(m *ipinsights.Model, r ipinsights.Pair, rf inference.ResponseFormat) []byte {
	f := alert.Fields{Percentile: true, Explain: rf.Explain}
	rec := alert.Record{Result: m.Score(r.Entity, r.IP)}
	rec.Percentile = m.Calibration().Percentile(embedding.EntityHash(r.Entity), rec.Result.DotProduct)
	if rf.Explain {
		e := m.Explain(r.Entity, r.IP)
		rec.Explanation = &e
	}
	return f.AppendJSONMembers(nil, &rec)
}

func csvBody(t testing.TB, recs []ipinsights.Pair) []byte {
	t.Helper()
	b, err := inference.AppendRequest(nil, inference.CSV, recs)
	require.NoError(t, err)
	return b
}

// metricValue returns the value of one sample line of a /metrics body.
func metricValue(body, series string) (string, bool) {
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v, true
		}
	}
	return "", false
}

// lockedWriter is a writer safe for a serving server and a reading test.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// slogTo returns a JSON logger to w, written under mu.
func slogTo(mu *sync.Mutex, w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(lockedWriter{mu, w}, nil))
}
