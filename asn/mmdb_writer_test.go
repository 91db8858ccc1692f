package asn

import (
	"encoding/binary"
	"net/netip"
)

// A minimal MaxMind DB writer for tests, after the MaxMind DB File Format
// Specification 2.0 (https://maxmind.github.io/MaxMind-DB/): a binary
// search tree of 24-bit records, a 16-byte zero separator, a data section
// of one map per AS, and the metadata map after its marker. Writing the
// few files the tests need by hand keeps github.com/maxmind/mmdbwriter (and
// what it pulls in) out of the module's dependencies.

// mmdbRecord is one network of a test database.
type mmdbRecord struct {
	Prefix netip.Prefix
	ASN    uint32
	Org    string
}

// trieNode is a node of the search tree being built: two children, or the
// data of a network (data >= 0).
type trieNode struct {
	child [2]*trieNode
	data  int
}

// buildMMDB returns a database of recs (networks that do not nest). With
// ipVersion 6, IPv4 networks go to ::a.b.c.d (the subtree that readers use
// for IPv4 lookups); with 4, recs must all be IPv4.
func buildMMDB(dbType string, ipVersion int, recs []mmdbRecord) []byte {
	root := &trieNode{data: -1}
	var data []byte
	offsets := make([]int, len(recs))
	for i, r := range recs {
		offsets[i] = len(data)
		data = mmMap(data, 2)
		data = mmString(data, "autonomous_system_number")
		data = mmUint(data, 6, uint64(r.ASN))
		data = mmString(data, "autonomous_system_organization")
		data = mmString(data, r.Org)

		p := r.Prefix.Masked()
		addr, bits := p.Addr().As16(), p.Bits()
		if p.Addr().Is4() {
			if ipVersion == 6 {
				addr = [16]byte{12: addr[12], 13: addr[13], 14: addr[14], 15: addr[15]}
			}
			bits += 96
		}
		start := 0
		if ipVersion == 4 {
			start = 96
		}
		n := root
		for b := start; b < bits; b++ {
			bit := addr[b/8] >> (7 - b%8) & 1
			if n.child[bit] == nil {
				n.child[bit] = &trieNode{data: -1}
			}
			n = n.child[bit]
		}
		n.data = i
	}

	// Number the inner nodes breadth first; the root is node 0.
	var inner []*trieNode
	queue := []*trieNode{root}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		inner = append(inner, n)
		for _, c := range n.child {
			if c != nil && c.data < 0 {
				queue = append(queue, c)
			}
		}
	}
	number := map[*trieNode]int{}
	for i, n := range inner {
		number[n] = i
	}
	nodeCount := len(inner)
	record := func(c *trieNode) int {
		switch {
		case c == nil:
			return nodeCount // no data
		case c.data >= 0:
			return nodeCount + 16 + offsets[c.data]
		}
		return number[c]
	}
	var out []byte
	for _, n := range inner {
		l, r := record(n.child[0]), record(n.child[1])
		out = append(out, byte(l>>16), byte(l>>8), byte(l), byte(r>>16), byte(r>>8), byte(r))
	}
	out = append(out, make([]byte, 16)...)
	out = append(out, data...)
	out = append(out, "\xab\xcd\xefMaxMind.com"...)
	out = mmMap(out, 9)
	out = mmUint(mmString(out, "node_count"), 6, uint64(nodeCount))
	out = mmUint(mmString(out, "record_size"), 5, 24)
	out = mmUint(mmString(out, "ip_version"), 5, uint64(ipVersion))
	out = mmString(mmString(out, "database_type"), dbType)
	out = mmString(mmArray(mmString(out, "languages"), 1), "en")
	out = mmUint(mmString(out, "binary_format_major_version"), 5, 2)
	out = mmUint(mmString(out, "binary_format_minor_version"), 5, 0)
	out = mmUint(mmString(out, "build_epoch"), 9, 1767225600) // 2026-01-01
	out = mmString(mmString(mmMap(mmString(out, "description"), 1), "en"), "ipinsights-go test database")
	return out
}

// mmControl appends the control byte(s) of a field of type typ (1 to 15)
// and size.
func mmControl(b []byte, typ, size int) []byte {
	t := typ
	if typ > 7 {
		t = 0 // extended type, in the next byte
	}
	var ext []byte
	switch {
	case size < 29:
		b = append(b, byte(t<<5|size))
	case size < 29+256:
		b = append(b, byte(t<<5|29))
		ext = []byte{byte(size - 29)}
	case size < 285+65536:
		b = append(b, byte(t<<5|30))
		ext = binary.BigEndian.AppendUint16(nil, uint16(size-285))
	default:
		b = append(b, byte(t<<5|31))
		v := size - 65821
		ext = []byte{byte(v >> 16), byte(v >> 8), byte(v)}
	}
	if typ > 7 {
		b = append(b, byte(typ-7))
	}
	return append(b, ext...)
}

func mmString(b []byte, s string) []byte { return append(mmControl(b, 2, len(s)), s...) }

func mmMap(b []byte, pairs int) []byte { return mmControl(b, 7, pairs) }

func mmArray(b []byte, n int) []byte { return mmControl(b, 11, n) }

// mmUint appends an unsigned integer of type typ (5 uint16, 6 uint32,
// 9 uint64) in as few bytes as it needs.
func mmUint(b []byte, typ int, v uint64) []byte {
	be := binary.BigEndian.AppendUint64(nil, v)
	i := 0
	for i < 8 && be[i] == 0 {
		i++
	}
	return append(mmControl(b, typ, 8-i), be[i:]...)
}

// testRecords are networks of a test database, IPv4 and IPv6.
var testRecords = []mmdbRecord{
	{netip.MustParsePrefix("1.0.0.0/24"), 13335, "CLOUDFLARENET"},
	{netip.MustParsePrefix("8.8.8.0/24"), 15169, "GOOGLE"},
	{netip.MustParsePrefix("203.0.113.0/25"), 64500, "Example, Inc."},
	{netip.MustParsePrefix("2001:db8::/32"), 64501, "Example IPv6 Net"},
	{netip.MustParsePrefix("2001:4860::/32"), 15169, "GOOGLE"},
}
