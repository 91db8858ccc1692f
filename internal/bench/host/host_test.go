package host

import (
	"os"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPeakRSS(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		assert.Equal(t, int64(-1), PeakRSS())
		return
	}
	before := PeakRSS()
	assert.Positive(t, before)
	b := make([]byte, 64<<20)
	for i := range b {
		b[i] = 1 // touch every page
	}
	assert.GreaterOrEqual(t, PeakRSS(), before+60<<20, "64 MiB touched")
	runtime.KeepAlive(b)
}

func TestCPUModel(t *testing.T) {
	assert.NotEmpty(t, CPUModel())
}
