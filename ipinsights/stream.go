package ipinsights

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/ipinsights/ipinsights-go/csvio"
	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/rng"
	"github.com/ipinsights/ipinsights-go/sampler"
)

// Stream is training data that TrainStream reads from CSV files again for
// every epoch, instead of holding it all in memory: what SageMaker's File
// mode does with a training channel (it copies the files to the instance's
// disk, and the algorithm reads them there, epoch after epoch).
//
// TrainStream holds Window rows at a time, twice that while it reads the
// next window during training. Shuffling then means this: every epoch, the
// rows of each window of Window consecutive rows are shuffled among
// themselves, and the windows come in the order of the files. Two rows
// further apart than a window never share a batch, and a batch's shuffled
// negatives come from its window. Files whose order is already random (as
// synth writes them) lose nothing to this; files ordered by time or by
// entity train on batches less varied than Train's, which shuffles all the
// rows every epoch (the README's Scale section has a measurement).
type Stream struct {
	// Files are read in this order, every epoch. Each may be gzip
	// compressed.
	Files []string
	// CSV sets how the files are read (lenient or strict and so on); its
	// Name is set to each file's path.
	CSV csvio.Options
	// Window is the number of consecutive rows shuffled together, rounded
	// down to whole batches; 0 means DefaultWindow.
	Window int
}

// DefaultWindow is the window of a Stream whose Window is 0: 4,194,304
// rows, 32 MiB of IPv4 rows a window; TrainStream holds two windows and
// their 16 MiB of shuffled row ids.
const DefaultWindow = 1 << 22

// TrainStream trains a model as Train does, on the rows of s read from its
// files every epoch (see Stream for what shuffling then means). In
// lenient mode it returns the skip report of each file, from the first
// epoch; a malformed row in strict mode stops training with an error that
// names its file and line.
//
// Metrics.Batches is 0 in the reports of the first epoch, whose length is
// not known until the files have been read through. The model depends on
// the seed, the data and Window, not on the number of workers.
func TrainStream(ctx context.Context, cfg Config, s Stream, opts *TrainOptions) (*Model, []*csvio.SkipReport, error) {
	if opts == nil {
		opts = &TrainOptions{}
	}
	workers := opts.Workers
	switch {
	case workers < 0:
		return nil, nil, fmt.Errorf("ipinsights: TrainOptions.Workers is %d; want 0 (GOMAXPROCS) or more", workers)
	case workers == 0:
		workers = runtime.GOMAXPROCS(0)
	}
	if len(s.Files) == 0 {
		return nil, nil, ErrNoData
	}
	if s.Window < 0 {
		return nil, nil, fmt.Errorf("ipinsights: Stream.Window is %d; want 0 (DefaultWindow) or more", s.Window)
	}
	began := time.Now()
	m, st, err := startModel(cfg, opts.Init)
	if err != nil {
		return nil, nil, err
	}
	if err := checkStateEpochs(st, cfg, opts.SaveOptimizerState); err != nil {
		return nil, nil, err
	}
	window := s.Window
	if window == 0 {
		window = DefaultWindow
	}
	t := newTrainer(m, window, workers)
	t.continueFrom(st)
	p := t.src.smp.Positives()
	window = max(p, window/p*p)
	skips, err := t.streamLoop(ctx, s, window, began, opts)
	t.close()
	m.invalidate()
	if err != nil {
		return nil, skips, err
	}
	t.finish(opts.SaveOptimizerState)
	return m, skips, nil
}

