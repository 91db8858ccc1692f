package server

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/ipinsights/ipinsights-go/alert"
	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/inference"
	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// invocation holds the buffers of one invocation, reused across requests
// so that scoring a request allocates nothing per row.
type invocation struct {
	body    []byte
	dec     inference.RequestDecoder
	tuples  []embedding.Tuple
	results []ipinsights.Result
	emb     []float32                        // verbose requests: the embeddings of the record being written
	preds   *[predChunk]inference.Prediction // scores only: no embeddings; allocated on first use, so that a request that never scores (a stalled one) does not allocate it
	resp    inference.ResponseAppender
	out     []byte
	// percentile=True and explain=True: the explanations of up to
	// explainChunk records, from record expl0 on; the record whose
	// members are being written; and the members of the predictions
	// being written.
	expls []ipinsights.Explanation
	expl0 int
	rec   alert.Record
	extra []byte
	// ann annotates explained records with their AS (Options.ASLookup);
	// nil without one. Created on first use, kept with the pooled state
	// so that its caches serve the next requests.
	ann *alert.Annotator
}

// maxPooledBytes and maxPooledRecords bound the buffers kept for reuse, so
// that a rare huge request does not pin its memory.
const (
	maxPooledBytes   = 8 * MiB
	maxPooledRecords = 1 << 16
)

// predChunk is the number of records whose scores are written at a time.
const predChunk = 256

// explainChunk is the number of records explained at a time: an
// explanation takes a few hundred bytes, so a request's are not all held
// at once. A multiple of predChunk, and of the batch size from which
// explaining is spread over goroutines.
const explainChunk = 16 * predChunk

// invoke scores a request: POST /invocations and
// POST /endpoints/{name}/invocations. The body is read, and its signature
// checked, before the invocation takes a slot, so that slow clients and
// strangers hold none; the response is sent after it gave the slot back,
// when MaxBufferedBytes has room for it.
func (s *Server) invoke(st *reqState, r *http.Request) {
	if r.Method != http.MethodPost {
		s.methodNotAllowed(st, r, "POST")
		return
	}
	format, err := inference.ParseContentType(r.Header.Get("Content-Type"))
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
	rf, err := inference.ParseAccept(accept)
	if err != nil {
		s.fail(st, http.StatusNotAcceptable, "NotAcceptable", err.Error())
		return
	}
	if m := s.model.Load(); m == nil {
		s.fail(st, http.StatusServiceUnavailable, "ServiceUnavailable", "no model loaded yet")
		return
	} else if msg := unanswerable(m, rf); msg != "" { // before the body is read
		s.fail(st, http.StatusNotAcceptable, "NotAcceptable", msg)
		return
	}
	if r.ContentLength > s.opts.MaxPayloadBytes {
		s.tooLarge(st, r.ContentLength)
		return
	}

	inv := &st.inv
	defer inv.trim()
	sum, err := s.readBody(st, r)
	st.bytesIn = len(inv.body)
	switch {
	case err == nil:
	case isTooLarge(err):
		s.tooLarge(st, -1)
		return
	case err == errTooSlow:
		s.tooSlow(st)
		return
	case err == errBusy:
		s.buffersFull(st)
		return
	case r.Context().Err() != nil:
		s.fail(st, http.StatusBadRequest, "ValidationError", "request cancelled while its body was read")
		return
	default:
		s.fail(st, http.StatusBadRequest, "ValidationError", "reading the request body: "+err.Error())
		return
	}
	if sum != nil && !s.verify(st, r, sum) {
		return
	}
	if len(bytes.TrimSpace(inv.body)) == 0 {
		s.fail(st, http.StatusBadRequest, "ValidationError", "empty request body: want "+format.MediaType()+" records (entity, ip)")
		return
	}
	if err := s.acquire(r.Context(), st); err != nil {
		if err == errBusy {
			s.busy(st)
		} else {
			s.fail(st, http.StatusServiceUnavailable, "ServiceUnavailable", "request cancelled while waiting for a free invocation slot")
		}
		return
	}
	m := s.model.Load() // the model of when the invocation starts scoring
	if m == nil {
		s.fail(st, http.StatusServiceUnavailable, "ServiceUnavailable", "no model loaded")
		return
	}
	if msg := unanswerable(m, rf); msg != "" { // the model may have changed since
		s.fail(st, http.StatusNotAcceptable, "NotAcceptable", msg)
		return
	}
	if err := inv.decode(format); err != nil {
		s.fail(st, http.StatusBadRequest, "ValidationError", err.Error())
		return
	}
	rows := len(inv.tuples)
	if rf.Explain && s.opts.ASLookup != nil && inv.ann == nil {
		inv.ann = alert.NewAnnotator(s.opts.ASLookup)
	}
	if fit, ok := inv.respond(m, rf, s.opts.MaxResponseBytes, s.opts.ScoreWorkers); !ok {
		s.responseTooLarge(st, rf, fit, rows, m.VectorDim())
		return
	}
	// Send the response without the slot when there is room to keep it;
	// otherwise keep the slot, which bounds the responses held, while
	// sending it.
	if s.tryReserve(st, int64(len(inv.out))) {
		s.release(st)
	}
	h := st.Header()
	h["Content-Type"] = contentTypes[rf.Format]
	h["Content-Length"] = []string{strconv.Itoa(len(inv.out))}
	st.rows = rows
	s.writeDeadline(st, len(inv.out))
	st.WriteHeader(http.StatusOK)
	st.Write(inv.out)
}

