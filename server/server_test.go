package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipinsights/ipinsights-go/inference"
	"github.com/ipinsights/ipinsights-go/ipinsights"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPing(t *testing.T) {
	m, _, _ := models(t)
	s, ts := newServer(t, nil, Options{})
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/ping", nil)
	status, _, body := do(t, req)
	assert.Equal(t, http.StatusServiceUnavailable, status, "no model yet")
	assert.Contains(t, string(body), "no model loaded")

	s.SetModel(m)
	status, _, body = do(t, req)
	assert.Equal(t, http.StatusOK, status)
	assert.Empty(t, body)
	head, _ := http.NewRequest(http.MethodHead, ts.URL+"/ping", nil)
	status, _, _ = do(t, head)
	assert.Equal(t, http.StatusOK, status)
}

func TestMethodsAndPaths(t *testing.T) {
	m, _, recs := models(t)
	_, ts := newServer(t, m, Options{})
	for _, tc := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{http.MethodGet, "/invocations", 405, "POST"},
		{http.MethodPut, "/endpoints/x/invocations", 405, "POST"},
		{http.MethodPost, "/ping", 405, "GET, HEAD"},
		{http.MethodDelete, "/execution-parameters", 405, "GET, HEAD"},
		{http.MethodPost, "/metrics", 405, "GET, HEAD"},
		{http.MethodGet, "/", 404, ""},
		{http.MethodPost, "/endpoints//invocations", 404, ""},
		{http.MethodPost, "/endpoints/a/b/invocations", 404, ""},
		{http.MethodPost, "/invocations/extra", 404, ""},
	} {
		req, _ := http.NewRequest(tc.method, ts.URL+tc.path, bytes.NewReader(csvBody(t, recs)))
		req.Header.Set("Content-Type", "text/csv")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, tc.status, resp.StatusCode, "%s %s", tc.method, tc.path)
		assert.Equal(t, tc.allow, resp.Header.Get("Allow"), "%s %s", tc.method, tc.path)
		var e struct{ Code, Message string }
		require.NoError(t, json.Unmarshal(body, &e), "a JSON error body: %s", body)
		assert.NotEmpty(t, e.Message)
		assert.Equal(t, e.Code, resp.Header.Get("X-Amzn-ErrorType"))
	}
	// Both invocation paths answer the same.
	_, _, a := post(t, ts.URL+"/invocations", "text/csv", "", csvBody(t, recs))
	_, _, b := post(t, ts.URL+"/endpoints/my-endpoint/invocations", "text/csv", "", csvBody(t, recs))
	assert.Equal(t, a, b)
	assert.Contains(t, string(a), "dot_product")
}

func TestExecutionParameters(t *testing.T) {
	m, _, _ := models(t)
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{}, fmt.Sprintf(`{"MaxConcurrentTransforms":%d,"BatchStrategy":"MULTI_RECORD","MaxPayloadInMB":6}`, runtime.GOMAXPROCS(0))},
		{Options{MaxConcurrent: 3, BatchStrategy: SingleRecord, MaxPayloadBytes: 20 * MiB}, `{"MaxConcurrentTransforms":3,"BatchStrategy":"SINGLE_RECORD","MaxPayloadInMB":20}`},
	} {
		_, ts := newServer(t, m, tc.opts)
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/execution-parameters", nil)
		status, ct, body := do(t, req)
		assert.Equal(t, 200, status)
		assert.Equal(t, "application/json", ct)
		assert.JSONEq(t, tc.want, string(body))
	}
}

func TestOptionsValidation(t *testing.T) {
	for _, o := range []Options{{MaxPayloadBytes: -1}, {MaxResponseBytes: -1}, {BatchStrategy: "SOMETIMES"}} {
		_, err := New(nil, o)
		assert.Error(t, err, "%+v", o)
	}
}

func TestFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	o, err := Options{MaxConcurrent: 7}.FromEnv(env())
	require.NoError(t, err)
	assert.Equal(t, Options{MaxConcurrent: 7}, o, "unset variables change nothing")

	o, err = Options{}.FromEnv(env(EnvBatch, "true", EnvMaxPayloadInMB, "12", EnvBatchStrategy, "SINGLE_RECORD", EnvMaxConcurrentTransforms, "4"))
	require.NoError(t, err)
	assert.Equal(t, Options{Batch: true, MaxPayloadBytes: 12 * MiB, BatchStrategy: SingleRecord, MaxConcurrent: 4}, o)

	o, err = Options{}.FromEnv(env(EnvBatchStrategy, "MultiRecord"))
	require.NoError(t, err)
	assert.Equal(t, MultiRecord, o.BatchStrategy)

	for _, kv := range [][2]string{
		{EnvBatch, "yes please"}, {EnvMaxPayloadInMB, "0"}, {EnvMaxPayloadInMB, "six"}, {EnvMaxPayloadInMB, "-1"},
		{EnvBatchStrategy, "ALL"}, {EnvMaxConcurrentTransforms, "-1"}, {EnvMaxConcurrentTransforms, "many"},
	} {
		_, err := Options{}.FromEnv(env(kv[0], kv[1]))
		require.Error(t, err, kv)
		assert.Contains(t, err.Error(), kv[0])
	}
}

// chunked hides the length of a body, so that the client sends it chunked
// and the server learns its size only by reading.
type chunked struct{ r io.Reader }

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p) }

func TestPayloadLimit(t *testing.T) {
	m, _, _ := models(t)
	const limit = 1 << 12
	_, ts := newServer(t, m, Options{MaxPayloadBytes: limit})
	row := []byte("user-001,10.0.0.1\n") // 18 bytes
	exact := append(bytes.Repeat(row, limit/len(row)), bytes.Repeat([]byte(" "), limit%len(row))...)
	require.Len(t, exact, limit)
	for _, tc := range []struct {
		name   string
		body   io.Reader
		status int
	}{
		{"at the limit", bytes.NewReader(exact), 200},
		{"at the limit, chunked", chunked{bytes.NewReader(exact)}, 200},
		{"one byte over", bytes.NewReader(append(exact, '\n')), 413},
		{"one byte over, chunked", chunked{bytes.NewReader(append(exact, '\n'))}, 413},
		{"far over, chunked", chunked{io.LimitReader(infinite{}, 100*limit)}, 413},
	} {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/invocations", tc.body)
		req.Header.Set("Content-Type", "text/csv")
		status, _, body := do(t, req)
		assert.Equal(t, tc.status, status, tc.name)
		if tc.status == 200 {
			preds, err := inference.DecodeResponse(inference.JSON, body)
			require.NoError(t, err)
			assert.Len(t, preds, limit/len(row), tc.name)
		} else {
			assert.Contains(t, string(body), "PayloadTooLarge", tc.name)
		}
	}
}

// infinite is an endless body of CSV rows.
type infinite struct{}

func (infinite) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = "a,10.0.0.1\n"[i%11]
	}
	return len(p), nil
}

