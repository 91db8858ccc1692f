//go:build unix

package ipinsights

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time (user and system) of the process so far. On
// a machine shared with other work it measures the work done better than
// the wall clock does; see cputime_other_test.go elsewhere.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
