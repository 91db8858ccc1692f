package export

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ipinsights/ipinsights-go/csvio"
	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// Table is a matrix of embeddings with a name for each row.
type Table struct {
	// Names labels the rows: entity names, or addresses in their standard
	// text form.
	Names []string
	// Vectors holds the rows, row-major: row i is Vectors[i*Dim : (i+1)*Dim].
	Vectors []float32
	// Dim is the length of a row, the model's vector_dim.
	Dim int
	// Seen reports, for a table of entities, whether each occurred in
	// training. It is nil for a table of addresses.
	Seen []bool
}

// Entities returns the entity vectors of names, in the order given
// (duplicates included).
func Entities(m *ipinsights.Model, names []string) *Table {
	vecs, seen := m.EntityVectors(names)
	return &Table{Names: names, Vectors: vecs, Dim: m.Config().VectorDim, Seen: seen}
}

// Addresses returns the IP vectors of addrs, in the order given. The
// row of an invalid address is NaN.
func Addresses(m *ipinsights.Model, addrs []netip.Addr) *Table {
	names := make([]string, len(addrs))
	for i, a := range addrs {
		names[i] = a.String()
	}
	return &Table{Names: names, Vectors: m.IPVectors(addrs), Dim: m.Config().VectorDim}
}

// Rows returns the number of rows.
func (t *Table) Rows() int { return len(t.Names) }

// Unseen returns the names of the rows whose entity did not occur in
// training, in row order; none for a table of addresses.
func (t *Table) Unseen() []string {
	var out []string
	for i, s := range t.Seen {
		if !s {
			out = append(out, t.Names[i])
		}
	}
	return out
}

// UnseenError reports entities that did not occur in training: their
// vectors are those of their hash buckets, which describe other entities
// or nothing.
type UnseenError struct {
	Names []string // the unseen names, in row order
	Rows  int      // rows of the table
}

func (e *UnseenError) Error() string {
	const show = 3
	quoted := make([]string, 0, show)
	for _, n := range e.Names[:min(show, len(e.Names))] {
		quoted = append(quoted, strconv.Quote(n))
	}
	more := ""
	if len(e.Names) > show {
		more = ", ..."
	}
	return fmt.Sprintf("export: %d of %d entities did not occur in training (%s%s): their vectors would be those of hash buckets trained for other entities or not at all",
		len(e.Names), e.Rows, strings.Join(quoted, ", "), more)
}

// CheckSeen returns an *UnseenError when an entity of t did not occur in
// training, and nil otherwise (and for a table of addresses).
func (t *Table) CheckSeen() error {
	if u := t.Unseen(); len(u) > 0 {
		return &UnseenError{Names: u, Rows: t.Rows()}
	}
	return nil
}

func (t *Table) check() {
	if t.Dim < 0 || len(t.Vectors) != len(t.Names)*t.Dim || t.Seen != nil && len(t.Seen) != len(t.Names) {
		panic(fmt.Sprintf("export: Table of %d names, %d values of dim %d, %d seen flags", len(t.Names), len(t.Vectors), t.Dim, len(t.Seen)))
	}
}

// WriteNPY writes the vectors as a .npy file of shape (Rows, Dim); see the
// package function WriteNPY. The names go to a separate file (WriteNames).
func (t *Table) WriteNPY(w io.Writer) error {
	t.check()
	return WriteNPY(w, t.Vectors, len(t.Names), t.Dim)
}

// ErrLineBreak is returned by WriteNames for a name that holds a line
// break, which a list of one name a line cannot represent.
var ErrLineBreak = errors.New("export: a name holds a line break; write CSV instead")

