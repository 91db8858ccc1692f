package server

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"time"
)

// Listener returns ln bounded to Options.MaxConnections open connections
// at once, serving TLS with config when it is not nil (as tls.NewListener
// does: the http.Server sees *tls.Conn connections and sets
// Request.TLS). Serve HTTPServer's server on it.
//
// A connection beyond the bound is refused without reaching the handler:
// it is answered 503 ServiceUnavailable with Retry-After: 1 and
// Connection: close (after the TLS handshake, with config), what the
// client sends within a second is read and dropped, so that the answer is
// not lost to a reset, and it is closed. At most 64 connections are
// refused that way at once; more are closed at once. Refused connections
// are counted in /metrics, and logged at most once a second.
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
		if open := m.connsOpen.Add(1); l.s.opts.MaxConnections > 0 && open > int64(l.s.opts.MaxConnections) {
			m.connsOpen.Add(-1)
			l.s.refuseConn(c, l.config)
			continue
		}
		var conn net.Conn = &countedConn{Conn: c, open: &m.connsOpen}
		if l.config != nil {
			conn = tls.Server(conn, l.config)
		}
		return conn, nil
	}
}

// countedConn is a connection counted in the open connections until it is
// closed.
type countedConn struct {
	net.Conn
	open   *atomic.Int64
	closed atomic.Bool
}

func (c *countedConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.open.Add(-1)
	}
	return c.Conn.Close()
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
