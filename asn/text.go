package asn

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ipinsights/ipinsights-go/internal/maybegzip"
)

// ranges is a text table: sorted, disjoint IPv4 and IPv6 ranges.
type ranges struct {
	v4   []range4
	v6   []range6
	orgs []string
}

type range4 struct {
	start, end uint32
	asn, org   uint32 // org indexes orgs
}

type range6 struct {
	start, end [2]uint64 // big-endian halves
	asn, org   uint32
}

func halves(a netip.Addr) [2]uint64 {
	b := a.As16()
	hi, lo := uint64(0), uint64(0)
	for i := range 8 {
		hi = hi<<8 | uint64(b[i])
		lo = lo<<8 | uint64(b[8+i])
	}
	return [2]uint64{hi, lo}
}

func cmp128(a, b [2]uint64) int {
	if c := cmp.Compare(a[0], b[0]); c != 0 {
		return c
	}
	return cmp.Compare(a[1], b[1])
}

func (t *ranges) lookup(ip netip.Addr) (uint32, string, bool) {
	if ip.Is4() {
		b := ip.As4()
		v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		// The last range starting at or before v.
		i, _ := slices.BinarySearchFunc(t.v4, v, func(r range4, v uint32) int {
			if r.start <= v {
				return -1
			}
			return 1
		})
		if i == 0 || t.v4[i-1].end < v {
			return 0, "", false
		}
		r := t.v4[i-1]
		return r.asn, t.orgs[r.org], true
	}
	v := halves(ip)
	i, _ := slices.BinarySearchFunc(t.v6, v, func(r range6, v [2]uint64) int {
		if cmp128(r.start, v) <= 0 {
			return -1
		}
		return 1
	})
	if i == 0 || cmp128(t.v6[i-1].end, v) < 0 {
		return 0, "", false
	}
	r := t.v6[i-1]
	return r.asn, t.orgs[r.org], true
}

// maxLine bounds the length of a line of a text table.
const maxLine = 64 << 10

// readTable reads a TSV or CSV table of ranges from r (gzip compressed or
// not); name is the file's name for errors.
func readTable(r io.Reader, name string) (*ranges, Format, error) {
	zr, err := maybegzip.NewReader(r)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", name, err)
	}
	br := bufio.NewReaderSize(zr, maxLine)
	head, err := br.Peek(maxLine)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, 0, fmt.Errorf("%s: %w", name, err)
	}
	format, err := sniff(head)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w: %v", name, ErrFormat, err)
	}
	b := &builder{name: name, orgIndex: map[string]uint32{}}
	if format == TSV {
		err = b.readTSV(br)
	} else {
		err = b.readCSV(br)
	}
	if err != nil {
		return nil, 0, err
	}
	t, err := b.finish()
	return t, format, err
}

// sniff tells the format of a text table from its first bytes: binary data
// is no table; the first line that is not blank or a comment has a tab
// (TSV) or a comma (CSV).
func sniff(head []byte) (Format, error) {
	if len(head) == 0 {
		return 0, errors.New("the file is empty")
	}
	probe := head[:min(len(head), 4096)]
	if bytes.IndexByte(probe, 0) >= 0 || !utf8.Valid(trimPartialRune(probe)) {
		return 0, errors.New("binary data without MaxMind DB metadata: not an .mmdb file, or one cut short")
	}
	for line := range bytes.Lines(head) {
		s := strings.TrimSpace(string(line))
		if s == "" || s[0] == '#' {
			continue
		}
		switch {
		case strings.Contains(s, "\t"):
			return TSV, nil
		case strings.Contains(s, ","):
			return CSV, nil
		}
		return 0, fmt.Errorf("its first line %q is neither tab- nor comma-separated", clip(s))
	}
	return 0, errors.New("the file has no ranges")
}

// trimPartialRune drops a rune that the end of b cuts in two.
func trimPartialRune(b []byte) []byte {
	for i := 1; i <= utf8.UTFMax && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return b[:len(b)-i]
			}
			break
		}
	}
	return b
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// builder collects the rows of a table.
type builder struct {
	name     string
	rows     int // data rows read (a header may only come before the first)
	v4       []range4
	v6       []range6
	lines4   []int32 // the line of each range, for overlap errors
	lines6   []int32
	orgs     []string
	orgIndex map[string]uint32
}

func (b *builder) errAt(line int, format string, args ...any) error {
	return &ParseError{File: b.name, Line: line, Err: fmt.Errorf(format, args...)}
}

func (b *builder) readTSV(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimRight(sc.Text(), "\r")
		if line == 1 {
			s = strings.TrimPrefix(s, "\ufeff")
		}
		if strings.TrimSpace(s) == "" || s[0] == '#' {
			continue
		}
		if err := b.add(line, strings.Split(s, "\t"), 4); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return b.errAt(line+1, "line longer than %d bytes", maxLine)
		}
		return fmt.Errorf("%s: %w", b.name, err)
	}
	return nil
}

func (b *builder) readCSV(r io.Reader) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return b.errAt(pe.Line, "%v", pe.Err)
			}
			return fmt.Errorf("%s: %w", b.name, err)
		}
		line, _ := cr.FieldPos(0)
		if b.rows == 0 && len(rec) > 0 {
			rec[0] = strings.TrimPrefix(rec[0], "\ufeff")
		}
		if err := b.add(line, rec, 3); err != nil {
			return err
		}
	}
}

