// Package host describes the machine and the process that a benchmark
// harness runs in: the CPU model to print beside its figures, and the
// process's peak resident set. Both read /proc (Linux); elsewhere they say
// they do not know.
package host

import (
	"os"
	"runtime"
	"strconv"
	"strings"
)

// CPUModel returns the model name of the first CPU, as lscpu shows it, or
// "unknown (GOARCH)".
func CPUModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				return strings.TrimSpace(v)
			}
		}
	}
	return "unknown (" + runtime.GOARCH + ")"
}

// PeakRSS returns the peak resident set size of this process in bytes
// (VmHWM of /proc/self/status), or -1 when unknown. A child started with
// exec has its own (getrusage's ru_maxrss would carry the parent's over).
func PeakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return -1
			}
			return kb << 10
		}
	}
	return -1
}
