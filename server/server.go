package server

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"math"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/ipinsights/ipinsights-go/alert"
	"github.com/ipinsights/ipinsights-go/inference"
	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/ipinsights/ipinsights-go/sigv4"
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

// DefaultMaxConnections is the bound on open connections when
// Options.MaxConnections is zero.
const DefaultMaxConnections = 1024

// DefaultTransferTimeout is Options.TransferTimeout when it is zero: the
// time a client has to send its headers, and to start sending a body or
// taking a response.
const DefaultTransferTimeout = 10 * time.Second

// DefaultMinTransferRate is Options.MinTransferRate when it is zero, in
// bytes per second: 64 KiB/s, half a megabit, at which a 6 MB body takes
// about 100 s.
const DefaultMinTransferRate = 64 << 10

// DefaultMaxBufferedBytes returns Options.MaxBufferedBytes when it is
// zero, for the given payload and response limits: room for two of the
// largest requests with their responses, 2 × (maxPayload + maxResponse),
// which is 60 MiB with the defaults.
func DefaultMaxBufferedBytes(maxPayload, maxResponse int64) int64 {
	return satAdd(satAdd(maxPayload, maxResponse), satAdd(maxPayload, maxResponse))
}

// satAdd adds two non-negative int64s, saturating at math.MaxInt64.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
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
	// MaxConcurrent bounds the invocations scored at once (SageMaker's
	// MaxConcurrentTransforms): an invocation takes one of these slots once
	// its whole body has arrived, to decode, score and build its response,
	// and gives it back before the response is sent (unless the buffers are
	// full, see MaxBufferedBytes), so that slow clients do not hold slots.
	// More wait up to QueueTimeout for a turn, then get 503. Zero means
	// DefaultMaxConcurrent(); negative means no bound.
	MaxConcurrent int
	// QueueTimeout is how long an invocation waits for a slot when
	// MaxConcurrent are taken, or for room in MaxBufferedBytes, before it
	// is refused with 503 ServiceUnavailable and a Retry-After header (the
	// AWS SDKs retry it). Zero means DefaultQueueTimeout; negative means no
	// wait.
	QueueTimeout time.Duration
	// MaxBufferedBytes bounds the bytes of request bodies and responses
	// that invocations hold at once: a body takes room as it arrives (in
	// steps that at most double it, starting at 4 KiB, so a client that
	// declares a large body and sends little holds little), and keeps it
	// until its response is sent; a response takes its size once built,
	// and when that room is not free it is sent while the invocation keeps
	// its slot. A body that finds no room waits up to QueueTimeout, then
	// gets 503. Zero means DefaultMaxBufferedBytes(MaxPayloadBytes,
	// MaxResponseBytes); negative means no bound. It must leave room for a
	// body of MaxPayloadBytes.
	MaxBufferedBytes int64
	// MaxConnections bounds the connections open at once through
	// Listener: one more takes the place of the keep-alive connection idle
	// longest, which is closed, or, when none is idle, is answered 503
	// ServiceUnavailable with Retry-After and closed, without reaching the
	// handler. Zero means DefaultMaxConnections; negative means no bound.
	MaxConnections int
	// TransferTimeout and MinTransferRate (bytes per second) bound how
	// slowly a client may send or take data: its headers must arrive within
	// TransferTimeout (HTTPServer's ReadHeaderTimeout); an invocation's
	// body of n bytes so far must keep arriving by TransferTimeout +
	// n/MinTransferRate after the headers (plus, at random, up to a quarter
	// of TransferTimeout, so that clients that stall together are not
	// dropped together), or the request is refused with
	// 408 RequestTimeout and its connection closed; and a response of n
	// bytes must be taken within TransferTimeout + n/MinTransferRate, or
	// the connection is closed. Zero means DefaultTransferTimeout and
	// DefaultMinTransferRate; a negative MinTransferRate means no rate: a
	// whole body, or response, within TransferTimeout.
	TransferTimeout time.Duration
	MinTransferRate int64
	// SigV4, when not nil, requires every request but GET /ping to be
	// signed with AWS Signature Version 4 by one of its keys, as the
	// SageMaker Runtime API requires; others are refused with 403 and the
	// error type AWS sends (MissingAuthenticationTokenException,
	// UnrecognizedClientException, InvalidSignatureException,
	// IncompleteSignatureException). A signature is checked before the
	// body is read as far as the headers allow, and in full once it has
	// arrived, before the invocation takes a slot. Nil serves without
	// authentication.
	SigV4 *sigv4.Verifier
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
	// ASLookup, when not nil, gives the autonomous system of addresses: an
	// explain=True response then also carries the AS members of package
	// alert (asn and as_org of the address, and of each usual network), as
	// an alert.Annotator writes them. An *asn.DB is one. It must be safe
	// for concurrent use, and is not replaced while the server serves.
	// Nil writes no AS members.
	ASLookup alert.ASLookup
	// Logger receives a structured line per request, and reloads. Nil
	// discards them. The line of an invocation refused by a limit has a
	// "limit" attribute that names the option:
	// "MaxPayloadBytes", "MaxResponseBytes", "MaxConcurrent" (a busy
	// server, with QueueTimeout), "MaxBufferedBytes" or "TransferTimeout"
	// (with MinTransferRate); a refused connection's line says
	// "MaxConnections". A signed request's line has its "access_key_id".
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
	if o.MaxBufferedBytes == 0 && o.MaxPayloadBytes > 0 && o.MaxResponseBytes >= 0 {
		o.MaxBufferedBytes = DefaultMaxBufferedBytes(o.MaxPayloadBytes, o.MaxResponseBytes)
	}
	if o.MaxConnections == 0 {
		o.MaxConnections = DefaultMaxConnections
	}
	if o.TransferTimeout == 0 {
		o.TransferTimeout = DefaultTransferTimeout
	}
	if o.MinTransferRate == 0 {
		o.MinTransferRate = DefaultMinTransferRate
	}
	switch {
	case o.MaxPayloadBytes < 0:
		return o, fmt.Errorf("server: negative MaxPayloadBytes %d", o.MaxPayloadBytes)
	case o.MaxResponseBytes < 0:
		return o, fmt.Errorf("server: negative MaxResponseBytes %d", o.MaxResponseBytes)
	case o.MaxBufferedBytes > 0 && o.MaxBufferedBytes <= o.MaxPayloadBytes:
		return o, fmt.Errorf("server: MaxBufferedBytes %d leaves no room for a body of MaxPayloadBytes %d: want more than it", o.MaxBufferedBytes, o.MaxPayloadBytes)
	case o.TransferTimeout < 0:
		return o, fmt.Errorf("server: negative TransferTimeout %s", o.TransferTimeout)
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
	sem        chan struct{}       // invocation slots; nil when MaxConcurrent is negative
	buffers    *semaphore.Weighted // bytes of MaxBufferedBytes; nil when it is negative
	states     sync.Pool           // *reqState
	refusals   refusals            // of connections beyond MaxConnections
	conns      connSet             // open through Listener
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
	if opts.MaxBufferedBytes > 0 {
		s.buffers = semaphore.NewWeighted(opts.MaxBufferedBytes)
	}
	s.refusals.answer = refusal(opts.MaxConnections)
	s.states.New = func() any { return new(reqState) }
	if m != nil {
		s.SetModel(m)
	}
	return s, nil
}

