package ipinsights

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
	"os"

	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/internal/atomicfile"
)

// The model file format, versions 1 and 2. All integers and floats are little
// endian.
//
//	magic      8 bytes  "IPINSGO\x00"
//	version    uint32   1
//	hdrLen     uint32   length of the JSON header, at most 1 MiB
//	header     hdrLen bytes of JSON (fileHeader)
//	hdrCRC     uint32   CRC-32C of everything before it
//	entity     NumEntityVectors*VectorDim float32
//	ip         IPRows*VectorDim float32
//	layers     per layer: VectorDim*VectorDim float32 (W, row-major out x in), then VectorDim float32 (b)
//	seen       SeenEntities uint64, ascending entity hashes
//	sections   (version 2) the payloads of the optional sections the header lists, in order
//	crc        uint32   CRC-32C of everything before it
//
// A file without optional sections is version 1; one with any is version 2
// (see section.go).
// The header is checked before any table is allocated, and against the
// input's size when that is known; otherwise the tables grow as their data
// arrives. So a damaged or hostile header can not make Load allocate much
// more memory than the input holds.
const (
	fileMagic     = "IPINSGO\x00"
	fileVersion   = 1 // without optional sections
	fileVersion2  = 2 // with optional sections
	maxHeaderSize = 1 << 20
)

// fileHeader is the JSON header of a model file.
type fileHeader struct {
	HashID          string            `json:"hash_id"`
	EncoderID       string            `json:"encoder_id"`
	Hyperparameters map[string]string `json:"hyperparameters"`
	EntityRows      int               `json:"entity_rows"`
	IPRows          int               `json:"ip_rows"`
	VectorDim       int               `json:"vector_dim"`
	Layers          int               `json:"layers"`
	SeenEntities    int               `json:"seen_entities"`
	Sections        []sectionInfo     `json:"sections,omitempty"`
}

// ErrNotModel is wrapped by Load errors for input that is not a model file
// of any version.
var ErrNotModel = errors.New("not an ipinsights-go model file")

// ErrCorrupt is wrapped by Load errors for a model file that is truncated or
// fails its checksum.
var ErrCorrupt = errors.New("model file is truncated or corrupted")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Save writes the model to w in the versioned binary format. Saving the same
// model twice gives the same bytes.
func (m *Model) Save(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	crc := crc32.New(castagnoli)
	out := io.MultiWriter(bw, crc)
	seen := m.seen.sorted()
	secs := m.sectionsOf()
	version := uint32(fileVersion)
	if len(secs) > 0 {
		version = fileVersion2
	}
	hdr, err := json.Marshal(fileHeader{
		HashID:          embedding.HashID,
		EncoderID:       embedding.EncoderID,
		Hyperparameters: m.cfg.Hyperparameters(),
		EntityRows:      m.cfg.NumEntityVectors,
		IPRows:          m.enc.Rows(),
		VectorDim:       m.dim,
		Layers:          len(m.layers),
		SeenEntities:    len(seen),
		Sections:        secs,
	})
	if err != nil {
		return err
	}
	var pre [16]byte
	copy(pre[:8], fileMagic)
	binary.LittleEndian.PutUint32(pre[8:], version)
	binary.LittleEndian.PutUint32(pre[12:], uint32(len(hdr)))
	out.Write(pre[:])
	out.Write(hdr)
	writeU32(out, crc.Sum32())
	writeFloats(out, m.entity)
	writeFloats(out, m.ip)
	for _, l := range m.layers {
		writeFloats(out, l.w)
		writeFloats(out, l.b)
	}
	buf := make([]byte, 8*1024)
	for len(seen) > 0 {
		n := min(len(seen), len(buf)/8)
		for i, h := range seen[:n] {
			binary.LittleEndian.PutUint64(buf[8*i:], h)
		}
		out.Write(buf[:8*n])
		seen = seen[n:]
	}
	if err := m.writeSections(out, secs); err != nil {
		return err
	}
	writeU32(bw, crc.Sum32())
	return bw.Flush() // bufio.Writer keeps the first write error
}

// SaveFile writes the model to the named file, atomically and durably: it
// writes a temporary file next to it, syncs it to disk, renames it into
// place and syncs the directory, so that after a crash the path holds
// either the previous file or the whole new one. The file gets mode 0666
// less the process's umask, as os.Create gives; when path is a symbolic
// link its target is replaced. Errors name path.
func (m *Model) SaveFile(path string) error {
	f, err := atomicfile.Create(path)
	if err != nil {
		return fmt.Errorf("saving model to %s: %w", path, err)
	}
	defer f.Abort()
	if err := m.Save(f); err != nil {
		return fmt.Errorf("saving model to %s: %w", path, err)
	}
	if err := f.Commit(); err != nil {
		return fmt.Errorf("saving model to %s: %w", path, err)
	}
	return nil
}

