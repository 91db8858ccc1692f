package awstest

import (
	"encoding/json"
	"io"
	"net/http"
	"sync/atomic"

	"github.com/ipinsights/ipinsights-go/csvio"
	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// Endpoint stands in for an IP Insights endpoint behind the SageMaker
// Runtime API: POST /endpoints/{Name}/invocations with SageMaker's request
// and response formats (package csvio), scored by Model.
type Endpoint struct {
	Name  string
	Model *ipinsights.Model
	// ExtraPrediction makes every response hold one prediction too many,
	// to test the caller's checks.
	ExtraPrediction bool
	// Requests counts the invocations answered.
	Requests atomic.Int64
}

// ServeHTTP answers one invocation.
func (e *Endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, typ, msg string) {
		w.Header().Set("X-Amzn-ErrorType", typ)
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
	}
	if r.Method != http.MethodPost || r.URL.Path != "/endpoints/"+e.Name+"/invocations" {
		fail(http.StatusBadRequest, "ValidationError", "Endpoint not found.")
		return
	}
	f, err := csvio.ParseContentType(r.Header.Get("Content-Type"))
	if err != nil {
		fail(http.StatusUnsupportedMediaType, "ValidationError", err.Error())
		return
	}
	rf, err := csvio.ParseAccept(r.Header.Get("Accept"))
	if err != nil {
		fail(http.StatusNotAcceptable, "ValidationError", err.Error())
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 6<<20))
	if err != nil {
		fail(http.StatusBadRequest, "ValidationError", err.Error())
		return
	}
	recs, err := csvio.DecodeRequest(f, body)
	if err != nil {
		fail(http.StatusFailedDependency, "ModelError", err.Error())
		return
	}
	e.Requests.Add(1)
	preds := make([]csvio.Prediction, len(recs), len(recs)+1)
	for i, rec := range recs {
		preds[i].DotProduct = e.Model.Score(rec.Entity, rec.IP).DotProduct
	}
	if e.ExtraPrediction {
		preds = append(preds, csvio.Prediction{})
	}
	w.Header().Set("Content-Type", rf.Format.MediaType())
	_, _ = w.Write(csvio.AppendResponse(nil, rf, preds))
}
