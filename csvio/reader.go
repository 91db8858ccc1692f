package csvio

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sort"
	"strings"
	"unsafe"

	"github.com/ipinsights/ipinsights-go/internal/maybegzip"
	"github.com/ipinsights/ipinsights-go/internal/plural"
)

// Reason classifies a malformed row.
type Reason int

// The reasons a row can be malformed.
const (
	FieldCount  Reason = iota + 1 // wrong number of fields
	EmptyEntity                   // the entity field is empty
	BadAddress                    // the address field is not an IPv4 or IPv6 address
	BadQuote                      // a quoted field is not terminated or is followed by text
	LineTooLong                   // the line is longer than Options.MaxLineBytes
	BareCR                        // a carriage return inside a line, outside quotes (old Mac line ends)
	DataHeader                    // Options.Header is set, but the first line is a data row
	BadLabel                      // the label field of a labeled row is not 0 or 1 (see Reader.Reject)
)

var reasonNames = map[Reason]string{
	FieldCount:  "wrong number of fields",
	EmptyEntity: "empty entity",
	BadAddress:  "unparsable IP address",
	BadQuote:    "malformed quoted field",
	LineTooLong: "line too long",
	BareCR:      "carriage return inside a line",
	DataHeader:  "header line is a data row",
	BadLabel:    "label not 0 or 1",
}

func (r Reason) String() string {
	if s, ok := reasonNames[r]; ok {
		return s
	}
	return fmt.Sprintf("reason(%d)", int(r))
}

// ParseError is the error for a malformed row. File is the name given in
// Options.Name (empty for an unnamed reader); Line counts from 1.
type ParseError struct {
	File   string
	Line   int
	Reason Reason
	Detail string
}

func (e *ParseError) Error() string {
	where := fmt.Sprintf("line %d", e.Line)
	if e.File != "" {
		where = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Detail == "" {
		return fmt.Sprintf("%s: %s", where, e.Reason)
	}
	return fmt.Sprintf("%s: %s: %s", where, e.Reason, e.Detail)
}

// Options configure a Reader. The zero value reads training data strictly:
// exactly two fields per row.
type Options struct {
	// Name is the file name reported in errors.
	Name string
	// MinFields and MaxFields bound the number of fields of a row. Zero
	// means 2; a negative MaxFields means no upper bound.
	MinFields, MaxFields int
	// Header skips the first line, whose fields Reader.Header returns. A
	// first line that is a valid row (its second field is an IP address)
	// is no header: Next stops with a DataHeader error, in lenient mode
	// too, rather than drop a row.
	Header bool
	// SameFields requires every row to have as many fields as the header
	// (with Header) or else the first well-formed row, as encoding/csv
	// does with FieldsPerRecord 0; a row with another number of fields is
	// malformed (FieldCount).
	SameFields bool
	// Lenient skips malformed rows, counting them per reason, instead of
	// stopping at the first.
	Lenient bool
	// MaxLineBytes bounds the length of a line; zero means 1 MiB.
	MaxLineBytes int
}

// Skips counts the rows skipped for one reason in lenient mode.
type Skips struct {
	Count int
	Lines []int // the first few line numbers, ascending
}

// maxSkipLines is how many line numbers a Skips keeps.
const maxSkipLines = 5

// SkipReport lists the rows skipped in lenient mode, by reason.
type SkipReport struct {
	File     string
	ByReason map[Reason]*Skips
}

// Total returns the number of skipped rows.
func (s *SkipReport) Total() int {
	n := 0
	for _, k := range s.ByReason {
		n += k.Count
	}
	return n
}

// String summarises the report on one line per reason, for example
// "train.csv: skipped 3 rows: 2 unparsable IP address (lines 4, 9); 1 empty entity (line 7)"
// or "train.csv: skipped 1 row: 1 empty entity (line 7)".
func (s *SkipReport) String() string {
	if s.Total() == 0 {
		return ""
	}
	reasons := make([]Reason, 0, len(s.ByReason))
	for r := range s.ByReason {
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool { return reasons[i] < reasons[j] })
	var b strings.Builder
	if s.File != "" {
		b.WriteString(s.File + ": ")
	}
	fmt.Fprintf(&b, "skipped %s:", plural.Count(s.Total(), "row", "rows"))
	for i, r := range reasons {
		k := s.ByReason[r]
		if i > 0 {
			b.WriteString(";")
		}
		fmt.Fprintf(&b, " %d %s (line", k.Count, r)
		if len(k.Lines) > 1 {
			b.WriteString("s")
		}
		for j, l := range k.Lines {
			if j > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, " %d", l)
		}
		if k.Count > len(k.Lines) {
			b.WriteString(", ...")
		}
		b.WriteString(")")
	}
	return b.String()
}