func TestReadBodyNeverHoldsMoreThanTheLimit(t *testing.T) {
	const limit = 100000
	for _, hint := range []int64{-1, 0, 10, limit} {
		rec := httptest.NewRecorder()
		var b bodyReader
		buf, err := b.read(nil, http.MaxBytesReader(rec, io.NopCloser(infinite{}), limit), hint, limit)
		assert.True(t, isTooLarge(err), "hint %d: %v", hint, err)
		assert.LessOrEqual(t, cap(buf), limit+1, "hint %d", hint)
	}
	// A body at the limit fits, whatever the hint says.
	body := bytes.Repeat([]byte("x"), limit)
	for _, hint := range []int64{-1, 10, limit, 10 * limit} {
		var b bodyReader
		buf, err := b.read(nil, http.MaxBytesReader(httptest.NewRecorder(), io.NopCloser(bytes.NewReader(body)), limit), hint, limit)
		require.NoError(t, err)
		assert.Equal(t, body, buf)
		assert.LessOrEqual(t, cap(buf), limit+1)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	m, _, recs := models(t)
	s, ts := newServer(t, m, Options{MaxConcurrent: 1})
	release := holdSlot(t, s)
	second := make(chan int)
	go func() {
		status, _, _ := post(t, ts.URL+"/invocations", "text/csv", "", csvBody(t, recs))
		second <- status
	}()
	select {
	case s := <-second:
		t.Fatalf("second request answered %d while the only slot was taken", s)
	case <-time.After(100 * time.Millisecond):
	}
	release()
	assert.Equal(t, 200, <-second)
}

// holdSlot takes one of s's invocation slots, as an invocation that is
// scoring does, and returns the function that gives it back.
func holdSlot(t *testing.T, s *Server) func() {
	t.Helper()
	st := new(reqState)
	require.NoError(t, s.acquire(context.Background(), st))
	var once sync.Once
	release := func() { once.Do(func() { s.release(st) }) }
	t.Cleanup(release)
	return release
}

// trickle starts an invocation on ts whose body trickles in: it sends the
// headers and "user-001,", and the rest when the test writes it to the
// pipe and closes it; the status comes on the channel.
func trickle(t *testing.T, ts *httptest.Server) (*io.PipeWriter, <-chan int) {
	t.Helper()
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() })
	done := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/invocations", pr)
		req.Header.Set("Content-Type", "text/csv")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- -1
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	_, err := pw.Write([]byte("user-001,"))
	require.NoError(t, err)
	return pw, done
}

// The starvation: requests whose bodies trickle in, more of them
// than there are slots, hold none: a normal request is answered at once.
func TestSlowBodiesHoldNoSlot(t *testing.T) {
	m, _, recs := models(t)
	s, ts := newServer(t, m, Options{MaxConcurrent: 2, QueueTimeout: -1})
	var pipes []*io.PipeWriter
	var dones []<-chan int
	for range 8 {
		pw, done := trickle(t, ts)
		pipes, dones = append(pipes, pw), append(dones, done)
	}
	require.Eventually(t, func() bool { return s.metrics.inFlight.Load() == 8 }, 10*time.Second, time.Millisecond)
	assert.Equal(t, 0, len(s.sem), "a body being read holds no slot")
	assert.Equal(t, int64(8*firstBodyStep), s.metrics.buffered.Load(), "each holds its first step of room")
	status, _, body := post(t, ts.URL+"/invocations", "text/csv", "", csvBody(t, recs))
	assert.Equal(t, 200, status, "%s", body)
	for i, pw := range pipes {
		_, err := pw.Write([]byte("10.0.0.1\n"))
		require.NoError(t, err)
		require.NoError(t, pw.Close())
		assert.Equal(t, 200, <-dones[i])
	}
	assert.Equal(t, int64(0), s.metrics.buffered.Load(), "all room given back")
}

func TestMetrics(t *testing.T) {
	m, _, recs := models(t)
	_, ts := newServer(t, m, Options{})
	post(t, ts.URL+"/invocations", "text/csv", "", csvBody(t, recs))
	post(t, ts.URL+"/invocations", "text/csv", "", []byte("a,not-an-ip\n"))
	post(t, ts.URL+"/invocations", "application/xml", "", []byte("<x/>"))
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/ping", nil)
	do(t, req)

	req, _ = http.NewRequest(http.MethodGet, ts.URL+"/metrics", nil)
	status, ct, body := do(t, req)
	require.Equal(t, 200, status)
	assert.Equal(t, "text/plain; version=0.0.4; charset=utf-8", ct)
	text := string(body)
	for series, want := range map[string]string{
		`ipinsights_requests_total{handler="invocations",code="200"}`: "1",
		`ipinsights_requests_total{handler="invocations",code="400"}`: "1",
		`ipinsights_requests_total{handler="invocations",code="415"}`: "1",
		`ipinsights_requests_total{handler="ping",code="200"}`:        "1",
		`ipinsights_errors_total{code="ValidationError"}`:             "1",
		`ipinsights_errors_total{code="UnsupportedMediaType"}`:        "1",
		`ipinsights_errors_total{code="NotAcceptable"}`:               "0",
		`ipinsights_rows_scored_total`:                                strconv.Itoa(len(recs)),
		`ipinsights_invocation_duration_seconds_count`:                "3",
		`ipinsights_invocation_duration_seconds_bucket{le="+Inf"}`:    "3",
		`ipinsights_model_reloads_total{result="ok"}`:                 "0",
	} {
		got, ok := metricValue(text, series)
		assert.True(t, ok, "missing %s in\n%s", series, text)
		assert.Equal(t, want, got, series)
	}
	// Buckets are cumulative and every sample line parses.
	prev := -1.0
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if strings.HasPrefix(line, "#") {
			require.Regexp(t, `^# (HELP|TYPE) ipinsights_\w+ .+$`, line)
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		require.NoError(t, err, line)
		if strings.HasPrefix(line, "ipinsights_invocation_duration_seconds_bucket") {
			assert.GreaterOrEqual(t, v, prev, line)
			prev = v
		}
	}
}

