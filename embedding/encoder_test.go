package embedding

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustEncoder(t *testing.T, c EncoderConfig) *Encoder {
	t.Helper()
	e, err := NewEncoder(c)
	require.NoError(t, err)
	return e
}

func encode(e *Encoder, s string) []int32 {
	rows := make([]int32, MaxLevels)
	n := e.Encode(rows, AddrFrom(netip.MustParseAddr(s)))
	return rows[:n]
}

func TestAddrRoundTrip(t *testing.T) {
	for _, s := range []string{"0.0.0.0", "1.2.3.4", "255.255.255.255", "::", "2001:db8::1", "fe80::1:2:3:4"} {
		a := netip.MustParseAddr(s)
		assert.Equal(t, a, AddrFrom(a).Netip(), s)
	}
	assert.True(t, AddrFrom(netip.MustParseAddr("10.0.0.1")).Is4())
	assert.True(t, AddrFrom(netip.MustParseAddr("::ffff:10.0.0.1")).Is4(), "IPv4-mapped is IPv4")
	assert.False(t, AddrFrom(netip.MustParseAddr("::1")).Is4())
	assert.Equal(t, AddrFrom(netip.MustParseAddr("10.1.2.3")), AddrV4(0x0a010203))
}

// fineConfig has hashed levels as well as dense ones.
func fineConfig() EncoderConfig {
	return EncoderConfig{V4Prefixes: []int{8, 16, 24, 32}, V6Prefixes: []int{16, 32, 48, 64, 128}, V4HashRows: 1 << 17, V6HashRows: 1 << 16}
}

func TestDefaultEncoderIsDenseNetworkLevels(t *testing.T) {
	c := DefaultEncoderConfig()
	e := mustEncoder(t, c)
	assert.Equal(t, []int{16}, c.V4Prefixes)
	assert.Equal(t, 65536+c.V6HashRows, e.Rows(), "the IPv4 table is dense")
	assert.Equal(t, []int32{0x0a01}, encode(e, "10.1.2.3"), "the /16 row is the first two octets")
	assert.Equal(t, encode(e, "10.1.2.3"), encode(e, "10.1.255.255"), "one row per /16")
	assert.NotEqual(t, encode(e, "10.1.2.3"), encode(e, "10.2.2.3"))
}

func TestEncoderDenseAndHashedLevels(t *testing.T) {
	e := mustEncoder(t, fineConfig())
	// /8 (256 rows) and /16 (65536 rows) are dense; /24 and /32 hashed into
	// 2^17 rows each; IPv6 shares one table of 2^16 rows.
	assert.Equal(t, 256+65536+2*(1<<17)+(1<<16), e.Rows())
	rows := encode(e, "10.1.2.3")
	require.Len(t, rows, 4)
	assert.Equal(t, int32(10), rows[0], "/8 row is the first octet")
	assert.Equal(t, int32(256+10<<8+1), rows[1], "/16 row follows the /8 table")
	for i, r := range rows {
		assert.True(t, int(r) >= 0 && int(r) < e.Rows(), "level %d row %d", i, r)
	}
	assert.True(t, rows[2] >= 256+65536 && rows[2] < 256+65536+1<<17)
	assert.True(t, rows[3] >= 256+65536+1<<17 && rows[3] < 256+65536+2<<17)

	// Same /24: all but the /32 row shared. Same /16 only: /8 and /16 shared.
	same24 := encode(e, "10.1.2.200")
	assert.Equal(t, rows[:3], same24[:3])
	assert.NotEqual(t, rows[3], same24[3])
	same16 := encode(e, "10.1.99.3")
	assert.Equal(t, rows[:2], same16[:2])
	assert.NotEqual(t, rows[2], same16[2])
}

func TestEncoderIPv6(t *testing.T) {
	e := mustEncoder(t, fineConfig())
	a := encode(e, "2001:db8:1:2::10")
	b := encode(e, "2001:db8:1:2::20")
	c := encode(e, "2001:db8:ffff::1")
	require.Len(t, a, 5)
	lo := 256 + 65536 + 2*(1<<17)
	for _, r := range append(append(a, b...), c...) {
		assert.True(t, int(r) >= lo && int(r) < e.Rows(), "IPv6 rows live in the shared table")
	}
	assert.Equal(t, a[:4], b[:4], "same /64 shares /16../64 rows")
	assert.NotEqual(t, a[4], b[4], "different /128")
	assert.Equal(t, a[:2], c[:2], "same /32")
	assert.NotEqual(t, a[2], c[2], "different /48")
	// IPv4-mapped IPv6 encodes as IPv4.
	assert.Equal(t, encode(e, "1.2.3.4"), encode(e, "::ffff:1.2.3.4"))
}

func TestEncoderHashedRowsSpread(t *testing.T) {
	e := mustEncoder(t, EncoderConfig{V4Prefixes: []int{32}, V6Prefixes: []int{64}, V4HashRows: 64, V6HashRows: 64})
	counts := make([]int, 64)
	for v := uint32(0); v < 64*200; v++ {
		rows := make([]int32, MaxLevels)
		e.Encode(rows, AddrV4(v))
		counts[rows[0]]++
	}
	for r, c := range counts {
		assert.True(t, c > 100 && c < 300, "row %d has %d", r, c)
	}
}

func TestEncoderConfigErrors(t *testing.T) {
	base := DefaultEncoderConfig()
	cases := map[string]func(c *EncoderConfig){
		"ipv4 prefixes: at least one":     func(c *EncoderConfig) { c.V4Prefixes = nil },
		"ipv4 prefixes: prefix length 33": func(c *EncoderConfig) { c.V4Prefixes = []int{8, 33} },
		"ipv6 prefixes: prefix length 0":  func(c *EncoderConfig) { c.V6Prefixes = []int{0} },
		"strictly ascending":              func(c *EncoderConfig) { c.V4Prefixes = []int{16, 8} },
		"ipv4 hash rows 0":                func(c *EncoderConfig) { c.V4HashRows = 0 },
		"ipv6 hash rows 2147483648":       func(c *EncoderConfig) { c.V6HashRows = 1 << 31 },
		"17 prefix lengths, at most 16 allowed": func(c *EncoderConfig) {
			c.V6Prefixes = []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17}
		},
	}
	for want, mutate := range cases {
		c := base
		mutate(&c)
		_, err := NewEncoder(c)
		require.Error(t, err, want)
		assert.Contains(t, err.Error(), want)
	}
}
