package ipinsights

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// The model file's "calibration" section holds a Calibration. All integers
// and floats are little endian:
//
//	format            uint32   1
//	min_entity_pairs  uint32   CalibrationOptions.MinEntityPairs
//	entity_quantiles  uint32   CalibrationOptions.EntityQuantiles
//	skipped           uint64   pairs left out (entity not seen in training)
//	global_pairs      uint64   calibration pairs
//	global_values     uint32   k, then k float32: the global distribution, ascending
//	entities          uint32   then per entity, by ascending hash:
//	                           hash uint64 (embedding.EntityHash), pairs uint32,
//	                           min(pairs, entity_quantiles) float32, ascending
//
// An entity costs 12 bytes plus 4 per value in the file. A later change
// of this layout takes a new section name, so that builds that do not know
// it skip it and keep scoring.
const calibrationFormat = 1

func init() {
	registerSection(sectionCodec{
		name: "calibration",
		size: func(m *Model) int64 {
			if m.calib == nil {
				return 0
			}
			return m.calib.encodedSize()
		},
		write: func(m *Model, w io.Writer) error { return m.calib.encode(w) },
		read: func(m *Model, r *bufio.Reader, _ int64) error {
			c, err := decodeCalibration(r)
			if err != nil {
				return err
			}
			m.calib = c
			return nil
		},
	})
	// Here rather than in its own file's init, so that it is written, and
	// read, after the calibration it completes.
	registerSection(netCalibrationCodec())
}

func (c *Calibration) encodedSize() int64 {
	return 4 + 4 + 4 + 8 + 8 + 4 + 4*int64(len(c.global.v)) + 4 + 12*int64(len(c.hashes)) + 4*int64(len(c.values))
}

func (c *Calibration) encode(w io.Writer) error {
	b := make([]byte, 0, 64<<10)
	flush := func(force bool) error {
		if len(b) == 0 || !force && len(b) < 60<<10 {
			return nil
		}
		_, err := w.Write(b)
		b = b[:0]
		return err
	}
	floats := func(v []float32) error {
		for _, x := range v {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
			if err := flush(false); err != nil {
				return err
			}
		}
		return nil
	}
	b = binary.LittleEndian.AppendUint32(b, calibrationFormat)
	b = binary.LittleEndian.AppendUint32(b, uint32(c.minEntityPairs))
	b = binary.LittleEndian.AppendUint32(b, uint32(c.entityQuantiles))
	b = binary.LittleEndian.AppendUint64(b, uint64(c.skipped))
	b = binary.LittleEndian.AppendUint64(b, uint64(c.global.n))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(c.global.v)))
	if err := floats(c.global.v); err != nil {
		return err
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(c.hashes)))
	for i, h := range c.hashes {
		b = binary.LittleEndian.AppendUint64(b, h)
		b = binary.LittleEndian.AppendUint32(b, c.counts[i])
		if err := floats(c.values[c.offsets[i]:c.offsets[i+1]]); err != nil {
			return err
		}
	}
	return flush(true)
}

// calibReader reads the fields of a calibration section; the first error
// sticks.
type calibReader struct {
	r   *bufio.Reader
	buf [8]byte
	err error
}

func (cr *calibReader) read(n int) []byte {
	if cr.err != nil {
		return make([]byte, n)
	}
	if _, err := io.ReadFull(cr.r, cr.buf[:n]); err != nil {
		cr.err = readErr(err, ErrCorrupt, "calibration cut short")
	}
	return cr.buf[:n]
}

func (cr *calibReader) u32() uint32 { return binary.LittleEndian.Uint32(cr.read(4)) }
func (cr *calibReader) u64() uint64 { return binary.LittleEndian.Uint64(cr.read(8)) }

// floats appends k ascending finite floats to dst. It reads them in
// chunks, so that a count larger than the data costs no more memory than
// the data.
func (cr *calibReader) floats(dst []float32, k int) []float32 {
	var chunk [4 << 10]byte
	last := float32(math.Inf(-1))
	for k > 0 && cr.err == nil {
		n := min(k, len(chunk)/4)
		if _, err := io.ReadFull(cr.r, chunk[:4*n]); err != nil {
			cr.err = readErr(err, ErrCorrupt, "calibration cut short")
			break
		}
		for i := 0; i < n; i++ {
			x := math.Float32frombits(binary.LittleEndian.Uint32(chunk[4*i:]))
			if !(x >= last) || math.IsInf(float64(x), 0) { // NaN fails x >= last
				cr.err = fmt.Errorf("%w: calibration values not finite and ascending", ErrCorrupt)
				return dst
			}
			last = x
			dst = append(dst, x)
		}
		k -= n
	}
	return dst
}

func decodeCalibration(r *bufio.Reader) (*Calibration, error) {
	cr := &calibReader{r: r}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: calibration: %s", ErrCorrupt, fmt.Sprintf(format, a...))
	}
	if f := cr.u32(); cr.err == nil && f != calibrationFormat {
		return nil, bad("format %d, this build reads %d", f, calibrationFormat)
	}
	c := &Calibration{minEntityPairs: int(cr.u32()), entityQuantiles: int(cr.u32())}
	skipped, pairs := cr.u64(), cr.u64()
	k := cr.u32()
	if cr.err != nil {
		return nil, cr.err
	}
	switch {
	case c.minEntityPairs < 1:
		return nil, bad("minimum of entity pairs %d", c.minEntityPairs)
	case c.entityQuantiles < 2 || c.entityQuantiles > math.MaxUint16:
		return nil, bad("%d entity quantiles", c.entityQuantiles)
	case skipped > 1<<62 || pairs < 1 || pairs > 1<<62:
		return nil, bad("%d pairs, %d skipped", pairs, skipped)
	case k < 1 || uint64(k) > pairs || k == 1 && pairs > 1:
		return nil, bad("%d global values for %d pairs", k, pairs)
	}
	c.skipped, c.global.n = int64(skipped), int(pairs)
	if c.global.v = cr.floats(nil, int(k)); cr.err != nil {
		return nil, cr.err
	}
	entities := cr.u32()
	c.offsets = []uint32{0}
	var sum uint64
	for i := uint32(0); i < entities && cr.err == nil; i++ {
		h, n := cr.u64(), cr.u32()
		if cr.err != nil {
			break
		}
		if i > 0 && h <= c.hashes[len(c.hashes)-1] {
			return nil, bad("entity hashes not ascending")
		}
		if int64(n) < int64(c.minEntityPairs) {
			return nil, bad("an entity with %d pairs, fewer than the minimum %d", n, c.minEntityPairs)
		}
		if sum += uint64(n); sum > pairs {
			return nil, bad("entities hold more pairs than the %d in all", pairs)
		}
		kv := min(int(n), c.entityQuantiles)
		if uint64(len(c.values))+uint64(kv) > math.MaxUint32 {
			return nil, bad("too many values")
		}
		c.values = cr.floats(c.values, kv)
		c.hashes = append(c.hashes, h)
		c.counts = append(c.counts, n)
		c.offsets = append(c.offsets, uint32(len(c.values)))
	}
	if cr.err != nil {
		return nil, cr.err
	}
	return c, nil
}
