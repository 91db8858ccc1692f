package csvio

import (
	"bytes"
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
