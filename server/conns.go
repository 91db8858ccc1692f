package server

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Listener returns ln bounded to Options.MaxConnections open connections
// at once, serving TLS with config when it is not nil (as tls.NewListener
// does: the http.Server sees *tls.Conn connections and sets
// Request.TLS). Serve HTTPServer's server on it.
//
// When MaxConnections are open, a new connection first takes the place of
// an idle keep-alive connection, if there is one: the one idle longest is
// closed, as IdleTimeout would have closed it later (a client reuses such
// a connection only after sending on it again, and a client whose request
// crosses the close sees what it sees at IdleTimeout: its Transport
// redials for an idempotent request, other requests get an error). Which
// connections are idle, Listener learns from the ConnState hook of the
// http.Server (Server.ConnState, which HTTPServer sets); without it none
// is known to be idle. Connections with a request under way, or accepted
// and not yet sending a request, are never closed to make room.
//
// A connection beyond the bound that finds no idle one is refused without
// reaching the handler: it is answered 503 ServiceUnavailable with
// Retry-After: 1 and Connection: close (after the TLS handshake, with
// config), what the client sends within a second is read and dropped, so
// that the answer is not lost to a reset, and it is closed. At most 64
// connections are refused that way at once; more are closed at once.
// Refused connections, and idle ones closed to make room, are counted in
// /metrics, and refusals logged at most once a second.
func (s *Server) Listener(ln net.Listener, config *tls.Config) net.Listener {
	return &listener{Listener: ln, s: s, config: config}
}

type listener struct {
	net.Listener
	s      *Server
	config *tls.Config
}

func (l *listener) Accept() (net.Conn, error) {
	m := &l.s.metrics
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		// Closing an idle connection takes it out of the count at once, so
		// the new one can take its place.
		if open := m.connsOpen.Add(1); l.s.opts.MaxConnections > 0 && open > int64(l.s.opts.MaxConnections) && !l.s.conns.closeIdle(m) {
			m.connsOpen.Add(-1)
			l.s.refuseConn(c, l.config)
			continue
		}
		cc := &countedConn{Conn: c, set: &l.s.conns, open: &m.connsOpen}
		l.s.conns.add(cc)
		var conn net.Conn = cc
		if l.config != nil {
			conn = tls.Server(conn, l.config)
		}
		return conn, nil
	}
}

// ConnState is the http.Server.ConnState hook that tells Listener which of
// its connections are idle, so that it can close them to make room for new
// ones at MaxConnections. HTTPServer sets it; an http.Server of one's own
// that serves on a Listener should call it from its ConnState hook.
// Connections of other listeners are ignored.
func (s *Server) ConnState(c net.Conn, state http.ConnState) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	cc, ok := c.(*countedConn)
	if !ok {
		return
	}
	if state == http.StateIdle {
		cc.idleSince.Store(time.Now().UnixNano())
	} else {
		cc.idleSince.Store(0)
	}
}

// countedConn is a connection counted in the open connections until it is
// closed.
type countedConn struct {
	net.Conn
	set    *connSet
	open   *atomic.Int64
	closed atomic.Bool
	// idleSince is when the connection became idle between requests, in
	// Unix nanoseconds; 0 while it is not idle (new, active, or claimed by
	// closeIdle).
	idleSince atomic.Int64
}

func (c *countedConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.open.Add(-1)
		c.set.remove(c)
	}
	return c.Conn.Close()
}

// connSet is the set of a Listener's open connections, changed when one
// opens or closes (not per request: ConnState only stores idleSince), and
// searched for an idle one only at MaxConnections.
type connSet struct {
	mu sync.Mutex
	m  map[*countedConn]struct{}
}

func (cs *connSet) add(c *countedConn) {
	cs.mu.Lock()
	if cs.m == nil {
		cs.m = make(map[*countedConn]struct{})
	}
	cs.m[c] = struct{}{}
	cs.mu.Unlock()
}

func (cs *connSet) remove(c *countedConn) {
	cs.mu.Lock()
	delete(cs.m, c)
	cs.mu.Unlock()
}

// closeIdle closes the connection of cs that has been idle longest, and
// reports whether there was one. A connection that turns active while it
// is chosen is left open and the next is tried.
func (cs *connSet) closeIdle(m *metrics) bool {
	for {
		var oldest *countedConn
		var since int64
		cs.mu.Lock()
		for c := range cs.m {
			if t := c.idleSince.Load(); t != 0 && (oldest == nil || t < since) {
				oldest, since = c, t
			}
		}
		cs.mu.Unlock()
		if oldest == nil {
			return false
		}
		// Claimed only if still idle since then: not if a request came
		// in on it meanwhile.
		if oldest.idleSince.CompareAndSwap(since, 0) {
			oldest.Close()
			m.connsIdleClosed.Add(1)
			return true
		}
	}
}

// Bounds of refusing a connection.
const (
	maxRefusing = 64          // connections refused at once
	refuseTime  = time.Second // to answer one and read what it sent
	refuseRead  = 64 << 10    // bytes read from one
)

// refusals is the state of refusing connections.
type refusals struct {
	active  atomic.Int32
	lastLog atomic.Int64 // Unix nanoseconds
	answer  []byte       // the 503 response
}

// refusal returns the response of a refused connection for maxConns.
func refusal(maxConns int) []byte {
	body, _ := json.Marshal(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{"ServiceUnavailable", fmt.Sprintf("server busy: all %d connections it accepts at once are open; retry later", maxConns)})
	body = append(body, '\n')
	return fmt.Appendf(nil, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nX-Amzn-Errortype: ServiceUnavailable\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}

// refuseConn answers c 503 and closes it, in a goroutine of its own.
func (s *Server) refuseConn(c net.Conn, config *tls.Config) {
	refused := s.metrics.connsRefused.Add(1)
	now := time.Now().UnixNano()
	if last := s.refusals.lastLog.Load(); now-last >= int64(time.Second) && s.refusals.lastLog.CompareAndSwap(last, now) {
		s.opts.Logger.Warn("connection refused: too many open", "remote", c.RemoteAddr().String(),
			"limit", "MaxConnections", "max_connections", s.opts.MaxConnections, "refused_total", refused)
	}
	if s.refusals.active.Add(1) > maxRefusing {
		s.refusals.active.Add(-1)
		c.Close()
		return
	}
	go func() {
		defer s.refusals.active.Add(-1)
		defer c.Close()
		c.SetDeadline(time.Now().Add(refuseTime))
		if config != nil {
			c = tls.Server(c, config)
		}
		// Answer once the request's headers are in: a client (Go's among
		// them) takes an answer that comes before its request for an
		// error of its own.
		readHeaders(c)
		if _, err := c.Write(s.refusals.answer); err != nil {
			return
		}
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		io.Copy(io.Discard, io.LimitReader(c, refuseRead))
	}()
}

// readHeaders reads from c up to the end of the first request's headers,
// at most refuseRead bytes, and drops them.
func readHeaders(c net.Conn) {
	var buf [4096]byte
	var tail []byte // the last 3 bytes read, for an end split between reads
	for total := 0; total < refuseRead; {
		n, err := c.Read(buf[:])
		if n > 0 {
			total += n
			seen := append(tail, buf[:n]...)
			if bytes.Contains(seen, []byte("\r\n\r\n")) {
				return
			}
			tail = append(tail[:0], seen[max(0, len(seen)-3):]...)
		}
		if err != nil {
			return
		}
	}
}
