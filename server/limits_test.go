package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/ipinsights/ipinsights-go/inference"
	"github.com/ipinsights/ipinsights-go/ipinsights"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// errorBody decodes an error response.
func errorBody(t *testing.T, body []byte) (code, msg string) {
	t.Helper()
	var e struct{ Code, Message string }
	require.NoError(t, json.Unmarshal(body, &e), string(body))
	return e.Code, e.Message
}

func TestResponseLimit(t *testing.T) {
	m, _, recs := models(t)
	for _, f := range []inference.Format{inference.CSV, inference.JSON, inference.JSONLines} {
		body, err := inference.AppendRequest(nil, f, recs)
		require.NoError(t, err)
		for _, rf := range []inference.ResponseFormat{
			{Format: inference.JSON}, {Format: inference.JSONLines}, {Format: inference.CSV},
			{Format: inference.JSON, Seen: true}, {Format: inference.CSV, Seen: true},
			{Format: inference.JSON, Verbose: true}, {Format: inference.JSONLines, Verbose: true, Seen: true},
		} {
			name := fmt.Sprintf("%s -> %s", f, rf)
			want := inference.AppendResponse(nil, rf, wantPredictions(m, recs, rf))

			// A response exactly at the limit is sent whole.
			_, ts := newServer(t, m, Options{MaxResponseBytes: int64(len(want))})
			status, _, got := post(t, ts.URL+"/invocations", f.MediaType(), rf.String(), body)
			require.Equal(t, 200, status, "%s: %s", name, got)
			assert.Equal(t, string(want), string(got), name)

			// One byte less, and it is refused, saying how many records fit:
			// all but the last.
			limit := len(want) - 1
			_, ts = newServer(t, m, Options{MaxResponseBytes: int64(limit)})
			status, _, got = post(t, ts.URL+"/invocations", f.MediaType(), rf.String(), body)
			require.Equal(t, http.StatusRequestEntityTooLarge, status, "%s: %s", name, got)
			code, msg := errorBody(t, got)
			assert.Equal(t, "ResponseTooLarge", code, name)
			assert.Contains(t, msg, fmt.Sprintf("larger than the %d-byte limit", limit), name)
			assert.Contains(t, msg, fmt.Sprintf("first %d of the %d records", len(recs)-1, len(recs)), name)
			assert.NotContains(t, msg, "--", "%s: a library names no command-line flag", name)
			if rf.Verbose {
				assert.Contains(t, msg, "leave out verbose=True", name)
			} else {
				assert.NotContains(t, msg, "verbose", name)
			}
			// And that many do fit.
			fewer, err := inference.AppendRequest(nil, f, recs[:len(recs)-1])
			require.NoError(t, err)
			status, _, got = post(t, ts.URL+"/invocations", f.MediaType(), rf.String(), fewer)
			assert.Equal(t, 200, status, "%s, one record fewer: %s", name, got)
		}
	}
}

// TestResponseLimitCountsTheRecordsThatFit: in a request of many records
// (several chunks of predChunk), the error counts exactly the records
// whose response fits.
func TestResponseLimitCountsTheRecordsThatFit(t *testing.T) {
	m, _, recs := models(t)
	var many []ipinsights.Pair
	for len(many) < 1000 {
		many = append(many, recs...)
	}
	many = many[:1000]
	body := csvBody(t, many)
	for _, rf := range []inference.ResponseFormat{
		{Format: inference.JSON}, {Format: inference.JSONLines, Seen: true}, {Format: inference.CSV}, {Format: inference.JSON, Verbose: true},
	} {
		for _, k := range []int{0, 1, predChunk, 700} {
			limit := len(inference.AppendResponse(nil, rf, wantPredictions(m, many[:k], rf)))
			if k == 0 {
				limit++ // a CSV or JSON Lines response of no records is empty
			}
			_, ts := newServer(t, m, Options{MaxResponseBytes: int64(limit)})
			status, _, got := post(t, ts.URL+"/invocations", "text/csv", rf.String(), body)
			require.Equal(t, http.StatusRequestEntityTooLarge, status, "%s: %s", rf, got)
			_, msg := errorBody(t, got)
			assert.Contains(t, msg, fmt.Sprintf("first %d of the 1000 records", k), "%s, %d records fit", rf, k)
			if k == 0 {
				assert.Contains(t, msg, "not even one record fits", rf.String())
				continue
			}
			status, _, got = post(t, ts.URL+"/invocations", "text/csv", rf.String(), csvBody(t, many[:k]))
			assert.Equal(t, 200, status, "%s, %d records: %s", rf, k, got)
		}
	}
}

