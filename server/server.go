package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipinsights/ipinsights-go/inference"

	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// MiB is the unit of SageMaker's MaxPayloadInMB.
const MiB = 1 << 20

// DefaultMaxPayloadBytes is SageMaker's default MaxPayloadInMB, 6 MB.
const DefaultMaxPayloadBytes = 6 * MiB

// MaxLimitMB is the largest payload limit, in MB, that FromEnv accepts
// from SAGEMAKER_MAX_PAYLOAD_IN_MB: 1 TiB, far beyond any real request, and
// small enough that its byte count, and DefaultResponseFactor times it,
// can not overflow.
const MaxLimitMB = 1 << 20

// DefaultResponseFactor is how many times MaxPayloadBytes a response may
// be when Options.MaxResponseBytes is zero. Without embeddings a response
// is about twice its request (a 35-byte {"dot_product":...} per 15 to 40
// bytes of "entity,ip"), so the default leaves such requests room up to
// the payload limit; with verbose=True every record carries 2×vector_dim
// numbers and the response is a hundred times its request or more, which
// the limit stops.
const DefaultResponseFactor = 4

// DefaultQueueTimeout is how long an invocation waits for a free slot when
// Options.QueueTimeout is zero.
const DefaultQueueTimeout = 10 * time.Second

// DefaultMaxConcurrent returns the bound on invocations handled at once
// when Options.MaxConcurrent is zero: twice GOMAXPROCS, at least 4, which
// keeps every core scoring while some requests are still being read or
// written, and bounds the memory that large requests can take at once
// (each holds up to MaxPayloadBytes of request and MaxResponseBytes of
// response).
func DefaultMaxConcurrent() int {
	return max(4, 2*runtime.GOMAXPROCS(0))
}

// DefaultScoreWorkers returns the bound on the goroutines that score one
// invocation when Options.ScoreWorkers is zero, for maxConcurrent
// invocations at once (negative: no bound): GOMAXPROCS divided among
// them, at least 1, so that invocations that score at the same time do
// not queue for the same cores. With the default MaxConcurrent it is 1:
// each invocation scores in its own goroutine.
func DefaultScoreWorkers(maxConcurrent int) int {
	if maxConcurrent <= 0 {
		return 1
	}
	return max(1, runtime.GOMAXPROCS(0)/maxConcurrent)
}

// Batch strategies of SageMaker batch transform (SAGEMAKER_BATCH_STRATEGY).
const (
	MultiRecord  = "MULTI_RECORD"
	SingleRecord = "SINGLE_RECORD"
)

// Options configure a Server. The zero value serves with SageMaker's
// defaults and logs nothing.
type Options struct {
	// MaxPayloadBytes bounds a request body; a larger one is refused with
	// 413 and never held in memory. Zero means DefaultMaxPayloadBytes.
	MaxPayloadBytes int64
	// MaxResponseBytes bounds a response body: an invocation whose response
	// would be larger is refused with 413 ResponseTooLarge, which says how
	// many of its records fit, and the response is built only up to the
	// limit. Zero means DefaultResponseFactor × MaxPayloadBytes.
	// (SageMaker's real-time endpoints refuse responses over 6 MB.)
	MaxResponseBytes int64
	// MaxConcurrent bounds the invocations handled at once (SageMaker's
	// MaxConcurrentTransforms), from reading the request to writing the
	// response; more wait up to QueueTimeout for a turn, then get 503.
	// Zero means DefaultMaxConcurrent(); negative means no bound.
	MaxConcurrent int
	// QueueTimeout is how long an invocation waits for a turn when
	// MaxConcurrent are under way, before it is refused with 503
	// ServiceUnavailable and a Retry-After header (the AWS SDKs retry it).
	// Zero means DefaultQueueTimeout; negative means no wait.
	QueueTimeout time.Duration
	// ScoreWorkers bounds the goroutines that score the records of one
	// invocation (ipinsights.Model.ScoreTuplesWorkers); 1 scores them in
	// the handler's goroutine. Zero means
	// DefaultScoreWorkers(MaxConcurrent).
	ScoreWorkers int
	// BatchStrategy is what /execution-parameters reports: MultiRecord
	// (the default) or SingleRecord.
	BatchStrategy string
	// Batch marks a SageMaker batch transform (SAGEMAKER_BATCH=true): the
	// request lines of successful invocations, one per mini-batch, are
	// logged at Debug rather than Info level.
	Batch bool
	// Logger receives a structured line per request, and reloads. Nil
	// discards them. The line of an invocation refused by a limit has a
	// "limit" attribute that names the option:
	// "MaxPayloadBytes", "MaxResponseBytes" or "MaxConcurrent" (a busy
	// server, with QueueTimeout).
	Logger *slog.Logger
}

