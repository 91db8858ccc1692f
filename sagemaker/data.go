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

// dataFile is a local CSV input that was checked for SageMaker; the zero
// value stands for no local file.
type dataFile struct {
	path string
	rows int
}

// uploads reports whether f is a local file to upload.
func (f dataFile) uploads() bool { return f.path != "" }

// openData opens a delegate input: exactly entity,ip for training data;
// for rows to score, entity,ip and any further columns (which are not
// sent) as OpenRows reads them.
func openData(path string, extraColumns bool) (*csvio.Reader, error) {
	if extraColumns {
		return OpenRows(path)
	}
	return csvio.Open(path, csvio.Options{Name: path})
}

// OpenRows opens a CSV file of rows to score, entity,ip and any further
// columns, as the transform, endpoint and parity commands read it: a first
// line that is not a row and names a label column is a header and is
// skipped, as ReadLabels skips it, so that a labeled file with a header
// can be scored and labeled alike; every row has as many columns as the
// first (csvio.Options.SameFields).
func OpenRows(path string) (*csvio.Reader, error) {
	header, err := hasLabelHeader(path)
	if err != nil {
		return nil, err
	}
	return csvio.Open(path, csvio.Options{Name: path, MaxFields: -1, SameFields: true, Header: header})
}

// eachRow calls fn for every row of the CSV file at path. It stops at the
// first malformed row and at the first IPv6 address: SageMaker's IP
// Insights reads IPv4 only, and a job would fail on it after billing.
func eachRow(path string, extraColumns bool, fn func(r *csvio.Reader) error) (int, error) {
	r, err := openData(path, extraColumns)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	for r.Next() {
		if a := r.Addr(); !a.Is4() {
			return 0, fmt.Errorf("%s:%d: %s is an IPv6 address; SageMaker IP Insights reads IPv4 only", path, r.Line(), a)
		}
		if err := fn(r); err != nil {
			return 0, err
		}
	}
	if err := r.Err(); err != nil {
		return 0, err
	}
	if r.Rows() == 0 {
		return 0, fmt.Errorf("%s: no data rows", path)
	}
	return r.Rows(), nil
}

// checkFile scans a local input before anything is created.
func checkFile(path string, extraColumns bool) (dataFile, error) {
	n, err := eachRow(path, extraColumns, func(*csvio.Reader) error { return nil })
	if err != nil {
		return dataFile{}, err
	}
	return dataFile{path: path, rows: n}, nil
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
func (c *Client) uploadRows(ctx context.Context, f dataFile, extraColumns bool, prefix S3URI) (int, error) {
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
	rows, err := eachRow(f.path, extraColumns, func(r *csvio.Reader) error {
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