func writeU32(w io.Writer, v uint32) {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	w.Write(b[:])
}

func writeFloats(w io.Writer, xs []float32) {
	buf := make([]byte, 64*1024)
	for len(xs) > 0 {
		n := min(len(xs), len(buf)/4)
		for i, x := range xs[:n] {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(x))
		}
		w.Write(buf[:4*n])
		xs = xs[n:]
	}
}

// Load reads a model written by Save. A file that is not a model, of an
// unknown version, truncated, or altered is refused with an error that says
// which (wrapping ErrNotModel or ErrCorrupt where they apply); an error of r
// other than the end of its data is returned, wrapped. When r can tell how
// many bytes it has left (an *os.File, or a reader with a Len method such as
// *bytes.Reader), the header is checked against that before the tables are
// allocated; otherwise the tables grow as their data arrives.
func Load(r io.Reader) (*Model, error) {
	return load(bufio.NewReaderSize(r, 1<<16), remaining(r))
}

// remaining returns the number of unread bytes of r when r can tell, -1
// otherwise.
func remaining(r io.Reader) int64 {
	switch v := r.(type) {
	case interface{ Len() int }: // bytes.Reader, bytes.Buffer, strings.Reader
		return int64(v.Len())
	case *os.File:
		fi, err := v.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			return -1
		}
		at, err := v.Seek(0, io.SeekCurrent)
		if err != nil {
			return -1
		}
		return fi.Size() - at
	}
	return -1
}

// LoadFile reads a model from the named file. Errors name the file.
func LoadFile(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := load(bufio.NewReaderSize(f, 1<<16), remaining(f))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

type crcReader struct {
	r   *bufio.Reader
	crc hash.Hash32
}

func (c *crcReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.crc.Write(p[:n])
	return n, err
}

// readErr is the error of a read of what that failed with err: the input
// ending early is kind (ErrNotModel or ErrCorrupt); another error (of the
// file system, of the network) is returned as it is, wrapped.
func readErr(err error, kind error, what string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %s", kind, what)
	}
	return fmt.Errorf("reading the model: %w", err)
}

// load reads a model. size is the size of the input when known, -1
// otherwise; a known size is checked against the header before the tables
// are allocated.
func load(br *bufio.Reader, size int64) (*Model, error) {
	cr := &crcReader{r: br, crc: crc32.New(castagnoli)}
	var pre [16]byte
	if _, err := io.ReadFull(cr, pre[:]); err != nil {
		return nil, readErr(err, ErrNotModel, "too short for a header")
	}
	if string(pre[:8]) != fileMagic {
		return nil, fmt.Errorf("%w: bad magic %q", ErrNotModel, pre[:8])
	}
	version := binary.LittleEndian.Uint32(pre[8:])
	if version != fileVersion && version != fileVersion2 {
		return nil, fmt.Errorf("unsupported model file version %d (this build reads versions %d and %d)", version, fileVersion, fileVersion2)
	}
	hlen := binary.LittleEndian.Uint32(pre[12:])
	if hlen == 0 || hlen > maxHeaderSize {
		return nil, fmt.Errorf("%w: header length %d out of range", ErrCorrupt, hlen)
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(cr, hdr); err != nil {
		return nil, readErr(err, ErrCorrupt, "header cut short")
	}
	sum := cr.crc.Sum32()
	var b4 [4]byte
	if _, err := io.ReadFull(cr, b4[:]); err != nil {
		return nil, readErr(err, ErrCorrupt, "header checksum cut short")
	}
	if binary.LittleEndian.Uint32(b4[:]) != sum {
		return nil, fmt.Errorf("%w: header checksum mismatch", ErrCorrupt)
	}
	var h fileHeader
	if err := json.Unmarshal(hdr, &h); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrCorrupt, err)
	}
	if h.HashID != embedding.HashID {
		return nil, fmt.Errorf("model uses entity hash %q; this build implements %q", h.HashID, embedding.HashID)
	}
	if h.EncoderID != embedding.EncoderID {
		return nil, fmt.Errorf("model uses IP encoder %q; this build implements %q", h.EncoderID, embedding.EncoderID)
	}
	cfg, err := ParseHyperparameters(h.Hyperparameters)
	if err != nil {
		return nil, fmt.Errorf("model header: %w", err)
	}
	if err := checkShape(cfg, h); err != nil {
		return nil, err
	}
	if err := checkSections(h.Sections); err != nil {
		return nil, err
	}
	if (version == fileVersion) != (len(h.Sections) == 0) {
		return nil, fmt.Errorf("%w: a version %d file with %d optional sections", ErrCorrupt, version, len(h.Sections))
	}
	d := int64(h.VectorDim)
	want := int64(16+len(hdr)+4) + 4*d*(int64(h.EntityRows)+int64(h.IPRows)) +
		int64(h.Layers)*4*(d*d+d) + 8*int64(h.SeenEntities) + 4
	for _, s := range h.Sections {
		want += s.Bytes
	}
	if size >= 0 && size != want {
		return nil, fmt.Errorf("%w: the file has %d bytes, its header describes %d", ErrCorrupt, size, want)
	}
	m, err := newModelShell(cfg)
	if err != nil {
		return nil, err
	}
	// With the size checked the tables are allocated at once; otherwise
	// each grows as its data arrives.
	table := func(n int) ([]float32, error) { return readFloatsGrow(cr, n) }
	if size >= 0 {
		table = func(n int) ([]float32, error) {
			t := make([]float32, n)
			adviseHugePages(t)
			return t, readFloats(cr, t)
		}
	}
	if m.entity, err = table(h.EntityRows * h.VectorDim); err != nil {
		return nil, err
	}
	if m.ip, err = table(h.IPRows * h.VectorDim); err != nil {
		return nil, err
	}
	for l := range m.layers {
		if m.layers[l].w, err = table(h.VectorDim * h.VectorDim); err != nil {
			return nil, err
		}
		if m.layers[l].b, err = table(h.VectorDim); err != nil {
			return nil, err
		}
	}
	hashes, err := readHashes(cr, h.SeenEntities)
	if err != nil {
		return nil, err
	}
	if err := m.readSections(cr, h.Sections); err != nil {
		return nil, err
	}
	sum = cr.crc.Sum32()
	if _, err := io.ReadFull(br, b4[:]); err != nil {
		return nil, readErr(err, ErrCorrupt, "checksum cut short")
	}
	if binary.LittleEndian.Uint32(b4[:]) != sum {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	if _, err := br.ReadByte(); err == nil {
		return nil, fmt.Errorf("%w: unexpected data after the end of the model", ErrCorrupt)
	} else if err != io.EOF {
		return nil, readErr(err, ErrCorrupt, "")
	}
	for i := 1; i < len(hashes); i++ {
		if hashes[i] <= hashes[i-1] {
			return nil, fmt.Errorf("%w: seen-entity list not ascending", ErrCorrupt)
		}
	}
	m.seen = newSeenSet(hashes)
	return m, nil
}