// unanswerable returns why m can not give the members that rf asks for
// (percentile=True needs a calibration, explain=True a calibration and a
// network history), "" when it can. A client that asked for a member is
// told, rather than sent responses without it.
func unanswerable(m *ipinsights.Model, rf inference.ResponseFormat) string {
	if !rf.Percentile && !rf.Explain {
		return ""
	}
	param := "percentile=True"
	switch {
	case rf.Percentile && rf.Explain:
		param = "percentile=True and explain=True"
	case rf.Explain:
		param = "explain=True"
	}
	if m.Calibration() == nil {
		return "the model served has no calibration (the distribution of its scores over normal pairs), which " + param +
			" needs: ask without it, or serve a calibrated model"
	}
	if rf.Explain && !m.HasNetworkHistory() {
		return "the model served has no network history (each entity's usual networks), which explain=True needs: " +
			"ask without it (percentile=True needs a calibration only), or serve a model with a network history"
	}
	return ""
}

// tooSlow refuses an invocation whose body did not arrive in time.
func (s *Server) tooSlow(st *reqState) {
	st.limit = "TransferTimeout"
	msg := fmt.Sprintf("request body not received in time: it must start within %s", s.opts.TransferTimeout)
	if rate := s.opts.MinTransferRate; rate > 0 {
		msg += fmt.Sprintf(" and keep arriving at %d bytes per second or faster", rate)
	}
	s.fail(st, http.StatusRequestTimeout, "RequestTimeout", msg)
}

// buffersFull refuses an invocation whose body found no room in
// MaxBufferedBytes in time.
func (s *Server) buffersFull(st *reqState) {
	st.Header()["Retry-After"] = retryAfter
	st.limit = "MaxBufferedBytes"
	s.fail(st, http.StatusServiceUnavailable, "ServiceUnavailable", fmt.Sprintf(
		"server busy: the request and response bodies under way hold all %d bytes of their bound for %s; retry later",
		s.opts.MaxBufferedBytes, max(s.opts.QueueTimeout, 0)))
}

// busy refuses an invocation that found no free slot in time.
func (s *Server) busy(st *reqState) {
	st.Header()["Retry-After"] = retryAfter
	st.limit = "MaxConcurrent"
	s.fail(st, http.StatusServiceUnavailable, "ServiceUnavailable", fmt.Sprintf(
		"server busy: all %d invocation slots stayed taken for %s; retry later or send fewer requests at once",
		cap(s.sem), max(s.opts.QueueTimeout, 0)))
}

var retryAfter = []string{"1"}

