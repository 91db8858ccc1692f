package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/ipinsights/ipinsights-go/csvio"
	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// openCSV opens a CSV input by name ("-" for standard input).
func openCSV(e *env, name string, opts csvio.Options) (*csvio.Reader, error) {
	if name == "-" {
		if opts.Name == "" {
			opts.Name = "<stdin>"
		}
		return csvio.NewReaderMaybeGzip(e.stdin, opts)
	}
	return csvio.Open(name, opts)
}

// output is a buffered output file or standard output.
type output struct {
	*bufio.Writer
	f    *os.File
	name string
}

// createOutput creates the named output ("-" or "" for standard output).
// Close flushes and, for files, closes.
func createOutput(e *env, name string) (*output, error) {
	if name == "" || name == "-" {
		return &output{Writer: bufio.NewWriterSize(e.stdout, 1<<16), name: "<stdout>"}, nil
	}
	f, err := os.Create(name)
	if err != nil {
		return nil, err
	}
	return &output{Writer: bufio.NewWriterSize(f, 1<<16), f: f, name: name}, nil
}

// Close flushes and closes; closing again does nothing more.
func (o *output) Close() error {
	err := o.Flush()
	if o.f != nil {
		if cerr := o.f.Close(); err == nil {
			err = cerr
		}
		o.f = nil
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", o.name, err)
	}
	return nil
}

// loadDataset reads a training or validation file until ctx is done;
// skipped rows of a lenient read are reported on stderr.
func loadDataset(ctx context.Context, e *env, name string, lenient bool) (*ipinsights.Dataset, error) {
	r, err := openCSV(e, name, csvio.Options{Lenient: lenient})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	d, err := ipinsights.ReadDataset(ctx, r)
	if err != nil {
		return nil, err
	}
	if s := r.Skipped(); s.Total() > 0 {
		fmt.Fprintln(e.stderr, s.String())
	}
	if d.Len() == 0 {
		return nil, fmt.Errorf("%s: no data rows", name)
	}
	return d, nil
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string { return strings.Join(*m, " ") }

func (m *multiFlag) Set(v string) error {
	*m = append(*m, v)
	return nil
}
