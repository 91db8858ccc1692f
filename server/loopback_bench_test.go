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
