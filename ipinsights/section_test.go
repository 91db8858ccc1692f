package ipinsights

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The test section: a payload kept beside the model (not in it, so no test
// hook sits in the production struct) and written as it is.
var (
	testSectionMu sync.Mutex
	testSection   = map[*Model][]byte{}
)

func init() {
	registerSection(sectionCodec{
		name: "test_payload",
		size: func(m *Model) int64 {
			testSectionMu.Lock()
			defer testSectionMu.Unlock()
			return int64(len(testSection[m]))
		},
		write: func(m *Model, w io.Writer) error {
			testSectionMu.Lock()
			p := testSection[m]
			testSectionMu.Unlock()
			_, err := w.Write(p)
			return err
		},
		read: func(m *Model, r *bufio.Reader, n int64) error {
			if head, _ := r.Peek(5); string(head) == "short" {
				n = 5 // reads less than it was given
			}
			p := make([]byte, n)
			if _, err := io.ReadFull(r, p); err != nil {
				return fmt.Errorf("%w: %v", ErrCorrupt, err)
			}
			if bytes.HasPrefix(p, []byte("refuse")) {
				return fmt.Errorf("%w: payload refused", ErrCorrupt)
			}
			testSectionMu.Lock()
			testSection[m] = p
			testSectionMu.Unlock()
			return nil
		},
	})
}

func withPayload(t *testing.T, payload string) (*Model, []byte) {
	t.Helper()
	base, _ := trainedForFiles()
	b := modelBytes(t, base)
	m, err := Load(bytes.NewReader(b))
	require.NoError(t, err)
	testSectionMu.Lock()
	testSection[m] = []byte(payload)
	testSectionMu.Unlock()
	t.Cleanup(func() {
		testSectionMu.Lock()
		delete(testSection, m)
		testSectionMu.Unlock()
	})
	return m, modelBytes(t, m)
}

func TestSectionsRoundTripAndVersions(t *testing.T) {
	base, _ := trainedForFiles()
	plain := modelBytes(t, base)
	assert.Equal(t, uint32(1), binary.LittleEndian.Uint32(plain[8:]), "no section: version 1")

	m, b := withPayload(t, "hello, sections")
	assert.Equal(t, uint32(2), binary.LittleEndian.Uint32(b[8:]), "a section: version 2")
	assert.Equal(t, len(plain)+len("hello, sections")+len(`,"sections":[{"name":"test_payload","bytes":15}]`), len(b))
	for name, reader := range map[string]func([]byte) io.Reader{
		"sized":  func(b []byte) io.Reader { return bytes.NewReader(b) },
		"stream": func(b []byte) io.Reader { return io.MultiReader(bytes.NewReader(b)) },
	} {
		back, err := Load(reader(b))
		require.NoError(t, err, name)
		testSectionMu.Lock()
		got := string(testSection[back])
		delete(testSection, back)
		testSectionMu.Unlock()
		assert.Equal(t, "hello, sections", got, name)
		assert.Equal(t, m.entity, back.entity, name)
	}
}

func TestSectionsDamagedOrUnknown(t *testing.T) {
	_, b := withPayload(t, "some payload bytes")
	// Cut anywhere inside the section or the checksum: refused.
	for n := len(b) - 25; n < len(b); n++ {
		_, err := Load(bytes.NewReader(b[:n]))
		assert.ErrorIs(t, err, ErrCorrupt, "truncated to %d of %d", n, len(b))
		_, err = Load(io.MultiReader(bytes.NewReader(b[:n])))
		assert.ErrorIs(t, err, ErrCorrupt, "stream truncated to %d of %d", n, len(b))
	}
	// An altered payload byte fails the checksum.
	bad := bytes.Clone(b)
	bad[len(bad)-8] ^= 1
	_, err := Load(bytes.NewReader(bad))
	assert.ErrorContains(t, err, "checksum mismatch")

	// A payload its codec refuses, or does not read to the end.
	_, refused := withPayload(t, "refuse this")
	_, err = Load(bytes.NewReader(refused))
	assert.ErrorIs(t, err, ErrCorrupt)
	assert.ErrorContains(t, err, "section test_payload: ")
	_, short := withPayload(t, "short but longer")
	_, err = Load(bytes.NewReader(short))
	assert.ErrorContains(t, err, "section test_payload has 11 bytes its reader did not use")

	// A build that does not know the section skips it and still scores.
	saved := sectionCodecs
	sectionCodecs = nil
	back, err := Load(bytes.NewReader(b))
	sectionCodecs = saved
	require.NoError(t, err)
	base, p := trainedForFiles()
	e, a := p.pair()
	assert.Equal(t, base.Score(e, a), back.Score(e, a))
}

func TestSectionHeaderChecks(t *testing.T) {
	base, _ := trainedForFiles()
	hdr := fileHeader{Sections: []sectionInfo{{Name: "x", Bytes: 1}, {Name: "x", Bytes: 1}}}
	assert.ErrorIs(t, checkSections(hdr.Sections), ErrCorrupt, "duplicate")
	assert.ErrorIs(t, checkSections([]sectionInfo{{Name: "Bad Name", Bytes: 1}}), ErrCorrupt)
	assert.ErrorIs(t, checkSections([]sectionInfo{{Name: "ok", Bytes: 0}}), ErrCorrupt)
	assert.ErrorIs(t, checkSections([]sectionInfo{{Name: "ok", Bytes: -5}}), ErrCorrupt)
	many := make([]sectionInfo, maxSections+1)
	for i := range many {
		many[i] = sectionInfo{Name: fmt.Sprintf("s%d", i), Bytes: 1}
	}
	assert.ErrorIs(t, checkSections(many), ErrCorrupt)
	assert.NoError(t, checkSections(nil))

	// A version 1 file that lists sections, or a version 2 file that
	// lists none, is refused.
	b := modelBytes(t, base)
	v2 := bytes.Clone(b)
	binary.LittleEndian.PutUint32(v2[8:], 2)
	_, err := Load(bytes.NewReader(v2))
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrCorrupt), "%v", err)
}
