package embedding

import (
	"fmt"
	"net/netip"
	"slices"
)

// EncoderID names the IP encoder implemented by Encoder. It is recorded in
// model files together with the EncoderConfig.
const EncoderID = "prefix-sum/v1"

// MaxLevels is the largest number of prefix lengths an address family may use.
const MaxLevels = 16

// Addr is an IP address as the two big-endian halves of its 16-byte IPv6
// form. IPv4 addresses are stored IPv4-mapped (::ffff:a.b.c.d), so an Addr
// is 16 bytes whatever the family.
type Addr struct {
	Hi, Lo uint64
}

// AddrFrom converts a netip.Addr. IPv4 and IPv4-mapped IPv6 addresses give
// the same Addr; a zone is ignored. The zero netip.Addr gives ::.
func AddrFrom(a netip.Addr) Addr {
	b := a.As16()
	return Addr{Hi: be64(b[:8]), Lo: be64(b[8:])}
}

func be64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
}

// Is4 reports whether a is an IPv4 (IPv4-mapped) address.
func (a Addr) Is4() bool { return a.Hi == 0 && a.Lo>>32 == 0xffff }

// V4 returns the IPv4 address as a uint32; meaningful only when Is4.
func (a Addr) V4() uint32 { return uint32(a.Lo) }

// Netip converts back to a netip.Addr, unmapping IPv4.
func (a Addr) Netip() netip.Addr {
	var b [16]byte
	for i := 0; i < 8; i++ {
		b[i] = byte(a.Hi >> (56 - 8*i))
		b[8+i] = byte(a.Lo >> (56 - 8*i))
	}
	return netip.AddrFrom16(b).Unmap()
}

// AddrV4 returns the Addr of the IPv4 address v (big-endian, as a uint32).
func AddrV4(v uint32) Addr { return Addr{Hi: 0, Lo: 0xffff<<32 | uint64(v)} }

// EncoderConfig sets the prefix structure of the IP encoder.
//
// An IPv4 address is represented by the sum of one embedding row per prefix
// length in V4Prefixes. A prefix length p with 2^p <= V4HashRows gets a dense
// table of 2^p rows (one row per prefix, no collisions); a longer one gets a
// table of V4HashRows rows indexed by a hash of the prefix. All IPv6 prefix
// lengths share one hashed table of V6HashRows rows, salted per length.
type EncoderConfig struct {
	V4Prefixes []int // ascending, each in 1..32
	V6Prefixes []int // ascending, each in 1..128
	V4HashRows int   // rows of each hashed IPv4 table
	V6HashRows int   // rows of the shared IPv6 table
}

// DefaultEncoderConfig returns the encoder used when no hyperparameter says
// otherwise: IPv4 /16 alone, dense (one row per network, no hash
// collisions); IPv6 /16, /32 and /48, the network rather than the subnet or
// host levels.
//
// The IPv4 choice was measured on the SageMaker tutorial's data (the
// README's detection quality section has the figures).
//
// Coarser levels (/8, /12) tie unrelated networks together: a user's home
// network pulls up every address in the same /8. Longer prefixes (/24, /32)
// are hashed into V4HashRows rows; they help when the data has few distinct
// networks at that level (at most about V4HashRows/4), so that exact
// networks can be remembered, but on the tutorial's data (over a million
// distinct /24s) their rows are shared by many unrelated networks and add
// noise. Real logs with a few stable office or VPN networks may gain from
// ipv4_prefix_lengths=16,24; measure with eval before keeping it.
func DefaultEncoderConfig() EncoderConfig {
	return EncoderConfig{
		V4Prefixes: []int{16},
		V6Prefixes: []int{16, 32, 48},
		V4HashRows: 1 << 17,
		V6HashRows: 1 << 16,
	}
}

