// Package maybegzip reads a stream that may be gzip compressed, whatever
// the name of the file it comes from: csvio and awslogs accept .csv and
// .json inputs that are gzip data, as S3 exports and synced buckets hold.
package maybegzip

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
)

// ErrTruncated is the error of gzip data that ends before its end: a file
// cut short by an interrupted download or copy. It wraps
// io.ErrUnexpectedEOF.
var ErrTruncated = fmt.Errorf("gzip data is truncated: %w", io.ErrUnexpectedEOF)

// NewReader returns r decompressed, as a *Reader, when it starts with the
// gzip magic bytes (1f 8b), and otherwise r behind a 64 KiB
// *bufio.Reader. A gzip header that does not parse is an error starting
// "gzip: ". Read errors of r while looking at its first bytes are
// returned by the first Read.
func NewReader(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			switch {
			case errors.Is(err, io.ErrUnexpectedEOF):
				return nil, ErrTruncated
			case errors.Is(err, gzip.ErrHeader) || errors.Is(err, gzip.ErrChecksum):
				return nil, err // their texts start with "gzip: "
			}
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return &Reader{zr: zr}, nil
	}
	return br, nil
}

// Reader decompresses gzip data. Its Read reports data cut short as
// ErrTruncated, not as a bare io.ErrUnexpectedEOF, which says nothing of
// where it comes from.
type Reader struct {
	zr *gzip.Reader
}

// Read reads decompressed data.
func (r *Reader) Read(p []byte) (int, error) {
	n, err := r.zr.Read(p)
	if err == io.ErrUnexpectedEOF {
		err = ErrTruncated
	}
	return n, err
}

// Close closes the decompressor; it does not close the underlying reader.
func (r *Reader) Close() error { return r.zr.Close() }
