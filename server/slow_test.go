package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/inference"
	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// serveLoopback serves s as "ipinsights serve" does, HTTPServer on a
// Listener of s on a loopback port, and returns its address.
func serveLoopback(t testing.TB, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hs := s.HTTPServer(ln.Addr().String())
	go hs.Serve(s.Listener(ln, nil))
	t.Cleanup(func() { hs.Close() })
	return ln.Addr().String()
}

// stall opens a connection that sends the headers of an invocation
// declaring length bytes, then first, then nothing.
func stall(t testing.TB, addr string, length int, first string) net.Conn {
	t.Helper()
	return stallWith(t, addr, length, first, "")
}

// stallWith is stall with an Authorization header, unless auth is "".
func stallWith(t testing.TB, addr string, length int, first, auth string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	if auth != "" {
		auth = "Authorization: " + auth + "\r\nX-Amz-Date: " + time.Now().UTC().Format("20060102T150405Z") + "\r\n"
	}
	_, err = fmt.Fprintf(c, "POST /invocations HTTP/1.1\r\nHost: %s\r\nContent-Type: text/csv\r\n%sContent-Length: %d\r\n\r\n%s", addr, auth, length, first)
	require.NoError(t, err)
	return c
}

// statusOf reads the status code of the response on c, waiting up to d.
func statusOf(c net.Conn, d time.Duration) (int, string, error) {
	c.SetReadDeadline(time.Now().Add(d))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType") + ": " + string(body), nil
}

// TestStalledConnectionsDoNotStarve is the attack on a larger
// scale: hundreds of connections that send the headers and 15 bytes of a
// declared 100 KB body and stall, others whose bodies trickle in below the
// minimum rate, and others that never finish their headers. Normal requests
// keep being answered at once, every stalled one is answered 408 (or
// closed, for headers) within the transfer timeout, and everything they
// held is given back.
func TestStalledConnectionsDoNotStarve(t *testing.T) {
	m, _, recs := models(t)
	stalled, trickling, headless := 300, 30, 30
	if testing.Short() {
		stalled, trickling, headless = 100, 10, 10
	}
	const timeout = 4 * time.Second // room for the connections and 20 requests on a loaded machine
	s, err := New(m, Options{MaxConcurrent: 4, TransferTimeout: timeout, MinTransferRate: 1024})
	require.NoError(t, err)
	addr := serveLoopback(t, s)

	start := time.Now()
	var conns []net.Conn
	for range stalled {
		conns = append(conns, stall(t, addr, 100000, "user-001,10.0.0"))
	}
	var wg sync.WaitGroup
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var tricklers []net.Conn
	for range trickling {
		c := stall(t, addr, 100000, "u")
		tricklers = append(tricklers, c)
		wg.Add(1)
		go func() { // 10 bytes a second, below the 1024 the server wants
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case <-time.After(100 * time.Millisecond):
					if _, err := c.Write([]byte("x")); err != nil {
						return
					}
				}
			}
		}()
	}
	var headlessConns []net.Conn
	for range headless {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		fmt.Fprintf(c, "POST /invocations HTTP/1.1\r\nHost: %s\r\nContent-Type: te", addr)
		headlessConns = append(headlessConns, c)
	}
	require.Eventually(t, func() bool { return s.metrics.inFlight.Load() == int64(stalled+trickling) }, 10*time.Second, 5*time.Millisecond,
		"in flight %d", s.metrics.inFlight.Load())
	require.Eventually(t, func() bool { return s.metrics.connsOpen.Load() >= int64(stalled+trickling+headless) }, 10*time.Second, 5*time.Millisecond)
	assert.Equal(t, 0, len(s.sem), "bodies being read hold no slot")
	assert.Equal(t, int64((stalled+trickling)*firstBodyStep), s.metrics.buffered.Load(), "each holds its first step of room, not what it declared")

	// Normal requests are answered while they stall.
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	body := csvBody(t, recs)
	var slowest time.Duration
	for range 20 {
		t0 := time.Now()
		resp, err := client.Post("http://"+addr+"/invocations", "text/csv", bytes.NewReader(body))
		require.NoError(t, err)
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode, "%s", out)
		slowest = max(slowest, time.Since(t0))
	}
	elapsed := time.Since(start)
	require.Less(t, elapsed, timeout, "the machine is too slow for this test: the stalled requests timed out before the normal ones were sent")
	t.Logf("%d stalled, %d trickling, %d headless connections; slowest of 20 normal requests: %s", stalled, trickling, headless, slowest)
	assert.Less(t, slowest, timeout/2, "a normal request waited for the stalled ones")

	// Every stalled and trickling request gets 408 once its time is up,
	// and nothing sooner than the transfer timeout.
	for i, c := range append(conns, tricklers...) {
		status, msg, err := statusOf(c, 3*timeout)
		require.NoError(t, err, "connection %d", i)
		assert.Equal(t, http.StatusRequestTimeout, status, msg)
		if i == 0 {
			assert.Contains(t, msg, "RequestTimeout: ")
			assert.Contains(t, msg, "request body not received in time")
			assert.GreaterOrEqual(t, time.Since(start), timeout)
		}
	}
	stop()
	wg.Wait()
	// Connections that never finished their headers are closed.
	for _, c := range headlessConns {
		c.SetReadDeadline(time.Now().Add(3 * timeout))
		_, err := c.Read(make([]byte, 1024))
		assert.Error(t, err)
		assert.False(t, isNetTimeout(err), "still open after %s", 3*timeout)
	}
	require.Eventually(t, func() bool { return s.metrics.buffered.Load() == 0 && s.metrics.inFlight.Load() == 0 }, 10*time.Second, 10*time.Millisecond)
	client.CloseIdleConnections()
	require.Eventually(t, func() bool { return s.metrics.connsOpen.Load() == 0 }, 10*time.Second, 10*time.Millisecond, "open %d", s.metrics.connsOpen.Load())
}

func isNetTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// Beyond MaxConnections a connection is answered 503 and closed, and
// counted; once one closes, connections are accepted again.
func TestConnectionLimit(t *testing.T) {
	m, _, _ := models(t)
	s, err := New(m, Options{MaxConnections: 5})
	require.NoError(t, err)
	addr := serveLoopback(t, s)
	var idle []net.Conn
	for range 5 {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		idle = append(idle, c)
	}
	require.Eventually(t, func() bool { return s.metrics.connsOpen.Load() == 5 }, 10*time.Second, time.Millisecond)

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + addr + "/ping")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "1", resp.Header.Get("Retry-After"))
	assert.Equal(t, "ServiceUnavailable", resp.Header.Get("X-Amzn-ErrorType"))
	code, msg := errorBody(t, body)
	assert.Equal(t, "ServiceUnavailable", code)
	assert.Equal(t, "server busy: all 5 connections it accepts at once are open; retry later", msg)
	assert.Equal(t, uint64(1), s.metrics.connsRefused.Load())
	assert.Equal(t, int64(5), s.metrics.connsOpen.Load())

	// A refused POST with a body gets the answer too.
	resp, err = client.Post("http://"+addr+"/invocations", "text/csv", strings.NewReader("user-001,10.0.0.1\n"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)

	// Once one closes, the next is served; /metrics counts the refused.
	idle[0].Close()
	require.Eventually(t, func() bool { return s.metrics.connsOpen.Load() == 4 }, 10*time.Second, time.Millisecond)
	resp, err = client.Get("http://" + addr + "/metrics")
	require.NoError(t, err)
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	for series, want := range map[string]string{
		"ipinsights_connections_refused_total": "2",
		"ipinsights_connections_open":          "5",
		"ipinsights_connections_limit":         "5",
	} {
		v, _ := metricValue(string(text), series)
		assert.Equal(t, want, v, series)
	}
}

// MaxBufferedBytes: bodies that stall hold their room; a request that
// finds none waits QueueTimeout, then gets 503; room given back serves it.
func TestBufferedBytesBound(t *testing.T) {
	m, _, recs := models(t)
	var logs bytes.Buffer
	var mu sync.Mutex
	s, err := New(m, Options{MaxPayloadBytes: 2 * firstBodyStep, MaxBufferedBytes: 3 * firstBodyStep, QueueTimeout: 200 * time.Millisecond,
		Logger: slogTo(&mu, &logs)})
	require.NoError(t, err)
	addr := serveLoopback(t, s)
	var conns []net.Conn
	for range 3 {
		conns = append(conns, stall(t, addr, 2*firstBodyStep-1, "user-001,10.0.0"))
	}
	require.Eventually(t, func() bool { return s.metrics.buffered.Load() == 3*firstBodyStep }, 10*time.Second, time.Millisecond)
	url := "http://" + addr + "/invocations"
	status, _, body := post(t, url, "text/csv", "", csvBody(t, recs))
	assert.Equal(t, http.StatusServiceUnavailable, status)
	code, msg := errorBody(t, body)
	assert.Equal(t, "ServiceUnavailable", code)
	assert.Contains(t, msg, fmt.Sprintf("hold all %d bytes of their bound for 200ms", 3*firstBodyStep))
	require.Eventually(t, func() bool { // logged once the response is sent
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(logs.String(), `"limit":"MaxBufferedBytes"`)
	}, 10*time.Second, time.Millisecond)

	conns[0].Close() // its request fails, and gives its room back
	require.Eventually(t, func() bool { return s.metrics.buffered.Load() == 2*firstBodyStep }, 10*time.Second, time.Millisecond)
	status, _, body = post(t, url, "text/csv", "", csvBody(t, recs))
	assert.Equal(t, 200, status, "%s", body)
}

