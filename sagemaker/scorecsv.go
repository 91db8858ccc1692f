package sagemaker

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/ipinsights/ipinsights-go/csvio"
)

// ScoredRow is one row of a scored CSV (see the package documentation).
type ScoredRow struct {
	Entity     []byte
	Addr       netip.Addr
	DotProduct float64
	// EntitySeen tells whether the entity was seen in training; it is
	// written only when the ScoreWriter has the entity_seen column.
	EntitySeen bool
	// Percentile is the pair's calibrated percentile (a share in [0, 1],
	// low = unusual; see ipinsights.Percentile); it is written only when
	// the ScoreWriter has the percentile column.
	Percentile float64
	// Alert tells whether the pair alerts (see ipinsights.AlertRule); it
	// is written only when the ScoreWriter has the alert column.
	Alert bool
	// Columns are the values of the ScoreWriter's computed columns
	// (ScoreWriterOptions.Columns), as text.
	Columns [][]byte
	// Extra are the input's further columns, passed through.
	Extra [][]byte
}

// ScoreWriterOptions configure a ScoreWriter.
type ScoreWriterOptions struct {
	// EntitySeen adds the entity_seen column.
	EntitySeen bool
	// Percentile adds the percentile column, written as the shortest
	// decimal that reads back as the same float32.
	Percentile bool
	// Alert adds the alert column (true or false).
	Alert bool
	// Columns names further columns that the scorer computes, such as an
	// explanation's (see package alert), written after alert and before
	// the extra columns; every row has as many (ScoredRow.Columns).
	// ScoreReader reads them back as extra columns.
	Columns []string
	// Extra names the extra columns; every row has as many. An empty name
	// is written colN, N being the column's position in the input (col3
	// for the first extra column; see ExtraName).
	Extra []string
	// BitSize is 32 when the dot products are float32 values (this
	// implementation's scores): each is written as the shortest decimal
	// that reads back as the same float32. 0 or 64 writes the shortest
	// decimal that reads back as the same float64 (SageMaker's scores, as
	// they were read).
	BitSize int
}

// ScoreWriter writes a scored CSV: the header, then one line per row. The
// entity is quoted only when csvio would not read it back the same
// (csvio.AppendField), the address is written in canonical form, the dot
// product as the shortest decimal that reads back as the same number (see
// ScoreWriterOptions.BitSize). It buffers its output: call Flush at the
// end. After a write error, every call returns that error.
type ScoreWriter struct {
	w           *bufio.Writer
	opts        ScoreWriterOptions
	wroteHeader bool
	err         error
}

// NewScoreWriter returns a ScoreWriter to w. The header is written with
// the first row, or by Flush when there is none.
func NewScoreWriter(w io.Writer, opts ScoreWriterOptions) *ScoreWriter {
	if opts.BitSize != 32 {
		opts.BitSize = 64
	}
	return &ScoreWriter{w: bufio.NewWriterSize(w, 64<<10), opts: opts}
}

func (sw *ScoreWriter) writeHeader() {
	sw.wroteHeader = true
	b := sw.w.AvailableBuffer()
	b = append(b, "entity,ip,dot_product"...)
	if sw.opts.EntitySeen {
		b = append(b, ",entity_seen"...)
	}
	if sw.opts.Percentile {
		b = append(b, ",percentile"...)
	}
	if sw.opts.Alert {
		b = append(b, ",alert"...)
	}
	for _, name := range sw.opts.Columns {
		b = append(b, ',')
		b = csvio.AppendField(b, name)
	}
	for i, name := range sw.opts.Extra {
		b = append(b, ',')
		b = csvio.AppendField(b, ExtraName(i, name))
	}
	_, sw.err = sw.w.Write(append(b, '\n'))
}

// ExtraName returns the header name of extra column i (0 for the input's
// third column) whose name in the input is name: name itself, or colN
// when it is empty, N being the column's position in the input (col3 for
// the first extra column).
func ExtraName(i int, name string) string {
	if name == "" {
		return "col" + strconv.Itoa(i+3)
	}
	return name
}

