package ipinsights

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// poolCounts runs one phase of n items on p and returns how often each item
// ran; it also checks the arguments every task call gets.
func poolCounts(t *testing.T, p *pool, cuts []int, block int) []int32 {
	t.Helper()
	n := cuts[len(cuts)-1]
	counts := make([]atomic.Int32, n)
	var bad atomic.Int32
	p.run(cuts, block, func(w, lo, hi int) {
		if w < 0 || w >= p.n || lo < 0 || lo >= hi || hi > n || hi-lo > block {
			bad.Add(1)
			return
		}
		for i := lo; i < hi; i++ {
			counts[i].Add(1)
		}
	})
	assert.Zero(t, bad.Load(), "task calls with a bad worker or range")
	out := make([]int32, n)
	for i := range counts {
		out[i] = counts[i].Load()
	}
	return out
}

func TestPoolRunsEveryItemOnce(t *testing.T) {
	// 8 workers on the test machine's few Ps also covers the pool without
	// spinning (more workers than Ps).
	for _, workers := range []int{1, 2, 3, 8} {
		p := newPool(workers)
		for _, tc := range []struct {
			name  string
			cuts  func(n int) []int
			block int
		}{
			{"even", func(n int) []int { return evenlyCut(workers, n) }, 2},
			{"even, block larger than a range", func(n int) []int { return evenlyCut(workers, n) }, 1000},
			// Every item in worker 0's range: the others take blocks from
			// it.
			{"all in the first range", func(n int) []int {
				c := make([]int, workers+1)
				for w := 1; w <= workers; w++ {
					c[w] = n
				}
				return c
			}, 3},
			// Every item in the last worker's range, the others empty.
			{"all in the last range", func(n int) []int {
				c := make([]int, workers+1)
				c[workers] = n
				return c
			}, 1},
		} {
			for _, n := range []int{1, 7, 1000} {
				t.Run(fmt.Sprintf("workers=%d/%s/n=%d", workers, tc.name, n), func(t *testing.T) {
					for rep := range 20 { // consecutive phases reuse the helpers
						counts := poolCounts(t, p, tc.cuts(n), tc.block)
						for i, c := range counts {
							if c != 1 {
								t.Fatalf("phase %d: item %d ran %d times", rep, i, c)
							}
						}
					}
				})
			}
		}
		p.close()
	}
}

func evenlyCut(workers, n int) []int {
	c := make([]int, workers+1)
	for w := range c {
		c[w] = w * n / workers
	}
	return c
}

func TestPoolResultsVisibleAfterRun(t *testing.T) {
	// Every item writes its own slot, without atomics; run must make the
	// writes of the helpers visible to the caller (and -race must agree).
	p := newPool(4)
	defer p.close()
	dst := make([]int, 10000)
	for rep := 1; rep <= 5; rep++ {
		p.run(evenlyCut(4, len(dst)), 16, func(w, lo, hi int) {
			for i := lo; i < hi; i++ {
				dst[i] = rep * i
			}
		})
		sum := 0
		for i, v := range dst {
			if v != rep*i {
				t.Fatalf("phase %d: dst[%d] = %d, want %d", rep, i, v, rep*i)
			}
			sum += v
		}
		assert.Equal(t, rep*len(dst)*(len(dst)-1)/2, sum)
	}
}

func TestPoolEmptyPhase(t *testing.T) {
	p := newPool(2)
	defer p.close()
	ran := false
	p.run([]int{0, 0, 0}, 4, func(int, int, int) { ran = true })
	assert.False(t, ran)
	assert.Equal(t, uint32(0), p.gen.Load(), "an empty phase starts nothing")
	assert.Panics(t, func() { p.run([]int{0, 1}, 1, func(int, int, int) {}) }, "cuts of the wrong length")
	assert.Panics(t, func() { newPool(0) })
}

func TestPoolClose(t *testing.T) {
	// close ends every helper, whether spinning, parked or never used, and
	// returns; a closed pool leaves no goroutine behind.
	before := runtime.NumGoroutine()
	for _, phases := range []int{0, 1, 10} {
		for _, pause := range []time.Duration{0, 4 * spinFor} { // helpers spinning, then parked
			p := newPool(4)
			for range phases {
				poolCounts(t, p, evenlyCut(4, 100), 2)
			}
			time.Sleep(pause)
			closed := make(chan struct{})
			go func() {
				p.close()
				close(closed)
			}()
			select {
			case <-closed:
			case <-time.After(10 * time.Second):
				t.Fatalf("phases=%d pause=%v: close did not return", phases, pause)
			}
			assert.Equal(t, int32(0), p.pending.Load())
		}
	}
	// Goroutines that have returned can take a moment to be counted out.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), before, "goroutines left after close")
}

// TestPoolStaleWakeUp delays run between starting a phase and waking
// parked helpers, long enough for a spinning helper to run the phase and
// park again: the wake-up it then gets is stale, and must not make it run a
// phase that has not started (it used to, and the pool hung).
func TestPoolStaleWakeUp(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	p := newPool(2)
	require.True(t, p.spin)
	cuts := evenlyCut(2, 64)
	var ran atomic.Int64
	task := func(w, lo, hi int) { ran.Add(int64(hi - lo)) }
	const phases = 50
	for range phases {
		// run, with a delay between its steps.
		require.True(t, p.start(cuts, 1, task))
		time.Sleep(2 * spinFor)
		p.wakeParked()
		p.finish()
	}
	p.close()
	assert.Equal(t, int32(0), p.pending.Load())
	assert.Equal(t, uint32(phases), p.gen.Load())
	assert.Equal(t, int64(phases*64), ran.Load(), "every item of every phase ran once")
}
