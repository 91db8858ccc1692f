package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ipinsights/ipinsights-go/inference"
)

// FuzzInvocations sends arbitrary bodies and headers through the whole
// handler: it must never panic, answer only with the documented statuses,
// give every record a prediction, and explain every error in JSON.
func FuzzInvocations(f *testing.F) {
	_, _, recs := models(f)
	_, m := explainedModels(f) // calibrated, with a network history
	for _, ct := range []string{"text/csv", "application/json", "application/jsonlines", "application/xml", ""} {
		for _, accept := range []string{"", "application/json; verbose=True", "application/jsonlines;seen=True", "text/csv", "image/png", "text/csv;verbose=True",
			"application/json;percentile=True", "application/jsonlines;explain=True;verbose=True", "text/csv;explain=True"} {
			f.Add(ct, accept, []byte("user-001, 10.0.0.1\nuser-002,::1\n"))
		}
	}
	for _, format := range []inference.Format{inference.CSV, inference.JSON, inference.JSONLines} {
		body, _ := inference.AppendRequest(nil, format, recs)
		f.Add(format.MediaType(), "application/json", body)
	}
	f.Add("application/json", "", []byte(`{"instances": [{"data": {"features": {"values": ["a", "1.2.3.4"]}}}, {"features": ["b", "10.10.1.2"]}]}`))
	f.Add("application/json", "", []byte(`{"instances":[{"features":["a","1.1.1.1"]},{"features":["b"]}]}`))
	f.Add("text/csv", "", bytes.Repeat([]byte("a,1.1.1.1\n"), 500)) // over the limit below
	f.Add("text/csv", "", []byte{})

	const limit = 4096
	s, err := New(m, Options{MaxPayloadBytes: limit})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, contentType, accept string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/invocations", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Accept", accept)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		switch w.Code {
		case 200:
			format, _ := inference.ParseContentType(contentType)
			rf, _ := inference.ParseAccept(accept)
			recs, err := inference.DecodeRequest(format, body)
			if err != nil {
				t.Fatalf("200 for a body the decoder rejects: %v", err)
			}
			preds, err := inference.DecodeResponse(rf.Format, w.Body.Bytes())
			if err != nil || len(preds) != len(recs) {
				t.Fatalf("%d predictions for %d records (%v)", len(preds), len(recs), err)
			}
			if got := w.Header().Get("Content-Type"); got != rf.Format.MediaType() {
				t.Fatalf("Content-Type %q, want %q", got, rf.Format.MediaType())
			}
		case 400, 406, 413, 415:
			var e struct{ Code, Message string }
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Code == "" || e.Message == "" {
				t.Fatalf("%d with body %q", w.Code, w.Body.Bytes())
			}
			if w.Code == 413 && len(body) <= limit {
				t.Fatalf("413 for %d bytes", len(body))
			}
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body.Bytes())
		}
	})
}