func (o Options) withDefaults() (Options, error) {
	if o.MaxPayloadBytes == 0 {
		o.MaxPayloadBytes = DefaultMaxPayloadBytes
	}
	if o.MaxResponseBytes == 0 && o.MaxPayloadBytes > 0 {
		o.MaxResponseBytes = math.MaxInt64
		if o.MaxPayloadBytes <= math.MaxInt64/DefaultResponseFactor {
			o.MaxResponseBytes = DefaultResponseFactor * o.MaxPayloadBytes
		}
	}
	if o.MaxConcurrent == 0 {
		o.MaxConcurrent = DefaultMaxConcurrent()
	}
	if o.QueueTimeout == 0 {
		o.QueueTimeout = DefaultQueueTimeout
	}
	if o.ScoreWorkers == 0 {
		o.ScoreWorkers = DefaultScoreWorkers(o.MaxConcurrent)
	}
	if o.BatchStrategy == "" {
		o.BatchStrategy = MultiRecord
	}
	switch {
	case o.MaxPayloadBytes < 0:
		return o, fmt.Errorf("server: negative MaxPayloadBytes %d", o.MaxPayloadBytes)
	case o.MaxResponseBytes < 0:
		return o, fmt.Errorf("server: negative MaxResponseBytes %d", o.MaxResponseBytes)
	case o.ScoreWorkers < 0:
		return o, fmt.Errorf("server: negative ScoreWorkers %d", o.ScoreWorkers)
	case o.BatchStrategy != MultiRecord && o.BatchStrategy != SingleRecord:
		return o, fmt.Errorf("server: BatchStrategy %q: want %s or %s", o.BatchStrategy, MultiRecord, SingleRecord)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// Server is an http.Handler that serves a model the way a SageMaker IP
// Insights container and the SageMaker Runtime API do. It is safe for
// concurrent use; the model can be replaced while it serves.
type Server struct {
	opts       Options // defaults filled in
	transforms int     // the MaxConcurrentTransforms of /execution-parameters
	model      atomic.Pointer[ipinsights.Model]
	metrics    metrics
	sem        chan struct{} // invocation slots; nil when MaxConcurrent is negative
	states     sync.Pool     // *reqState
}

// New returns a Server of m with opts. m may be nil: /ping and
// /invocations answer 503 until SetModel gives one.
func New(m *ipinsights.Model, opts Options) (*Server, error) {
	// Without an explicit MaxConcurrent, batch transform is told one
	// request per CPU, which keeps every core scoring (and is within the
	// default bound).
	transforms := opts.MaxConcurrent
	if transforms <= 0 {
		transforms = runtime.GOMAXPROCS(0)
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, transforms: transforms}
	if opts.MaxConcurrent > 0 {
		s.sem = make(chan struct{}, opts.MaxConcurrent)
	}
	s.states.New = func() any { return new(reqState) }
	if m != nil {
		s.SetModel(m)
	}
	return s, nil
}

// Options returns the options s serves with, every zero field replaced
// by its default: MaxConcurrent is negative when invocations are not
// bounded, QueueTimeout negative when they do not wait, and Logger
// discards when none was given.
func (s *Server) Options() Options { return s.opts }

// Model returns the model that new requests are scored with, or nil.
func (s *Server) Model() *ipinsights.Model { return s.model.Load() }

// SetModel makes m the model of new requests. Requests under way finish
// with the model they started with.
func (s *Server) SetModel(m *ipinsights.Model) {
	s.model.Store(m)
	s.metrics.modelLoaded.Store(time.Now().Unix())
}

// Reload loads the model file at path and makes it the model of new
// requests, without interrupting requests under way. When the file does
// not load, the current model stays and the error is returned (and
// logged).
func (s *Server) Reload(path string) error {
	start := time.Now()
	m, err := ipinsights.LoadFile(path)
	if err != nil {
		s.metrics.reloads[1].Add(1)
		s.opts.Logger.Error("model reload failed; serving the previous model", "path", path, "error", err.Error())
		return fmt.Errorf("server: reload: %w", err)
	}
	s.SetModel(m)
	s.metrics.reloads[0].Add(1)
	s.opts.Logger.Info("model reloaded", "path", path, "duration", time.Since(start), "seen_entities", m.SeenEntities())
	return nil
}

// HTTPServer returns an http.Server of s at addr, with timeouts that let
// a slow client neither hold a connection for ever nor miss SageMaker's
// 60-second invocation limit, and with net/http's own errors logged
// through Options.Logger.
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelWarn),
	}
}

// route identifies the handler of a path, for dispatch and metrics.
type route uint8

