package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ipinsights/ipinsights-go/csvio"
	"github.com/ipinsights/ipinsights-go/internal/atomicfile"
	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// openCSV opens a CSV input by name ("-" for standard input).
func openCSV(e *env, name string, opts csvio.Options) (*csvio.Reader, error) {
	if name == "-" {
		if opts.Name == "" {
			opts.Name = inputName(name)
		}
		return csvio.NewReaderMaybeGzip(e.stdin, opts)
	}
	return csvio.Open(name, opts)
}

// inputName is the name errors give the input name: "<stdin>" for "-".
func inputName(name string) string {
	if name == "-" {
		return "<stdin>"
	}
	return name
}

// headerHint completes a parse error on the first line of the file named
// name, which has a header exactly when header is set (the --header flag),
// with the flag that would change how that line is read. A header is never
// guessed: without --header a first line that is not a row is an error,
// and with it a first line that is a row is one.
func headerHint(err error, name string, header bool) error {
	var pe *csvio.ParseError
	if !errors.As(err, &pe) || pe.Line != 1 || pe.File != name || name == "" {
		return err
	}
	switch {
	case !header && pe.Reason == csvio.BadAddress:
		return fmt.Errorf("%w; if the first line names the columns, give --header", err)
	case header && pe.Reason == csvio.DataHeader:
		return fmt.Errorf("%w; drop --header if the file has none", err)
	}
	return err
}

// output is a buffered output file or standard output. A file is written
// to a temporary file next to it and put in place by Close, so that a
// command that fails leaves a previous file of that name as it was.
type output struct {
	*bufio.Writer
	f    *atomicfile.File
	name string
}

// createOutput creates the named output ("-" or "" for standard output).
// Close flushes and puts the file in place; a command that fails calls
// Abort instead (a deferred Abort after Close does nothing).
func createOutput(e *env, name string) (*output, error) {
	if name == "" || name == "-" {
		return &output{Writer: bufio.NewWriterSize(e.stdout, 1<<16), name: "<stdout>"}, nil
	}
	f, err := atomicfile.Create(name)
	if err != nil {
		return nil, err
	}
	return &output{Writer: bufio.NewWriterSize(f, 1<<16), f: f, name: name}, nil
}

// Close flushes and, for a file, puts it in place; closing again does
// nothing more.
func (o *output) Close() error {
	err := o.Flush()
	if o.f != nil {
		if err == nil {
			err = o.f.Commit()
		} else {
			o.f.Abort()
		}
		o.f = nil
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", o.name, err)
	}
	return nil
}

// Abort discards a file that was not closed yet, leaving a previous file
// of that name as it was. Standard output cannot be taken back: what is
// buffered is flushed, after the rows written before.
func (o *output) Abort() {
	if o.f == nil {
		o.Flush()
		return
	}
	o.f.Abort()
	o.f = nil
}

// loadDataset reads a training or validation file until ctx is done;
// skipped rows of a lenient read are reported on stderr. A file is parsed
// by all CPUs at once (ipinsights.LoadDataset), standard input by one.
func loadDataset(ctx context.Context, e *env, name string, lenient bool) (*ipinsights.Dataset, error) {
	if name != "-" {
		d, skipped, err := ipinsights.LoadDataset(ctx, name, csvio.Options{Lenient: lenient})
		if skipped != nil && skipped.Total() > 0 {
			fmt.Fprintln(e.stderr, skipped.String())
		}
		return d, err
	}
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