// responseTooLarge refuses an invocation whose response would pass
// MaxResponseBytes, saying how many of its records fit.
func (s *Server) responseTooLarge(st *reqState, rf inference.ResponseFormat, fit, rows, dim int) {
	limit := s.opts.MaxResponseBytes
	advice := fmt.Sprintf("send at most %d records per request", fit)
	if fit == 0 {
		advice = "not even one record fits"
	}
	if rf.Verbose {
		advice += fmt.Sprintf(", or leave out verbose=True (it adds 2×%d embedding numbers to every record)", dim)
	}
	if rf.Explain {
		advice += ", or leave out explain=True (it adds the entity's usual networks to every record)"
	}
	st.limit = "MaxResponseBytes"
	s.fail(st, http.StatusRequestEntityTooLarge, "ResponseTooLarge", fmt.Sprintf(
		"the response would be larger than the %d-byte limit: only the first %d of the %d records fit in %s; %s",
		limit, fit, rows, rf, advice))
}

// tooLarge refuses a request body larger than MaxPayloadBytes; size is
// its declared length, or -1 when it passed the limit while being read.
func (s *Server) tooLarge(st *reqState, size int64) {
	limit := s.opts.MaxPayloadBytes
	msg := fmt.Sprintf("request body larger than the %d-byte limit (MaxPayloadInMB %d)", limit, max(1, limit/MiB))
	if size > 0 {
		msg = fmt.Sprintf("request body of %d bytes is larger than the %d-byte limit (MaxPayloadInMB %d)", size, limit, max(1, limit/MiB))
	}
	st.limit = "MaxPayloadBytes"
	s.fail(st, http.StatusRequestEntityTooLarge, "PayloadTooLarge", msg)
}

// decode reads the records of the body into tuples. The error is a
// *inference.RequestError.
func (inv *invocation) decode(format inference.Format) error {
	inv.tuples = inv.tuples[:0]
	d := &inv.dec
	d.Reset(format, inv.body)
	for d.Next() {
		inv.tuples = append(inv.tuples, embedding.NewTupleBytes(d.Entity(), d.Addr()))
	}
	return d.Err()
}

// respond scores the decoded records and writes the response in rf to
// inv.out a few records at a time (verbose ones one at a time), so that it
// stops as soon as the body grows past limit: a response that would not
// fit costs at most about limit bytes, whatever the format; the
// embeddings of a verbose record are written to inv.emb, which the next
// record reuses. The other responses' records are scored at once, over at
// most workers goroutines; explained ones explainChunk records at a time.
// It returns the number of records whose predictions fit and whether all
// of them did.
func (inv *invocation) respond(m *ipinsights.Model, rf inference.ResponseFormat, limit int64, workers int) (int, bool) {
	a := &inv.resp
	a.Reset(rf)
	out := inv.out[:0]
	var p [1]inference.Prediction
	fit := 0
	// members: the percentile and explanation, written by package alert
	// as the CLI writes them.
	f := alert.Fields{Percentile: rf.Percentile || rf.Explain, Explain: rf.Explain, AS: rf.Explain && inv.ann != nil}
	members := f.Percentile
	inv.expl0 = -1
	if rf.Verbose {
		dim := m.VectorDim()
		if cap(inv.emb) < 2*dim {
			inv.emb = make([]float32, 2*dim)
		}
		e, v := inv.emb[:dim:dim], inv.emb[dim:2*dim:2*dim]
		for i, t := range inv.tuples {
			res := m.ScoreTupleVerbose(e, v, t)
			p[0] = inference.Prediction{DotProduct: res.DotProduct, EntitySeen: res.EntitySeen, EntityEmbedding: e, IPEmbedding: v}
			if members {
				inv.extra = inv.appendMembers(inv.extra[:0], m, &f, i, res, workers)
				p[0].Extra = inv.extra
			}
			if out = a.Append(out, p[:]); int64(len(out)) > limit {
				break
			}
			if fit++; fit == 1 {
				out = presize(out, fit, len(inv.tuples), limit)
			}
		}
	} else {
		// predChunk records at a time, through the fixed inv.preds; the
		// chunk that passes the limit is written again record by record
		// to count the records that fit.
		if inv.preds == nil {
			inv.preds = new([predChunk]inference.Prediction)
		}
		if rf.Explain { // the scores come with the explanations
			inv.results = inv.results[:0]
		} else {
			inv.results = m.ScoreTuplesWorkers(inv.results[:0], inv.tuples, workers)
		}
		var ends [predChunk]int
		for lo := 0; lo < len(inv.tuples); {
			preds := inv.preds[:min(len(inv.tuples)-lo, predChunk)]
			for i := range preds {
				var res ipinsights.Result
				if rf.Explain {
					res = inv.explanation(m, lo+i, workers).Result
				} else {
					res = inv.results[lo+i]
				}
				preds[i] = inference.Prediction{DotProduct: res.DotProduct, EntitySeen: res.EntitySeen}
				if members {
					if i == 0 {
						inv.extra = inv.extra[:0]
					}
					inv.extra = inv.appendMembers(inv.extra, m, &f, lo+i, res, workers)
					ends[i] = len(inv.extra)
				}
			}
			if members { // once inv.extra has stopped growing
				at := 0
				for i := range preds {
					preds[i].Extra, at = inv.extra[at:ends[i]:ends[i]], ends[i]
				}
			}
			lo += len(preds)
			mark, saved := len(out), *a
			if out = a.Append(out, preds); int64(len(out)) <= limit {
				if fit == 0 {
					out = presize(out, len(preds), len(inv.tuples), limit)
				}
				fit += len(preds)
				continue
			}
			out, *a = out[:mark], saved
			for i := range preds {
				if out = a.Append(out, preds[i:i+1]); int64(len(out)) > limit {
					break
				}
				fit++
			}
			break
		}
	}
	inv.out = out
	if fit < len(inv.tuples) {
		return fit, false
	}
	if inv.out = a.Close(out); int64(len(inv.out)) > limit {
		return max(fit-1, 0), false // the closing "]}" did not fit: one record fewer would
	}
	return fit, true
}