// streamLoop trains the epochs on the windows of s.
func (t *trainer) streamLoop(ctx context.Context, s Stream, window int, began time.Time, opts *TrainOptions) ([]*csvio.SkipReport, error) {
	rep := newReporter(t, began, opts)
	p := t.src.smp.Positives()
	stores := [2]*rowStore{{}, {}}
	ids := make([]uint32, 0, window)
	var skips []*csvio.SkipReport
	batches := 0 // of an epoch, known after the first
	for ep := 1; ep <= t.cfg.Epochs; ep++ {
		rep.startEpoch(ep)
		rctx, cancel := context.WithCancel(ctx)
		rd := startWindows(rctx, s, window, stores)
		b, k := 0, 0
		var trainErr error
		for w := range rd.full {
			if trainErr == nil {
				ord := &order{rows: w.rows, ids: w.rows.ids(ids[:0])}
				sampler.Shuffle(ord.ids, rng.New(t.cfg.Seed, rng.Stream(0x73687566, uint64(t.ep0+ep), uint64(k)))) // "shuf"
				trainErr = t.runBatches(ctx, ord, b, batches, w.last, rep)
				b += (ord.Len() + p - 1) / p
				if ep == 1 {
					w.rows.addEntitiesTo(&t.m.seen)
				}
				t.forget()
			}
			if trainErr != nil {
				cancel()
			}
			rd.free <- w.rows
			k++
		}
		cancel()
		if trainErr != nil {
			return rd.skips, trainErr
		}
		if rd.err != nil {
			return rd.skips, rd.err
		}
		skips = rd.skips
		if b == 0 {
			return skips, ErrNoData
		}
		batches = b
		rep.endEpoch(batches)
	}
	return skips, nil
}

// forget drops the trainer's references to the batches it trained, so that
// their rows can be reused.
func (t *trainer) forget() {
	t.cur.job, t.next.job = batchJob{}, batchJob{}
	t.cur.ready, t.next.ready = false, false
}

// windowReader reads the windows of a Stream on a goroutine of its own,
// into two row stores that it and the trainer pass back and forth: it
// fills one while the trainer trains on the other.
type windowReader struct {
	full  chan filled
	free  chan *rowStore
	err   error               // set before full is closed
	skips []*csvio.SkipReport // set before full is closed
}

// filled is a window ready for training; last marks the epoch's last.
type filled struct {
	rows *rowStore
	last bool
}

// startWindows starts reading the windows of s of window rows into the
// stores.
func startWindows(ctx context.Context, s Stream, window int, stores [2]*rowStore) *windowReader {
	rd := &windowReader{full: make(chan filled), free: make(chan *rowStore, 2)}
	for _, st := range stores {
		st.reset()
		rd.free <- st
	}
	go func() {
		defer close(rd.full)
		rd.err = rd.read(ctx, s, window)
	}()
	return rd
}

// read reads the files of s, sending each window once the row after it has
// been read (or the files have ended), so that it knows whether the window
// is the last.
func (rd *windowReader) read(ctx context.Context, s Stream, window int) error {
	var cur *rowStore
	send := func(last bool) bool {
		select {
		case rd.full <- filled{rows: cur, last: last}:
			cur = nil
			return true
		case <-ctx.Done():
			return false
		}
	}
	take := func() bool {
		select {
		case cur = <-rd.free:
			cur.reset()
			return true
		case <-ctx.Done():
			return false
		}
	}
	if !take() {
		return ctx.Err()
	}
	for _, name := range s.Files {
		o := s.CSV
		o.Name = name
		r, err := csvio.Open(name, o)
		if err != nil {
			return err
		}
		done := ctx.Done()
		for n := 0; ; n++ {
			if n%ctxCheckRows == 0 {
				select {
				case <-done:
					r.Close()
					return stopped(r, ctx.Err())
				default:
				}
			}
			if !r.Next() {
				break
			}
			if cur.n == window {
				if !send(false) || !take() {
					r.Close()
					return stopped(r, ctx.Err())
				}
			}
			cur.addIP(embedding.EntityHashBytes(r.Entity()), r.Addr())
		}
		r.Close()
		rd.skips = append(rd.skips, r.Skipped())
		if err := r.Err(); err != nil {
			return err
		}
	}
	if cur.n > 0 && !send(true) {
		return ctx.Err()
	}
	return nil
}
