package server

import (
	"context"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"time"
)

// firstBodyStep is the room a body takes before its first byte is read:
// a client that declares a large body and sends little holds little. A
// one-row request needs less than a hundred bytes, a 1000-row one 20 to
// 40 KB (three more steps).
const firstBodyStep = 4 << 10

// errTooSlow is returned by readBody for a body that did not arrive by
// its deadline (Options.TransferTimeout and MinTransferRate).
var errTooSlow = errors.New("request body too slow")

// bodyReader reads a request body into a buffer under the server's
// bounds: the buffer grows only as bytes arrive, each step first taking
// its room in MaxBufferedBytes, and the body must keep arriving by a
// deadline that moves with it. The zero value reads without bounds.
type bodyReader struct {
	s     *Server // nil: no bounds
	st    *reqState
	ctx   context.Context
	rc    *http.ResponseController
	start time.Time // when the body starts, and a jitter (see readBody)
	hash  hash.Hash // gets every byte read, when not nil
}

// read reads r into dst, growing it at most to limit+1 bytes (r is an
// http.MaxBytesReader of limit, which fails past it), so that a request
// never makes the server hold more than its limit. The buffer grows in
// steps, each taking its room first: 4 KiB, then each doubles what the
// body has, up to the declared length (hint) and one byte, so that a body
// as long as it said grows to exactly that, and one that says more than
// it sends holds only what it sent. The buffer is reused when it is large
// enough.
func (b *bodyReader) read(dst []byte, r io.Reader, hint, limit int64) ([]byte, error) {
	want := limit + 1
	if hint >= 0 && hint < limit {
		want = hint + 1
	}
	dst = dst[:0]
	var room int64
	for {
		if int64(len(dst)) == room {
			next := min(max(2*room, firstBodyStep), want)
			if next <= room {
				// Longer than it said (net/http stops a body at its declared
				// length, so unreachable): room as for an unknown length.
				want = limit + 1
				next = max(min(max(2*room, firstBodyStep), want), room+1)
			}
			if err := b.room(next - room); err != nil {
				return dst, err
			}
			room = next
			if int64(cap(dst)) < room {
				grown := make([]byte, len(dst), room)
				copy(grown, dst)
				dst = grown
			}
		}
		n, err := r.Read(dst[len(dst):room])
		if n > 0 {
			if b.hash != nil {
				b.hash.Write(dst[len(dst) : len(dst)+n])
			}
			dst = dst[:len(dst)+n]
			b.deadline(int64(len(dst)))
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				err = errTooSlow
			}
			return dst, err
		}
	}
}

// room takes n more bytes of MaxBufferedBytes.
func (b *bodyReader) room(n int64) error {
	if b.s == nil || b.s.buffers == nil {
		return nil
	}
	return b.s.reserve(b.ctx, b.st, n)
}

// deadline sets the read deadline of a body of which received bytes have
// arrived: TransferTimeout + received/MinTransferRate after the start.
func (b *bodyReader) deadline(received int64) {
	if b.s == nil {
		return
	}
	// Some ResponseWriters (tests') can not set deadlines: none then.
	b.rc.SetReadDeadline(b.start.Add(b.s.transferTime(received)))
}

// transferTime is the time a client has to send or take n bytes.
func (s *Server) transferTime(n int64) time.Duration {
	d := s.opts.TransferTimeout
	if rate := s.opts.MinTransferRate; rate > 0 {
		d += time.Duration(float64(n) / float64(rate) * float64(time.Second))
	}
	return d
}

// readBody reads the body of an invocation into st.inv.body under the
// server's bounds, hashing it when requests are signed, and returns its
// SHA-256 then (nil otherwise).
func (s *Server) readBody(st *reqState, r *http.Request) (sum []byte, err error) {
	st.rc = *http.NewResponseController(st.w) // a copy in st: no allocation
	// Each body gets up to a quarter of TransferTimeout more, at random:
	// hundreds of clients that stall at once are then not all dropped in
	// the same millisecond, whose work would stall the requests around it.
	jitter := time.Duration(rand.Int64N(int64(s.opts.TransferTimeout)/4 + 1))
	b := bodyReader{s: s, st: st, ctx: r.Context(), rc: &st.rc, start: time.Now().Add(jitter)}
	b.deadline(0)
	defer func() {
		if err == nil {
			// Clear the deadline once the body is in: the connection is not
			// read again until the response is sent (but for net/http's
			// check that the client is still there, which must not time
			// out meanwhile).
			b.rc.SetReadDeadline(time.Time{})
		}
	}()
	if s.opts.SigV4 != nil {
		if st.hash == nil {
			st.hash = sha256.New()
		}
		st.hash.Reset()
		b.hash = st.hash
	}
	limit := s.opts.MaxPayloadBytes
	// The MaxBytesReader gets net/http's own ResponseWriter, which it tells
	// to close the connection rather than drain an oversized body.
	st.inv.body, err = b.read(st.inv.body, http.MaxBytesReader(st.w, r.Body, limit), r.ContentLength, limit)
	if err != nil {
		return nil, err
	}
	st.body = false // read to its end
	if b.hash == nil {
		return nil, nil
	}
	return b.hash.Sum(st.sum[:0]), nil
}

// writeDeadline gives a response of n bytes its deadline:
// TransferTimeout + n/MinTransferRate from now.
func (s *Server) writeDeadline(st *reqState, n int) {
	st.rc = *http.NewResponseController(st.w)
	st.rc.SetWriteDeadline(time.Now().Add(s.transferTime(int64(n))))
}