// appendMembers appends to dst the members that f selects of record i,
// whose score is res: its percentile on m's calibration and, with
// f.Explain, its explanation. Records are asked for in order.
func (inv *invocation) appendMembers(dst []byte, m *ipinsights.Model, f *alert.Fields, i int, res ipinsights.Result, workers int) []byte {
	r := &inv.rec
	r.Result = res
	r.Percentile = m.Calibration().Percentile(inv.tuples[i].Entity, res.DotProduct)
	r.Explanation = nil
	if f.Explain {
		r.Explanation = inv.explanation(m, i, workers)
	}
	if f.AS {
		r.Addr = inv.tuples[i].Addr.Netip()
		inv.ann.Annotate(r)
	}
	return f.AppendJSONMembers(dst, r)
}

// explanation returns the explanation of record i, explaining it and the
// records after it, explainChunk at most, when they are not yet. Records
// are asked for in order.
func (inv *invocation) explanation(m *ipinsights.Model, i, workers int) *ipinsights.Explanation {
	if inv.expl0 < 0 || i >= inv.expl0+len(inv.expls) {
		inv.expl0 = i
		inv.expls = m.ExplainTuplesWorkers(inv.expls, inv.tuples[i:min(len(inv.tuples), i+explainChunk)], workers)
	}
	return &inv.expls[i-inv.expl0]
}

// presize grows out, in which the first n of rows records took len(out)
// bytes, to what the whole response takes at that rate and a little more,
// but no more than limit bytes (a larger response is refused anyway), so
// that a large response is not copied a dozen times as it grows.
func presize(out []byte, n, rows int, limit int64) []byte {
	want := int64(len(out)) / int64(n) * int64(rows)
	want = min(want+want/16, limit)
	if want > int64(cap(out)) {
		out = slices.Grow(out, int(want)-len(out))
	}
	return out
}

// trim drops references that must not outlive the request and buffers too
// large to keep.
func (inv *invocation) trim() {
	if cap(inv.body) > maxPooledBytes {
		inv.body = nil
	}
	if cap(inv.out) > maxPooledBytes {
		inv.out = nil
	}
	if cap(inv.tuples) > maxPooledRecords {
		inv.tuples, inv.results = nil, nil
	}
	if cap(inv.extra) > maxPooledBytes {
		inv.extra = nil
	}
	if inv.ann != nil && inv.ann.Cached() > maxPooledRecords {
		inv.ann = nil // its caches would keep tens of MB in every pooled state
	}
	inv.rec.Explanation = nil
	inv.dec.Reset(inference.CSV, nil)
}
