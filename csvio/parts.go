package csvio

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// Parts is one file cut into byte ranges at line ends, each read by its own
// Reader, so that goroutines parse the file together: one goroutine a
// Reader, each taking its rows in file order.
//
// A Reader of a later range counts lines from the start of its range (its
// Line and the lines in its errors and skips are relative). Parts
// renumbers them: once the Readers are done, Err and Skipped give line
// numbers from the start of the file, as a single Reader would.
type Parts struct {
	rs   []*Reader
	name string
	f    *os.File
	one  *Reader // the single Reader of a file that is not cut
}

// OpenParts opens the named file for reading in up to n parts of about
// equal size, cut at line ends. Options.Name defaults to name. Only the
// first part reads a header (Options.Header) or a byte order mark.
//
// A file that cannot be cut gives a single part, read as Open reads it:
// gzip data (a gzip stream can only be read from its start, so it is
// parsed on one goroutine), a file that is not a regular file (a pipe),
// and any file read with Options.SameFields (the width of a row is
// learnt from the first one). A part can be empty when a line is longer
// than the file's size divided by n.
//
// Close the Parts when done.
func OpenParts(name string, n int, opts Options) (*Parts, error) {
	if opts.Name == "" {
		opts.Name = name
	}
	p := &Parts{name: opts.Name}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	size, cut := cuttable(f, opts)
	if !cut || n <= 1 {
		// Open again, from its start, through the detection of gzip data.
		f.Close()
		r, err := Open(name, opts)
		if err != nil {
			return nil, err
		}
		p.one = r
		p.rs = []*Reader{r}
		return p, nil
	}
	p.f = f
	bounds, err := cutPoints(f, size, n)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", opts.Name, err)
	}
	for k := range n {
		o := opts
		if k > 0 {
			o.Header = false
		}
		r := NewReader(io.NewSectionReader(f, bounds[k], bounds[k+1]-bounds[k]), o)
		r.part = k > 0
		p.rs = append(p.rs, r)
	}
	return p, nil
}

// cuttable reports the size of f and whether it can be read in parts: a
// regular file that is not gzip data, read without Options.SameFields.
func cuttable(f *os.File, opts Options) (int64, bool) {
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || opts.SameFields {
		return 0, false
	}
	var magic [2]byte
	if n, _ := f.ReadAt(magic[:], 0); n == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		return 0, false
	}
	return st.Size(), true
}

// cutPoints returns n+1 offsets that cut a file of size bytes into n
// ranges, each starting at the beginning of a line: range k starts after
// the first line end at or after offset k*size/n - 1.
func cutPoints(f io.ReaderAt, size int64, n int) ([]int64, error) {
	bounds := make([]int64, n+1)
	bounds[n] = size
	buf := make([]byte, 64<<10)
	for k := 1; k < n; k++ {
		at := max(int64(k)*size/int64(n)-1, bounds[k-1])
		for {
			if at >= size {
				bounds[k] = size
				break
			}
			m, err := f.ReadAt(buf[:min(int64(len(buf)), size-at)], at)
			if i := bytes.IndexByte(buf[:m], '\n'); i >= 0 {
				bounds[k] = at + int64(i) + 1
				break
			}
			if err != nil && err != io.EOF {
				return nil, err
			}
			if m == 0 {
				bounds[k] = size
				break
			}
			at += int64(m)
		}
	}
	return bounds, nil
}

// Len returns the number of parts.
func (p *Parts) Len() int { return len(p.rs) }

// Reader returns the Reader of part k, 0 to Len()-1, in file order.
func (p *Parts) Reader(k int) *Reader { return p.rs[k] }

// Close closes the file.
func (p *Parts) Close() error {
	if p.one != nil {
		return p.one.Close()
	}
	return p.f.Close()
}

// Err returns the error of the first part, in file order, whose Reader
// stopped with one, its line numbered from the start of the file; nil when
// none did. The Readers of the parts before it must have been read to
// their end (Next returned false), so that its lines can be counted.
func (p *Parts) Err() error {
	base := 0
	for _, r := range p.rs {
		if r.err != nil {
			return r.errAt(base)
		}
		base += r.line
	}
	return nil
}

// Skipped returns the rows that the parts skipped in lenient mode, with
// line numbers from the start of the file. Every part must have been read
// to its end.
func (p *Parts) Skipped() *SkipReport {
	s := &SkipReport{File: p.name, ByReason: map[Reason]*Skips{}}
	base := 0
	for _, r := range p.rs {
		for reason, k := range r.skips.ByReason {
			all := s.ByReason[reason]
			if all == nil {
				all = &Skips{}
				s.ByReason[reason] = all
			}
			all.Count += k.Count
			for _, l := range k.Lines {
				if len(all.Lines) < maxSkipLines {
					all.Lines = append(all.Lines, base+l)
				}
			}
		}
		base += r.line
	}
	return s
}

// Rows returns the number of well-formed rows the parts read.
func (p *Parts) Rows() int {
	n := 0
	for _, r := range p.rs {
		n += r.rows
	}
	return n
}

// errAt returns r's error with its line numbers moved by base lines, the
// lines of the file before r's range.
func (r *Reader) errAt(base int) error {
	if base == 0 {
		return r.err
	}
	if r.ioErr != nil {
		return r.lineErr(base+r.ioLine, r.ioErr)
	}
	var pe *ParseError
	if errors.As(r.err, &pe) {
		e := *pe
		e.Line += base
		return &e
	}
	return r.err
}
