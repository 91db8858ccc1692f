package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/inference"
	"github.com/ipinsights/ipinsights-go/internal/test/testmodel"
	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// Without the parameters, a calibrated model with a network history
// answers exactly what the bare model does, byte for byte; with them, each
// prediction gets the CLI's members after SageMaker's and ours.
func TestPercentileAndExplainMembers(t *testing.T) {
	m, _, recs := models(t)
	_, explained := explainedModels(t)
	_, plain := newServer(t, m, Options{})
	_, rich := newServer(t, explained, Options{})
	body := csvBody(t, recs)
	for _, tc := range []struct {
		accept string
		keys   string // the members of each prediction
	}{
		{"application/json", "dot_product"},
		{"application/jsonlines;seen=True", "dot_product,entity_seen"},
		{"application/json;percentile=False;explain=False", "dot_product"},
		{"application/json;percentile=True", "dot_product,percentile"},
		{"application/jsonlines; percentile=true; seen=True", "dot_product,entity_seen,percentile"},
		{"application/json;explain=True", "dot_product,entity_pairs,nearest_similarity,nearest_usual_network,network,network_seen,percentile,usual_networks"},
		{"application/jsonlines;verbose=True;seen=True;percentile=True;explain=True",
			"dot_product,entity_embedding,entity_pairs,entity_seen,ip_embedding,nearest_similarity,nearest_usual_network,network,network_seen,percentile,usual_networks"},
	} {
		rf, err := inference.ParseAccept(tc.accept)
		require.NoError(t, err)
		status, ct, got := post(t, rich.URL+"/invocations", "text/csv", tc.accept, body)
		require.Equal(t, 200, status, "%s: %s", tc.accept, got)
		assert.Equal(t, rf.Format.MediaType(), ct, tc.accept)
		assert.Equal(t, []string{tc.keys}, keysOf(t, rf.Format, got), tc.accept)
		want := inference.AppendResponse(nil, rf, wantPredictions(explained, recs, rf))
		assert.Equal(t, string(want), string(got), tc.accept)
		if !rf.Percentile && !rf.Explain {
			_, _, bare := post(t, plain.URL+"/invocations", "text/csv", tc.accept, body)
			assert.Equal(t, string(bare), string(got), "%s: the bare model's response", tc.accept)
		}
	}

	// What the members say: a trained pair is in a usual network of its
	// entity; the stranger has no history and ranks on the global
	// distribution.
	_, _, got := post(t, rich.URL+"/invocations", "text/csv", "application/json;explain=True", body)
	var resp struct {
		Predictions []struct {
			DotProduct  float64 `json:"dot_product"`
			Percentile  float64 `json:"percentile"`
			EntityPairs int     `json:"entity_pairs"`
			NetworkSeen bool    `json:"network_seen"`
			Usual       []struct {
				Network string
				Pairs   int
			} `json:"usual_networks"`
			Nearest *string `json:"nearest_usual_network"`
		}
	}
	require.NoError(t, json.Unmarshal(got, &resp))
	require.Len(t, resp.Predictions, len(recs))
	first := resp.Predictions[0]
	assert.True(t, first.NetworkSeen, "recs[0] is a training pair")
	assert.Positive(t, first.EntityPairs)
	assert.NotEmpty(t, first.Usual)
	assert.Greater(t, first.Percentile, 0.0)
	assert.LessOrEqual(t, first.Percentile, 1.0)
	stranger := resp.Predictions[3] // "never seen, \"really\""
	assert.Zero(t, stranger.EntityPairs)
	assert.False(t, stranger.NetworkSeen)
	assert.Empty(t, stranger.Usual)
	assert.Nil(t, stranger.Nearest)
}

// The members of large requests are written in chunks (predChunk records,
// explainChunk explanations): each record keeps its own.
func TestExplainLargeRequest(t *testing.T) {
	_, explained := explainedModels(t)
	_, ts := newServer(t, explained, Options{MaxResponseBytes: 1 << 30})
	pairs := testmodel.Pairs(7, 150, explainChunk+predChunk+17) // a third of the entities unseen
	pairs[len(pairs)-1].IP = netip.MustParseAddr("2001:db8::1")
	for _, accept := range []string{"application/jsonlines;explain=True", "application/json;percentile=True", "application/json;verbose=True;explain=True"} {
		rf, err := inference.ParseAccept(accept)
		require.NoError(t, err)
		status, _, got := post(t, ts.URL+"/invocations", "text/csv", accept, csvBody(t, pairs))
		require.Equal(t, 200, status, "%s: %s", accept, got)
		want := inference.AppendResponse(nil, rf, wantPredictions(explained, pairs, rf))
		assert.Equal(t, string(want), string(got), accept)
	}
}

