//go:build unix

// Package cputime reads the CPU time the process has used, for benchmarks
// that report work done per CPU-second: on a machine shared with other
// work that measures the work better than the wall clock does.
package cputime

import (
	"syscall"
	"time"
)

// Process returns the user and system CPU time of the process so far, or 0
// where it cannot be read.
func Process() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
