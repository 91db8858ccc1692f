package asn

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
)

// Format is the format of an ASN database file.
type Format int

// The formats Open reads.
const (
	MMDB Format = iota + 1 // a MaxMind DB file
	TSV                    // ip2asn's tab-separated ranges
	CSV                    // start,end,asn[,org] ranges
)

// String returns the format's name: "mmdb", "tsv" or "csv".
func (f Format) String() string {
	switch f {
	case MMDB:
		return "mmdb"
	case TSV:
		return "tsv"
	case CSV:
		return "csv"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ErrFormat is wrapped by the errors of Open for a file that is in none of
// the formats it reads: not a MaxMind DB file (or one cut short, which
// loses its metadata at the end), not a text table, or a MaxMind DB of
// another kind (a City or Country database).
var ErrFormat = errors.New("not an ASN database")

// ParseError is the error of a malformed line of a text table.
type ParseError struct {
	File string // the file's path
	Line int    // 1-based
	Err  error  // what is wrong
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }

// Unwrap returns e.Err.
func (e *ParseError) Unwrap() error { return e.Err }

// DB is an opened ASN database. It is safe for concurrent use, but for
// Close.
type DB struct {
	format Format
	mm     *mmdb   // MMDB
	table  *ranges // TSV, CSV
}

// Open opens the ASN database at path, recognising its format by content:
// a MaxMind DB file by the metadata marker near its end, otherwise a text
// table of ranges (gzip compressed or not), tab-separated when its first
// line holds a tab, else comma-separated. Errors name path.
func Open(path string) (*DB, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	isMMDB, err := hasMetadataMarker(f, fi.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if isMMDB {
		mm, err := openMMDB(path)
		if err != nil {
			return nil, err
		}
		return &DB{format: MMDB, mm: mm}, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	t, format, err := readTable(f, path)
	if err != nil {
		return nil, err
	}
	return &DB{format: format, table: t}, nil
}

// metadataMarker starts the metadata of a MaxMind DB file, which the
// format puts in the last 128 KiB of the file.
var metadataMarker = []byte("\xab\xcd\xefMaxMind.com")

const metadataWindow = 128 << 10

func hasMetadataMarker(f *os.File, size int64) (bool, error) {
	n := min(size, metadataWindow)
	tail := make([]byte, n)
	if _, err := f.ReadAt(tail, size-n); err != nil && err != io.EOF {
		return false, err
	}
	return bytes.Contains(tail, metadataMarker), nil
}

// Format returns the format of the file db was opened from.
func (db *DB) Format() Format { return db.format }

// Lookup returns the AS number and organisation of the AS that ip belongs
// to; ok is false when the database has none for it (or ip is invalid).
// An IPv4-mapped IPv6 address is looked up as IPv4. The organisation may be
// empty when the database gives none.
func (db *DB) Lookup(ip netip.Addr) (asn uint32, org string, ok bool) {
	if !ip.IsValid() {
		return 0, "", false
	}
	ip = ip.Unmap()
	if db.mm != nil {
		return db.mm.lookup(ip)
	}
	return db.table.lookup(ip)
}

// Close releases the database (the memory map of an .mmdb file). db must
// not be used afterwards.
func (db *DB) Close() error {
	if db.mm != nil {
		return db.mm.close()
	}
	return nil
}