// Reader reads rows one at a time. Slices returned by its methods are valid
// until the next call to Next.
type Reader struct {
	br      *bufio.Reader
	closers []io.Closer
	opts    Options
	line    int
	blank   int
	long    []byte // holds a line longer than the bufio buffer
	unq     []byte // holds unquoted field contents
	fields  [][]byte
	addr    netip.Addr
	err     error
	skips   SkipReport
	rows    int
	header  []string
	// width is the number of fields every row must have under
	// SameFields (0 until known); widthFrom says where it comes from.
	width     int
	widthFrom string
	// part is set for the Reader of a later part of a file (see Parts):
	// its first line is not the file's, and its lines count from the
	// start of its range.
	part bool
	// ioErr is the read error of the input that stopped r, met while
	// reading line ioLine.
	ioErr  error
	ioLine int
}

// NewReader returns a Reader of r. r is read through a buffer; gzip data is
// not detected here (see Open).
func NewReader(r io.Reader, opts Options) *Reader {
	if opts.MinFields == 0 {
		opts.MinFields = 2
	}
	if opts.MinFields < 2 {
		panic("csvio: MinFields must be at least 2")
	}
	if opts.MaxFields == 0 {
		opts.MaxFields = 2
	}
	if opts.MaxLineBytes == 0 {
		opts.MaxLineBytes = 1 << 20
	}
	return &Reader{
		br:    bufio.NewReaderSize(r, 64<<10),
		opts:  opts,
		skips: SkipReport{File: opts.Name, ByReason: map[Reason]*Skips{}},
	}
}

// Reset makes r read src from its start with the same options, keeping its
// buffers: line and row counts, skips, the header and any error are
// cleared. It closes nothing (see Close). A server that parses many request
// bodies with one Reader allocates nothing per body.
func (r *Reader) Reset(src io.Reader) {
	r.br.Reset(src)
	r.line, r.blank, r.rows = 0, 0, 0
	r.fields, r.addr, r.err, r.ioErr = r.fields[:0], netip.Addr{}, nil, nil
	r.header, r.width, r.widthFrom = nil, 0, ""
	clear(r.skips.ByReason)
}

