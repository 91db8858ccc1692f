package sigv4

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ipinsights/ipinsights-go/internal/bench/cputime"
)

// BenchmarkVerify measures Verify on a request as the server receives it
// from the AWS SDK for Go, for a one-row and a 1000-row text/csv body:
// "verify" is the signature alone (the body's hash given), "hash+verify"
// adds hashing the body, which a server does as the body arrives. The
// cpu-µs/op metric is the process's CPU time per request, which other
// processes' load on a shared machine does not inflate as it does ns/op.
func BenchmarkVerify(b *testing.B) {
	v := newVerifier(b)
	at := time.Now()
	for _, rows := range []int{1, 1000} {
		var body []byte
		for i := range rows {
			body = fmt.Appendf(body, "user-%03d,10.%d.%d.%d\n", i%150, i%256, i/256%256, i%7)
		}
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8080/endpoints/local/invocations", bytes.NewReader(body))
		req.Header.Set("Content-Type", "text/csv")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", "aws-sdk-go-v2/1.48.0 os/linux lang/go#1.26 md/GOOS#linux md/GOARCH#amd64 api/sagemakerruntime#1.50.4")
		req.Header.Set("Amz-Sdk-Invocation-Id", "6e7c1a5b-5d5b-4c4f-9a0c-0a3f2a9f3d11")
		req.Header.Set("Amz-Sdk-Request", "attempt=1; max=3")
		sign(b, req, body, testKey, "sagemaker", "us-east-1", at)
		h := sha256.Sum256(body)
		b.Run(fmt.Sprintf("verify/%drows", rows), func(b *testing.B) {
			b.ReportAllocs()
			cpu := cputime.Process()
			for range b.N {
				if _, err := v.Verify(req, h[:], at); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu)
		})
		b.Run(fmt.Sprintf("hash+verify/%drows", rows), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			cpu := cputime.Process()
			for range b.N {
				h := sha256.Sum256(body)
				if _, err := v.Verify(req, h[:], at); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu)
		})
	}
}

// reportCPU reports the process's CPU time per op since cpu0.
func reportCPU(b *testing.B, cpu0 time.Duration) {
	if cpu := cputime.Process() - cpu0; cpu0 > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
	}
}
