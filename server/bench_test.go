package server

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/ipinsights/ipinsights-go/inference"

	"github.com/ipinsights/ipinsights-go/internal/bench/cputime"
	"github.com/ipinsights/ipinsights-go/internal/test/testmodel"
	"github.com/ipinsights/ipinsights-go/ipinsights"
)

var bench128 = sync.OnceValues(func() (*ipinsights.Model, error) {
	m, err := testmodel.Train(3, 128, 4000)
	if err != nil {
		return nil, err
	}
	// Calibrated, with a network history, for percentile=True and
	// explain=True; what else a request gets does not change.
	data := ipinsights.NewDataset()
	for _, p := range testmodel.Pairs(3, 100, 4000) {
		data.Add(p.Entity, p.IP)
	}
	c, err := m.Calibrate(context.Background(), data, &ipinsights.CalibrationOptions{MinEntityPairs: 20})
	if err != nil {
		return nil, err
	}
	return m.WithCalibration(c).WithNetworkHistory(context.Background(), data, nil)
})

// benchServer returns a Server of a vector_dim 128 model (SageMaker's
// tutorial size).
func benchServer(b *testing.B) *Server {
	m, err := bench128()
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(m, Options{})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// benchInvocations measures the handler alone (no network): parsing,
// scoring and encoding a request of rows records, answered in accept.
func benchInvocations(b *testing.B, format inference.Format, accept string, rows int) {
	_, _, recs := models(b)
	s := benchServer(b)
	in := make([]ipinsights.Pair, rows)
	for i := range in {
		in[i] = ipinsights.Pair{Entity: fmt.Sprintf("user-%03d", i%150), IP: recs[i%3].IP}
	}
	body, err := inference.AppendRequest(nil, format, in)
	if err != nil {
		b.Fatal(err)
	}
	serve, _ := inMemory(s, format.MediaType(), accept, body)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for range b.N {
		if serve() != 200 {
			b.Fatal("not 200")
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkInvocationsCSV1000(b *testing.B)  { benchInvocations(b, inference.CSV, "", 1000) }
func BenchmarkInvocationsJSON1000(b *testing.B) { benchInvocations(b, inference.JSON, "", 1000) }
func BenchmarkInvocationsJSONLines1000(b *testing.B) {
	benchInvocations(b, inference.JSONLines, "", 1000)
}
func BenchmarkInvocationsCSV1(b *testing.B) { benchInvocations(b, inference.CSV, "", 1) }

// BenchmarkInvocationsVerbose100 answers with embeddings (vector_dim 128).
func BenchmarkInvocationsVerbose100(b *testing.B) {
	benchInvocations(b, inference.CSV, "application/json; verbose=True", 100)
}

// BenchmarkInvocationsPercentile1000 and BenchmarkInvocationsExplain1000
// answer with percentiles, and with percentiles and explanations.
func BenchmarkInvocationsPercentile1000(b *testing.B) {
	benchInvocations(b, inference.CSV, "application/jsonlines; percentile=True", 1000)
}
func BenchmarkInvocationsExplain1000(b *testing.B) {
	benchInvocations(b, inference.CSV, "application/jsonlines; explain=True", 1000)
}

// benchSigned measures the handler on a request of rows records signed
// with SigV4, verified by the server, against the same unsigned.
func benchSigned(b *testing.B, rows int) {
	for _, auth := range []bool{false, true} {
		b.Run(fmt.Sprintf("sigv4=%t", auth), func(b *testing.B) {
			m, err := bench128()
			if err != nil {
				b.Fatal(err)
			}
			var opts Options
			if auth {
				opts.SigV4 = newVerifier(b)
			}
			s, err := New(m, opts)
			if err != nil {
				b.Fatal(err)
			}
			in := make([]ipinsights.Pair, rows)
			_, _, recs := models(b)
			for i := range in {
				in[i] = ipinsights.Pair{Entity: fmt.Sprintf("user-%03d", i%150), IP: recs[i%3].IP}
			}
			body, err := inference.AppendRequest(nil, inference.CSV, in)
			if err != nil {
				b.Fatal(err)
			}
			serve, req := inMemoryRequest(s, "text/csv", body)
			if auth {
				signInto(b, req, body)
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cputime.Process()
			for range b.N {
				if code := serve(); code != 200 {
					b.Fatal(code)
				}
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
			if cpu > 0 {
				b.ReportMetric(float64((cputime.Process()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
			}
		})
	}
}

// BenchmarkInvocationsSigV4: what verifying a signature adds to a
// one-row and a 1000-row request, body hashing included.
func BenchmarkInvocationsSigV4(b *testing.B) {
	b.Run("rows=1", func(b *testing.B) { benchSigned(b, 1) })
	b.Run("rows=1000", func(b *testing.B) { benchSigned(b, 1000) })
}
