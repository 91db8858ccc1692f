package inference

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// benchBody returns a request body of format f holding 1000 records; with
// extra, each JSON instance also carries members the decoder skips, as
// clients that send their own ids and metadata do.
func benchBody(b *testing.B, f Format, extra bool) []byte {
	recs := make([]ipinsights.Pair, 1000)
	for i := range recs {
		recs[i] = ipinsights.Pair{Entity: fmt.Sprintf("user-%04d@example.com", i), IP: netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 1})}
	}
	body, err := AppendRequest(nil, f, recs)
	if err != nil {
		b.Fatal(err)
	}
	if extra {
		meta := `{"id":12345,"tags":["a","b\u00e9"],"meta":{"score":-1.5e3,"ok":true,"note":null},"features":`
		body = []byte(strings.ReplaceAll(string(body), `{"features":`, meta))
	}
	return body
}

// BenchmarkRequestDecoder measures the JSON request decoders alone (MB/s
// of request body), with and without members to skip.
func BenchmarkRequestDecoder(b *testing.B) {
	for _, bc := range []struct {
		name  string
		f     Format
		extra bool
	}{
		{"JSON", JSON, false},
		{"JSONLines", JSONLines, false},
		{"JSONSkip", JSON, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			body := benchBody(b, bc.f, bc.extra)
			var d RequestDecoder
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				d.Reset(bc.f, body)
				n := 0
				for d.Next() {
					n++
				}
				if d.Err() != nil || n != 1000 {
					b.Fatal(n, d.Err())
				}
			}
		})
	}
}