// logLines returns the JSON log lines written to buf.
func logLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal(line, &m), "%s", line)
		out = append(out, m)
	}
	return out
}

func TestRequestLogs(t *testing.T) {
	m, _, recs := models(t)
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	_, ts := newServer(t, m, Options{Logger: log})
	post(t, ts.URL+"/endpoints/prod/invocations", "text/csv", "application/json;seen=True", csvBody(t, recs))
	post(t, ts.URL+"/invocations", "application/json", "", []byte(`{"instances":[{"features":["a"]}]}`))
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/ping", nil)
	do(t, req) // Debug level: not logged

	lines := logLines(t, &buf)
	require.Len(t, lines, 2, buf.String())
	ok, bad := lines[0], lines[1]
	assert.Equal(t, "INFO", ok["level"])
	assert.Equal(t, "request", ok["msg"])
	assert.Equal(t, "POST", ok["method"])
	assert.Equal(t, "/endpoints/prod/invocations", ok["path"])
	assert.Equal(t, "prod", ok["endpoint"])
	assert.EqualValues(t, 200, ok["status"])
	assert.EqualValues(t, len(recs), ok["rows"])
	assert.EqualValues(t, len(csvBody(t, recs)), ok["bytes_in"])
	assert.Equal(t, "text/csv", ok["content_type"])
	assert.Equal(t, "application/json;seen=True", ok["accept"])
	assert.NotContains(t, ok, "error")

	assert.Equal(t, "WARN", bad["level"])
	assert.EqualValues(t, 400, bad["status"])
	assert.Contains(t, bad["error"], "instances[0] (line 1): wrong number of fields")
}

func TestBatchModeLogsInvocationsAtDebug(t *testing.T) {
	m, _, recs := models(t)
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	_, ts := newServer(t, m, Options{Logger: log, Batch: true})
	post(t, ts.URL+"/invocations", "text/csv", "", csvBody(t, recs))
	assert.Empty(t, logLines(t, &buf), "a successful mini-batch is not logged at Info")
	post(t, ts.URL+"/invocations", "text/csv", "", []byte("x\n"))
	lines := logLines(t, &buf)
	require.Len(t, lines, 1)
	assert.EqualValues(t, 400, lines[0]["status"])
}