// TestResponseLimitBoundsMemory: a request whose verbose response would be
// a hundred times the limit builds no more of it than the limit and one
// record.
func TestResponseLimitBoundsMemory(t *testing.T) {
	m, _, recs := models(t)
	const limit = 10000
	var many []ipinsights.Pair
	for len(many) < 5000 {
		many = append(many, recs...)
	}
	rf := inference.ResponseFormat{Format: inference.JSON, Verbose: true}
	full := len(inference.AppendResponse(nil, rf, wantPredictions(m, many, rf)))
	require.Greater(t, full, 100*limit)
	perRecord := full / len(many)

	var inv invocation
	inv.body = csvBody(t, many)
	require.NoError(t, inv.decode(inference.CSV))
	fit, ok := inv.respond(m, rf, limit, 1)
	assert.False(t, ok)
	assert.Less(t, fit, len(many))
	assert.LessOrEqual(t, len(inv.out), limit+2*perRecord, "the response stops one record past the limit")
	assert.LessOrEqual(t, cap(inv.out), 2*(limit+2*perRecord))
}

func TestOptionsFillsInTheDefaults(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	for _, tc := range []struct {
		opts, want Options
	}{
		{Options{}, Options{
			MaxPayloadBytes: DefaultMaxPayloadBytes, MaxResponseBytes: DefaultResponseFactor * DefaultMaxPayloadBytes,
			MaxConcurrent: DefaultMaxConcurrent(), QueueTimeout: DefaultQueueTimeout, ScoreWorkers: 1, BatchStrategy: MultiRecord,
		}},
		{Options{MaxPayloadBytes: 2 * MiB, BatchStrategy: SingleRecord, Batch: true}, Options{
			MaxPayloadBytes: 2 * MiB, MaxResponseBytes: DefaultResponseFactor * 2 * MiB,
			MaxConcurrent: DefaultMaxConcurrent(), QueueTimeout: DefaultQueueTimeout, ScoreWorkers: 1, BatchStrategy: SingleRecord, Batch: true,
		}},
		{Options{MaxPayloadBytes: math.MaxInt64 / 2}, Options{
			MaxPayloadBytes: math.MaxInt64 / 2, MaxResponseBytes: math.MaxInt64,
			MaxConcurrent: DefaultMaxConcurrent(), QueueTimeout: DefaultQueueTimeout, ScoreWorkers: 1, BatchStrategy: MultiRecord,
		}},
		{Options{MaxResponseBytes: 100, MaxConcurrent: 1, QueueTimeout: time.Second}, Options{
			MaxPayloadBytes: DefaultMaxPayloadBytes, MaxResponseBytes: 100,
			MaxConcurrent: 1, QueueTimeout: time.Second, ScoreWorkers: procs, BatchStrategy: MultiRecord,
		}},
		{Options{MaxConcurrent: -1, QueueTimeout: -1, ScoreWorkers: 3}, Options{
			MaxPayloadBytes: DefaultMaxPayloadBytes, MaxResponseBytes: DefaultResponseFactor * DefaultMaxPayloadBytes,
			MaxConcurrent: -1, QueueTimeout: -1, ScoreWorkers: 3, BatchStrategy: MultiRecord,
		}},
	} {
		// The bounds on slow clients take their defaults alike.
		tc.want.MaxConnections, tc.want.TransferTimeout, tc.want.MinTransferRate = DefaultMaxConnections, DefaultTransferTimeout, DefaultMinTransferRate
		tc.want.MaxBufferedBytes = DefaultMaxBufferedBytes(tc.want.MaxPayloadBytes, tc.want.MaxResponseBytes)
		s, err := New(nil, tc.opts)
		require.NoError(t, err)
		got := s.Options()
		assert.NotNil(t, got.Logger, "%+v: a Logger that discards", tc.opts)
		got.Logger = nil
		assert.Equal(t, tc.want, got, "%+v", tc.opts)
	}
	assert.Equal(t, max(4, 2*procs), DefaultMaxConcurrent())
	assert.Equal(t, 1, DefaultScoreWorkers(-1), "no bound on invocations: each scores alone")
	assert.Equal(t, 1, DefaultScoreWorkers(DefaultMaxConcurrent()))
	assert.Equal(t, procs, DefaultScoreWorkers(1))

	_, err := New(nil, Options{ScoreWorkers: -1})
	assert.ErrorContains(t, err, "negative ScoreWorkers -1")
	_, err = New(nil, Options{MaxPayloadBytes: 1000, MaxBufferedBytes: 1000})
	assert.ErrorContains(t, err, "MaxBufferedBytes 1000 leaves no room for a body of MaxPayloadBytes 1000")
	_, err = New(nil, Options{TransferTimeout: -time.Second})
	assert.ErrorContains(t, err, "negative TransferTimeout")
	assert.Equal(t, int64(60*MiB), DefaultMaxBufferedBytes(DefaultMaxPayloadBytes, DefaultResponseFactor*DefaultMaxPayloadBytes))
	assert.Equal(t, int64(math.MaxInt64), DefaultMaxBufferedBytes(math.MaxInt64/2, math.MaxInt64))
	s, err := New(nil, Options{MaxBufferedBytes: -1, MaxConnections: -1, MinTransferRate: -1})
	require.NoError(t, err)
	assert.Nil(t, s.buffers, "no bound")
	assert.Equal(t, int64(-1), s.Options().MaxBufferedBytes)
	assert.Equal(t, -1, s.Options().MaxConnections)
}

