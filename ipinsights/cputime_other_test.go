//go:build !unix

package ipinsights

import "time"

// cpuTime returns zero: getrusage is a Unix call.
func cpuTime() time.Duration { return 0 }