func TestReloadSwapsModelsWithoutDroppingRequests(t *testing.T) {
	a, b, recs := models(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "model.bin")
	require.NoError(t, a.SaveFile(path))
	var logs bytes.Buffer
	s, ts := newServer(t, a, Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	body := csvBody(t, recs)
	scores := func(t *testing.T) []inference.Prediction {
		status, _, out := post(t, ts.URL+"/invocations", "text/csv", "", body)
		require.Equal(t, 200, status, "%s", out)
		p, err := inference.DecodeResponse(inference.JSON, out)
		require.NoError(t, err)
		return p
	}
	wantA := wantPredictions(a, recs, inference.ResponseFormat{})
	wantB := wantPredictions(b, recs, inference.ResponseFormat{})
	require.NotEqual(t, wantA, wantB, "the two models must score differently for this test to mean anything")
	assert.Equal(t, wantA, scores(t))

	// Requests keep flowing while the file is swapped back and forth.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest(http.MethodPost, ts.URL+"/invocations", bytes.NewReader(body))
				req.Header.Set("Content-Type", "text/csv")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
					continue
				}
				out, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				p, derr := inference.DecodeResponse(inference.JSON, out)
				ok := resp.StatusCode == 200 && derr == nil
				if ok {
					ok = assert.ObjectsAreEqual(wantA, p) || assert.ObjectsAreEqual(wantB, p)
				}
				if !ok {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("%d %s", resp.StatusCode, out))
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < 6; i++ {
		next := b
		if i%2 == 1 {
			next = a
		}
		require.NoError(t, next.SaveFile(path))
		require.NoError(t, s.Reload(path))
	}
	close(stop)
	wg.Wait()
	assert.Empty(t, failures)
	assert.Equal(t, wantA, scores(t), "the last reload loaded model A")

	// A damaged file keeps the current model.
	require.NoError(t, b.SaveFile(path))
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, raw[:len(raw)/2], 0o644))
	err = s.Reload(path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), path)
	assert.Equal(t, wantA, scores(t))
	require.NoError(t, os.Remove(path))
	assert.True(t, errors.Is(s.Reload(path), os.ErrNotExist))
	assert.Equal(t, wantA, scores(t))

	assert.Contains(t, logs.String(), `"msg":"model reload failed; serving the previous model"`)
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/metrics", nil)
	_, _, mb := do(t, req)
	v, _ := metricValue(string(mb), `ipinsights_model_reloads_total{result="ok"}`)
	assert.Equal(t, "6", v)
	v, _ = metricValue(string(mb), `ipinsights_model_reloads_total{result="error"}`)
	assert.Equal(t, "2", v)
}

