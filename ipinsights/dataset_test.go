package ipinsights

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/csvio"
)

// rowSource is a stream of training rows that cancels its context once
// it has given cancelAt rows, and counts the rows it gives. It ends after
// ten times as many, so that a reader that never stops for the context
// fails the test instead of hanging it.
type rowSource struct {
	cancelAt int
	cancel   context.CancelFunc
	rows     int
}

const sourceRow = "alice,192.0.2.10\n"

func (s *rowSource) Read(p []byte) (int, error) {
	if s.rows >= 10*s.cancelAt {
		return 0, io.EOF
	}
	n := 0
	for len(p)-n >= len(sourceRow) {
		n += copy(p[n:], sourceRow)
		s.rows++
		if s.rows == s.cancelAt {
			s.cancel()
		}
	}
	return n, nil
}

// TestReadDatasetStopsWhenCancelled cancels the context in the middle of
// a long input: ReadDataset must return, having read little more than the
// reader's buffer and ctxCheckRows rows past that point.
func TestReadDatasetStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	src := &rowSource{cancelAt: 100_000, cancel: cancel}
	r := csvio.NewReader(src, csvio.Options{Name: "endless.csv"})
	d, err := ReadDataset(ctx, r)
	require.Error(t, err)
	assert.Nil(t, d)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Regexp(t, `^endless\.csv: stopped at line \d+: context canceled$`, err.Error())
	// csvio reads through a 64 KiB buffer: at most 65536/17 rows ahead.
	after := src.rows - src.cancelAt
	assert.Less(t, after, 65536/len(sourceRow)+ctxCheckRows+1, "rows read after the cancellation")
	assert.LessOrEqual(t, r.Line(), src.cancelAt+ctxCheckRows, "rows parsed after the cancellation")
}

// TestLoadDatasetCancelled checks that a done context stops LoadDataset
// before it reads a row, with an error naming the file, and that a
// deadline is reported as such.
func TestLoadDatasetCancelled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "train.csv.gz")
	f, err := os.Create(path)
	require.NoError(t, err)
	zw := gzip.NewWriter(f)
	for range 10 {
		_, err := zw.Write([]byte(sourceRow))
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	require.NoError(t, f.Close())

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d, _, err := LoadDataset(ctx, path, csvio.Options{})
	assert.Nil(t, d)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, path+": stopped at line 0: context canceled", err.Error())

	ctx, cancel = context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel()
	_, _, err = LoadDataset(ctx, path, csvio.Options{Name: "train.csv"})
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
	assert.Contains(t, err.Error(), "train.csv: ")

	d, _, err = LoadDataset(context.Background(), path, csvio.Options{})
	require.NoError(t, err)
	assert.Equal(t, 10, d.Len())
}
