package sagemaker

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
	"os"

	"github.com/ipinsights/ipinsights-go/csvio"
	"github.com/ipinsights/ipinsights-go/internal/s3util"
)

// RowsFile is a local CSV file of rows to score: entity,ip and any
// further columns, which are not sent to SageMaker; gzip compressed or
// not. Every row has as many columns as the first (csvio.Options.SameFields).
type RowsFile struct {
	Path string
	// Header tells that the first line names the columns. It is never
	// guessed: with Header, a first line that is a row is an error, and
	// without it, a first line that is not a row is an error
	// (csvio.Options.Header).
	Header bool
}

// dataFile is a local CSV input that was checked for SageMaker; the zero
// value stands for no local file.
type dataFile struct {
	path   string
	header bool
	// extra allows further columns after entity,ip (rows to score);
	// training data has exactly two.
	extra bool
	rows  int
}

// rowsData is the dataFile of rows to score.
func rowsData(f RowsFile) dataFile {
	return dataFile{path: f.Path, header: f.Header, extra: true}
}

// uploads reports whether f is a local file to upload.
func (f dataFile) uploads() bool { return f.path != "" }

// open opens f as csvio reads it.
func (f dataFile) open() (*csvio.Reader, error) {
	if f.extra {
		return RowsFile{Path: f.path, Header: f.header}.open()
	}
	return csvio.Open(f.path, csvio.Options{Name: f.path})
}

// open opens f as the transform, endpoint and parity calls read it.
func (f RowsFile) open() (*csvio.Reader, error) {
	return csvio.Open(f.Path, csvio.Options{Name: f.Path, MaxFields: -1, SameFields: true, Header: f.Header})
}

// cancelEvery is how many rows a scan reads between two checks of its
// context.
const cancelEvery = 1 << 14

// eachRow calls fn for every row of f. It stops at the first malformed row,
// at the first IPv6 address (SageMaker's IP Insights reads IPv4 only, and a
// job would fail on it after billing) and when ctx is done.
func eachRow(ctx context.Context, f dataFile, fn func(r *csvio.Reader) error) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	r, err := f.open()
	if err != nil {
		return 0, err
	}
	defer r.Close()
	for r.Next() {
		if a := r.Addr(); !a.Is4() {
			return 0, fmt.Errorf("%s:%d: %s is an IPv6 address; SageMaker IP Insights reads IPv4 only", f.path, r.Line(), a)
		}
		if err := fn(r); err != nil {
			return 0, err
		}
		if r.Rows()%cancelEvery == 0 {
			if err := ctx.Err(); err != nil {
				return 0, fmt.Errorf("%s:%d: %w", f.path, r.Line(), err)
			}
		}
	}
	if err := r.Err(); err != nil {
		return 0, err
	}
	if r.Rows() == 0 {
		return 0, fmt.Errorf("%s: no data rows", f.path)
	}
	return r.Rows(), nil
}

// checkFile scans a local input before anything is created; it returns f
// with its number of rows.
func checkFile(ctx context.Context, f dataFile) (dataFile, error) {
	n, err := eachRow(ctx, f, func(*csvio.Reader) error { return nil })
	if err != nil {
		return dataFile{}, err
	}
	f.rows = n
	return f, nil
}

// appendRow appends one normalised entity,ip line: the entity quoted when
// it needs to be, the address in canonical form.
func appendRow(dst, entity []byte, a netip.Addr) []byte {
	dst = csvio.AppendField(dst, entity)
	dst = append(dst, ',')
	dst = a.AppendTo(dst)
	return append(dst, '\n')
}

// uploadRows re-reads a checked file and uploads its entity,ip rows,
// normalised, as one or more text/csv objects part-00000.csv, ... under
// prefix, each at most c.opts.PartBytes long. It returns the number of rows.
func (c *Client) uploadRows(ctx context.Context, f dataFile, prefix S3URI) (int, error) {
	tmp, err := os.CreateTemp("", "ipinsights-upload-*.csv")
	if err != nil {
		return 0, err
	}
	name := tmp.Name()
	defer os.Remove(name)
	defer tmp.Close()

	w := bufio.NewWriterSize(tmp, 1<<20)
	var line []byte
	var size int64
	parts := 0
	flush := func() error {
		if err := w.Flush(); err != nil {
			return err
		}
		dst := prefix.Join(fmt.Sprintf("part-%05d.csv", parts))
		if err := s3util.PutFile(ctx, c.s3, name, dst.Bucket, dst.Key, "text/csv"); err != nil {
			return fmt.Errorf("sagemaker: %w", err)
		}
		c.report(Event{Kind: EventUpload, Resource: dst.String(), Message: fmt.Sprintf("%d bytes from %s", size, f.path)})
		parts++
		size = 0
		if _, err := tmp.Seek(0, 0); err != nil {
			return err
		}
		if err := tmp.Truncate(0); err != nil {
			return err
		}
		w.Reset(tmp)
		return nil
	}
	rows, err := eachRow(ctx, f, func(r *csvio.Reader) error {
		line = appendRow(line[:0], r.Entity(), r.Addr())
		if size > 0 && size+int64(len(line)) > c.opts.PartBytes {
			if err := flush(); err != nil {
				return err
			}
		}
		size += int64(len(line))
		_, err := w.Write(line)
		return err
	})
	if err != nil {
		return 0, err
	}
	if err := flush(); err != nil {
		return 0, err
	}
	if rows != f.rows {
		return 0, fmt.Errorf("%s: the file changed while it was uploaded (%d rows, %d before)", f.path, rows, f.rows)
	}
	return rows, nil
}
