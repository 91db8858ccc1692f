package ipinsights

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/csvio"
	"github.com/ipinsights/ipinsights-go/embedding"
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

// TestDatasetRowsAcrossChunks adds more pairs than a chunk holds, IPv4 and
// IPv6 mixed, and reads them back in order, through All, Tuples and the
// order that training shuffles.
func TestDatasetRowsAcrossChunks(t *testing.T) {
	n := chunkRows + 1000
	want := func(i int) embedding.Tuple {
		tp := embedding.Tuple{Entity: embedding.Mix64(uint64(i % 5000)), Addr: embedding.AddrV4(uint32(i) * 2654435761)}
		if i%97 == 0 {
			tp.Addr = embedding.Addr{Hi: 0x20010db8<<32 | uint64(i), Lo: uint64(i) * 3}
		}
		return tp
	}
	d := NewDataset()
	for i := range n {
		d.AddTuples(want(i))
	}
	require.Equal(t, n, d.Len())
	assert.Equal(t, (n+96)/97, d.IPv6())
	require.Len(t, d.rows.chunks, 2)
	assert.Equal(t, chunkRows, len(d.rows.chunks[0].rows), "the first chunk is full before the second begins")
	assert.Len(t, d.rows.dicts(), 1, "one dictionary for pairs added one by one")
	assert.Len(t, d.rows.dicts()[0].hashes, 5000, "one dictionary entry per distinct entity")

	i := 0
	for tp := range d.All() {
		if tp != want(i) {
			t.Fatalf("pair %d: got %v, want %v", i, tp, want(i))
		}
		i++
	}
	assert.Equal(t, n, i)
	ts := d.Tuples()
	require.Len(t, ts, n)
	assert.Equal(t, want(chunkRows), ts[chunkRows])
	o := newOrder(d)
	for _, k := range []int{0, 96, 97, chunkRows - 1, chunkRows, n - 1} {
		assert.Equal(t, want(k), o.At(k), "order position %d", k)
	}
	seen := d.rows.seenSet()
	assert.Equal(t, 5000, seen.len())

	stop := 0
	for range d.All() {
		if stop++; stop == 3 {
			break
		}
	}
	assert.Equal(t, 3, stop, "All stops when the loop does")
}

// TestDatasetJoin joins the rows of two stores, as parallel reading does:
// the pairs keep their order, each chunk its own dictionary, and adding
// continues the last store's chunk.
func TestDatasetJoin(t *testing.T) {
	var a, b rowStore
	a.add(1, embedding.AddrV4(1))
	a.add(2, embedding.Addr{Hi: 7, Lo: 7})
	b.add(2, embedding.AddrV4(3))
	b.add(3, embedding.Addr{Hi: 8, Lo: 8})
	d := NewDataset()
	d.rows.join(&a)
	d.rows.join(&rowStore{})
	d.rows.join(&b)
	d.AddTuples(embedding.Tuple{Entity: 1, Addr: embedding.AddrV4(9)})
	assert.Equal(t, []embedding.Tuple{
		{Entity: 1, Addr: embedding.AddrV4(1)}, {Entity: 2, Addr: embedding.Addr{Hi: 7, Lo: 7}},
		{Entity: 2, Addr: embedding.AddrV4(3)}, {Entity: 3, Addr: embedding.Addr{Hi: 8, Lo: 8}},
		{Entity: 1, Addr: embedding.AddrV4(9)},
	}, d.Tuples())
	assert.Equal(t, 5, d.Len())
	assert.Equal(t, 2, d.IPv6())
	assert.Len(t, d.rows.chunks, 2)
	assert.Equal(t, []uint32{0, 1, 1 << chunkBits, 1<<chunkBits | 1, 1<<chunkBits | 2}, d.rows.ids(nil), "ids skip the end of a chunk")
	seen := d.rows.seenSet()
	assert.Equal(t, 3, seen.len(), "the entities of both dictionaries, once")
}

// TestLoadDatasetInParts reads one file on up to 7 goroutines: the pairs
// are those of a serial read, in order, and a bad row deep in the file is
// an error naming its file and line, or, in lenient mode, counted.
func TestLoadDatasetInParts(t *testing.T) {
	const lines, bad = 30000, 26011
	var b strings.Builder
	for i := 1; i <= lines; i++ {
		switch {
		case i == bad:
			b.WriteString("mallory,10.0.0\n")
		case i%11 == 0:
			fmt.Fprintf(&b, "user%d,2001:db8::%x\n", i%300, i)
		default:
			fmt.Fprintf(&b, "user%d, 10.%d.%d.%d\n", i%300, i>>16, (i>>8)&255, i&255)
		}
	}
	path := filepath.Join(t.TempDir(), "train.csv")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	serial, err := ReadDataset(context.Background(), csvio.NewReader(strings.NewReader(b.String()), csvio.Options{Lenient: true}))
	require.NoError(t, err)
	require.Equal(t, lines-1, serial.Len())
	for _, n := range []int{1, 2, 7} {
		_, _, err := loadDataset(context.Background(), path, csvio.Options{Name: "train.csv"}, n)
		assert.EqualError(t, err, `train.csv:26011: unparsable IP address: "10.0.0"`, "%d goroutines", n)

		d, skipped, err := loadDataset(context.Background(), path, csvio.Options{Name: "train.csv", Lenient: true}, n)
		require.NoError(t, err)
		assert.Equal(t, "train.csv: skipped 1 row: 1 unparsable IP address (line 26011)", skipped.String())
		assert.Equal(t, serial.Tuples(), d.Tuples(), "%d goroutines", n)
		assert.Equal(t, serial.IPv6(), d.IPv6())
		if n > 1 {
			assert.Len(t, d.rows.dicts(), n, "one dictionary a part")
		}
		seen := d.rows.seenSet()
		assert.Equal(t, 300, seen.len())
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err = loadDataset(ctx, path, csvio.Options{}, 3)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, path+": stopped after 0 rows: context canceled", err.Error())
}

// indexHashes, which builds the entity indexes of a Dataset's dictionary
// and of a network history, puts each hash at its home slot or after it,
// wrapping round the table's end, with nothing empty in between.
func TestIndexHashes(t *testing.T) {
	// In a table of 8: 3 and 11 share home slot 3; 7 and 15 share 7, the
	// last, so 15 wraps to 0 and pushes 8 (home 0) to 1.
	hashes := []uint64{3, 11, 7, 15, 8}
	slots := make([]uint32, 8)
	indexHashes(slots, hashes)
	assert.Equal(t, []uint32{4, 5, 0, 1, 2, 0, 0, 3}, slots)

	hashes = hashes[:0]
	for i := range uint64(500) {
		hashes = append(hashes, i*0x9e3779b97f4a7c15)
	}
	slots = make([]uint32, 1024)
	indexHashes(slots, hashes)
	mask := uint64(len(slots) - 1)
	for k, h := range hashes {
		i := h & mask
		for slots[i] != uint32(k+1) {
			require.NotZero(t, slots[i], "hash %d: an empty slot before its own", k)
			i = (i + 1) & mask
		}
	}
}
