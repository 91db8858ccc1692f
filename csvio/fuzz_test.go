package csvio

import (
	"bytes"
	"net/netip"
	"testing"
)

func FuzzReader(f *testing.F) {
	for _, s := range []string{
		"alice,10.0.0.1\n", "\xef\xbb\xbfa, ::1\r\n", "\"a,b\",1.2.3.4,x\n", "\"unterminated\n",
		"a,1.2.3.4\n\n,\nb,fe80::1%eth0", "\"d\"\"q\",1.1.1.1", "a,\"1.2.3.4\"\n",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, lenient bool) {
		r := NewReader(bytes.NewReader(data), Options{Lenient: lenient, MaxFields: -1, MaxLineBytes: 256})
		rows := 0
		for r.Next() {
			rows++
			if len(r.Entity()) == 0 || !r.Addr().IsValid() || len(r.Fields()) < 2 {
				t.Fatalf("accepted a malformed row at line %d", r.Line())
			}
		}
		if rows > bytes.Count(data, []byte("\n"))+1 {
			t.Fatalf("%d rows from %d lines", rows, bytes.Count(data, []byte("\n"))+1)
		}
		if lenient && r.Err() != nil {
			t.Fatalf("lenient reader stopped: %v", r.Err())
		}
	})
}

// FuzzParseIPv4 checks ParseAddr's fast path against netip: what it
// accepts, netip.ParseAddr accepts with the same value, and ParseAddr
// gives netip's answer for everything (the fast path only speeds it up).
func FuzzParseIPv4(f *testing.F) {
	for _, s := range []string{
		"1.2.3.4", "0.0.0.0", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.5",
		"1..3.4", ".1.2.3", "1.2.3.", "1.2.3.04", "00.1.2.3", "1.2.3.4 ", "::ffff:1.2.3.4", "1.2.3.4%eth0",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want, wantErr := netip.ParseAddr(string(b))
		if a, ok := parseIPv4(b); ok {
			if wantErr != nil || want != netip.AddrFrom4(a) {
				t.Fatalf("parseIPv4(%q) = %v; netip: %v, %v", b, a, want, wantErr)
			}
		}
		got, err := ParseAddr(b)
		if wantErr != nil {
			if err == nil {
				t.Fatalf("ParseAddr(%q) = %v; netip refuses it: %v", b, got, wantErr)
			}
			return
		}
		if err != nil || got != want.WithZone("").Unmap() {
			t.Fatalf("ParseAddr(%q) = %v, %v; want %v", b, got, err, want.WithZone("").Unmap())
		}
	})
}