// add adds one row: start, end, AS number, then the organisation in field
// orgField (0-based) when the row has it.
func (b *builder) add(line int, f []string, orgField int) error {
	if len(f) < 3 {
		return b.errAt(line, "%d fields, want at least 3 (range start, range end, AS number)", len(f))
	}
	start, errS := parseAddr(f[0])
	end, errE := parseAddr(f[1])
	if b.rows == 0 && errS != nil && errE != nil {
		if _, err := parseASN(f[2]); err != nil {
			return nil // a header line
		}
	}
	b.rows++
	if errS != nil {
		return b.errAt(line, "range start %q: %v", clip(f[0]), errS)
	}
	if errE != nil {
		return b.errAt(line, "range end %q: %v", clip(f[1]), errE)
	}
	asn, err := parseASN(f[2])
	if err != nil {
		return b.errAt(line, "AS number %q: %v", clip(f[2]), err)
	}
	if start.Is4() != end.Is4() {
		return b.errAt(line, "range %s-%s mixes IPv4 and IPv6", start, end)
	}
	if end.Less(start) {
		return b.errAt(line, "range %s-%s ends before it starts", start, end)
	}
	if asn == 0 { // ip2asn's "Not routed"
		return nil
	}
	org := ""
	if len(f) > orgField {
		org = strings.TrimSpace(f[orgField])
	}
	id, ok := b.orgIndex[org]
	if !ok {
		id = uint32(len(b.orgs))
		b.orgs = append(b.orgs, org)
		b.orgIndex[org] = id
	}
	if start.Is4() {
		s, e := start.As4(), end.As4()
		b.v4 = append(b.v4, range4{start: be32(s), end: be32(e), asn: asn, org: id})
		b.lines4 = append(b.lines4, int32(line))
	} else {
		b.v6 = append(b.v6, range6{start: halves(start), end: halves(end), asn: asn, org: id})
		b.lines6 = append(b.lines6, int32(line))
	}
	return nil
}

func be32(b [4]byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// parseAddr parses an address, or an IPv4 address written as a decimal
// integer (ip2asn's u32 files).
func parseAddr(s string) (netip.Addr, error) {
	s = strings.TrimSpace(s)
	if s != "" && s[0] >= '0' && s[0] <= '9' && !strings.ContainsAny(s, ".:") {
		v, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return netip.Addr{}, errors.New("not an IP address or a 32-bit integer")
		}
		return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, errors.New("not an IP address")
	}
	if a.Zone() != "" {
		return netip.Addr{}, errors.New("an address with a zone")
	}
	return a.Unmap(), nil
}

// parseASN parses an AS number, with or without an "AS" prefix.
func parseASN(s string) (uint32, error) {
	s = strings.TrimSpace(s)
	if len(s) > 2 && strings.EqualFold(s[:2], "AS") {
		s = s[2:]
	}
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, errors.New("not a number from 0 to 4294967295")
	}
	return uint32(v), nil
}

// finish sorts the ranges and checks that they do not overlap.
func (b *builder) finish() (*ranges, error) {
	if b.rows == 0 {
		return nil, fmt.Errorf("%s: %w: the file has no ranges", b.name, ErrFormat)
	}
	o4 := sortedOrder(len(b.v4), func(i, j int) int { return cmp.Compare(b.v4[i].start, b.v4[j].start) })
	t := &ranges{orgs: b.orgs, v4: make([]range4, len(b.v4)), v6: make([]range6, len(b.v6))}
	for k, i := range o4 {
		t.v4[k] = b.v4[i]
		if k > 0 && t.v4[k].start <= t.v4[k-1].end {
			p := o4[k-1]
			return nil, b.errAt(int(b.lines4[i]), "range %s-%s overlaps line %d's %s-%s",
				v4String(b.v4[i].start), v4String(b.v4[i].end), b.lines4[p], v4String(b.v4[p].start), v4String(b.v4[p].end))
		}
	}
	o6 := sortedOrder(len(b.v6), func(i, j int) int { return cmp128(b.v6[i].start, b.v6[j].start) })
	for k, i := range o6 {
		t.v6[k] = b.v6[i]
		if k > 0 && cmp128(t.v6[k].start, t.v6[k-1].end) <= 0 {
			p := o6[k-1]
			return nil, b.errAt(int(b.lines6[i]), "range %s-%s overlaps line %d's %s-%s",
				v6String(b.v6[i].start), v6String(b.v6[i].end), b.lines6[p], v6String(b.v6[p].start), v6String(b.v6[p].end))
		}
	}
	return t, nil
}

// sortedOrder returns the indexes 0..n-1 sorted stably by cmp.
func sortedOrder(n int, cmp func(i, j int) int) []int32 {
	o := make([]int32, n)
	for i := range o {
		o[i] = int32(i)
	}
	slices.SortStableFunc(o, func(a, b int32) int { return cmp(int(a), int(b)) })
	return o
}

func v4String(v uint32) string {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String()
}

func v6String(h [2]uint64) string {
	var b [16]byte
	for i := range 8 {
		b[i] = byte(h[0] >> (56 - 8*i))
		b[8+i] = byte(h[1] >> (56 - 8*i))
	}
	return netip.AddrFrom16(b).String()
}
