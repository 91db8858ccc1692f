// Package maybegzip reads a stream that may be gzip compressed, whatever
// the name of the file it comes from: csvio and awslogs accept .csv and
// .json inputs that are gzip data, as S3 exports and synced buckets hold.
package maybegzip

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
)

// NewReader returns r decompressed, as a *gzip.Reader, when it starts with
// the gzip magic bytes (1f 8b), and otherwise r behind a 64 KiB
// *bufio.Reader. A gzip header that does not parse is an error starting
// "gzip: ". Read errors of r while looking at its first bytes are
// returned by the first Read.
func NewReader(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, nil
	}
	return br, nil
}
