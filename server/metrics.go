package server

import (
	"io"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/ipinsights/ipinsights-go/sigv4"
)

// metrics are the server's counters, exposed on /metrics in the Prometheus
// text format (version 0.0.4). A handful of atomic counters and one
// histogram do not justify github.com/prometheus/client_golang and its
// dependencies (protobuf among them); the format is small and stable.
type metrics struct {
	requests     [numRoutes][600]atomic.Uint64 // by route and status code
	errors       [len(errorCodes)]atomic.Uint64
	rows         atomic.Uint64
	latency      [len(latencyBuckets) + 1]atomic.Uint64 // per bucket, not cumulative; the last is +Inf
	latencySum   atomic.Uint64                          // nanoseconds
	inFlight     atomic.Int64
	reloads      [2]atomic.Uint64 // ok, failed
	modelLoaded  atomic.Int64     // Unix seconds
	queued       atomic.Int64     // invocations waiting for a slot
	buffered     atomic.Int64     // bytes of MaxBufferedBytes held
	connsOpen    atomic.Int64     // through Listener
	connsRefused atomic.Uint64
	// idle keep-alive connections closed to make room at MaxConnections
	connsIdleClosed atomic.Uint64
}

// gauges are the bounds' states that the Server knows and the metrics do
// not: its slots, and its limits (negative: no bound).
type gauges struct {
	slots, slotsBusy int
	bufferedLimit    int64
	connectionsLimit int
}

// errorCodes are the error types of fail, in the order of metrics.errors.
var errorCodes = [...]string{
	"ValidationError", "UnsupportedMediaType", "NotAcceptable", "PayloadTooLarge",
	"ResponseTooLarge", "MethodNotAllowed", "NotFound", "ServiceUnavailable", "InternalFailure",
	"RequestTimeout", sigv4.MissingAuthenticationToken, sigv4.IncompleteSignature,
	sigv4.UnrecognizedClient, sigv4.InvalidSignature,
}

// latencyBuckets are the upper bounds, in seconds, of the invocation
// latency histogram: from 100 µs to 10 s.
var latencyBuckets = [...]float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

func (m *metrics) observe(rt route, status int, errCode string, d time.Duration, rows int) {
	if status >= 100 && status < 600 {
		m.requests[rt][status].Add(1)
	}
	if errCode != "" {
		for i, c := range errorCodes {
			if c == errCode {
				m.errors[i].Add(1)
			}
		}
	}
	if rt != routeInvocations {
		return
	}
	m.rows.Add(uint64(rows))
	sec := d.Seconds()
	i := 0
	for i < len(latencyBuckets) && sec > latencyBuckets[i] {
		i++
	}
	m.latency[i].Add(1)
	m.latencySum.Add(uint64(d.Nanoseconds()))
}

// write writes the exposition, with the Server's gauges g.
func (m *metrics) write(w io.Writer, g gauges) error {
	b := make([]byte, 0, 4096)
	header := func(name, typ, help string) {
		b = append(b, "# HELP "...)
		b = append(b, name...)
		b = append(b, ' ')
		b = append(b, help...)
		b = append(b, "\n# TYPE "...)
		b = append(b, name...)
		b = append(b, ' ')
		b = append(b, typ...)
		b = append(b, '\n')
	}
	sample := func(name, labels string, v uint64) {
		b = append(b, name...)
		b = append(b, labels...)
		b = append(b, ' ')
		b = strconv.AppendUint(b, v, 10)
		b = append(b, '\n')
	}

	header("ipinsights_requests_total", "counter", "HTTP requests by handler and status code.")
	for rt := range m.requests {
		for code := range m.requests[rt] {
			if v := m.requests[rt][code].Load(); v > 0 {
				sample("ipinsights_requests_total", `{handler="`+routeNames[rt]+`",code="`+strconv.Itoa(code)+`"}`, v)
			}
		}
	}
	header("ipinsights_errors_total", "counter", "Error responses by error code (the X-Amzn-ErrorType header).")
	for i, c := range errorCodes {
		sample("ipinsights_errors_total", `{code="`+c+`"}`, m.errors[i].Load())
	}
	header("ipinsights_rows_scored_total", "counter", "Records scored by successful invocations.")
	sample("ipinsights_rows_scored_total", "", m.rows.Load())

	const hist = "ipinsights_invocation_duration_seconds"
	header(hist, "histogram", "Latency of invocations, from request to response, in seconds.")
	var cum uint64
	for i := range m.latency {
		cum += m.latency[i].Load()
		le := "+Inf"
		if i < len(latencyBuckets) {
			le = strconv.FormatFloat(latencyBuckets[i], 'g', -1, 64)
		}
		sample(hist+"_bucket", `{le="`+le+`"}`, cum)
	}
	b = append(b, hist+"_sum "...)
	b = strconv.AppendFloat(b, float64(m.latencySum.Load())/1e9, 'g', -1, 64)
	b = append(b, '\n')
	sample(hist+"_count", "", cum)

	gauge := func(name, help string, v int64) {
		header(name, "gauge", help)
		b = append(b, name...)
		b = append(b, ' ')
		b = strconv.AppendInt(b, v, 10)
		b = append(b, '\n')
	}
	gauge("ipinsights_in_flight_requests", "Requests being served.", m.inFlight.Load())
	gauge("ipinsights_invocation_slots", "Invocations that may score at once (MaxConcurrent); -1: no bound.", int64(g.slots))
	gauge("ipinsights_invocation_slots_busy", "Invocation slots taken: invocations scoring, or sending a response that found no room in the buffer bound.", int64(g.slotsBusy))
	gauge("ipinsights_invocations_queued", "Invocations waiting for a slot.", m.queued.Load())
	gauge("ipinsights_buffered_bytes", "Bytes of request bodies and responses held by invocations under way.", m.buffered.Load())
	gauge("ipinsights_buffered_bytes_limit", "Bound on ipinsights_buffered_bytes (MaxBufferedBytes); -1: no bound.", g.bufferedLimit)
	gauge("ipinsights_connections_open", "Connections open (through the server's Listener).", m.connsOpen.Load())
	gauge("ipinsights_connections_limit", "Bound on open connections (MaxConnections); -1: no bound.", int64(g.connectionsLimit))
	header("ipinsights_connections_refused_total", "counter", "Connections refused with 503 because MaxConnections were open.")
	sample("ipinsights_connections_refused_total", "", m.connsRefused.Load())
	header("ipinsights_connections_idle_closed_total", "counter", "Idle keep-alive connections closed to make room for a new one because MaxConnections were open.")
	sample("ipinsights_connections_idle_closed_total", "", m.connsIdleClosed.Load())
	header("ipinsights_model_reloads_total", "counter", "Model reloads (SIGHUP) by result.")
	sample("ipinsights_model_reloads_total", `{result="ok"}`, m.reloads[0].Load())
	sample("ipinsights_model_reloads_total", `{result="error"}`, m.reloads[1].Load())
	header("ipinsights_model_loaded_timestamp_seconds", "gauge", "Unix time at which the current model was loaded.")
	b = append(b, "ipinsights_model_loaded_timestamp_seconds "...)
	b = strconv.AppendInt(b, m.modelLoaded.Load(), 10)
	b = append(b, '\n')

	_, err := w.Write(b)
	return err
}
