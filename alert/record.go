package alert

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"strings"

	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// AS is an autonomous system: its number and organisation.
type AS struct {
	// Number is the AS number; 0 when unknown.
	Number uint32
	// Org is the organisation's name, possibly empty.
	Org string
}

// Known reports whether the AS is known (its Number is not 0).
func (a AS) Known() bool { return a.Number != 0 }

// Record is one scored pair and what is known about it. Fields says which
// of the optional fields a format writes; the others are not read.
type Record struct {
	// Entity and Addr are the pair.
	Entity []byte
	Addr   netip.Addr
	// Result is the pair's score.
	Result ipinsights.Result
	// Percentile is the pair's percentile among normal pairs
	// (Fields.Percentile).
	Percentile ipinsights.Percentile
	// Alert tells whether the pair alerts (Fields.Alert).
	Alert bool
	// Explanation is the pair's explanation (Fields.Explain); its Result
	// is not read. nil reads as an empty explanation.
	Explanation *ipinsights.Explanation
	// AS is the autonomous system of Addr (Fields.AS).
	AS AS
	// NetworkAS holds the autonomous system of each of the explanation's
	// UsualNetworks, in their order (Fields.AS with Fields.Explain); see
	// Annotator. Missing entries read as unknown.
	NetworkAS []AS
	// Extra are the values of the extra columns (Fields.Extra), such as
	// the columns of the input passed through.
	Extra [][]byte
}

// Fields says which of a record's optional fields are set and written.
type Fields struct {
	// Percentile writes percentile.
	Percentile bool
	// Alert writes alert.
	Alert bool
	// Explain writes the explanation: entity_pairs, network,
	// network_seen, usual_networks, nearest_usual_network,
	// nearest_similarity.
	Explain bool
	// AS writes asn and as_org of the address, and with Explain the AS of
	// each usual network.
	AS bool
	// Extra names the extra columns, whose values are Record.Extra.
	Extra []string
}

// explanation returns r's explanation, an empty one when nil.
func (r *Record) explanation() *ipinsights.Explanation {
	if r.Explanation == nil {
		return &emptyExplanation
	}
	return r.Explanation
}

var emptyExplanation ipinsights.Explanation

// networkAS returns the AS of usual network i.
func (r *Record) networkAS(i int) AS {
	if i < len(r.NetworkAS) {
		return r.NetworkAS[i]
	}
	return AS{}
}

// ASLookup gives the autonomous system of an address; an *asn.DB is one.
type ASLookup interface {
	Lookup(ip netip.Addr) (asn uint32, org string, ok bool)
}

// Annotator sets the AS fields of records from an ASLookup. It looks each
// usual network up once, and remembers the AS of each list of usual
// networks (an entity's, which repeats from record to record); it looks
// up the address of every record. It is not safe for concurrent use.
type Annotator struct {
	db    ASLookup
	nets  map[netKey]AS
	lists map[uint64]*asList
	keys  []netKey
}

// asList is a list of usual networks and their AS.
type asList struct {
	nets []netKey
	as   []AS
}

// netKey is a network as a map key that hashes and compares as plain
// integers, which netip.Prefix does not (its address holds a pointer).
type netKey struct {
	hi, lo uint64
	bits   int32
	v4     bool
}

func keyOf(p netip.Prefix) netKey {
	a := p.Addr().As16()
	return netKey{hi: binary.BigEndian.Uint64(a[:8]), lo: binary.BigEndian.Uint64(a[8:]), bits: int32(p.Bits()), v4: p.Addr().Is4()}
}

// mix is the finaliser of splitmix64: a bijection that spreads bits.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// maxCachedNetworks and maxCachedLists bound the Annotator's caches, which
// start again empty when full.
const (
	maxCachedNetworks = 1 << 20
	maxCachedLists    = 1 << 18
)

// NewAnnotator returns an Annotator that looks addresses up in db.
func NewAnnotator(db ASLookup) *Annotator {
	return &Annotator{db: db, nets: map[netKey]AS{}, lists: map[uint64]*asList{}}
}

// Cached returns how many networks and lists of networks a holds in its
// caches, for a caller that pools Annotators to bound what it keeps.
func (a *Annotator) Cached() int { return len(a.nets) + len(a.lists) }

// Annotate sets r.AS, the AS of r.Addr, and r.NetworkAS, the AS of each of
// the usual networks of r.Explanation (that of its first address), reusing
// the NetworkAS slice when it has room.
func (a *Annotator) Annotate(r *Record) {
	r.AS = a.lookup(r.Addr)
	usual := r.explanation().UsualNetworks
	r.NetworkAS = r.NetworkAS[:0]
	if len(usual) == 0 {
		return
	}
	a.keys = a.keys[:0]
	h := uint64(len(usual))
	for _, n := range usual {
		k := keyOf(n.Prefix)
		a.keys = append(a.keys, k)
		h = mix(h ^ mix(k.hi^uint64(k.bits)<<1) ^ k.lo)
	}
	if l, ok := a.lists[h]; ok && slices.Equal(l.nets, a.keys) {
		r.NetworkAS = append(r.NetworkAS, l.as...)
		return
	}
	for i, k := range a.keys {
		as, ok := a.nets[k]
		if !ok {
			as = a.lookup(usual[i].Prefix.Addr())
			if len(a.nets) >= maxCachedNetworks {
				clear(a.nets)
			}
			a.nets[k] = as
		}
		r.NetworkAS = append(r.NetworkAS, as)
	}
	if len(a.lists) >= maxCachedLists {
		clear(a.lists)
	}
	a.lists[h] = &asList{nets: slices.Clone(a.keys), as: packed(r.NetworkAS)}
}

// packed returns a copy of as whose organisation names are in one string:
// a list's names are then read from one place in memory, not from
// wherever the database holds each.
func packed(as []AS) []AS {
	var b strings.Builder
	for _, x := range as {
		b.WriteString(x.Org)
	}
	all := b.String()
	out := make([]AS, len(as))
	at := 0
	for i, x := range as {
		out[i] = AS{Number: x.Number, Org: all[at : at+len(x.Org)]}
		at += len(x.Org)
	}
	return out
}

func (a *Annotator) lookup(ip netip.Addr) AS {
	n, org, ok := a.db.Lookup(ip)
	if !ok {
		return AS{}
	}
	return AS{Number: n, Org: org}
}
