package server

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/internal/test/testcert"
)

// connEvent is a change of state of a server's connection, as its
// http.Server's ConnState hook saw it.
type connEvent struct {
	remote string // the client's address
	state  http.ConnState
}

// serveLoopbackStates is serveLoopback (with TLS when config is not nil),
// and the connections' changes of state, which the test must take as they
// come (the server waits for it).
func serveLoopbackStates(t *testing.T, s *Server, config *tls.Config) (string, <-chan connEvent) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hs := s.HTTPServer(ln.Addr().String())
	events := make(chan connEvent, 256)
	hook := hs.ConnState
	hs.ConnState = func(c net.Conn, state http.ConnState) {
		hook(c, state)
		select {
		case events <- connEvent{c.RemoteAddr().String(), state}:
		case <-time.After(10 * time.Second): // the test stopped reading
		}
	}
	go hs.Serve(s.Listener(ln, config))
	t.Cleanup(func() { hs.Close() })
	return ln.Addr().String(), events
}

// waitState waits until the server's connection with c reaches state.
func waitState(t *testing.T, events <-chan connEvent, c net.Conn, state http.ConnState) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e := <-events:
			if e.remote == c.LocalAddr().String() && e.state == state {
				return
			}
		case <-deadline:
			t.Fatalf("the connection of %s did not become %s", c.LocalAddr(), state)
		}
	}
}

// pingOn sends GET /ping on c, keeping it alive, and returns the status.
func pingOn(t *testing.T, c net.Conn, r *bufio.Reader) int {
	t.Helper()
	_, err := fmt.Fprintf(c, "GET /ping HTTP/1.1\r\nHost: local\r\n\r\n")
	require.NoError(t, err)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(r, nil)
	require.NoError(t, err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// At MaxConnections, idle keep-alive connections make room for a new
// client: the one idle longest is closed, the other stays usable, and
// nothing is refused.
func TestIdleConnectionsMakeRoom(t *testing.T) {
	m, _, _ := models(t)
	s, err := New(m, Options{MaxConnections: 2})
	require.NoError(t, err)
	addr, events := serveLoopbackStates(t, s, nil)
	var conns [2]net.Conn
	var readers [2]*bufio.Reader
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		conns[i], readers[i] = c, bufio.NewReader(c)
		require.Equal(t, 200, pingOn(t, c, readers[i]))
		waitState(t, events, c, http.StateIdle) // conns[0] is idle first
	}

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + addr + "/ping")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "served in the place of an idle connection")
	assert.Equal(t, uint64(0), s.metrics.connsRefused.Load())
	assert.Equal(t, uint64(1), s.metrics.connsIdleClosed.Load())

	// The one idle longest was closed; the other still serves.
	conns[0].SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = readers[0].ReadByte()
	assert.ErrorIs(t, err, io.EOF, "the longest idle connection is closed")
	assert.Equal(t, 200, pingOn(t, conns[1], readers[1]))

	// Once the client's connection is closed, there is room: /metrics is
	// served without closing conns[1], and counts the one closed.
	require.Eventually(t, func() bool { return s.metrics.connsOpen.Load() == 1 }, 10*time.Second, time.Millisecond)
	resp, err = client.Get("http://" + addr + "/metrics")
	require.NoError(t, err)
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	v, _ := metricValue(string(text), "ipinsights_connections_idle_closed_total")
	assert.Equal(t, "1", v)
}

// Connections with a request under way (stalled mid-body) are never
// closed to make room: at MaxConnections a new client is refused with
// 503 as before, and an idle connection among them is the one that goes.
func TestActiveConnectionsAreNotClosedForRoom(t *testing.T) {
	m, _, _ := models(t)
	s, err := New(m, Options{MaxConnections: 2})
	require.NoError(t, err)
	addr, events := serveLoopbackStates(t, s, nil)
	stalled := stall(t, addr, 1000, "user-001,")
	waitState(t, events, stalled, http.StateActive)
	idle, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer idle.Close()
	require.Equal(t, 200, pingOn(t, idle, bufio.NewReader(idle)))
	waitState(t, events, idle, http.StateIdle)

	// The idle one makes room for a request that then stalls too.
	second := stall(t, addr, 1000, "user-002,")
	waitState(t, events, second, http.StateActive)
	assert.Equal(t, uint64(1), s.metrics.connsIdleClosed.Load())

	// Now every connection is active: the next is refused.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + addr + "/ping")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	code, _ := errorBody(t, body)
	assert.Equal(t, "ServiceUnavailable", code)
	assert.Equal(t, uint64(1), s.metrics.connsRefused.Load())
	assert.Equal(t, uint64(1), s.metrics.connsIdleClosed.Load(), "no active connection was closed")

}

// Over TLS too, an idle connection makes room (ConnState sees *tls.Conn
// connections).
func TestIdleTLSConnectionMakesRoom(t *testing.T) {
	m, _, _ := models(t)
	p := testcert.Write(t, t.TempDir(), "server", 1)
	kp, err := LoadKeyPair(p.CertFile, p.KeyFile)
	require.NoError(t, err)
	s, err := New(m, Options{MaxConnections: 1})
	require.NoError(t, err)
	addr, events := serveLoopbackStates(t, s, kp.TLSConfig())
	idle, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: p.Pool()})
	require.NoError(t, err)
	defer idle.Close()
	require.Equal(t, 200, pingOn(t, idle, bufio.NewReader(idle)))
	waitState(t, events, idle, http.StateIdle)

	client := tlsClient(p)
	client.Transport.(*http.Transport).DisableKeepAlives = true
	resp, err := client.Get("https://" + addr + "/ping")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, uint64(1), s.metrics.connsIdleClosed.Load())
	assert.Equal(t, uint64(0), s.metrics.connsRefused.Load())
}