const (
	routeOther route = iota
	routePing
	routeInvocations
	routeExecutionParameters
	routeMetrics
	numRoutes
)

var routeNames = [numRoutes]string{"other", "ping", "invocations", "execution_parameters", "metrics"}

// routeOf returns the route of path and, for the SageMaker Runtime path
// /endpoints/{name}/invocations, the endpoint name.
func routeOf(path string) (route, string) {
	switch path {
	case "/ping":
		return routePing, ""
	case "/invocations":
		return routeInvocations, ""
	case "/execution-parameters":
		return routeExecutionParameters, ""
	case "/metrics":
		return routeMetrics, ""
	}
	if name, ok := strings.CutPrefix(path, "/endpoints/"); ok {
		if name, ok = strings.CutSuffix(name, "/invocations"); ok && name != "" && !strings.Contains(name, "/") {
			return routeInvocations, name
		}
	}
	return routeOther, ""
}

// reqState is the per-request state, pooled: the response writer that
// records what was sent, and the buffers of an invocation.
type reqState struct {
	w        http.ResponseWriter
	status   int
	written  int
	rows     int
	bytesIn  int
	errCode  string
	errMsg   string
	limit    string // the Options field that refused the request
	endpoint string

	inv invocation
}

func (st *reqState) Header() http.Header { return st.w.Header() }

func (st *reqState) WriteHeader(code int) {
	if st.status == 0 {
		st.status = code
	}
	st.w.WriteHeader(code)
}

func (st *reqState) Write(b []byte) (int, error) {
	if st.status == 0 {
		st.status = http.StatusOK
	}
	n, err := st.w.Write(b)
	st.written += n
	return n, err
}

// ServeHTTP serves the SageMaker container contract:
//
//	GET  /ping                            200 once a model is loaded
//	POST /invocations                     score a request body
//	POST /endpoints/{name}/invocations    the same, at the SageMaker Runtime API path
//	GET  /execution-parameters            batch transform settings
//	GET  /metrics                         Prometheus text exposition
//
// Errors are JSON {"code": ..., "message": ...} with the code also in the
// X-Amzn-ErrorType header, which the AWS SDKs read.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rt, endpoint := routeOf(r.URL.Path)
	st := s.states.Get().(*reqState)
	st.w, st.status, st.written, st.rows, st.bytesIn = w, 0, 0, 0, 0
	st.errCode, st.errMsg, st.limit, st.endpoint = "", "", "", endpoint
	s.metrics.inFlight.Add(1)
	defer func() {
		s.metrics.inFlight.Add(-1)
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.opts.Logger.Error("panic serving request", "path", r.URL.Path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if st.status == 0 {
				s.fail(st, http.StatusInternalServerError, "InternalFailure", "internal error")
			}
			s.finish(r, st, rt, start)
			return // st is not reused after a panic
		}
		s.finish(r, st, rt, start)
		st.w = nil
		s.states.Put(st)
	}()
	switch rt {
	case routePing:
		s.ping(st, r)
	case routeInvocations:
		s.invoke(st, r)
	case routeExecutionParameters:
		s.executionParameters(st, r)
	case routeMetrics:
		s.serveMetrics(st, r)
	default:
		s.fail(st, http.StatusNotFound, "NotFound", fmt.Sprintf("no such path %q: the server answers /ping, /invocations, /endpoints/{name}/invocations, /execution-parameters and /metrics", r.URL.Path))
	}
}

// finish records metrics and logs the request line.
func (s *Server) finish(r *http.Request, st *reqState, rt route, start time.Time) {
	if st.status == 0 {
		st.status = http.StatusOK
	}
	d := time.Since(start)
	s.metrics.observe(rt, st.status, st.errCode, d, st.rows)
	level := slog.LevelInfo
	switch {
	case st.status >= 500:
		level = slog.LevelError
	case st.status >= 400:
		level = slog.LevelWarn
	case rt == routePing || rt == routeMetrics || (rt == routeInvocations && s.opts.Batch):
		level = slog.LevelDebug
	}
	ctx := r.Context()
	if !s.opts.Logger.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", st.status),
		slog.Duration("duration", d),
		slog.String("remote", r.RemoteAddr),
	}
	if rt == routeInvocations {
		attrs = append(attrs,
			slog.String("content_type", r.Header.Get("Content-Type")),
			slog.String("accept", r.Header.Get("Accept")),
			slog.Int("bytes_in", st.bytesIn),
			slog.Int("bytes_out", st.written),
			slog.Int("rows", st.rows))
		if st.endpoint != "" {
			attrs = append(attrs, slog.String("endpoint", st.endpoint))
		}
	}
	if st.errMsg != "" {
		attrs = append(attrs, slog.String("error", st.errMsg))
	}
	if st.limit != "" {
		attrs = append(attrs, slog.String("limit", st.limit))
	}
	s.opts.Logger.LogAttrs(ctx, level, "request", attrs...)
}