// Open opens the named file for reading, decompressing it when it is gzip
// data (whatever its name). Options.Name defaults to name. Close the Reader
// when done.
func Open(name string, opts Options) (*Reader, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	if opts.Name == "" {
		opts.Name = name
	}
	r, err := newMaybeGzip(f, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closers = append(r.closers, f)
	return r, nil
}

// NewReaderMaybeGzip is NewReader for a stream that may be gzip compressed:
// it looks at the first bytes and decompresses when they are the gzip magic.
func NewReaderMaybeGzip(r io.Reader, opts Options) (*Reader, error) {
	return newMaybeGzip(r, opts)
}

func newMaybeGzip(r io.Reader, opts Options) (*Reader, error) {
	mr, err := maybegzip.NewReader(r)
	if err != nil {
		if opts.Name == "" {
			return nil, err
		}
		return nil, fmt.Errorf("%s: %w", opts.Name, err)
	}
	rd := NewReader(mr, opts)
	if zr, ok := mr.(io.Closer); ok {
		rd.closers = append(rd.closers, zr)
	}
	return rd, nil
}

// Close closes the files and decompressors Open made.
func (r *Reader) Close() error {
	var errs []error
	for i := len(r.closers) - 1; i >= 0; i-- {
		errs = append(errs, r.closers[i].Close())
	}
	r.closers = nil
	return errors.Join(errs...)
}

// Next advances to the next well-formed row. It returns false at the end of
// the input or at the first error (see Err); in lenient mode malformed rows
// are skipped and counted instead.
func (r *Reader) Next() bool {
	if r.err != nil {
		return false
	}
	for {
		line, err := r.readLine()
		if err != nil {
			if err != io.EOF {
				r.err = err
			}
			return false
		}
		if line == nil { // line too long, already reported
			if r.err != nil {
				return false
			}
			continue
		}
		if bareCR(line) {
			if r.fail(r.perr(BareCR, "old Mac line ends? lines must end with LF or CRLF")) {
				return false
			}
			continue
		}
		if r.line == 1 && r.opts.Header && !r.part {
			if r.readHeader(line) {
				return false
			}
			continue
		}
		if len(bytes.TrimSpace(line)) == 0 {
			r.blank++
			continue
		}
		if perr := r.parse(line); perr != nil {
			if r.fail(perr) {
				return false
			}
			continue
		}
		r.rows++
		return true
	}
}

// readHeader reads the header line; it reports whether reading must stop.
func (r *Reader) readHeader(line []byte) bool {
	if len(bytes.TrimSpace(line)) == 0 {
		return false // a blank first line: no header names
	}
	if e := r.split(line); e != nil {
		return r.fail(e)
	}
	if len(r.fields) >= 2 {
		if _, err := ParseAddr(r.fields[1]); err == nil {
			// Taking it for a header would drop a row without a word.
			r.err = r.perr(DataHeader, fmt.Sprintf("its second field %q is an IP address: does the input have a header?", r.fields[1]))
			return true
		}
	}
	for _, f := range r.fields {
		r.header = append(r.header, string(f))
	}
	if r.opts.SameFields {
		r.width, r.widthFrom = len(r.fields), "the header"
	}
	return false
}

// bareCR reports whether line has a carriage return outside quotes: a
// file with classic Mac line ends (CR alone) reads as one long line.
func bareCR(line []byte) bool {
	i := bytes.IndexByte(line, '\r')
	if i < 0 {
		return false
	}
	if bytes.IndexByte(line, '"') < 0 {
		return true
	}
	quoted := false
	for _, c := range line {
		switch {
		case c == '"':
			quoted = !quoted
		case c == '\r' && !quoted:
			return true
		}
	}
	return false
}

// fail records a malformed row; it reports whether reading must stop.
func (r *Reader) fail(e *ParseError) bool {
	if !r.opts.Lenient {
		r.err = e
		return true
	}
	k := r.skips.ByReason[e.Reason]
	if k == nil {
		k = &Skips{}
		r.skips.ByReason[e.Reason] = k
	}
	k.Count++
	if len(k.Lines) < maxSkipLines {
		k.Lines = append(k.Lines, e.Line)
	}
	return false
}

// readLine returns the next line without its line end, or nil for a line
// that was too long (recorded through fail).
func (r *Reader) readLine() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		r.long = append(r.long[:0], line...)
		tooLong := false
		for err == bufio.ErrBufferFull {
			line, err = r.br.ReadSlice('\n')
			if !tooLong {
				r.long = append(r.long, line...)
				if len(r.long) > r.opts.MaxLineBytes {
					tooLong = true
					r.long = r.long[:0]
				}
			}
		}
		if tooLong {
			r.line++
			r.fail(&ParseError{File: r.opts.Name, Line: r.line, Reason: LineTooLong,
				Detail: fmt.Sprintf("longer than %d bytes", r.opts.MaxLineBytes)})
			if err != nil && err != io.EOF {
				return nil, r.readErr(r.line, err)
			}
			return nil, nil
		}
		line = r.long
	}
	if err != nil && err != io.EOF {
		return nil, r.readErr(r.line+1, err)
	}
	if len(line) == 0 && err != nil {
		return nil, err
	}
	r.line++
	if len(line) > 0 && line[len(line)-1] == '\n' {
		line = line[:len(line)-1]
	}
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	if r.line == 1 && !r.part {
		line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
	}
	if len(line) > r.opts.MaxLineBytes {
		r.fail(&ParseError{File: r.opts.Name, Line: r.line, Reason: LineTooLong,
			Detail: fmt.Sprintf("longer than %d bytes", r.opts.MaxLineBytes)})
		return nil, nil
	}
	return line, nil
}

