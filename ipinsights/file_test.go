package ipinsights

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	fileModelOnce sync.Once
	fileModel     *Model
	filePlanted   *planted
)

func trainedForFiles() (*Model, *planted) {
	fileModelOnce.Do(func() {
		filePlanted = newPlanted(9, 30, 2, 60)
		cfg := smallConfig()
		cfg.Epochs = 1
		cfg.NumIPEncoderLayers = 2
		m, err := Train(context.Background(), cfg, filePlanted.dataset(2000), nil)
		if err != nil {
			panic(err)
		}
		fileModel = m
	})
	return fileModel, filePlanted
}

func TestSaveLoadRoundTripIsExact(t *testing.T) {
	m, p := trainedForFiles()
	b := modelBytes(t, m)
	back, err := Load(bytes.NewReader(b))
	require.NoError(t, err)
	assert.Equal(t, b, modelBytes(t, back), "save(load(save(m))) == save(m)")
	assert.Equal(t, m.Config(), back.Config())
	assert.Equal(t, m.entity, back.entity)
	assert.Equal(t, m.ip, back.ip)
	assert.Equal(t, m.SeenEntities(), back.SeenEntities())
	for i := 0; i < 100; i++ {
		e, a := p.pair()
		assert.Equal(t, m.Score(e, a), back.Score(e, a))
	}
	assert.False(t, back.Score("stranger", p.nets0()).EntitySeen)

	path := filepath.Join(t.TempDir(), "model.bin")
	require.NoError(t, m.SaveFile(path))
	fromFile, err := LoadFile(path)
	require.NoError(t, err)
	assert.Equal(t, b, modelBytes(t, fromFile))
	entries, _ := os.ReadDir(filepath.Dir(path))
	assert.Len(t, entries, 1, "no temporary file left behind")
}

// craft builds a model file around a header JSON with valid checksums, for
// headers that Save would never write.
func craft(header string, payload []byte) []byte {
	var b bytes.Buffer
	b.WriteString(fileMagic)
	binary.Write(&b, binary.LittleEndian, uint32(fileVersion))
	binary.Write(&b, binary.LittleEndian, uint32(len(header)))
	b.WriteString(header)
	binary.Write(&b, binary.LittleEndian, crc32.Checksum(b.Bytes(), castagnoli))
	b.Write(payload)
	binary.Write(&b, binary.LittleEndian, crc32.Checksum(b.Bytes(), castagnoli))
	return b.Bytes()
}

