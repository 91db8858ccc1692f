package ipinsights

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/embedding"
)

// Inputs that a caller can get wrong, each of which used to give a wrong
// model, a hang or a crash without an error.

// TestModelKeepsItsOwnConfig changes the caller's prefix list after
// training: the model, and the file it saves, must keep the encoder it was
// trained with.
func TestModelKeepsItsOwnConfig(t *testing.T) {
	p := newPlanted(2, 20, 2, 40)
	cfg := smallConfig()
	cfg.Epochs = 1
	cfg.IPv4Prefixes = []int{16, 24}
	m, err := Train(context.Background(), cfg, p.dataset(500), nil)
	require.NoError(t, err)
	a := netip.MustParseAddr("1.2.3.4")
	before := m.Score(entityName(1), a)
	cfg.IPv4Prefixes[1] = 20 // reused in a sweep
	assert.Equal(t, []int{16, 24}, m.Config().IPv4Prefixes)
	loaded, err := Load(bytes.NewReader(modelBytes(t, m)))
	require.NoError(t, err)
	assert.Equal(t, before, loaded.Score(entityName(1), a))
}

// TestOptimizerNameAnyCase trains with "Adam": it must be Adam, not SGD.
func TestOptimizerNameAnyCase(t *testing.T) {
	p := newPlanted(2, 20, 2, 40)
	data := p.dataset(500)
	train := func(opt string) []byte {
		cfg := smallConfig()
		cfg.Epochs = 1
		cfg.Optimizer = opt
		m, err := Train(context.Background(), cfg, data, nil)
		require.NoError(t, err)
		return modelBytes(t, m)
	}
	adam := train("adam")
	assert.Equal(t, adam, train(" Adam "))
	assert.NotEqual(t, adam, train("sgd"))
}

func TestSetLeavesConfigOnError(t *testing.T) {
	c := DefaultConfig()
	before := c
	err := c.Set(map[string]string{"epochs": "3", "vector_dim": "3"})
	var he *HyperparameterError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, "vector_dim", he.Key)
	assert.Equal(t, before, c, "a failed Set changes nothing")
	require.NoError(t, c.Set(map[string]string{"epochs": "3"}))
	assert.Equal(t, 3, c.Epochs)
}

func TestAUCAndROCWithNaN(t *testing.T) {
	assert.True(t, math.IsNaN(AUC([]float64{1, math.NaN(), 2}, []bool{true, false, false})))
	assert.Nil(t, ROCCurve([]float64{1, math.NaN()}, []bool{true, false}))
	assert.Panics(t, func() { ROCCurve([]float64{1, 2}, []bool{true}) })
	assert.Len(t, ROCCurve([]float64{1, 2}, []bool{true, false}), 3)
	m, _ := trainedForFiles()
	assert.True(t, math.IsNaN(m.DiscriminatorAUC(nil)))
}

func TestInvalidAddress(t *testing.T) {
	d := NewDataset()
	d.Add("alice", netip.Addr{})
	d.AddBytes([]byte("bob"), netip.Addr{})
	d.Add("carol", netip.MustParseAddr("192.0.2.1"))
	assert.Equal(t, 1, d.Len())
	assert.Equal(t, 2, d.Invalid())
	_, err := Train(context.Background(), smallConfig(), d, nil)
	assert.ErrorContains(t, err, "2 pairs with an invalid (zero) address")

	m, p := trainedForFiles()
	e := entityName(0)
	r := m.Score(e, netip.Addr{})
	assert.True(t, math.IsNaN(r.DotProduct))
	assert.True(t, r.EntitySeen)
	good := p.nets0()
	res := m.ScoreBatch(nil, []Pair{{Entity: e, IP: good}, {Entity: e, IP: netip.Addr{}}})
	assert.Equal(t, m.Score(e, good), res[0])
	assert.True(t, math.IsNaN(res[1].DotProduct))
}

// failingReader returns its data, then err.
type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestLoadReportsReadErrors(t *testing.T) {
	m, _ := trainedForFiles()
	good := modelBytes(t, m)
	reset := errors.New("connection reset")
	for _, at := range []int{0, 10, 100, len(good) / 2, len(good) - 2} {
		_, err := Load(&failingReader{data: good[:at], err: reset})
		assert.ErrorIs(t, err, reset, "failing after %d bytes", at)
		assert.NotErrorIs(t, err, ErrCorrupt, "failing after %d bytes", at)
	}
	_, err := LoadFile(t.TempDir())
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrNotModel, "a directory is a read error, not a file of the wrong kind")
}

// TestLoadHugeHeaderFromStream gives Load, from a reader that does not tell
// its size, a valid header that describes terabytes of tables followed by
// a few bytes: it must fail for lack of data, having allocated little.
func TestLoadHugeHeaderFromStream(t *testing.T) {
	cfg := DefaultConfig()
	require.NoError(t, cfg.Set(map[string]string{"num_entity_vectors": "250000000", "vector_dim": "4096"}))
	enc, err := embedding.NewEncoder(cfg.encoderConfig())
	require.NoError(t, err)
	hdr := fmt.Sprintf(`{"hash_id":%q,"encoder_id":%q,"hyperparameters":{"num_entity_vectors":"250000000","vector_dim":"4096"},"entity_rows":250000000,"ip_rows":%d,"vector_dim":4096,"layers":1,"seen_entities":0}`,
		embedding.HashID, embedding.EncoderID, enc.Rows())
	file := craft(hdr, make([]byte, 4096))
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	_, err = Load(struct{ io.Reader }{bytes.NewReader(file)})
	runtime.ReadMemStats(&b)
	assert.ErrorIs(t, err, ErrCorrupt)
	assert.Less(t, b.TotalAlloc-a.TotalAlloc, uint64(64<<20), "bytes allocated for a %d-byte input", len(file))
	// With the size known, the header is refused before any table.
	_, err = Load(bytes.NewReader(file))
	assert.ErrorContains(t, err, "its header describes")
}

func TestSaveFileModeAndErrors(t *testing.T) {
	m, _ := trainedForFiles()
	dir := t.TempDir()
	path := filepath.Join(dir, "m.bin")
	require.NoError(t, m.SaveFile(path))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	// As os.Create would give: 0666 less the umask, which is the mode of a
	// file created that way.
	ref := filepath.Join(dir, "ref")
	f, err := os.Create(ref)
	require.NoError(t, err)
	f.Close()
	rfi, err := os.Stat(ref)
	require.NoError(t, err)
	assert.Equal(t, rfi.Mode().Perm(), fi.Mode().Perm())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 2, "no temporary file left behind")

	missing := filepath.Join(dir, "no", "such", "dir", "m.bin")
	err = m.SaveFile(missing)
	require.Error(t, err)
	assert.ErrorContains(t, err, "saving model to "+missing)
}