// A client that asks for what the model can not give is told so (406,
// before the body is read), not sent responses without it; asking nothing
// more of the same model works.
func TestPercentileNeedsACalibratedModel(t *testing.T) {
	m, _, recs := models(t)
	calibrated, explained := explainedModels(t)
	for _, tc := range []struct {
		name   string
		model  *ipinsights.Model
		accept string
		status int
		msg    string
	}{
		{"percentile without calibration", m, "application/json;percentile=True", 406, "no calibration"},
		{"explain without calibration", m, "application/jsonlines;explain=True", 406, "no calibration"},
		{"explain without calibration, history alone", explained.WithCalibration(nil), "application/json;explain=True", 406, "no calibration"},
		{"explain without history", calibrated, "application/json;explain=True", 406, "no network history"},
		{"percentile without history", calibrated, "application/json;percentile=True", 200, ""},
		{"the bare model", m, "application/json;seen=True", 200, ""},
	} {
		_, ts := newServer(t, tc.model, Options{})
		status, _, body := post(t, ts.URL+"/invocations", "text/csv", tc.accept, csvBody(t, recs))
		require.Equal(t, tc.status, status, "%s: %s", tc.name, body)
		if tc.status != 200 {
			code, msg := errorBody(t, body)
			assert.Equal(t, "NotAcceptable", code, tc.name)
			assert.Contains(t, msg, tc.msg, tc.name)
			assert.NotContains(t, msg, "--", "%s: a library names no command-line flag", tc.name)
		}
	}
}

// Malformed values of percentile and explain are treated as a malformed
// seen: 406, naming the parameter and the value; a list falls back to a
// range it can answer.
func TestMalformedPercentileAndExplain(t *testing.T) {
	_, _, recs := models(t)
	_, explained := explainedModels(t)
	_, ts := newServer(t, explained, Options{})
	for _, tc := range []struct{ accept, msg string }{
		{"application/json;seen=yes", `seen must be True or False, got \"yes\"`},
		{"application/json;percentile=yes", `percentile must be True or False, got \"yes\"`},
		{"application/jsonlines;explain=1", `explain must be True or False, got \"1\"`},
		{"text/csv;percentile=True", "percentile=True needs application/json or application/jsonlines"},
		{"text/csv;explain=True", "explain=True needs application/json or application/jsonlines"},
	} {
		status, _, body := post(t, ts.URL+"/invocations", "text/csv", tc.accept, csvBody(t, recs))
		require.Equal(t, http.StatusNotAcceptable, status, "%s: %s", tc.accept, body)
		assert.Contains(t, string(body), tc.msg, tc.accept)
		assert.Contains(t, string(body), `"NotAcceptable"`, tc.accept)
	}
	status, ct, body := post(t, ts.URL+"/invocations", "text/csv", "application/json;percentile=maybe, text/csv", csvBody(t, recs))
	require.Equal(t, 200, status, string(body))
	assert.Equal(t, "text/csv", ct)
}

// A response too large for explain=True says that leaving it out helps.
func TestExplainResponseTooLarge(t *testing.T) {
	_, _, recs := models(t)
	_, explained := explainedModels(t)
	rf := inference.ResponseFormat{Format: inference.JSON, Explain: true}
	want := inference.AppendResponse(nil, rf, wantPredictions(explained, recs, rf))
	_, ts := newServer(t, explained, Options{MaxResponseBytes: int64(len(want) - 1)})
	status, _, got := post(t, ts.URL+"/invocations", "text/csv", rf.String(), csvBody(t, recs))
	require.Equal(t, http.StatusRequestEntityTooLarge, status, string(got))
	_, msg := errorBody(t, got)
	assert.Contains(t, msg, fmt.Sprintf("first %d of the %d records", len(recs)-1, len(recs)))
	assert.Contains(t, msg, "leave out explain=True")
}
