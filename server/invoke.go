package server

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/ipinsights/ipinsights-go/csvio"
	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/ipinsights/ipinsights-go/sampler"
)

// invocation holds the buffers of one invocation, reused across requests
// so that scoring a request allocates nothing per row.
type invocation struct {
	body    []byte
	dec     csvio.RequestDecoder
	tuples  []sampler.Tuple
	recs    []csvio.Record // verbose requests only
	results []ipinsights.Result
	preds   []csvio.Prediction
	out     []byte
}

// maxPooledBytes and maxPooledRecords bound the buffers kept for reuse, so
// that a rare huge request does not pin its memory.
const (
	maxPooledBytes   = 8 * MiB
	maxPooledRecords = 1 << 16
)

// invoke scores a request: POST /invocations and
// POST /endpoints/{name}/invocations.
func (s *Server) invoke(st *reqState, r *http.Request) {
	if r.Method != http.MethodPost {
		s.methodNotAllowed(st, r, "POST")
		return
	}
	format, err := csvio.ParseContentType(r.Header.Get("Content-Type"))
	if err != nil {
		s.fail(st, http.StatusUnsupportedMediaType, "UnsupportedMediaType", err.Error())
		return
	}
	if ce := r.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		s.fail(st, http.StatusUnsupportedMediaType, "UnsupportedMediaType", fmt.Sprintf("Content-Encoding %q is not supported: send the body as is", ce))
		return
	}
	accept := r.Header.Get("Accept")
	if vs := r.Header.Values("Accept"); len(vs) > 1 { // several Accept lines make one list
		accept = strings.Join(vs, ",")
	}
	rf, err := csvio.ParseAccept(accept)
	if err != nil {
		s.fail(st, http.StatusNotAcceptable, "NotAcceptable", err.Error())
		return
	}
	m := s.model.Load()
	if m == nil {
		s.fail(st, http.StatusServiceUnavailable, "ServiceUnavailable", "no model loaded yet")
		return
	}
	limit := s.opts.MaxPayloadBytes
	if r.ContentLength > limit {
		s.tooLarge(st, r.ContentLength)
		return
	}
	if !s.acquire(r.Context()) {
		s.fail(st, http.StatusServiceUnavailable, "ServiceUnavailable", "request cancelled while waiting for a free invocation slot")
		return
	}
	defer s.release()

	inv := &st.inv
	defer inv.trim()
	// The MaxBytesReader gets net/http's own ResponseWriter, which it tells
	// to close the connection rather than drain an oversized body.
	inv.body, err = readBody(inv.body, http.MaxBytesReader(st.w, r.Body, limit), r.ContentLength, limit)
	st.bytesIn = len(inv.body)
	if err != nil {
		if isTooLarge(err) {
			s.tooLarge(st, -1)
		} else {
			s.fail(st, http.StatusBadRequest, "ValidationError", "reading the request body: "+err.Error())
		}
		return
	}
	if len(bytes.TrimSpace(inv.body)) == 0 {
		s.fail(st, http.StatusBadRequest, "ValidationError", "empty request body: want "+format.MediaType()+" records (entity, ip)")
		return
	}
	if err := inv.decode(format, rf.Verbose); err != nil {
		s.fail(st, http.StatusBadRequest, "ValidationError", err.Error())
		return
	}
	inv.score(m, rf.Verbose)
	inv.out = csvio.AppendResponse(inv.out[:0], rf, inv.preds)
	h := st.Header()
	h["Content-Type"] = contentTypes[rf.Format]
	h["Content-Length"] = []string{strconv.Itoa(len(inv.out))}
	st.rows = len(inv.preds)
	st.WriteHeader(http.StatusOK)
	st.Write(inv.out)
}

func (s *Server) tooLarge(st *reqState, size int64) {
	limit := s.opts.MaxPayloadBytes
	msg := fmt.Sprintf("request body larger than the %d-byte limit (MaxPayloadInMB %d; see --max-payload-mb)", limit, max(1, limit/MiB))
	if size > 0 {
		msg = fmt.Sprintf("request body of %d bytes is larger than the %d-byte limit (MaxPayloadInMB %d; see --max-payload-mb)", size, limit, max(1, limit/MiB))
	}
	s.fail(st, http.StatusRequestEntityTooLarge, "PayloadTooLarge", msg)
}

// decode reads the records of the body into tuples, or for verbose
// responses into records with their entity strings (ScoreVerbose hashes
// them itself). The error is a *csvio.RequestError.
func (inv *invocation) decode(format csvio.Format, verbose bool) error {
	inv.tuples, inv.recs = inv.tuples[:0], inv.recs[:0]
	d := &inv.dec
	d.Reset(format, inv.body)
	for d.Next() {
		if verbose {
			inv.recs = append(inv.recs, csvio.Record{Entity: string(d.Entity()), IP: d.Addr()})
		} else {
			inv.tuples = append(inv.tuples, sampler.NewTupleBytes(d.Entity(), d.Addr()))
		}
	}
	return d.Err()
}

// score fills preds for the decoded records.
func (inv *invocation) score(m *ipinsights.Model, verbose bool) {
	n := len(inv.tuples)
	if verbose {
		n = len(inv.recs)
	}
	if cap(inv.preds) < n {
		inv.preds = make([]csvio.Prediction, n)
	}
	inv.preds = inv.preds[:n]
	if verbose {
		for i, rec := range inv.recs {
			res, e, v := m.ScoreVerbose(rec.Entity, rec.IP)
			inv.preds[i] = csvio.Prediction{DotProduct: res.DotProduct, EntitySeen: res.EntitySeen, EntityEmbedding: e, IPEmbedding: v}
		}
		return
	}
	inv.results = m.ScoreTuples(inv.results[:0], inv.tuples)
	for i, res := range inv.results {
		inv.preds[i] = csvio.Prediction{DotProduct: res.DotProduct, EntitySeen: res.EntitySeen}
	}
}

// trim drops references that must not outlive the request and buffers too
// large to keep.
func (inv *invocation) trim() {
	if len(inv.recs) > 0 { // verbose: predictions hold embeddings
		clear(inv.preds)
		clear(inv.recs)
	}
	if cap(inv.body) > maxPooledBytes {
		inv.body = nil
	}
	if cap(inv.out) > maxPooledBytes {
		inv.out = nil
	}
	if max(cap(inv.tuples), cap(inv.recs)) > maxPooledRecords {
		inv.tuples, inv.recs, inv.results, inv.preds = nil, nil, nil, nil
	}
	inv.dec.Reset(csvio.CSV, nil)
}