// Write writes one row. A row with another number of computed or extra
// columns than the writer's is an error.
func (sw *ScoreWriter) Write(row ScoredRow) error {
	if sw.err != nil {
		return sw.err
	}
	if err := sw.check(row); err != nil {
		return err
	}
	if !sw.wroteHeader {
		if sw.writeHeader(); sw.err != nil {
			return sw.err
		}
	}
	// Build the line in the writer's free space: one copy per row.
	b, _ := sw.AppendRow(sw.w.AvailableBuffer(), row)
	_, sw.err = sw.w.Write(b)
	return sw.err
}

// check returns the error of a row whose number of columns is not the
// writer's.
func (sw *ScoreWriter) check(row ScoredRow) error {
	if len(row.Extra) != len(sw.opts.Extra) {
		return fmt.Errorf("sagemaker: scored row with %d extra columns, want %d", len(row.Extra), len(sw.opts.Extra))
	}
	if len(row.Columns) != len(sw.opts.Columns) {
		return fmt.Errorf("sagemaker: scored row with %d computed columns, want %d", len(row.Columns), len(sw.opts.Columns))
	}
	return nil
}

// AppendRow appends to dst the line that Write writes for row, newline
// included. It writes nothing and changes nothing in sw, so that several
// goroutines may format rows at once, to write them in order with
// WriteLines. A row with another number of computed or extra columns than
// the writer's is an error.
func (sw *ScoreWriter) AppendRow(dst []byte, row ScoredRow) ([]byte, error) {
	if err := sw.check(row); err != nil {
		return dst, err
	}
	b := dst
	b = csvio.AppendField(b, row.Entity)
	b = append(b, ',')
	b = row.Addr.AppendTo(b)
	b = append(b, ',')
	b = strconv.AppendFloat(b, row.DotProduct, 'g', -1, sw.opts.BitSize)
	if sw.opts.EntitySeen {
		b = append(b, ',')
		b = strconv.AppendBool(b, row.EntitySeen)
	}
	if sw.opts.Percentile {
		b = append(b, ',')
		b = strconv.AppendFloat(b, row.Percentile, 'g', -1, 32)
	}
	if sw.opts.Alert {
		b = append(b, ',')
		b = strconv.AppendBool(b, row.Alert)
	}
	for _, f := range row.Columns {
		b = append(b, ',')
		b = csvio.AppendField(b, f)
	}
	for _, f := range row.Extra {
		b = append(b, ',')
		b = csvio.AppendField(b, f)
	}
	return append(b, '\n'), nil
}

// WriteLines writes lines that AppendRow made, after the header.
func (sw *ScoreWriter) WriteLines(lines []byte) error {
	if sw.err != nil {
		return sw.err
	}
	if !sw.wroteHeader {
		if sw.writeHeader(); sw.err != nil {
			return sw.err
		}
	}
	_, sw.err = sw.w.Write(lines)
	return sw.err
}

// Flush writes the header if no row was written, and any buffered data.
func (sw *ScoreWriter) Flush() error {
	if sw.err == nil && !sw.wroteHeader {
		sw.writeHeader()
	}
	if sw.err == nil {
		sw.err = sw.w.Flush()
	}
	return sw.err
}

// errNoScoreHeader is the error of NewScoreReader for a first line that
// names no dot_product column: the input is not a scored CSV.
var errNoScoreHeader = errors.New("no header naming a dot_product column (want entity,ip,dot_product[,entity_seen])")

// ScoreReader reads a scored CSV. It reads what ScoreWriter writes, and
// more: the columns may come in any order, their names in any case;
// dot_product is required, entity, ip, entity_seen, percentile and alert
// are read when present, and the other columns are the extra columns.
type ScoreReader struct {
	cr   *csv.Reader
	name string
	// Column indexes; -1 when absent.
	dot, seen, entity, ip, pct, alert int
	extra                             []int
	extraNames                        []string
	row                               ScoredRow
	line                              int
	err                               error
}

