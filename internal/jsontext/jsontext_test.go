package jsontext

import (
	"encoding/json"
	"math"
	"testing"
	"unicode/utf8"
)

// What AppendString writes reads back, with encoding/json, as the string
// (when valid UTF-8), and it is byte for byte what encoding/json writes
// (which escapes <, > and & too, so those are left out here).
func TestAppendStringReadsBack(t *testing.T) {
	for _, s := range []string{
		"", "alice", `quote " and \ backslash`, "tab\tnew\nline\r\x00\x1f\x7f",
		"héllo wörld ✓ 𝄞", "line\u2028sep\u2029", "bad \xff\xfe utf8", "trunc \xe2\x82",
	} {
		got := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%q: %s does not read back: %v", s, got, err)
		}
		if utf8.ValidString(s) && back != s {
			t.Errorf("%q: read back %q", s, back)
		}
		want, _ := json.Marshal(s)
		if string(got) != string(want) {
			t.Errorf("%q: wrote %s, encoding/json %s", s, got, want)
		}
		if b := AppendBytes([]byte("x"), []byte(s)); string(b) != "x"+string(got) {
			t.Errorf("AppendBytes(%q) = %s", s, b)
		}
	}
}

func TestAppendFloat(t *testing.T) {
	for _, c := range []struct {
		x    float64
		bits int
		want string
	}{
		{1.5, 32, "1.5"},
		{float64(float32(0.1)), 32, "0.1"},
		{float64(float32(0.1)), 64, "0.10000000149011612"},
		{1e-5, 64, "1e-05"},
		{math.NaN(), 32, "null"},
		{math.Inf(-1), 64, "null"},
		{1e39, 32, "null"}, // beyond float32
	} {
		got := string(AppendFloat(nil, c.x, c.bits))
		if got != c.want {
			t.Errorf("AppendFloat(%v, %d) = %s, want %s", c.x, c.bits, got, c.want)
		}
		if got != "null" {
			var back float64
			if err := json.Unmarshal([]byte(got), &back); err != nil {
				t.Errorf("%s is not a JSON number: %v", got, err)
			}
		}
	}
}

func TestAppendStringAllocs(t *testing.T) {
	dst := make([]byte, 0, 256)
	b := []byte("entity \"with\" quotes ✓")
	if n := testing.AllocsPerRun(100, func() { dst = AppendBytes(dst[:0], b) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}
