package awslogs

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ipinsights/ipinsights-go/internal/bench/cputime"
)

// BenchmarkCloudTrailGzPerCPU decodes the files of BenchmarkCloudTrailGz
// with one worker and reports records per CPU-second of the process, a
// figure that other load on a shared machine disturbs less than wall
// time; twice it is what two idle cores would give.
func BenchmarkCloudTrailGzPerCPU(b *testing.B) {
	paths := benchLogs(b, 8, 5000)
	root := filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(paths[0]))))
	discard := TupleWriterFunc(func(*Tuple) error { return nil })
	b.ResetTimer()
	c0 := cputime.Process()
	n := 0
	for i := 0; i < b.N; i++ {
		rep, err := ExtractCloudTrail(context.Background(), []string{root}, discard, &Options{Workers: 1})
		if err != nil || rep.Failed() {
			b.Fatal(err, rep)
		}
		n += rep.Records
	}
	b.ReportMetric(float64(n)/(cputime.Process()-c0).Seconds(), "records/cpu-s")
}