// WriteNames writes the names, one a line, each ended by "\n": the sidecar
// of a .npy file, whose line i names row i.
func (t *Table) WriteNames(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	for i, n := range t.Names {
		if strings.ContainsAny(n, "\r\n") {
			return fmt.Errorf("row %d (%q): %w", i+1, n, ErrLineBreak)
		}
		bw.WriteString(n)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// WriteCSV writes the table as CSV with a header line: the name column
// ("entity", then "entity_seen" with true or false, for entities; "ip" for
// addresses) and the components v0 to v<Dim-1>, each the shortest decimal
// that reads back as the same float32. Names are quoted as csvio reads them
// back.
func (t *Table) WriteCSV(w io.Writer) error {
	t.check()
	bw := bufio.NewWriterSize(w, 1<<16)
	line := make([]byte, 0, 1024)
	if t.Seen != nil {
		line = append(line, "entity,entity_seen"...)
	} else {
		line = append(line, "ip"...)
	}
	for j := 0; j < t.Dim; j++ {
		line = append(line, ",v"...)
		line = strconv.AppendInt(line, int64(j), 10)
	}
	line = append(line, '\n')
	if _, err := bw.Write(line); err != nil {
		return err
	}
	for i, n := range t.Names {
		line = csvio.AppendField(line[:0], n)
		if t.Seen != nil {
			line = append(line, ',')
			line = strconv.AppendBool(line, t.Seen[i])
		}
		for _, v := range t.Vectors[i*t.Dim : (i+1)*t.Dim] {
			line = append(line, ',')
			line = strconv.AppendFloat(line, float64(v), 'g', -1, 32)
		}
		line = append(line, '\n')
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// Format is an output format.
type Format int

// The formats, told by a file's extension.
const (
	NPY Format = iota + 1 // .npy, with a sidecar .npy.names.txt (NamesPath)
	CSV                   // .csv
)

func (f Format) String() string {
	switch f {
	case NPY:
		return "npy"
	case CSV:
		return "csv"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ErrFormat is returned by FormatOf for a path whose extension is neither
// .npy nor .csv.
var ErrFormat = errors.New("export: unknown format: want a .npy or .csv file name")

// FormatOf returns the format of path from its extension, .npy or .csv in
// any case.
func FormatOf(path string) (Format, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".npy":
		return NPY, nil
	case ".csv":
		return CSV, nil
	}
	return 0, fmt.Errorf("%s: %w", path, ErrFormat)
}

// NamesPath returns the path of the sidecar list of names of a .npy file:
// path + ".names.txt".
func NamesPath(path string) string { return path + ".names.txt" }

// WriteFile writes t to path in the format of its extension (FormatOf)
// and, for .npy, its names to NamesPath(path). It returns the paths
// written. Each file is written under a temporary name in the same
// directory and renamed into place, so a failed write leaves no partial
// file behind.
func (t *Table) WriteFile(path string) ([]string, error) {
	f, err := FormatOf(path)
	if err != nil {
		return nil, err
	}
	if f == CSV {
		return []string{path}, writeAtomic(path, t.WriteCSV)
	}
	// The names first: a name with a line break fails before any file
	// exists.
	if err := t.WriteNames(io.Discard); err != nil {
		return nil, err
	}
	if err := writeAtomic(path, t.WriteNPY); err != nil {
		return nil, err
	}
	names := NamesPath(path)
	if err := writeAtomic(names, t.WriteNames); err != nil {
		os.Remove(path)
		return nil, err
	}
	return []string{path, names}, nil
}

// writeAtomic writes path through write, via a temporary file renamed
// into place.
func writeAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	err = write(tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// LineError reports a malformed line of a list of names or addresses.
type LineError struct {
	File   string // as given to ReadNames or ReadAddresses
	Line   int    // 1-based
	Reason string
}

func (e *LineError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason)
}

// maxLine bounds the length of a line of a list.
const maxLine = 1 << 20

// eachLine calls fn with every line of r, without its line end (\n or
// \r\n) and the spaces and tabs around it; a UTF-8 byte order mark at the
// start is dropped.
func eachLine(r io.Reader, file string, fn func(n int, line []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	n := 0
	for sc.Scan() {
		n++
		b := sc.Bytes()
		if n == 1 {
			b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
		}
		b = bytes.Trim(b, " \t\r")
		if err := fn(n, b); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return &LineError{File: file, Line: n + 1, Reason: fmt.Sprintf("line longer than %d bytes", maxLine)}
		}
		return fmt.Errorf("%s: %w", file, err)
	}
	return nil
}

// ReadNames reads a list of entity names, one a line, as written for
// WriteNames: line ends \n or \r\n, spaces and tabs around a name dropped
// (as csvio drops them around an unquoted field of a training file). An
// empty line is a *LineError, an input without names an error; file names
// the input in errors.
func ReadNames(r io.Reader, file string) ([]string, error) {
	var names []string
	err := eachLine(r, file, func(n int, line []byte) error {
		if len(line) == 0 {
			return &LineError{File: file, Line: n, Reason: "empty line: want one entity name a line"}
		}
		names = append(names, string(line))
		return nil
	})
	if err == nil && len(names) == 0 {
		err = fmt.Errorf("%s: no entity names", file)
	}
	return names, err
}

// ReadAddresses reads a list of IPv4 or IPv6 addresses, one a line, parsed
// as the training files' addresses are (csvio.ParseAddr). An empty or
// unparsable line is a *LineError, an input without addresses an error;
// file names the input in errors.
func ReadAddresses(r io.Reader, file string) ([]netip.Addr, error) {
	var addrs []netip.Addr
	err := eachLine(r, file, func(n int, line []byte) error {
		if len(line) == 0 {
			return &LineError{File: file, Line: n, Reason: "empty line: want one IP address a line"}
		}
		a, err := csvio.ParseAddr(line)
		if err != nil {
			return &LineError{File: file, Line: n, Reason: fmt.Sprintf("unparsable IP address %q", line)}
		}
		addrs = append(addrs, a)
		return nil
	})
	if err == nil && len(addrs) == 0 {
		err = fmt.Errorf("%s: no IP addresses", file)
	}
	return addrs, err
}