// NewScoreReader reads the header of a scored CSV from r; name is the
// file name for errors. A first line that names no dot_product column is
// an error.
func NewScoreReader(r io.Reader, name string) (*ScoreReader, error) {
	cr := csv.NewReader(bufio.NewReaderSize(r, 64<<10))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file", name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	sr := &ScoreReader{cr: cr, name: name, dot: -1, seen: -1, entity: -1, ip: -1, pct: -1, alert: -1}
	head[0] = strings.TrimPrefix(head[0], "\ufeff")
	for i, h := range head {
		h = strings.ToLower(strings.TrimSpace(h))
		var col *int
		switch h {
		case "dot_product":
			col = &sr.dot
		case "entity_seen":
			col = &sr.seen
		case "entity":
			col = &sr.entity
		case "ip":
			col = &sr.ip
		case "percentile":
			col = &sr.pct
		case "alert":
			col = &sr.alert
		}
		if col != nil && *col < 0 {
			*col = i
			continue
		}
		sr.extra = append(sr.extra, i)
		sr.extraNames = append(sr.extraNames, head[i])
	}
	if sr.dot < 0 {
		return nil, fmt.Errorf("%s:1: %w", name, errNoScoreHeader)
	}
	if (sr.entity < 0) != (sr.ip < 0) {
		// One without the other names no row: both are extra columns.
		for _, c := range []*int{&sr.entity, &sr.ip} {
			if *c >= 0 {
				sr.extra = append(sr.extra, *c)
				sr.extraNames = append(sr.extraNames, head[*c])
				*c = -1
			}
		}
	}
	sr.line = 1
	return sr, nil
}

// HasRows reports whether the file has the entity and ip columns, which
// name each row.
func (sr *ScoreReader) HasRows() bool { return sr.entity >= 0 }

// HasEntitySeen reports whether the file has the entity_seen column.
func (sr *ScoreReader) HasEntitySeen() bool { return sr.seen >= 0 }

// HasPercentile reports whether the file has the percentile column.
func (sr *ScoreReader) HasPercentile() bool { return sr.pct >= 0 }

// HasAlert reports whether the file has the alert column.
func (sr *ScoreReader) HasAlert() bool { return sr.alert >= 0 }

// Extra returns the names of the extra columns, as in the header.
func (sr *ScoreReader) Extra() []string { return sr.extraNames }

// Next advances to the next row. It returns false at the end of the input
// or at the first error (see Err).
func (sr *ScoreReader) Next() bool {
	if sr.err != nil {
		return false
	}
	rec, err := sr.cr.Read()
	if err == io.EOF {
		return false
	}
	if err != nil {
		sr.err = fmt.Errorf("%s: %w", sr.name, err)
		return false
	}
	sr.line, _ = sr.cr.FieldPos(0)
	if sr.err = sr.parse(rec); sr.err != nil {
		return false
	}
	return true
}

func (sr *ScoreReader) parse(rec []string) error {
	field := func(c int, what string) (string, error) {
		if c >= len(rec) {
			return "", fmt.Errorf("%s:%d: no %s column (%d fields)", sr.name, sr.line, what, len(rec))
		}
		return rec[c], nil
	}
	number := func(c int, what string) (float64, error) {
		v, err := field(c, what)
		if err != nil {
			return 0, err
		}
		v = strings.TrimSpace(v)
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, fmt.Errorf("%s:%d: %s %q is not a number", sr.name, sr.line, what, v)
		}
		return x, nil
	}
	row := ScoredRow{Extra: sr.row.Extra[:0]}
	var err error
	if row.DotProduct, err = number(sr.dot, "dot_product"); err != nil {
		return err
	}
	for _, b := range []struct {
		col  int
		name string
		dst  *bool
	}{{sr.seen, "entity_seen", &row.EntitySeen}, {sr.alert, "alert", &row.Alert}} {
		if b.col < 0 {
			continue
		}
		v, err := field(b.col, b.name)
		if err != nil {
			return err
		}
		v = strings.TrimSpace(v)
		if *b.dst, err = strconv.ParseBool(v); err != nil {
			return fmt.Errorf("%s:%d: %s %q is not true or false", sr.name, sr.line, b.name, v)
		}
	}
	if sr.pct >= 0 {
		if row.Percentile, err = number(sr.pct, "percentile"); err != nil {
			return err
		}
	}
	if sr.entity >= 0 {
		e, err := field(sr.entity, "entity")
		if err != nil {
			return err
		}
		ip, err := field(sr.ip, "ip")
		if err != nil {
			return err
		}
		if row.Addr, err = csvio.ParseAddr([]byte(strings.TrimSpace(ip))); err != nil {
			return fmt.Errorf("%s:%d: ip %q is not an IP address", sr.name, sr.line, ip)
		}
		row.Entity = []byte(e)
	}
	for _, c := range sr.extra {
		var f []byte
		if c < len(rec) {
			f = []byte(rec[c])
		}
		row.Extra = append(row.Extra, f)
	}
	sr.row = row
	return nil
}

