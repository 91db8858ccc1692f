package asn

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func write(t *testing.T, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, content, 0o644))
	return p
}

// lookups are the answers every test database gives (built from the same
// networks in each format).
var lookups = []struct {
	ip  string
	asn uint32
	org string
	ok  bool
}{
	{"1.0.0.0", 13335, "CLOUDFLARENET", true},
	{"1.0.0.255", 13335, "CLOUDFLARENET", true},
	{"1.0.1.0", 0, "", false},
	{"8.8.8.8", 15169, "GOOGLE", true},
	{"::ffff:8.8.8.8", 15169, "GOOGLE", true},
	{"203.0.113.127", 64500, "Example, Inc.", true},
	{"203.0.113.128", 0, "", false},
	{"0.0.0.1", 0, "", false},
	{"255.255.255.255", 0, "", false},
	{"2001:db8::1", 64501, "Example IPv6 Net", true},
	{"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 64501, "Example IPv6 Net", true},
	{"2001:4860:4860::8888", 15169, "GOOGLE", true},
	{"2001:db9::", 0, "", false},
	{"::", 0, "", false},
}

func checkLookups(t *testing.T, db *DB) {
	t.Helper()
	for _, c := range lookups {
		asn, org, ok := db.Lookup(netip.MustParseAddr(c.ip))
		assert.Equal(t, c.ok, ok, c.ip)
		assert.Equal(t, c.asn, asn, c.ip)
		assert.Equal(t, c.org, org, c.ip)
	}
	_, _, ok := db.Lookup(netip.Addr{})
	assert.False(t, ok, "the zero Addr")
}

const tsv = "0.0.0.0\t0.255.255.255\t0\tNone\tNot routed\n" +
	"1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n" +
	"8.8.8.0\t8.8.8.255\t15169\tUS\tGOOGLE\n" +
	"203.0.113.0\t203.0.113.127\t64500\tZZ\tExample, Inc.\n" +
	"2001:db8::\t2001:db8:ffff:ffff:ffff:ffff:ffff:ffff\t64501\tZZ\tExample IPv6 Net\n" +
	"2001:4860::\t2001:4860:ffff:ffff:ffff:ffff:ffff:ffff\t15169\tUS\tGOOGLE\n"

func TestOpenTSV(t *testing.T) {
	db, err := Open(write(t, "ip2asn-combined.tsv", []byte(tsv)))
	require.NoError(t, err)
	defer db.Close()
	assert.Equal(t, TSV, db.Format())
	checkLookups(t, db)
	_, _, ok := db.Lookup(netip.MustParseAddr("0.1.2.3"))
	assert.False(t, ok, `AS number 0 ("Not routed") is no AS`)

	// The same, gzip compressed, with CRLF line ends, shuffled, with a
	// header and a comment.
	lines := strings.Split(strings.TrimSpace(tsv), "\n")
	for i, j := 0, len(lines)-1; i < j; i, j = i+1, j-1 {
		lines[i], lines[j] = lines[j], lines[i]
	}
	text := "range_start\trange_end\tAS_number\tcountry_code\tAS_description\r\n# shuffled\r\n" + strings.Join(lines, "\r\n") + "\r\n"
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(text))
	zw.Close()
	db, err = Open(write(t, "ip2asn.tsv.gz", gz.Bytes()))
	require.NoError(t, err)
	checkLookups(t, db)
}

func TestOpenTSVu32(t *testing.T) {
	// ip2asn-v4-u32.tsv: addresses as decimal integers.
	db, err := Open(write(t, "ip2asn-v4-u32.tsv", []byte("16777216\t16777471\t13335\tUS\tCLOUDFLARENET\n134744064\t134744319\t15169\tUS\tGOOGLE\n")))
	require.NoError(t, err)
	asn, org, ok := db.Lookup(netip.MustParseAddr("1.0.0.7"))
	assert.Equal(t, []any{uint32(13335), "CLOUDFLARENET", true}, []any{asn, org, ok})
	asn, _, _ = db.Lookup(netip.MustParseAddr("8.8.8.8"))
	assert.Equal(t, uint32(15169), asn)
}

const csvTable = "start,end,asn,org\n" +
	"1.0.0.0,1.0.0.255,13335,CLOUDFLARENET\n" +
	"8.8.8.0, 8.8.8.255, AS15169, GOOGLE\n" +
	"203.0.113.0,203.0.113.127,64500,\"Example, Inc.\"\n" +
	"2001:db8::,2001:db8:ffff:ffff:ffff:ffff:ffff:ffff,64501,Example IPv6 Net\n" +
	"2001:4860::,2001:4860:ffff:ffff:ffff:ffff:ffff:ffff,15169,GOOGLE\n"

func TestOpenCSV(t *testing.T) {
	db, err := Open(write(t, "asn.csv", []byte(csvTable)))
	require.NoError(t, err)
	assert.Equal(t, CSV, db.Format())
	checkLookups(t, db)

	// Without a header and without organisations.
	db, err = Open(write(t, "bare.csv", []byte("\ufeff1.0.0.0,1.0.0.255,13335\n")))
	require.NoError(t, err)
	asn, org, ok := db.Lookup(netip.MustParseAddr("1.0.0.1"))
	assert.Equal(t, []any{uint32(13335), "", true}, []any{asn, org, ok})
}

