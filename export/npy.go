package export

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"
)

// npyMagic starts every .npy file.
const npyMagic = "\x93NUMPY"

// npyAlign is the alignment of the data in a .npy file: the header is
// padded so that the data starts at a multiple of it, as NumPy writes it.
const npyAlign = 64

// npyHeader returns the header of a .npy file holding a rows x cols
// float32 matrix in C (row-major) order: magic, version, header length and
// the padded header dict. The data follows it directly.
func npyHeader(rows, cols int) []byte {
	dict := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", rows, cols)
	// Version 1.0 has a 2-byte header length, version 2.0 a 4-byte one
	// (only needed past 65535 bytes of header, which a 2-D shape never
	// reaches).
	major, lenBytes := byte(1), 2
	pad := func() int { return (npyAlign - (len(npyMagic)+2+lenBytes+len(dict)+1)%npyAlign) % npyAlign }
	if len(dict)+1+pad() > math.MaxUint16 {
		major, lenBytes = 2, 4
	}
	header := dict + strings.Repeat(" ", pad()) + "\n"
	b := make([]byte, 0, len(npyMagic)+2+lenBytes+len(header))
	b = append(b, npyMagic...)
	b = append(b, major, 0)
	if lenBytes == 2 {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(header)))
	} else {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(header)))
	}
	return append(b, header...)
}

// WriteNPY writes data, a rows x cols float32 matrix in row-major order,
// to w as a NumPy .npy file (see npyHeader): numpy.load gives an array of
// shape (rows, cols) and dtype float32. It panics when len(data) is not
// rows*cols, a programming error.
func WriteNPY(w io.Writer, data []float32, rows, cols int) error {
	if rows < 0 || cols < 0 || len(data) != rows*cols {
		panic(fmt.Sprintf("export: WriteNPY of %d values as %d x %d", len(data), rows, cols))
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	if _, err := bw.Write(npyHeader(rows, cols)); err != nil {
		return err
	}
	var buf [4096]byte
	for len(data) > 0 {
		n := min(len(data), len(buf)/4)
		for i, v := range data[:n] {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
		if _, err := bw.Write(buf[:4*n]); err != nil {
			return err
		}
		data = data[n:]
	}
	return bw.Flush()
}