// Options returns the options s serves with, every zero field replaced
// by its default: MaxConcurrent, MaxBufferedBytes and MaxConnections are
// negative when not bounded, QueueTimeout negative when invocations do
// not wait, and Logger discards when none was given.
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

// MaxHeaderBytes bounds the request line and headers of a request
// (http.Server.MaxHeaderBytes in HTTPServer): 64 KiB, far more than a
// signed SageMaker request needs (about 1 KiB).
const MaxHeaderBytes = 64 << 10

// HTTPServer returns an http.Server of s at addr, with net/http's own
// errors logged through Options.Logger and with the timeouts that go with
// the handler's: headers must arrive within Options.TransferTimeout and
// be at most MaxHeaderBytes; a request's body, and its response, get 60
// seconds (SageMaker's invocation limit) unless the handler gives them
// their own deadline, as invocations have (Options.TransferTimeout and
// MinTransferRate); an idle connection is closed after 120 seconds, or
// sooner when a new one needs its place (see Listener). Serve it on a
// Listener of s, which bounds the open connections.
//
// It serves HTTP/1.1 only: the bounds on slow clients are per
// connection, which holds one request at a time.
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s,
		ReadHeaderTimeout: s.opts.TransferTimeout,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelWarn),
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){}, // no HTTP/2
		ConnState:         s.ConnState,
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
	keyID    string // the access key that signed the request

	rc   http.ResponseController // of w
	held int64                   // bytes of MaxBufferedBytes the request holds
	body bool                    // whether the request has a body that was not read to its end
	slot bool                    // whether the request holds an invocation slot
	hash hash.Hash               // SHA-256 of signed requests' bodies, kept with the state
	sum  [sha256.Size]byte

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
	st.errCode, st.errMsg, st.limit, st.endpoint, st.keyID = "", "", "", endpoint, ""
	st.body = r.ContentLength != 0
	s.metrics.inFlight.Add(1)
	defer func() {
		s.metrics.inFlight.Add(-1)
		s.releaseAll(st)
		if st.body {
			// After the handler net/http reads what is left of a body, to
			// use the connection again, until the request's deadline: not
			// from a client refused before its body was read, which may
			// never send it. The connection is closed instead.
			http.NewResponseController(w).SetReadDeadline(time.Now())
		}
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
		st.w, st.rc = nil, http.ResponseController{}
		s.states.Put(st)
	}()
	if rt != routePing && s.opts.SigV4 != nil && !s.authenticate(st, r, rt) {
		return
	}
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
	if st.keyID != "" {
		attrs = append(attrs, slog.String("access_key_id", st.keyID))
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
	connectionClose    = []string{"close"}
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
	if st.body {
		h["Connection"] = connectionClose // see ServeHTTP
	}
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
	s.metrics.write(st, s.gauges())
}

