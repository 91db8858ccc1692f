package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"
)

// BenchmarkScoreExplain runs "score --explain" in-process on the model and
// input that IPINSIGHTS_EXPLAIN_MODEL and IPINSIGHTS_EXPLAIN_INPUT name
// (benchmarks/explainspeed -dir DIR makes them), writing to /dev/null, so
// that the command can be profiled:
//
//	go run ./benchmarks/explainspeed -dir /tmp/xs -runs 1
//	IPINSIGHTS_EXPLAIN_MODEL=/tmp/xs/model-10000-1-e2.bin IPINSIGHTS_EXPLAIN_INPUT=/tmp/xs/attack-10000-1-x5.csv \
//	  go test ./cmd/ipinsights -run XXX -bench ScoreExplain -benchtime 3x -cpuprofile cpu.out
//
// IPINSIGHTS_EXPLAIN_ARGS adds flags (such as "--format jsonl").
func BenchmarkScoreExplain(b *testing.B) {
	model, input := os.Getenv("IPINSIGHTS_EXPLAIN_MODEL"), os.Getenv("IPINSIGHTS_EXPLAIN_INPUT")
	if model == "" || input == "" {
		b.Skip("set IPINSIGHTS_EXPLAIN_MODEL and IPINSIGHTS_EXPLAIN_INPUT (see benchmarks/explainspeed)")
	}
	args := []string{"score", "--model", model, "--input", input, "--output", os.DevNull, "--explain"}
	args = append(args, strings.Fields(os.Getenv("IPINSIGHTS_EXPLAIN_ARGS"))...)
	var stderr bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr}
	for b.Loop() {
		stderr.Reset()
		if code := runMain(context.Background(), e, args); code != exitOK {
			b.Fatalf("exit %d: %s", code, stderr.Bytes())
		}
	}
}
