package ipinsights

import (
	"context"
	"fmt"
	"iter"
	"math"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/ipinsights/ipinsights-go/csvio"
	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/internal/plural"
)

// Dataset is a list of encoded (entity, IP) pairs. It holds an IPv4 pair
// in 8 bytes and an IPv6 pair in 24, plus 16 to 32 bytes per distinct
// entity (see the package documentation's Memory section); a growing
// Dataset never copies the pairs it holds. It does not depend on
// hyperparameters, so one Dataset can train several models.
type Dataset struct {
	rows    rowStore
	invalid int // pairs given with an invalid address (see Add)
}

// NewDataset returns an empty Dataset.
func NewDataset() *Dataset { return &Dataset{} }

// Add appends a pair. A pair whose address is not valid (the zero
// netip.Addr) is not added but counted (see Invalid), and Train refuses the
// dataset: it would otherwise train on the address "::".
func (d *Dataset) Add(entity string, ip netip.Addr) {
	if !ip.IsValid() {
		d.invalid++
		return
	}
	d.rows.addIP(embedding.EntityHash(entity), ip)
}

// AddBytes is Add for an entity given as bytes; it does not retain entity.
func (d *Dataset) AddBytes(entity []byte, ip netip.Addr) {
	if !ip.IsValid() {
		d.invalid++
		return
	}
	d.rows.addIP(embedding.EntityHashBytes(entity), ip)
}

// Invalid returns the number of pairs given to Add or AddBytes with an
// invalid address, which were not added.
func (d *Dataset) Invalid() int { return d.invalid }

// AddTuples appends encoded pairs.
func (d *Dataset) AddTuples(ts ...embedding.Tuple) {
	for _, t := range ts {
		d.rows.add(t.Entity, t.Addr)
	}
}

// Len returns the number of pairs.
func (d *Dataset) Len() int { return d.rows.n }

// All returns the encoded pairs in the order they were added, without
// copying them.
func (d *Dataset) All() iter.Seq[embedding.Tuple] {
	return func(yield func(embedding.Tuple) bool) { d.rows.each(yield) }
}

// Tuples returns a copy of the encoded pairs, in the order they were
// added: 24 bytes a pair (All iterates over them without a copy).
func (d *Dataset) Tuples() []embedding.Tuple {
	ts := make([]embedding.Tuple, 0, d.Len())
	for t := range d.All() {
		ts = append(ts, t)
	}
	return ts
}

// IPv6 returns the number of pairs whose address is IPv6.
func (d *Dataset) IPv6() int { return d.rows.v6 }

// ReadDataset reads every row of r into a new Dataset. It stops at the
// first malformed row (a *csvio.ParseError) unless r is lenient. It
// checks ctx every few thousand rows: once ctx is done, it stops with an
// error that wraps ctx.Err() and names the file (r's Options.Name) and
// line.
func ReadDataset(ctx context.Context, r *csvio.Reader) (*Dataset, error) {
	d := NewDataset()
	done := ctx.Done()
	for n := 0; ; n++ {
		if n%ctxCheckRows == 0 {
			select {
			case <-done:
				return nil, stopped(r, ctx.Err())
			default:
			}
		}
		if !r.Next() {
			break
		}
		d.AddBytes(r.Entity(), r.Addr())
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	return d, nil
}

// ctxCheckRows is how many rows ReadDataset reads between looks at its
// context.
const ctxCheckRows = 4096

// stopped wraps err, the error of a done context, with where r stopped.
func stopped(r *csvio.Reader, err error) error {
	if name := r.Skipped().File; name != "" {
		return fmt.Errorf("%s: stopped at line %d: %w", name, r.Line(), err)
	}
	return fmt.Errorf("stopped at line %d: %w", r.Line(), err)
}

// LoadDataset reads a CSV file of entity,ip rows (gzip compressed or not)
// into a Dataset. With opts.Lenient, malformed rows are skipped and the
// returned report counts them; otherwise the first one is an error naming
// the file (opts.Name, else path) and line. A file with no well-formed row
// is an error too. When ctx is done, LoadDataset stops as ReadDataset
// does.
//
// An uncompressed file is parsed by runtime.GOMAXPROCS(0) goroutines at
// once, each taking a range of its lines (see csvio.OpenParts); the pairs
// keep the file's order, and errors and skipped rows keep its line numbers.
// Gzip data can only be read from its start: it is parsed on one
// goroutine.
func LoadDataset(ctx context.Context, path string, opts csvio.Options) (*Dataset, *csvio.SkipReport, error) {
	return loadDataset(ctx, path, opts, runtime.GOMAXPROCS(0))
}

// loadDataset is LoadDataset with up to n goroutines.
func loadDataset(ctx context.Context, path string, opts csvio.Options, n int) (*Dataset, *csvio.SkipReport, error) {
	p, err := csvio.OpenParts(path, n, opts)
	if err != nil {
		return nil, nil, err
	}
	defer p.Close()
	var d *Dataset
	if p.Len() == 1 {
		d, err = ReadDataset(ctx, p.Reader(0))
	} else {
		d, err = readParts(ctx, p)
	}
	if err != nil {
		return nil, p.Skipped(), err
	}
	if d.Len() == 0 {
		return nil, p.Skipped(), fmt.Errorf("%s: no data rows", path)
	}
	return d, p.Skipped(), nil
}

// readParts reads the parts of p on one goroutine each and joins their
// pairs in file order. A part stops early when a part before it failed:
// its rows would be dropped with the error.
func readParts(ctx context.Context, p *csvio.Parts) (*Dataset, error) {
	stores := make([]rowStore, p.Len())
	stopped := make([]error, p.Len())
	var failed atomic.Int64 // the first part that stopped with an error
	failed.Store(math.MaxInt64)
	var wg sync.WaitGroup
	for k := range stores {
		wg.Go(func() {
			r := p.Reader(k)
			s := &stores[k]
			done := ctx.Done()
			for n := 0; ; n++ {
				if n%ctxCheckRows == 0 {
					select {
					case <-done:
						stopped[k] = ctx.Err()
						return
					default:
					}
					if failed.Load() < int64(k) {
						return
					}
				}
				if !r.Next() {
					break
				}
				s.addIP(embedding.EntityHashBytes(r.Entity()), r.Addr())
			}
			for r.Err() != nil {
				f := failed.Load()
				if f <= int64(k) || failed.CompareAndSwap(f, int64(k)) {
					break
				}
			}
		})
	}
	wg.Wait()
	for _, err := range stopped {
		if err != nil {
			return nil, fmt.Errorf("%s: stopped after %s: %w", p.Skipped().File, plural.Count(p.Rows(), "row", "rows"), err)
		}
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	d := NewDataset()
	for k := range stores {
		d.rows.join(&stores[k])
	}
	return d, nil
}