// gauges returns the state of the bounds, for /metrics.
func (s *Server) gauges() gauges {
	g := gauges{
		slots: cap(s.sem), slotsBusy: len(s.sem),
		bufferedLimit: s.opts.MaxBufferedBytes, connectionsLimit: s.opts.MaxConnections,
	}
	if s.sem == nil {
		g.slots = -1
	}
	return g
}

// acquire waits up to QueueTimeout for an invocation slot for st. It
// returns errBusy when none came free in time and the context's error
// when the client gave up first.
func (s *Server) acquire(ctx context.Context, st *reqState) error {
	if s.sem == nil {
		return nil
	}
	select {
	case s.sem <- struct{}{}:
		st.slot = true
		return nil
	default:
	}
	if s.opts.QueueTimeout < 0 {
		return errBusy
	}
	s.metrics.queued.Add(1)
	defer s.metrics.queued.Add(-1)
	t := time.NewTimer(s.opts.QueueTimeout)
	defer t.Stop()
	select {
	case s.sem <- struct{}{}:
		st.slot = true
		return nil
	case <-t.C:
		return errBusy
	case <-ctx.Done():
		return ctx.Err()
	}
}

var errBusy = errors.New("every invocation slot is taken")

// release gives back st's invocation slot, if it holds one.
func (s *Server) release(st *reqState) {
	if st.slot {
		st.slot = false
		<-s.sem
	}
}

// reserve takes n more bytes of MaxBufferedBytes for st, waiting up to
// QueueTimeout for them. It returns errBusy when they did not come free
// in time and the context's error when the client gave up first.
func (s *Server) reserve(ctx context.Context, st *reqState, n int64) error {
	if s.tryReserve(st, n) {
		return nil
	}
	if s.opts.QueueTimeout < 0 {
		return errBusy
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.QueueTimeout)
	defer cancel()
	if err := s.buffers.Acquire(ctx, n); err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return errBusy
		}
		return err
	}
	st.held += n
	s.metrics.buffered.Add(n)
	return nil
}

// tryReserve takes n more bytes of MaxBufferedBytes for st if they are
// free, and reports whether it did.
func (s *Server) tryReserve(st *reqState, n int64) bool {
	if s.buffers != nil && !s.buffers.TryAcquire(n) {
		return false
	}
	st.held += n
	s.metrics.buffered.Add(n)
	return true
}

// releaseAll gives back everything st holds: its slot and its bytes.
func (s *Server) releaseAll(st *reqState) {
	s.release(st)
	if st.held > 0 {
		if s.buffers != nil {
			s.buffers.Release(st.held)
		}
		s.metrics.buffered.Add(-st.held)
		st.held = 0
	}
}

// isTooLarge reports whether err says the body passed its limit.
func isTooLarge(err error) bool {
	var mb *http.MaxBytesError
	return errors.As(err, &mb)
}