func TestOpenMMDB(t *testing.T) {
	for _, v := range []int{6, 4} {
		recs := testRecords
		if v == 4 {
			recs = recs[:3]
		}
		db, err := Open(write(t, "GeoLite2-ASN.mmdb", buildMMDB("GeoLite2-ASN", v, recs)))
		require.NoError(t, err, "ip_version %d", v)
		assert.Equal(t, MMDB, db.Format())
		if v == 6 {
			checkLookups(t, db)
		} else {
			asn, org, ok := db.Lookup(netip.MustParseAddr("203.0.113.5"))
			assert.Equal(t, []any{uint32(64500), "Example, Inc.", true}, []any{asn, org, ok})
			_, _, ok = db.Lookup(netip.MustParseAddr("2001:db8::1"))
			assert.False(t, ok, "an IPv6 address in an IPv4 database")
		}
		require.NoError(t, db.Close())
	}
	// DB-IP's type name.
	db, err := Open(write(t, "dbip-asn-lite.mmdb", buildMMDB("DBIP-ASN-Lite (compat=GeoLite2-ASN)", 6, testRecords)))
	require.NoError(t, err)
	checkLookups(t, db)
}

func TestLookupConcurrent(t *testing.T) {
	db, err := Open(write(t, "a.mmdb", buildMMDB("GeoLite2-ASN", 6, testRecords)))
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				checkLookups(t, db)
			}
		})
	}
	wg.Wait()
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(filepath.Join(dir, "missing.mmdb"))
	assert.ErrorIs(t, err, os.ErrNotExist)
	assert.ErrorContains(t, err, "missing.mmdb")
	_, err = Open(dir)
	assert.ErrorContains(t, err, dir+": not a regular file")

	good := buildMMDB("GeoLite2-ASN", 6, testRecords)
	city := buildMMDB("GeoLite2-City", 6, testRecords)
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 100)...)
	// A search tree record that points past the data section.
	badTree := bytes.Clone(good)
	badTree[0], badTree[1], badTree[2] = 0xff, 0xff, 0x00
	for name, c := range map[string]struct {
		content []byte
		want    []string
		format  bool // wraps ErrFormat
	}{
		"empty":      {nil, []string{"the file is empty"}, true},
		"png":        {png, []string{"binary data without MaxMind DB metadata"}, true},
		"truncated":  {good[:len(good)/2], []string{"binary data without MaxMind DB metadata", "cut short"}, true},
		"cut in map": {good[:len(good)-20], []string{"damaged MaxMind DB file"}, false},
		"city":       {city, []string{`a MaxMind DB of type "GeoLite2-City"`, "want an ASN or ISP database"}, true},
		"bad tree":   {badTree, []string{"damaged MaxMind DB file"}, false},
		"prose":      {[]byte("hello world\nthis is not a table\n"), []string{`first line "hello world" is neither tab- nor comma-separated`}, true},
		"comments":   {[]byte("# only\n\n"), []string{"no ranges"}, true},
		"header":     {[]byte("start,end,asn\n"), []string{"no ranges"}, true},
	} {
		p := write(t, name+".db", c.content)
		db, err := Open(p)
		require.Error(t, err, name)
		assert.Nil(t, db, name)
		assert.ErrorContains(t, err, p, name)
		for _, w := range c.want {
			assert.ErrorContains(t, err, w, name)
		}
		assert.Equal(t, c.format, errors.Is(err, ErrFormat), "%s: %v", name, err)
	}

	// Every truncation of a good .mmdb file is an error, never a panic.
	for n := 1; n < len(good); n += max(1, len(good)/97) {
		_, err := Open(write(t, "cut.mmdb", good[:n]))
		assert.Error(t, err, "cut to %d of %d bytes", n, len(good))
	}
	// So is a gzip file cut short.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(strings.Repeat(tsv, 50)))
	zw.Close()
	_, err = Open(write(t, "cut.tsv.gz", gz.Bytes()[:gz.Len()/2]))
	assert.ErrorContains(t, err, "gzip data is truncated")
}

