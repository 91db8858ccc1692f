package ipinsights

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/csvio"
)

// plantedFiles writes n planted pairs to files of per rows each and
// returns their paths.
func plantedFiles(t *testing.T, p *planted, n, per int) []string {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	var b strings.Builder
	flush := func() {
		path := filepath.Join(dir, fmt.Sprintf("part%d.csv", len(paths)))
		require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
		paths = append(paths, path)
		b.Reset()
	}
	for i := range n {
		e, a := p.pair()
		fmt.Fprintf(&b, "%s,%s\n", e, a)
		if (i+1)%per == 0 || i == n-1 {
			flush()
		}
	}
	return paths
}

func TestTrainStream(t *testing.T) {
	p := newPlanted(7, 300, 3, 400)
	files := plantedFiles(t, p, 30000, 7000)
	cfg := smallConfig()
	var reports []Metrics
	opts := &TrainOptions{Progress: ProgressFunc(func(m Metrics) { reports = append(reports, m) })}
	cfg.BatchMetricsPublishInterval = 50
	m, skips, err := TrainStream(context.Background(), cfg, Stream{Files: files, Window: 5000}, opts)
	require.NoError(t, err)
	require.Len(t, skips, len(files))
	assert.Zero(t, skips[0].Total())
	auc := heldOutAUC(m, p, 2000)
	t.Logf("held-out AUC %.4f", auc)
	assert.Greater(t, auc, 0.9)
	assert.Equal(t, 300, m.SeenEntities())

	// 83 positives a batch (500 samples of 6): a window holds 60 batches
	// (4980 rows), the last one the remaining 120 rows, 2 batches.
	const batches = 6*60 + 2
	var ends []Metrics
	for _, r := range reports {
		if r.EpochEnd {
			ends = append(ends, r)
		} else if r.Epoch == 1 {
			assert.Zero(t, r.Batches, "the first epoch's length is not known while it runs")
		} else {
			assert.Equal(t, batches, r.Batches)
		}
	}
	require.Len(t, ends, cfg.Epochs)
	for i, e := range ends {
		assert.Equal(t, batches, e.Batches)
		assert.Equal(t, int64((i+1)*30000*6), e.Samples)
	}
	assert.Len(t, reports, cfg.Epochs*(batches/50+1), "an interval report every 50 batches and the epoch's end, every epoch")
	for _, r := range reports {
		assert.Positive(t, r.FirstBatch)
		assert.Equal(t, reports[0].FirstBatch, r.FirstBatch, "the time to the first batch, in every report")
		assert.Less(t, r.FirstBatch, r.Elapsed)
	}
}

func TestTrainStreamDeterministicAcrossWorkers(t *testing.T) {
	p := newPlanted(3, 100, 2, 200)
	files := plantedFiles(t, p, 4000, 1500)
	var ref []byte
	for _, w := range []int{1, 2, 4} {
		cfg := smallConfig()
		cfg.Epochs = 2
		m, _, err := TrainStream(context.Background(), cfg, Stream{Files: files, Window: 1000}, &TrainOptions{Workers: w})
		require.NoError(t, err)
		b := modelBytes(t, m)
		if ref == nil {
			ref = b
			continue
		}
		assert.True(t, bytes.Equal(ref, b), "%d workers give different model bytes than 1", w)
	}
	// Another window shuffles otherwise.
	cfg := smallConfig()
	cfg.Epochs = 2
	m, _, err := TrainStream(context.Background(), cfg, Stream{Files: files, Window: 2000}, &TrainOptions{Workers: 1})
	require.NoError(t, err)
	assert.False(t, bytes.Equal(ref, modelBytes(t, m)))
}

func TestTrainStreamBadRows(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "a.csv")
	bad := filepath.Join(dir, "b.csv")
	var b strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&b, "user%d,10.0.%d.%d\n", i%50, i/256%256, i%256)
	}
	require.NoError(t, os.WriteFile(good, []byte(b.String()), 0o644))
	require.NoError(t, os.WriteFile(bad, []byte(b.String()+"mallory,10.0.0.256\n"+b.String()), 0o644))
	cfg := smallConfig()
	cfg.Epochs = 1
	_, _, err := TrainStream(context.Background(), cfg, Stream{Files: []string{good, bad}, Window: 1000}, nil)
	var pe *csvio.ParseError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, bad, pe.File)
	assert.Equal(t, 3001, pe.Line)

	m, skips, err := TrainStream(context.Background(), cfg, Stream{Files: []string{good, bad}, Window: 1000, CSV: csvio.Options{Lenient: true}}, nil)
	require.NoError(t, err)
	require.Len(t, skips, 2)
	assert.Equal(t, bad+": skipped 1 row: 1 unparsable IP address (line 3001)", skips[1].String())
	assert.Equal(t, 50, m.SeenEntities())

	empty := filepath.Join(dir, "empty.csv")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	_, _, err = TrainStream(context.Background(), cfg, Stream{Files: []string{empty}}, nil)
	assert.ErrorIs(t, err, ErrNoData)
	_, _, err = TrainStream(context.Background(), cfg, Stream{Files: []string{filepath.Join(dir, "missing.csv")}}, nil)
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestTrainStreamCancelled(t *testing.T) {
	p := newPlanted(3, 50, 2, 100)
	files := plantedFiles(t, p, 20000, 20000)
	ctx, cancel := context.WithCancel(context.Background())
	cfg := smallConfig()
	cfg.Epochs = 100
	cfg.BatchMetricsPublishInterval = 1
	n := 0
	_, _, err := TrainStream(ctx, cfg, Stream{Files: files, Window: 1000}, &TrainOptions{Workers: 2, Progress: ProgressFunc(func(Metrics) {
		if n++; n == 3 {
			cancel()
		}
	})})
	require.ErrorIs(t, err, context.Canceled)
}
