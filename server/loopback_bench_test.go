package server

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkLoopbackSingleRow measures one-row requests over loopback,
// client included, one at a time.
func BenchmarkLoopbackSingleRow(b *testing.B) {
	ts := httptest.NewServer(benchServer(b))
	defer ts.Close()
	body := []byte("user-001,10.1.2.3\n")
	c := ts.Client()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		resp, err := c.Post(ts.URL+"/invocations", "text/csv", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatal(resp.Status)
		}
	}
}

// BenchmarkLoopbackSingleRowSigV4 is BenchmarkLoopbackSingleRow with
// every request signed (by the client, as the SDKs do) and verified.
func BenchmarkLoopbackSingleRowSigV4(b *testing.B) {
	m, err := bench128()
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(m, Options{SigV4: newVerifier(b)})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(s)
	defer ts.Close()
	body := []byte("user-001,10.1.2.3\n")
	c := ts.Client()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		req, err := http.NewRequest(http.MethodPost, ts.URL+"/invocations", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Content-Type", "text/csv")
		signInto(b, req, body)
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatal(resp.Status)
		}
	}
}
