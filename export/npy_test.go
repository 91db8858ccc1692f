package export

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// parseNPY reads a .npy file as the format's specification describes it
// (numpy.lib.format, "Format Version 1.0"), independently of npyHeader:
// the magic string "\x93NUMPY", one byte each of major and minor version,
// the header length (little-endian uint16 in version 1, uint32 in 2), and
// the header, an ASCII Python dict literal padded with spaces and ended by
// a newline so that the data starts at a multiple of 64 bytes.
func parseNPY(t *testing.T, b []byte) (descr string, fortran bool, shape []int, data []byte) {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("\x93NUMPY")) {
		t.Fatalf("no magic string: % x", b[:min(8, len(b))])
	}
	major, minor := b[6], b[7]
	var hlen, start int
	switch major {
	case 1:
		hlen, start = int(binary.LittleEndian.Uint16(b[8:10])), 10
	case 2, 3:
		hlen, start = int(binary.LittleEndian.Uint32(b[8:12])), 12
	default:
		t.Fatalf("version %d.%d", major, minor)
	}
	if minor != 0 {
		t.Fatalf("minor version %d, want 0", minor)
	}
	end := start + hlen
	if end > len(b) {
		t.Fatalf("header length %d past the end of a %d-byte file", hlen, len(b))
	}
	if end%64 != 0 {
		t.Errorf("the data starts at byte %d, not a multiple of 64", end)
	}
	header := string(b[start:end])
	if !strings.HasSuffix(header, "\n") {
		t.Errorf("header %q does not end with a newline", header)
	}
	for _, c := range header {
		if c > 127 {
			t.Fatalf("header %q is not ASCII", header)
		}
	}
	dict := strings.TrimRight(header, " \n")
	if !strings.HasPrefix(dict, "{") || !strings.HasSuffix(dict, "}") {
		t.Fatalf("header %q is not a dict literal", header)
	}
	// The three keys, in any order, each once.
	keys := regexp.MustCompile(`'(\w+)'\s*:`).FindAllStringSubmatch(dict, -1)
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k[1]] {
			t.Errorf("key %s twice", k[1])
		}
		seen[k[1]] = true
	}
	if len(seen) != 3 || !seen["descr"] || !seen["fortran_order"] || !seen["shape"] {
		t.Fatalf("header keys %v, want exactly descr, fortran_order, shape", keys)
	}
	if m := regexp.MustCompile(`'descr'\s*:\s*'([^']*)'`).FindStringSubmatch(dict); m != nil {
		descr = m[1]
	} else {
		t.Fatalf("descr is not a string in %q", dict)
	}
	switch m := regexp.MustCompile(`'fortran_order'\s*:\s*(\w+)`).FindStringSubmatch(dict); {
	case m == nil:
		t.Fatalf("no fortran_order in %q", dict)
	case m[1] == "True":
		fortran = true
	case m[1] != "False":
		t.Fatalf("fortran_order %q is not a Python bool", m[1])
	}
	m := regexp.MustCompile(`'shape'\s*:\s*\(([^)]*)\)`).FindStringSubmatch(dict)
	if m == nil {
		t.Fatalf("shape is not a tuple in %q", dict)
	}
	for _, f := range strings.Split(m[1], ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("shape %q: %v", m[1], err)
		}
		shape = append(shape, n)
	}
	return descr, fortran, shape, b[end:]
}

func TestNPYFollowsTheSpecification(t *testing.T) {
	for _, tc := range []struct{ rows, cols int }{{0, 8}, {1, 1}, {3, 4}, {2, 128}, {1000, 7}, {123456789, 4096}} {
		h := npyHeader(tc.rows, tc.cols)
		descr, fortran, shape, rest := parseNPY(t, h)
		if descr != "<f4" || fortran || len(shape) != 2 || shape[0] != tc.rows || shape[1] != tc.cols || len(rest) != 0 {
			t.Errorf("%dx%d: descr %q fortran %v shape %v, %d bytes after the header", tc.rows, tc.cols, descr, fortran, shape, len(rest))
		}
	}

	// Values that show byte order and C order: row i, column j holds
	// i*10+j, and a few special values.
	rows, cols := 3, 5
	data := make([]float32, rows*cols)
	for i := range rows {
		for j := range cols {
			data[i*cols+j] = float32(i*10 + j)
		}
	}
	data[1] = float32(math.Inf(-1))
	data[2] = -0.1
	data[3] = float32(math.SmallestNonzeroFloat32)
	var buf bytes.Buffer
	if err := WriteNPY(&buf, data, rows, cols); err != nil {
		t.Fatal(err)
	}
	_, _, shape, raw := parseNPY(t, buf.Bytes())
	if len(raw) != 4*rows*cols {
		t.Fatalf("%d data bytes, want %d", len(raw), 4*rows*cols)
	}
	for k := range data {
		got := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*k:]))
		if math.Float32bits(got) != math.Float32bits(data[k]) {
			t.Errorf("value %d (row %d, column %d): %v, want %v", k, k/shape[1], k%shape[1], got, data[k])
		}
	}
	// IEEE 754 single precision: 10.0 is 0x41200000 and 4.0 is 0x40800000,
	// little-endian byte first.
	if got := raw[4*5 : 4*6]; !bytes.Equal(got, []byte{0, 0, 0x20, 0x41}) { // 10.0: row 1, column 0
		t.Errorf("10.0 written as % x, want 00 00 20 41", got)
	}
	if got := raw[4*4 : 4*5]; !bytes.Equal(got, []byte{0, 0, 0x80, 0x40}) { // 4.0: row 0, column 4
		t.Errorf("4.0 written as % x, want 00 00 80 40", got)
	}
}

func TestWriteNPYPanicsOnShapeMismatch(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for 5 values as 2x3")
		}
	}()
	_ = WriteNPY(&bytes.Buffer{}, make([]float32, 5), 2, 3)
}

// TestNumPyLoads loads a written file with NumPy, when python3 and numpy
// are installed. The specification test above does not depend on it.
func TestNumPyLoads(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: the .npy file is checked against the format's specification only (TestNPYFollowsTheSpecification)")
	}
	if err := exec.Command(py, "-c", "import numpy").Run(); err != nil {
		t.Skip("numpy is not installed for python3: the .npy file is checked against the format's specification only (TestNPYFollowsTheSpecification)")
	}
	rows, cols := 4, 3
	data := []float32{0, 1, 2, 10, 11, 12, 20, 21, 22, -1.5, 1e-30, 3.4e38}
	path := filepath.Join(t.TempDir(), "m.npy")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteNPY(f, data, rows, cols); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	script := `import sys, numpy
a = numpy.load(sys.argv[1])
print(a.dtype.str, a.shape, a.flags["C_CONTIGUOUS"])
print(" ".join(repr(float(x)) for x in a.ravel()))`
	out, err := exec.Command(py, "-c", script, path).CombinedOutput()
	if err != nil {
		t.Fatalf("numpy.load: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if lines[0] != "<f4 (4, 3) True" {
		t.Errorf("numpy sees %q, want <f4 (4, 3) True", lines[0])
	}
	vals := strings.Fields(lines[1])
	if len(vals) != len(data) {
		t.Fatalf("numpy read %d values, want %d", len(vals), len(data))
	}
	for i, v := range vals {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || float32(x) != data[i] {
			t.Errorf("value %d: numpy %s, want %v", i, v, data[i])
		}
	}
}
