package maybegzip

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func gzipped(t *testing.T, s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestNewReader(t *testing.T) {
	for name, c := range map[string]struct {
		in   []byte
		want string
		gz   bool
	}{
		"plain":          {[]byte("alice,192.0.2.1\n"), "alice,192.0.2.1\n", false},
		"gzip":           {gzipped(t, "alice,192.0.2.1\n"), "alice,192.0.2.1\n", true},
		"empty":          {nil, "", false},
		"one byte":       {[]byte{0x1f}, "\x1f", false},
		"magic reversed": {[]byte{0x8b, 0x1f, 'x'}, "\x8b\x1fx", false},
	} {
		// One byte per Read: the magic is found across reads too.
		r, err := NewReader(iotest.OneByteReader(bytes.NewReader(c.in)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, isGzip := r.(*Reader); isGzip != c.gz {
			t.Errorf("%s: gzip reader %v, want %v", name, isGzip, c.gz)
		}
		got, err := io.ReadAll(r)
		if err != nil || string(got) != c.want {
			t.Errorf("%s: read %q, %v; want %q", name, got, err, c.want)
		}
	}
}

func TestNewReaderErrors(t *testing.T) {
	_, err := NewReader(bytes.NewReader([]byte{0x1f, 0x8b, 0, 0}))
	if !errors.Is(err, ErrTruncated) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("cut header: %v, want ErrTruncated wrapping io.ErrUnexpectedEOF", err)
	}
	_, err = NewReader(bytes.NewReader([]byte{0x1f, 0x8b, 0, 0, 0, 0, 0, 0, 0, 0}))
	if err == nil || err.Error() != "gzip: invalid header" {
		t.Errorf("corrupt header: %v, want gzip: invalid header", err)
	}

	// Data cut short: ErrTruncated, with the data before the cut.
	whole := gzipped(t, strings.Repeat("alice,192.0.2.1\n", 1000))
	r, err := NewReader(bytes.NewReader(whole[:len(whole)-10]))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if !errors.Is(err, ErrTruncated) || !errors.Is(err, io.ErrUnexpectedEOF) || err.Error() != "gzip data is truncated: unexpected EOF" {
		t.Errorf("truncated: %v, want ErrTruncated", err)
	}
	if len(got) == 0 || !strings.HasPrefix(strings.Repeat("alice,192.0.2.1\n", 1000), string(got)) {
		t.Errorf("truncated: read %d bytes, want a prefix of the data", len(got))
	}

	// A read error while sniffing comes back from Read.
	boom := errors.New("boom")
	r, err = NewReader(iotest.ErrReader(boom))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(make([]byte, 8)); !errors.Is(err, boom) {
		t.Errorf("Read: %v, want %v", err, boom)
	}
}