// readErr is a read error of the input (a truncated gzip file, a failed
// disk) met while reading line n: it names the file and the line, as a
// ParseError does.
func (r *Reader) readErr(n int, err error) error {
	r.ioErr, r.ioLine = err, n
	return r.lineErr(n, err)
}

// lineErr wraps err with the file name and line n.
func (r *Reader) lineErr(n int, err error) error {
	if r.opts.Name == "" {
		return fmt.Errorf("line %d: %w", n, err)
	}
	return fmt.Errorf("%s:%d: %w", r.opts.Name, n, err)
}

func (r *Reader) perr(reason Reason, detail string) *ParseError {
	return &ParseError{File: r.opts.Name, Line: r.line, Reason: reason, Detail: detail}
}

// split sets r.fields to the fields of line.
func (r *Reader) split(line []byte) *ParseError {
	r.fields = r.fields[:0]
	r.unq = r.unq[:0]
	if bytes.IndexByte(line, '"') >= 0 {
		return r.splitQuoted(line)
	}
	for {
		i := bytes.IndexByte(line, ',')
		if i < 0 {
			r.fields = append(r.fields, trim(line))
			return nil
		}
		r.fields = append(r.fields, trim(line[:i]))
		line = line[i+1:]
	}
}

func (r *Reader) parse(line []byte) *ParseError {
	if e := r.split(line); e != nil {
		return e
	}
	n := len(r.fields)
	if n < r.opts.MinFields || (r.opts.MaxFields > 0 && n > r.opts.MaxFields) {
		want := fmt.Sprintf("%d", r.opts.MinFields)
		switch {
		case r.opts.MaxFields < 0:
			want = fmt.Sprintf("at least %d", r.opts.MinFields)
		case r.opts.MaxFields != r.opts.MinFields:
			want = fmt.Sprintf("%d to %d", r.opts.MinFields, r.opts.MaxFields)
		}
		return r.perr(FieldCount, fmt.Sprintf("got %d, want %s (entity,ip)", n, want))
	}
	if r.width > 0 && n != r.width {
		return r.perr(FieldCount, fmt.Sprintf("got %d, want %d as in %s", n, r.width, r.widthFrom))
	}
	if len(r.fields[0]) == 0 {
		return r.perr(EmptyEntity, "")
	}
	a, err := ParseAddr(r.fields[1])
	if err != nil {
		detail := fmt.Sprintf("%q", r.fields[1])
		switch {
		case r.line == 1 && !r.part:
			detail += " (a header row? the data has no header)"
		case r.opts.Header && r.header == nil && r.rows == 0:
			detail += " (a header row after a blank first line, which was taken as the header?)"
		}
		return r.perr(BadAddress, detail)
	}
	r.addr = a
	if r.opts.SameFields && r.width == 0 {
		r.width, r.widthFrom = n, fmt.Sprintf("line %d", r.line)
	}
	return nil
}

// splitQuoted splits a line with RFC 4180 quoting; quoted contents are
// copied, unescaped, into r.unq.
func (r *Reader) splitQuoted(line []byte) *ParseError {
	// Reserve capacity so that appends below never move earlier fields.
	if cap(r.unq) < len(line) {
		r.unq = make([]byte, 0, 2*len(line))
	}
	for {
		f := trimLeft(line)
		if len(f) > 0 && f[0] == '"' {
			start := len(r.unq)
			i := 1
			for {
				j := bytes.IndexByte(f[i:], '"')
				if j < 0 {
					return r.perr(BadQuote, "unterminated quoted field")
				}
				r.unq = append(r.unq, f[i:i+j]...)
				i += j + 1
				if i < len(f) && f[i] == '"' { // escaped quote
					r.unq = append(r.unq, '"')
					i++
					continue
				}
				break
			}
			r.fields = append(r.fields, r.unq[start:len(r.unq):len(r.unq)])
			rest := trimLeft(f[i:])
			if len(rest) == 0 {
				return nil
			}
			if rest[0] != ',' {
				return r.perr(BadQuote, "text after closing quote")
			}
			line = rest[1:]
			continue
		}
		i := bytes.IndexByte(line, ',')
		if i < 0 {
			r.fields = append(r.fields, trim(line))
			return nil
		}
		r.fields = append(r.fields, trim(line[:i]))
		line = line[i+1:]
	}
}