// Values of response headers, shared so that setting them allocates
// nothing (net/http only reads them).
var (
	jsonContentType    = []string{"application/json"}
	metricsContentType = []string{"text/plain; version=0.0.4; charset=utf-8"}
	contentTypes       = [...][]string{inference.CSV: {"text/csv"}, inference.JSON: {"application/json"}, inference.JSONLines: {"application/jsonlines"}}
)

// fail writes an error response. code is the error type the AWS SDKs see
// (smithy.APIError.ErrorCode); a 400 is SageMaker's ValidationError, which
// sagemakerruntime clients receive as *types.ValidationError.
func (s *Server) fail(st *reqState, status int, code, msg string) {
	st.errMsg = msg
	h := st.Header()
	h["Content-Type"] = jsonContentType
	h["X-Amzn-Errortype"] = []string{code}
	h.Del("Content-Length")
	body, _ := json.Marshal(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{code, msg})
	st.WriteHeader(status)
	st.Write(append(body, '\n'))
	st.errCode = code
}

func (s *Server) methodNotAllowed(st *reqState, r *http.Request, allow string) {
	st.Header()["Allow"] = []string{allow}
	s.fail(st, http.StatusMethodNotAllowed, "MethodNotAllowed", fmt.Sprintf("method %s not allowed on %s: use %s", r.Method, r.URL.Path, allow))
}

func (s *Server) ping(st *reqState, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.methodNotAllowed(st, r, "GET, HEAD")
		return
	}
	if s.model.Load() == nil {
		s.fail(st, http.StatusServiceUnavailable, "ServiceUnavailable", "no model loaded yet")
		return
	}
	st.WriteHeader(http.StatusOK)
}

// executionParameters answers SageMaker batch transform's
// GET /execution-parameters.
func (s *Server) executionParameters(st *reqState, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.methodNotAllowed(st, r, "GET, HEAD")
		return
	}
	body, _ := json.Marshal(struct {
		MaxConcurrentTransforms int
		BatchStrategy           string
		MaxPayloadInMB          int64
	}{s.transforms, s.opts.BatchStrategy, max(1, s.opts.MaxPayloadBytes/MiB)})
	st.Header()["Content-Type"] = jsonContentType
	st.Write(body)
}

func (s *Server) serveMetrics(st *reqState, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.methodNotAllowed(st, r, "GET, HEAD")
		return
	}
	st.Header()["Content-Type"] = metricsContentType
	s.metrics.write(st)
}

// readBody reads r into dst, growing it at most to limit+1 bytes (r is an
// http.MaxBytesReader of limit, which fails past it), so that a request
// never makes the server hold more than its limit. The declared length
// (hint) sizes the buffer only up to firstAlloc: beyond that the buffer
// grows as bytes arrive, so that a client that declares a large body and
// sends nothing does not pin the memory.
func readBody(dst []byte, r io.Reader, hint, limit int64) ([]byte, error) {
	const firstAlloc = 256 << 10
	dst = dst[:0]
	if hint > 0 && int64(cap(dst)) <= hint {
		dst = make([]byte, 0, min(hint, limit, firstAlloc)+1)
	}
	for {
		if len(dst) == cap(dst) {
			n := min(max(2*int64(cap(dst)), 4096), limit+1)
			if n <= int64(len(dst)) {
				n = int64(len(dst)) + 1 // unreachable with a MaxBytesReader of limit
			}
			grown := make([]byte, len(dst), n)
			copy(grown, dst)
			dst = grown
		}
		n, err := r.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}

// acquire waits up to QueueTimeout for an invocation slot. It returns
// errBusy when none came free in time and the context's error when the
// client gave up first.
func (s *Server) acquire(ctx context.Context) error {
	if s.sem == nil {
		return nil
	}
	select {
	case s.sem <- struct{}{}:
		return nil
	default:
	}
	if s.opts.QueueTimeout < 0 {
		return errBusy
	}
	t := time.NewTimer(s.opts.QueueTimeout)
	defer t.Stop()
	select {
	case s.sem <- struct{}{}:
		return nil
	case <-t.C:
		return errBusy
	case <-ctx.Done():
		return ctx.Err()
	}
}

var errBusy = errors.New("every invocation slot is taken")

func (s *Server) release() {
	if s.sem != nil {
		<-s.sem
	}
}

// isTooLarge reports whether err says the body passed its limit.
func isTooLarge(err error) bool {
	var mb *http.MaxBytesError
	return errors.As(err, &mb)
}