func TestLoadRefusesDamagedFiles(t *testing.T) {
	m, _ := trainedForFiles()
	good := modelBytes(t, m)

	// Load checks the header against the size of a reader that tells it
	// (sized), and grows the tables as data arrives from one that does not
	// (stream): both must refuse every damage.
	for name, reader := range map[string]func([]byte) io.Reader{
		"sized":  func(b []byte) io.Reader { return bytes.NewReader(b) },
		"stream": func(b []byte) io.Reader { return struct{ io.Reader }{bytes.NewReader(b)} },
	} {
		// Every truncation is refused, never a panic. Check a spread of
		// cut points including every one in the first 200 bytes (magic,
		// header).
		for n := 0; n < len(good); n += 1 + n/8 {
			_, err := Load(reader(good[:n]))
			require.Error(t, err, "%s: truncated to %d bytes", name, n)
			if n >= 16 {
				assert.ErrorIs(t, err, ErrCorrupt, "%s: truncated to %d bytes", name, n)
			}
		}
		// Any altered byte is refused.
		for _, pos := range []int{0, 9, 13, 20, 100, len(good) / 3, len(good) / 2, len(good) - 9, len(good) - 1} {
			bad := bytes.Clone(good)
			bad[pos] ^= 0x40
			_, err := Load(reader(bad))
			assert.Error(t, err, "%s: byte %d altered", name, pos)
		}
		// Trailing data is refused.
		_, err := Load(reader(append(bytes.Clone(good), 0)))
		assert.ErrorIs(t, err, ErrCorrupt, name)
		if name == "stream" {
			assert.ErrorContains(t, err, "unexpected data after the end")
		} else {
			assert.ErrorContains(t, err, "its header describes")
		}
	}
	var err error

	_, err = Load(strings.NewReader("entity,ip\nalice,1.2.3.4\n"))
	assert.ErrorIs(t, err, ErrNotModel)
	_, err = Load(strings.NewReader(""))
	assert.ErrorIs(t, err, ErrNotModel)

	future := bytes.Clone(good)
	binary.LittleEndian.PutUint32(future[8:], 3)
	_, err = Load(bytes.NewReader(future))
	assert.ErrorContains(t, err, "unsupported model file version 3 (this build reads versions 1 and 2)")

	huge := bytes.Clone(good)
	binary.LittleEndian.PutUint32(huge[12:], 1<<30)
	_, err = Load(bytes.NewReader(huge))
	assert.ErrorContains(t, err, "header length")

	// Headers with a valid checksum but wrong content.
	hdr := `{"hash_id":"fnv1a64+splitmix64/mulhi/v1","encoder_id":"prefix-sum/v1","hyperparameters":{"vector_dim":"2"},"entity_rows":1,"ip_rows":1,"vector_dim":2,"layers":0,"seen_entities":0}`
	_, err = Load(bytes.NewReader(craft(hdr, nil)))
	assert.ErrorContains(t, err, "vector_dim")
	_, err = Load(bytes.NewReader(craft(strings.Replace(hdr, "mulhi/v1", "mulhi/v9", 1), nil)))
	assert.ErrorContains(t, err, `model uses entity hash "fnv1a64+splitmix64/mulhi/v9"`)
	_, err = Load(bytes.NewReader(craft(`{"hash_id":"fnv1a64+splitmix64/mulhi/v1","encoder_id":"prefix-sum/v1","hyperparameters":{},"entity_rows":5,"ip_rows":1,"vector_dim":128,"layers":1,"seen_entities":0}`, nil)))
	assert.ErrorContains(t, err, "does not match its hyperparameters")
	_, err = Load(bytes.NewReader(craft(`not json`, nil)))
	assert.ErrorIs(t, err, ErrCorrupt)

	// LoadFile names the file and compares its size with the header before
	// allocating.
	path := filepath.Join(t.TempDir(), "cut.bin")
	require.NoError(t, os.WriteFile(path, good[:len(good)-100], 0o644))
	_, err = LoadFile(path)
	assert.ErrorContains(t, err, path)
	assert.ErrorContains(t, err, "header describes")
	assert.True(t, errors.Is(err, ErrCorrupt))
}

func FuzzLoad(f *testing.F) {
	// A tiny model keeps every execution fast.
	p := newPlanted(1, 5, 1, 5)
	cfg := smallConfig()
	cfg.NumEntityVectors, cfg.VectorDim, cfg.Epochs = 8, 4, 1
	cfg.IPv4Prefixes, cfg.IPv6Prefixes, cfg.IPv4HashRows, cfg.IPv6HashRows = []int{4, 16}, []int{32}, 8, 4
	m, err := Train(context.Background(), cfg, p.dataset(50), &TrainOptions{SaveOptimizerState: true})
	if err != nil {
		f.Fatal(err)
	}
	var b bytes.Buffer
	m.WithoutOptimizerState().Save(&b)
	f.Add(b.Bytes())
	f.Add(b.Bytes()[:200])
	b.Reset()
	m.Save(&b) // with the optional section optimizer_state
	f.Add(b.Bytes())
	// With the sections calibration, network_calibration and
	// network_history.
	hm, err := m.WithoutOptimizerState().WithNetworkHistory(context.Background(), p.dataset(50), nil)
	if err != nil {
		f.Fatal(err)
	}
	cal, err := hm.Calibrate(context.Background(), p.dataset(50), nil)
	if err != nil {
		f.Fatal(err)
	}
	b.Reset()
	hm.WithCalibration(cal).Save(&b)
	f.Add(b.Bytes())
	f.Add([]byte(fileMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Load(bytes.NewReader(data))
		if err == nil {
			// Anything accepted must score without panicking, and a
			// warm start from it must train or fail with an error.
			m.Score("x", p.nets0())
			c := m.Config()
			c.Epochs = 1
			Train(context.Background(), c, p.dataset(20), &TrainOptions{Init: m, Workers: 1})
		}
	})
}