func trim(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func trimLeft(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

// ParseAddr parses an IPv4 or IPv6 address given as bytes without
// allocating. IPv4-mapped IPv6 addresses are unmapped; a zone (fe80::1%eth0)
// is dropped.
func ParseAddr(b []byte) (netip.Addr, error) {
	if len(b) == 0 {
		return netip.Addr{}, errors.New("empty address")
	}
	if v, ok := parseIPv4(b); ok {
		return netip.AddrFrom4(v), nil
	}
	a, err := netip.ParseAddr(unsafe.String(&b[0], len(b)))
	if err != nil {
		return netip.Addr{}, err
	}
	if a.Zone() != "" {
		a = a.WithZone("")
	}
	return a.Unmap(), nil
}

// parseIPv4 parses the common form of an IPv4 address, four decimal
// fields of 0 to 255 without leading zeros separated by dots, faster than
// netip.ParseAddr does; ok is false for anything else, which ParseAddr
// leaves to netip. Every address it accepts, netip accepts with the same
// value (FuzzParseIPv4 checks it).
func parseIPv4(b []byte) (a [4]byte, ok bool) {
	field, digits, cur := 0, 0, 0
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			if digits > 0 && cur == 0 {
				return a, false // a leading zero
			}
			cur = cur*10 + int(c-'0')
			digits++
			if cur > 255 {
				return a, false
			}
		case c == '.' && digits > 0 && field < 3:
			a[field] = byte(cur)
			field, digits, cur = field+1, 0, 0
		default:
			return a, false
		}
	}
	if field != 3 || digits == 0 {
		return a, false
	}
	a[3] = byte(cur)
	return a, true
}

// Reject marks the current row malformed for a reason the caller found in
// a field the Reader does not check (BadLabel for a labeled row's label).
// In lenient mode the row is counted in Skipped like the Reader's own
// skips and Reject returns nil: the caller passes over the row. Otherwise
// Reject returns the *ParseError, which stops Next and Err returns.
func (r *Reader) Reject(reason Reason, detail string) error {
	e := r.perr(reason, detail)
	if r.fail(e) {
		return e
	}
	return nil
}

// Entity returns the entity field of the current row.
func (r *Reader) Entity() []byte { return r.fields[0] }

// Addr returns the address of the current row.
func (r *Reader) Addr() netip.Addr { return r.addr }

// Fields returns all fields of the current row, the entity and address
// included, with surrounding spaces removed and quotes resolved.
func (r *Reader) Fields() [][]byte { return r.fields }

// Header returns the fields of the header line when Options.Header is set
// and the header has been read (after the first call to Next).
func (r *Reader) Header() []string { return r.header }

// Line returns the line number of the current row, counting from 1.
func (r *Reader) Line() int { return r.line }

// Rows returns the number of well-formed rows read so far.
func (r *Reader) Rows() int { return r.rows }

// BlankLines returns the number of empty lines passed over so far.
func (r *Reader) BlankLines() int { return r.blank }

// Err returns the error that stopped Next, or nil at the end of the input.
// A malformed row gives a *ParseError; a read error of the input (such as
// maybegzip.ErrTruncated for a gzip file cut short) comes wrapped with the
// file name and the line being read: "logins.csv.gz:1234: gzip data is
// truncated: unexpected EOF".
func (r *Reader) Err() error { return r.err }

// Skipped returns the rows skipped so far in lenient mode.
func (r *Reader) Skipped() *SkipReport { return &r.skips }

// ParseLabel parses the label column of a labeled row (entity,ip,label):
// "1" marks an anomaly, "0" a normal pair. Anything else is an error that
// callers prefix with the file and line.
func ParseLabel(field []byte) (anomalous bool, err error) {
	switch string(field) {
	case "0":
		return false, nil
	case "1":
		return true, nil
	}
	return false, fmt.Errorf("label %q: want 0 (normal) or 1 (anomaly)", field)
}
