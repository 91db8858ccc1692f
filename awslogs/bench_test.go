package awslogs

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ipinsights/ipinsights-go/internal/maybegzip"
	"github.com/ipinsights/ipinsights-go/rng"
	"github.com/ipinsights/ipinsights-go/synth"
)

// benchLogs writes files .json.gz CloudTrail log files of perFile records
// each, shaped like real management events (about 1 KB of JSON each), and
// returns their paths and their uncompressed size.
func benchLogs(b *testing.B, files, perFile int) []string {
	b.Helper()
	r := rng.New(7, 7)
	dir := b.TempDir()
	start := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	var paths []string
	for f := 0; f < files; f++ {
		events := make([]synth.Event, perFile)
		for i := range events {
			u := r.IntN(500)
			var id *synth.Identity
			if u%3 == 0 {
				role := synth.IAMRole{Name: fmt.Sprintf("role-%d", u), ID: fmt.Sprintf("AROAEXAMPLE%09d", u), AccessKeyID: "ASIAEXAMPLE" + fmt.Sprint(u), Session: fmt.Sprintf("session-%d", r.IntN(20))}
				id = role.Identity("123456789012", start)
			} else {
				user := synth.IAMUser{Name: fmt.Sprintf("user-%d", u), ID: fmt.Sprintf("AIDAEXAMPLE%09d", u), AccessKeyID: "AKIAEXAMPLE" + fmt.Sprint(u)}
				id = user.Identity("123456789012")
			}
			events[i] = synth.Event{
				ID: synth.UUID(r), RequestID: synth.UUID(r),
				Time: start.Add(time.Duration(i) * time.Second), Identity: id,
				SourceIPAddress: netip.AddrFrom4([4]byte{byte(20 + u%200), byte(u), byte(r.IntN(256)), byte(r.IntN(256))}).String(),
				EventSource:     "ec2.amazonaws.com", EventName: "DescribeInstances", ReadOnly: true, Region: "us-east-1", Account: "123456789012",
				UserAgent:         "aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.1.0 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe command/ec2.describe-instances",
				RequestParameters: map[string]any{"instancesSet": map[string]any{}, "filterSet": map[string]any{"items": []any{map[string]any{"name": "instance-state-name", "valueSet": map[string]any{"items": []any{map[string]any{"value": "running"}}}}}}},
			}
		}
		lf := synth.LogFile{Account: "123456789012", Region: "us-east-1", Time: start.Add(time.Duration(f) * 5 * time.Minute), Unique: fmt.Sprintf("%04d", f), Events: events}
		path, err := lf.WriteFile(dir)
		if err != nil {
			b.Fatal(err)
		}
		paths = append(paths, path)
	}
	return paths
}

// BenchmarkCloudTrailGz measures end-to-end extraction from .json.gz
// files (decompression, decoding, keys, tuples) with two workers, the
// target machine's cores. Its records/s metric is the throughput
// target (>= 150,000 records/s on 2 cores).
func BenchmarkCloudTrailGz(b *testing.B) {
	paths := benchLogs(b, 16, 5000)
	root := filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(paths[0]))))
	discard := TupleWriterFunc(func(*Tuple) error { return nil })
	b.ResetTimer()
	records := 0
	start := time.Now()
	for i := 0; i < b.N; i++ {
		rep, err := ExtractCloudTrail(context.Background(), []string{root}, discard, &Options{Workers: 2})
		if err != nil || rep.Failed() || rep.Tuples != 16*5000 {
			b.Fatalf("%v %v", err, rep)
		}
		records += rep.Records
	}
	b.ReportMetric(float64(records)/time.Since(start).Seconds(), "records/s")
}

// BenchmarkCloudTrailDecoder measures the record parser alone on an
// uncompressed log file in memory (MB/s of JSON).
func BenchmarkCloudTrailDecoder(b *testing.B) {
	paths := benchLogs(b, 1, 5000)
	zr, err := os.Open(paths[0])
	if err != nil {
		b.Fatal(err)
	}
	r, err := maybegzip.NewReader(zr)
	if err != nil {
		b.Fatal(err)
	}
	data, err := io.ReadAll(r)
	zr.Close()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d := NewCloudTrailDecoder(bytes.NewReader(data), "x")
		n := 0
		for d.Next() {
			n++
		}
		if d.Err() != nil || n != 5000 {
			b.Fatal(d.Err(), n)
		}
	}
	b.ReportMetric(float64(len(data))/5000, "B/record")
}