func TestOpenMalformedLines(t *testing.T) {
	for name, c := range map[string]struct {
		content string
		line    int
		want    string
	}{
		"few fields":  {"1.0.0.0\t1.0.0.255\t13335\tUS\tX\n1.0.1.0\t1.0.1.255\n", 2, "2 fields, want at least 3"},
		"bad start":   {"1.0.0.0\t1.0.0.255\t1\tUS\tX\n1.0.1\t1.0.1.255\t2\tUS\tY\n", 2, `range start "1.0.1": not an IP address`},
		"bad end":     {"1.0.0.0\t1.0.0.256\t1\tUS\tX\n", 1, `range end "1.0.0.256"`},
		"bad asn":     {"# c\n1.0.0.0\t1.0.0.255\tx13335\tUS\tX\n", 2, `AS number "x13335": not a number`},
		"huge asn":    {"1.0.0.0\t1.0.0.255\t4294967296\tUS\tX\n", 1, "AS number"},
		"big u32":     {"4294967296\t4294967297\t1\tUS\tX\n", 1, "not an IP address or a 32-bit integer"},
		"backwards":   {"1.0.0.0\t1.0.0.255\t1\tUS\tX\n1.0.1.255\t1.0.1.0\t2\tUS\tY\n", 2, "range 1.0.1.255-1.0.1.0 ends before it starts"},
		"mixed":       {"1.0.0.0\t2001:db8::\t1\tUS\tX\n", 1, "mixes IPv4 and IPv6"},
		"overlap":     {"1.0.0.0\t1.0.0.255\t1\tUS\tX\n2.0.0.0\t2.0.0.255\t3\tUS\tZ\n1.0.0.128\t1.0.1.0\t2\tUS\tY\n", 3, "range 1.0.0.128-1.0.1.0 overlaps line 1's 1.0.0.0-1.0.0.255"},
		"overlap v6":  {"2001:db8::,2001:db8::ff,1\n2001:db8::ff,2001:db8::1ff,2\n", 2, "overlaps line 1's 2001:db8::-2001:db8::ff"},
		"csv quote":   {"1.0.0.0,1.0.0.255,1,\"X\n", 1, "extraneous or missing \" in quoted-field"},
		"csv fields":  {"1.0.0.0,1.0.0.255,1\n1.0.1.0\n", 2, "1 fields"},
		"header late": {"1.0.0.0,1.0.0.255,1\nstart,end,asn\n", 2, `range start "start"`},
		"long line":   {"1.0.0.0\t1.0.0.255\t1\tUS\t" + strings.Repeat("x", maxLine) + "\n", 1, "line longer than"},
	} {
		p := write(t, "table.txt", []byte(c.content))
		_, err := Open(p)
		require.Error(t, err, name)
		var pe *ParseError
		if assert.True(t, errors.As(err, &pe), "%s: %T %v", name, err, err) {
			assert.Equal(t, p, pe.File, name)
			assert.Equal(t, c.line, pe.Line, "%s: %v", name, err)
		}
		assert.ErrorContains(t, err, fmt.Sprintf("%s:%d: ", p, c.line), name)
		assert.ErrorContains(t, err, c.want, name)
		assert.NotContains(t, err.Error(), "\n", "one line")
	}
}

func BenchmarkLookup(b *testing.B) {
	var sb strings.Builder
	for i := range 100_000 { // /24s of 1.0.0.0/8 to 2.134.159.0/24
		fmt.Fprintf(&sb, "%d\t%d\t%d\tZZ\tAS number %d\n", 1<<24+i<<8, 1<<24+i<<8+255, 64512+i%1000, 64512+i%1000)
	}
	dir := b.TempDir()
	tsvPath := filepath.Join(dir, "t.tsv")
	if err := os.WriteFile(tsvPath, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	var recs []mmdbRecord
	for i := range 20_000 {
		recs = append(recs, mmdbRecord{netip.PrefixFrom(netip.AddrFrom4([4]byte{1 + byte(i>>16), byte(i >> 8), byte(i), 0}), 24), uint32(64512 + i%1000), fmt.Sprintf("AS number %d", i%1000)})
	}
	mmPath := filepath.Join(dir, "t.mmdb")
	if err := os.WriteFile(mmPath, buildMMDB("GeoLite2-ASN", 6, recs), 0o644); err != nil {
		b.Fatal(err)
	}
	for name, path := range map[string]string{"tsv": tsvPath, "mmdb": mmPath} {
		db, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				db.Lookup(netip.AddrFrom4([4]byte{1, byte(i >> 8 % 78), byte(i), 7}))
				i++
			}
		})
	}
}

// FuzzReadTable checks that a table that parses answers for both ends of
// each of its ranges with that range's AS.
func FuzzReadTable(f *testing.F) {
	f.Add([]byte(tsv))
	f.Add([]byte(csvTable))
	f.Add([]byte("16777216\t16777471\t13335\tUS\tX\n"))
	f.Fuzz(func(t *testing.T, content []byte) {
		tb, _, err := readTable(bytes.NewReader(content), "fuzz")
		if err != nil {
			return
		}
		check := func(ip netip.Addr, asn uint32, org string) {
			got, gotOrg, ok := tb.lookup(ip)
			assert.True(t, ok, ip)
			assert.Equal(t, asn, got, ip)
			assert.Equal(t, org, gotOrg, ip)
		}
		for _, r := range tb.v4 {
			assert.NotZero(t, r.asn)
			check(netip.MustParseAddr(v4String(r.start)), r.asn, tb.orgs[r.org])
			check(netip.MustParseAddr(v4String(r.end)), r.asn, tb.orgs[r.org])
		}
		for _, r := range tb.v6 {
			check(netip.MustParseAddr(v6String(r.start)), r.asn, tb.orgs[r.org])
			check(netip.MustParseAddr(v6String(r.end)), r.asn, tb.orgs[r.org])
		}
	})
}