// A client that does not take its response holds no slot: the response
// is sent after the invocation gave its slot back, and the connection is
// closed when the response is not taken in time.
func TestSlowReaderHoldsNoSlot(t *testing.T) {
	m, _, recs := models(t)
	s, err := New(m, Options{MaxConcurrent: 1, QueueTimeout: -1, TransferTimeout: time.Second, MinTransferRate: 8 << 20})
	require.NoError(t, err)
	addr := serveLoopback(t, s)

	// A verbose response of about 10 MB to a client that reads nothing,
	// with a small receive buffer, fills the socket buffers (Linux lets a
	// send buffer grow to 4 MB).
	var many []ipinsights.Pair
	for len(many) < 40000 {
		many = append(many, recs...)
	}
	req := csvBody(t, many)
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	c, err := d.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	fmt.Fprintf(c, "POST /invocations HTTP/1.1\r\nHost: %s\r\nContent-Type: text/csv\r\nAccept: application/json; verbose=True\r\nContent-Length: %d\r\n\r\n%s", addr, len(req), req)
	require.Eventually(t, func() bool {
		return s.metrics.inFlight.Load() == 1 && s.metrics.buffered.Load() > 1<<20 && len(s.sem) == 0
	}, 10*time.Second, time.Millisecond, "the response is not being sent without its slot: in flight %d, buffered %d, slots %d",
		s.metrics.inFlight.Load(), s.metrics.buffered.Load(), len(s.sem))
	status, _, body := post(t, "http://"+addr+"/invocations", "text/csv", "", csvBody(t, recs))
	assert.Equal(t, 200, status, "%s", body)

	// The response's time is 1 s + 10 MB at 8 MB/s: then the server gives up.
	require.Eventually(t, func() bool { return s.metrics.inFlight.Load() == 0 && s.metrics.buffered.Load() == 0 }, 15*time.Second, 10*time.Millisecond)
	rf := inference.ResponseFormat{Format: inference.JSON, Verbose: true}
	full := len(inference.AppendResponse(nil, rf, wantPredictions(m, many, rf)))
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	got, err := io.Copy(io.Discard, c)
	assert.False(t, isNetTimeout(err), "the server did not close the connection")
	assert.Less(t, got, int64(full), "the connection was closed before the whole response was sent")
}

// /metrics exposes the bounds: slots, busy slots, queued invocations,
// bytes held and their limit, connections.
func TestMetricsOfTheBounds(t *testing.T) {
	m, _, recs := models(t)
	s, err := New(m, Options{MaxConcurrent: 1, QueueTimeout: 10 * time.Second})
	require.NoError(t, err)
	addr := serveLoopback(t, s)
	release := holdSlot(t, s)
	queued := make(chan int, 1)
	go func() {
		status, _, _ := post(t, "http://"+addr+"/invocations", "text/csv", "", csvBody(t, recs))
		queued <- status
	}()
	require.Eventually(t, func() bool { return s.metrics.queued.Load() == 1 }, 10*time.Second, time.Millisecond)
	stall(t, addr, 100000, "user-001,10.0.0")
	require.Eventually(t, func() bool { return s.metrics.inFlight.Load() == 2 }, 10*time.Second, time.Millisecond)
	status, _, body := do(t, mustRequest(t, http.MethodGet, "http://"+addr+"/metrics"))
	require.Equal(t, 200, status)
	held := int64(firstBodyStep + len(csvBody(t, recs)) + 1) // the stalled body's first step; the queued one's whole body
	for series, want := range map[string]string{
		"ipinsights_invocation_slots":          "1",
		"ipinsights_invocation_slots_busy":     "1",
		"ipinsights_invocations_queued":        "1",
		"ipinsights_buffered_bytes":            fmt.Sprint(held),
		"ipinsights_buffered_bytes_limit":      fmt.Sprint(s.Options().MaxBufferedBytes),
		"ipinsights_connections_open":          "3",
		"ipinsights_connections_limit":         "1024",
		"ipinsights_connections_refused_total": "0",
		"ipinsights_in_flight_requests":        "3",
	} {
		v, ok := metricValue(string(body), series)
		assert.True(t, ok, "no %s in\n%s", series, body)
		assert.Equal(t, want, v, series)
	}
	release()
	assert.Equal(t, 200, <-queued)
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	return req
}
