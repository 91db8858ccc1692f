package ipinsights

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// pool runs the phases of training on a fixed set of workers: worker 0 is
// the goroutine that calls run, workers 1..n-1 are helper goroutines that
// live from newPool to close.
//
// A phase is a number of items cut into one range a worker; each worker
// takes its range in blocks through its own cursor, then takes blocks from
// the others' ranges, so every item runs exactly once and a slow worker is
// helped. run returns when every item has run; whatever the items wrote is
// then visible to the caller.
//
// Phases are short and follow each other closely, and waking a parked
// thread costs a noticeable part of a phase, on virtual machines above all
// (see the README's Performance section). So a helper that finishes a phase
// spins for a while (spinFor), watching gen, before it parks on its wake
// channel; run only sends to helpers that parked. Spinning is skipped when
// there are more workers than Ps: a spinning helper would then hold a P
// that a working one needs.
//
// One goroutine at a time may call run and close.
type pool struct {
	n    int
	spin bool

	// The current phase: its task and block size, and one cursor a worker.
	// They are written by start before gen is incremented, which publishes
	// them to the helpers.
	task  func(w, lo, hi int)
	block int
	cur   []cursor

	gen     atomic.Uint32 // phases started
	pending atomic.Int32  // helpers still working on the current phase
	asleep  []atomic.Bool
	wake    []chan struct{}
	quit    chan struct{}
	done    sync.WaitGroup
}

// cursor is the next item of one worker's range; it has a cache line to
// itself, as the owner updates it for every block.
type cursor struct {
	_    [64]byte
	next atomic.Int64
	end  int
	_    [48]byte
}

// spinFor bounds how long an idle helper spins before it parks; it covers
// the serial work between phases and batches.
const spinFor = 200 * time.Microsecond

// newPool starts a pool of workers workers (at least 1); close stops it.
func newPool(workers int) *pool {
	if workers < 1 {
		panic("ipinsights: pool of fewer than one worker")
	}
	p := &pool{
		n:      workers,
		spin:   workers <= runtime.GOMAXPROCS(0),
		cur:    make([]cursor, workers),
		asleep: make([]atomic.Bool, workers),
		wake:   make([]chan struct{}, workers),
		quit:   make(chan struct{}),
	}
	for w := 1; w < workers; w++ {
		p.wake[w] = make(chan struct{}, 1)
		p.done.Add(1)
		go p.helper(w)
	}
	return p
}

// close stops the helpers and waits for them to end.
func (p *pool) close() {
	close(p.quit)
	p.done.Wait()
}

func (p *pool) helper(w int) {
	defer p.done.Done()
	var seen uint32
	for p.await(w, seen) {
		seen++ // run starts the next phase only once all helpers are done
		p.work(w)
		p.pending.Add(-1)
	}
}

// run runs task over the items 0 to cuts[n], n the number of workers, and
// waits: worker w's range is cuts[w] to cuts[w+1], and task(w, lo, hi) runs
// items lo to hi on worker w, at most block of them. The cuts must ascend
// from cuts[0] = 0; run does not keep them.
func (p *pool) run(cuts []int, block int, task func(w, lo, hi int)) {
	if !p.start(cuts, block, task) {
		return
	}
	p.wakeParked()
	p.finish()
}

// start sets up a phase and, with helpers, starts it; it reports false when
// the phase has no items. The steps of run are separate so that tests can
// delay between them.
func (p *pool) start(cuts []int, block int, task func(w, lo, hi int)) bool {
	if len(cuts) != p.n+1 {
		panic("ipinsights: pool.run: cuts must have one entry a worker, plus one")
	}
	if cuts[p.n] == 0 {
		return false
	}
	p.task, p.block = task, block
	for w := range p.cur {
		p.cur[w].next.Store(int64(cuts[w]))
		p.cur[w].end = cuts[w+1]
	}
	if p.n > 1 {
		p.pending.Store(int32(p.n - 1))
		p.gen.Add(1) // publishes the fields above to the helpers
	}
	return true
}

// wakeParked wakes the helpers that parked.
func (p *pool) wakeParked() {
	for w := 1; w < p.n; w++ {
		if p.asleep[w].Load() && p.asleep[w].CompareAndSwap(true, false) {
			p.wake[w] <- struct{}{}
		}
	}
}

// finish runs worker 0's share of the started phase and waits for the
// helpers.
func (p *pool) finish() {
	p.work(0)
	// The helpers finish at about the same time as worker 0: spin.
	for i := 0; p.pending.Load() != 0; i++ {
		if i%16 == 15 || !p.spin {
			runtime.Gosched()
		}
	}
}

// await waits until a phase after the seen-th has started, and reports
// false when the pool is closed instead.
func (p *pool) await(w int, seen uint32) bool {
	if p.spin {
		var began time.Time
		for i := 0; ; i++ {
			if p.gen.Load() != seen {
				return true
			}
			if i%64 == 63 {
				if began.IsZero() {
					began = time.Now()
				} else if time.Since(began) > spinFor {
					break
				}
				runtime.Gosched()
			}
		}
	}
	for {
		// Announce the parking before checking gen again: either run sees
		// asleep and sends a wake-up, or this check sees the new phase (or
		// both, and the compare-and-swap decides whether a wake-up comes).
		p.asleep[w].Store(true)
		if p.gen.Load() != seen && p.asleep[w].CompareAndSwap(true, false) {
			return true
		}
		select {
		case <-p.wake[w]:
			// The wake-up can be stale: run, delayed between starting a
			// phase and checking asleep, may see this helper parking again
			// after it already ran that phase.
			if p.gen.Load() != seen {
				return true
			}
		case <-p.quit:
			return false
		}
	}
}

// work runs worker w's range of the current phase, then helps with the
// others'.
func (p *pool) work(w int) {
	task, block := p.task, p.block
	for k := range p.n {
		c := &p.cur[(w+k)%p.n]
		for {
			lo := int(c.next.Add(int64(block))) - block
			if lo >= c.end {
				break
			}
			task(w, lo, min(lo+block, c.end))
		}
	}
}
