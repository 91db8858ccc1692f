//go:build unix

package cputime

import (
	"testing"
	"time"
)

func TestProcessAdvancesWithWork(t *testing.T) {
	t0 := Process()
	if t0 <= 0 {
		t.Fatalf("Process() = %v at start; a running test has used CPU", t0)
	}
	deadline := time.Now().Add(5 * time.Second)
	sum := 0
	for Process() == t0 {
		if time.Now().After(deadline) {
			t.Fatal("CPU time did not advance in 5 s of busy work")
		}
		for i := range 100000 {
			sum += i
		}
	}
	_ = sum
}