// Validate checks the configuration and returns an error naming the field.
func (c EncoderConfig) Validate() error {
	check := func(name string, ps []int, max int) error {
		if len(ps) == 0 {
			return fmt.Errorf("%s: at least one prefix length is required", name)
		}
		if len(ps) > MaxLevels {
			return fmt.Errorf("%s: %d prefix lengths, at most %d allowed", name, len(ps), MaxLevels)
		}
		for i, p := range ps {
			if p < 1 || p > max {
				return fmt.Errorf("%s: prefix length %d out of range 1..%d", name, p, max)
			}
			if i > 0 && p <= ps[i-1] {
				return fmt.Errorf("%s: prefix lengths must be strictly ascending, got %v", name, ps)
			}
		}
		return nil
	}
	if err := check("ipv4 prefixes", c.V4Prefixes, 32); err != nil {
		return err
	}
	if err := check("ipv6 prefixes", c.V6Prefixes, 128); err != nil {
		return err
	}
	const maxRows = 1 << 30
	if c.V4HashRows < 1 || c.V4HashRows > maxRows {
		return fmt.Errorf("ipv4 hash rows %d out of range 1..%d", c.V4HashRows, maxRows)
	}
	if c.V6HashRows < 1 || c.V6HashRows > maxRows {
		return fmt.Errorf("ipv6 hash rows %d out of range 1..%d", c.V6HashRows, maxRows)
	}
	return nil
}

type level struct {
	bits   uint
	offset int // first row of this level's table
	rows   int
	dense  bool
	salt   uint64
}

// Encoder maps an address to the rows of one flat embedding table, one row
// per prefix length of its family. It is immutable and safe for concurrent
// use.
type Encoder struct {
	cfg  EncoderConfig
	v4   []level
	v6   []level
	rows int
}

// NewEncoder builds an Encoder; the configuration is validated first.
func NewEncoder(c EncoderConfig) (*Encoder, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c.V4Prefixes = slices.Clone(c.V4Prefixes)
	c.V6Prefixes = slices.Clone(c.V6Prefixes)
	e := &Encoder{cfg: c}
	for _, p := range c.V4Prefixes {
		l := level{bits: uint(p), offset: e.rows, salt: Mix64(0x4000 | uint64(p))}
		if p < 31 && 1<<p <= c.V4HashRows {
			l.dense, l.rows = true, 1<<p
		} else {
			l.rows = c.V4HashRows
		}
		e.rows += l.rows
		e.v4 = append(e.v4, l)
	}
	shared := e.rows
	for _, p := range c.V6Prefixes {
		e.v6 = append(e.v6, level{bits: uint(p), offset: shared, rows: c.V6HashRows, salt: Mix64(0x6000 | uint64(p))})
	}
	e.rows += c.V6HashRows
	if e.rows > 1<<31-1 {
		return nil, fmt.Errorf("ip encoder: %d table rows in all, at most %d allowed", e.rows, 1<<31-1)
	}
	return e, nil
}

// Config returns the configuration the Encoder was built with.
func (e *Encoder) Config() EncoderConfig {
	c := e.cfg
	c.V4Prefixes = slices.Clone(c.V4Prefixes)
	c.V6Prefixes = slices.Clone(c.V6Prefixes)
	return c
}

// Rows returns the number of rows of the embedding table the Encoder indexes.
func (e *Encoder) Rows() int { return e.rows }

// Levels returns how many rows Encode writes for an address of a's family.
func (e *Encoder) Levels(a Addr) int {
	if a.Is4() {
		return len(e.v4)
	}
	return len(e.v6)
}

// Encode writes the table rows of a to dst and returns how many it wrote
// (len(V4Prefixes) or len(V6Prefixes)). dst must have room for MaxLevels.
// Encode does not allocate.
func (e *Encoder) Encode(dst []int32, a Addr) int {
	if a.Is4() {
		v := uint32(a.Lo)
		for i, l := range e.v4 {
			p := uint64(v >> (32 - l.bits))
			if l.dense {
				dst[i] = int32(l.offset + int(p))
			} else {
				dst[i] = int32(l.offset + Bucket(Mix64(p+l.salt), l.rows))
			}
		}
		return len(e.v4)
	}
	for i, l := range e.v6 {
		var hi, lo uint64
		if l.bits <= 64 {
			hi = a.Hi >> (64 - l.bits)
		} else {
			hi, lo = a.Hi, a.Lo>>(128-l.bits)
		}
		h := Mix64(Mix64(hi+l.salt) ^ lo)
		dst[i] = int32(l.offset + Bucket(h, l.rows))
	}
	return len(e.v6)
}