// Row returns the current row. Its slices are valid until the next call
// to Next. Entity is nil and Addr the zero Addr when the file does not
// name its rows (HasRows).
func (sr *ScoreReader) Row() ScoredRow { return sr.row }

// Line returns the line number of the current row (of its first line,
// for a row with a quoted line break), counting from 1.
func (sr *ScoreReader) Line() int { return sr.line }

// Err returns the error that stopped Next, or nil at the end of the input.
func (sr *ScoreReader) Err() error { return sr.err }

// ReadOurs reads a scored CSV, as ScoreWriter writes it, from a file.
func ReadOurs(path string) (*Scores, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readScores(f, path)
}

// readScores reads the scores of a scored CSV.
func readScores(r io.Reader, name string) (*Scores, error) {
	sr, err := NewScoreReader(r, name)
	if err != nil {
		return nil, err
	}
	s := &Scores{}
	var line []byte
	for sr.Next() {
		row := sr.Row()
		s.Dots = append(s.Dots, row.DotProduct)
		if sr.HasEntitySeen() {
			s.Seen = append(s.Seen, row.EntitySeen)
		}
		if sr.HasRows() {
			line = append(append(append(line[:0], row.Entity...), ','), row.Addr.String()...)
			s.Rows = append(s.Rows, string(line))
		}
	}
	if err := sr.Err(); err != nil {
		return nil, err
	}
	if len(s.Dots) == 0 {
		return nil, fmt.Errorf("%s: no data rows", name)
	}
	return s, nil
}

// WriteScores writes the rows of in with their scores to w as a scored
// CSV: dots[i] is the dot product of row i, and seen, when not nil, tells
// whether the entity of row i was seen in training (the entity_seen
// column). The extra columns are named after in's header, if it has one.
// bitSize is as in ScoreWriterOptions. The number of rows must be that of
// the scores; a seen of another length than dots is a programming error,
// and WriteScores panics.
func WriteScores(w io.Writer, in RowsFile, dots []float64, seen []bool, bitSize int) error {
	if seen != nil && len(seen) != len(dots) {
		panic("sagemaker: WriteScores: seen and dots differ in length")
	}
	r, err := in.open()
	if err != nil {
		return err
	}
	defer r.Close()
	var sw *ScoreWriter
	newWriter := func(columns int) {
		opts := ScoreWriterOptions{EntitySeen: seen != nil, Extra: make([]string, max(0, columns-2)), BitSize: bitSize}
		if h := r.Header(); len(h) == columns && columns >= 2 {
			copy(opts.Extra, h[2:])
		}
		sw = NewScoreWriter(w, opts)
	}
	var extra [][]byte
	i := 0
	for r.Next() {
		f := r.Fields()
		if sw == nil {
			newWriter(len(f))
		}
		if i >= len(dots) {
			return fmt.Errorf("%s: more rows than scores (%d)", in.Path, len(dots))
		}
		row := ScoredRow{Entity: f[0], Addr: r.Addr(), DotProduct: dots[i], Extra: append(extra[:0], f[2:]...)}
		if seen != nil {
			row.EntitySeen = seen[i]
		}
		if err := sw.Write(row); err != nil {
			return err
		}
		i++
	}
	if err := r.Err(); err != nil {
		return err
	}
	if i != len(dots) {
		return fmt.Errorf("%s: %d rows for %d scores", in.Path, i, len(dots))
	}
	if sw == nil { // no rows: the header alone
		newWriter(len(r.Header()))
	}
	return sw.Flush()
}