// checkShape checks the header's table shapes against its hyperparameters.
func checkShape(cfg Config, h fileHeader) error {
	enc, err := embedding.NewEncoder(cfg.encoderConfig())
	if err != nil {
		return fmt.Errorf("model header: %w", err)
	}
	if h.EntityRows != cfg.NumEntityVectors || h.IPRows != enc.Rows() || h.VectorDim != cfg.VectorDim ||
		h.Layers != cfg.NumIPEncoderLayers || h.SeenEntities < 0 || h.SeenEntities > 1<<40 {
		return fmt.Errorf("%w: header shape (entity rows %d, ip rows %d, dim %d, layers %d, seen %d) does not match its hyperparameters",
			ErrCorrupt, h.EntityRows, h.IPRows, h.VectorDim, h.Layers, h.SeenEntities)
	}
	return nil
}

func readFloats(r io.Reader, dst []float32) error {
	buf := make([]byte, 64*1024)
	for len(dst) > 0 {
		n := min(len(dst), len(buf)/4)
		if _, err := io.ReadFull(r, buf[:4*n]); err != nil {
			return readErr(err, ErrCorrupt, "tables cut short")
		}
		for i := range dst[:n] {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
		}
		dst = dst[n:]
	}
	return nil
}

// readFloatsGrow reads n floats into a new slice that grows as data
// arrives (doubling, from 1Mi floats), so that a header that describes more
// data than the input holds costs at most about the input's size.
func readFloatsGrow(r io.Reader, n int) ([]float32, error) {
	out := make([]float32, 0, min(n, 1<<20))
	for len(out) < n {
		if len(out) == cap(out) {
			grown := make([]float32, len(out), min(n, 2*cap(out)))
			adviseHugePages(grown[:cap(grown)])
			copy(grown, out)
			out = grown
		}
		k := min(n, cap(out)) - len(out)
		if err := readFloats(r, out[len(out):len(out)+k]); err != nil {
			return nil, err
		}
		out = out[:len(out)+k]
	}
	return out, nil
}

// readHashes reads n hashes, growing the slice as data arrives so that a
// truncated file can not make it allocate more than it holds.
func readHashes(r io.Reader, n int) ([]uint64, error) {
	out := make([]uint64, 0, min(n, 1<<16))
	buf := make([]byte, 8*1024)
	for len(out) < n {
		k := min(n-len(out), len(buf)/8)
		if _, err := io.ReadFull(r, buf[:8*k]); err != nil {
			return nil, readErr(err, ErrCorrupt, "seen-entity list cut short")
		}
		for i := 0; i < k; i++ {
			out = append(out, binary.LittleEndian.Uint64(buf[8*i:]))
		}
	}
	return out, nil
}