// A request refused by a limit names the limit's option in its log line,
// which the CLI maps to its flags; the body the client reads names none.
func TestLimitsAreNamedInTheLog(t *testing.T) {
	m, _, recs := models(t)
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	s, ts := newServer(t, m, Options{Logger: log, MaxPayloadBytes: 200, MaxResponseBytes: 60, MaxConcurrent: 1, QueueTimeout: -1})
	post(t, ts.URL+"/invocations", "text/csv", "", bytes.Repeat([]byte("a,10.0.0.1\n"), 20))
	post(t, ts.URL+"/invocations", "text/csv", "", csvBody(t, recs[:3]))
	release := holdSlot(t, s)
	post(t, ts.URL+"/invocations", "text/csv", "", csvBody(t, recs[:1]))
	release()
	post(t, ts.URL+"/invocations", "text/csv", "", []byte("x\n"))

	lines := logLines(t, &buf)
	var limits []any
	for _, l := range lines {
		if l["status"] != float64(200) {
			limits = append(limits, l["limit"])
		}
		if msg, ok := l["error"].(string); ok {
			assert.NotContains(t, msg, "--")
		}
	}
	assert.Equal(t, []any{"MaxPayloadBytes", "MaxResponseBytes", "MaxConcurrent", nil}, limits, buf.String())
}

func TestBusyServerAnswers503(t *testing.T) {
	m, _, recs := models(t)
	for _, wait := range []time.Duration{-1, 20 * time.Millisecond} {
		s, ts := newServer(t, m, Options{MaxConcurrent: 1, QueueTimeout: wait})
		release := holdSlot(t, s)

		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/invocations", bytes.NewReader(csvBody(t, recs)))
		req.Header.Set("Content-Type", "text/csv")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		var e struct{ Code, Message string }
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&e))
		resp.Body.Close()
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "wait %s", wait)
		assert.Equal(t, "1", resp.Header.Get("Retry-After"))
		assert.Equal(t, "ServiceUnavailable", resp.Header.Get("X-Amzn-ErrorType"))
		assert.Equal(t, "ServiceUnavailable", e.Code)
		assert.Contains(t, e.Message, "server busy: all 1 invocation slots stayed taken for "+max(wait, 0).String())
		assert.NotContains(t, e.Message, "--", "a library names no command-line flag")

		// Once the slot is given back it is free.
		release()
		status, _, body := post(t, ts.URL+"/invocations", "text/csv", "", csvBody(t, recs))
		assert.Equal(t, 200, status, string(body))
	}
}