func TestConcurrentInvocations(t *testing.T) {
	// Many clients, every format, at once: each gets its own answer (run
	// with -race in CI).
	m, _, recs := models(t)
	_, ts := newServer(t, m, Options{})
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				f := []inference.Format{inference.CSV, inference.JSON, inference.JSONLines}[(w+i)%3]
				rf := inference.ResponseFormat{Format: []inference.Format{inference.JSON, inference.JSONLines, inference.CSV}[i%3], Seen: w%2 == 0}
				rf.Verbose = rf.Format != inference.CSV && i%4 == 0
				mine := recs[(w+i)%len(recs):]
				body, _ := inference.AppendRequest(nil, f, mine)
				status, _, out := post(t, ts.URL+"/invocations", f.MediaType(), rf.String(), body)
				got, err := inference.DecodeResponse(rf.Format, out)
				if status != 200 || err != nil || !assert.ObjectsAreEqual(wantPredictions(m, mine, rf), got) {
					errs <- fmt.Sprintf("%s -> %s: %d %v", f, rf, status, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// discardWriter is a minimal http.ResponseWriter for in-memory requests.
type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(code int)        { w.status = code }
func (w *discardWriter) Write(b []byte) (int, error) { w.n += len(b); return len(b), nil }

// SetReadDeadline and SetWriteDeadline do what net/http's ResponseWriter
// does, as far as allocations go: nothing.
func (w *discardWriter) SetReadDeadline(time.Time) error  { return nil }
func (w *discardWriter) SetWriteDeadline(time.Time) error { return nil }

// inMemoryRequest is inMemory, returning the request that the function
// serves, whose headers the caller may change.
func inMemoryRequest(s *Server, contentType string, body []byte) (func() int, *http.Request) {
	serve, req, _ := inMemoryServe(s, contentType, "", body)
	return serve, req
}

// inMemory returns a function that serves one request of body through s
// without a network, reusing the request.
func inMemory(s *Server, contentType, accept string, body []byte) (func() int, *discardWriter) {
	serve, _, w := inMemoryServe(s, contentType, accept, body)
	return serve, w
}

func inMemoryServe(s *Server, contentType, accept string, body []byte) (func() int, *http.Request, *discardWriter) {
	req := httptest.NewRequest(http.MethodPost, "/invocations", nil)
	req.Header.Set("Content-Type", contentType)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	rd := bytes.NewReader(body)
	req.Body = io.NopCloser(rd)
	req.ContentLength = int64(len(body))
	w := &discardWriter{h: http.Header{}}
	return func() int {
		rd.Reset(body)
		clear(w.h)
		w.status, w.n = 0, 0
		s.ServeHTTP(w, req)
		return w.status
	}, req, w
}

// assertFlatAllocs checks that s answers a 1000-row text/csv request with
// Accept accept in about as many allocations as a 1-row one.
func assertFlatAllocs(t *testing.T, s *Server, accept string) {
	t.Helper()
	allocs := map[int]float64{}
	for _, rows := range []int{1, 1000} {
		recs := make([]ipinsights.Pair, rows)
		for i := range recs {
			recs[i] = ipinsights.Pair{Entity: fmt.Sprintf("user-%03d", i%150), IP: sampleRecord[i%3].IP}
		}
		serve, _ := inMemory(s, "text/csv", accept, csvBody(t, recs))
		require.Equal(t, 200, serve(), accept)
		allocs[rows] = testing.AllocsPerRun(50, func() {
			if serve() != 200 {
				t.Fatal("not 200")
			}
		})
	}
	t.Logf("Accept %q: allocations per request: %v", accept, allocs)
	assert.Less(t, allocs[1000], allocs[1]+5, "Accept %q: a 1000-row request allocates about what a 1-row one does", accept)
}

// TestNoAllocationPerRow: what server/doc.go promises, that a request
// allocates nothing per record, whatever the response format, verbose
// embeddings, percentiles and explanations included.
func TestNoAllocationPerRow(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector (sync.Pool drops items)")
	}
	_, m := explainedModels(t) // calibrated, with a network history
	s, err := New(m, Options{MaxResponseBytes: 1 << 30})
	require.NoError(t, err)
	for _, accept := range []string{"", "text/csv", "application/jsonlines; seen=True", "application/json; verbose=True", "application/jsonlines; verbose=True",
		"application/json; percentile=True", "application/jsonlines; explain=True", "application/json; verbose=True; explain=True"} {
		assertFlatAllocs(t, s, accept)
	}
}

func TestRequestHeaders(t *testing.T) {
	m, _, recs := models(t)
	_, ts := newServer(t, m, Options{})
	for _, tc := range []struct {
		name   string
		header http.Header
		status int
		want   string // Content-Type of a 200, part of the body otherwise
	}{
		{"several Accept lines make one list", http.Header{"Accept": {"application/xml", "application/jsonlines"}}, 200, "application/jsonlines"},
		{"compressed body", http.Header{"Content-Encoding": {"gzip"}}, 415, `Content-Encoding \"gzip\" is not supported`},
		{"identity encoding", http.Header{"Content-Encoding": {"identity"}}, 200, "application/json"},
	} {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/invocations", bytes.NewReader(csvBody(t, recs)))
		req.Header = tc.header
		req.Header.Set("Content-Type", "text/csv")
		status, ct, body := do(t, req)
		require.Equal(t, tc.status, status, "%s: %s", tc.name, body)
		if status == 200 {
			assert.Equal(t, tc.want, ct, tc.name)
		} else {
			assert.Contains(t, string(body), tc.want, tc.name)
		}
	}
}

// A declared length sizes the buffer only up to a first step: a client
// that announces 6 MB and sends a few bytes does not pin 6 MB.
func TestReadBodyDoesNotTrustTheDeclaredLength(t *testing.T) {
	const limit = 6 << 20
	var b bodyReader
	buf, err := b.read(nil, http.MaxBytesReader(httptest.NewRecorder(), io.NopCloser(strings.NewReader("a,10.0.0.1\n")), limit), limit, limit)
	require.NoError(t, err)
	assert.Equal(t, "a,10.0.0.1\n", string(buf))
	assert.Equal(t, firstBodyStep, cap(buf))
	small, err := b.read(nil, http.MaxBytesReader(httptest.NewRecorder(), io.NopCloser(strings.NewReader("a,10.0.0.1\n")), limit), 11, limit)
	require.NoError(t, err)
	assert.Equal(t, 12, cap(small), "a small declared length is one exact allocation")
}
