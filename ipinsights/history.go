package ipinsights

import (
	"bufio"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"net/netip"
	"runtime"
	"slices"
	"sync"

	"github.com/ipinsights/ipinsights-go/embedding"
)

// DefaultTopNetworks is the number of networks a network history keeps per
// entity and level when HistoryOptions.TopNetworks is 0.
const DefaultTopNetworks = 8

// MaxTopNetworks is the largest HistoryOptions.TopNetworks.
const MaxTopNetworks = 64

// HistoryOptions configure WithNetworkHistory. The zero value, or a nil
// pointer, means the defaults.
type HistoryOptions struct {
	// TopNetworks is the number of networks kept per entity and level:
	// 1 to MaxTopNetworks, 0 meaning DefaultTopNetworks.
	TopNetworks int
	// Workers is the number of goroutines that count; 0 means GOMAXPROCS.
	// The history does not depend on it.
	Workers int
	// Merge adds the counts of data to the model's network history, when
	// it has one, instead of replacing it: a model from a warm start
	// (TrainOptions.Init) keeps the history of the model it started
	// from, and merging adds the new data's. An entity's pairs are summed,
	// and so are the counts of each of its networks that either history
	// kept, of which the TopNetworks with the most pairs stay (0 meaning
	// the existing history's TopNetworks). A count stays a lower bound on
	// the true count: a network that fell out of an entity's top before
	// starts again from the new data's pairs.
	Merge bool
}

// WithNetworkHistory returns a model with m's parameters and a network
// history counted from data, normally the Dataset m was trained on: for
// each entity, its number of pairs and its usual networks with their pair
// counts. Explain reads the history; Save writes it as the model file's
// optional section "network_history". m itself does not change: a Model
// stays immutable, and the two models share their parameter tables.
//
// The history keeps, per entity and level, the TopNetworks networks with
// the most pairs. The levels are the encoder's finest IPv4 prefix length
// and /16 (one level when the finest is /16 or shorter), and the encoder's
// finest IPv6 prefix length, capped at /64 (one level). Entities are keyed
// by their full 64-bit hash (embedding.EntityHash), not by their entity
// table bucket, so entities that share a bucket keep separate histories.
//
// Counting is bounded in memory: per entity and level a Space-Saving
// sketch (Metwally, Agrawal and El Abbadi, 2005) of 4×TopNetworks
// counters. A count is exact when the entity has at most 4×TopNetworks
// distinct networks at that level; otherwise it is a lower bound on the
// true count, short by at most the entity's pairs / (4×TopNetworks), and
// every network with more pairs than that is kept (when it ranks in the
// top TopNetworks). Counts saturate at 2^32-1. See the package
// documentation for the memory and file cost.
//
// It checks ctx while counting and stops with ctx.Err() once ctx is done.
func (m *Model) WithNetworkHistory(ctx context.Context, data *Dataset, opts *HistoryOptions) (*Model, error) {
	var o HistoryOptions
	if opts != nil {
		o = *opts
	}
	if o.TopNetworks == 0 && o.Merge && m.hist != nil {
		o.TopNetworks = m.hist.top
	}
	if o.TopNetworks == 0 {
		o.TopNetworks = DefaultTopNetworks
	}
	if o.TopNetworks < 1 || o.TopNetworks > MaxTopNetworks {
		return nil, fmt.Errorf("network history: TopNetworks %d out of range 1..%d", o.TopNetworks, MaxTopNetworks)
	}
	if o.Workers < 0 {
		return nil, fmt.Errorf("network history: negative Workers %d", o.Workers)
	}
	if data == nil {
		return nil, errors.New("network history: nil Dataset")
	}
	levels := historyLevels(m.cfg)
	prev := m.hist
	if !o.Merge {
		prev = nil
	} else if prev != nil && !slices.Equal(prev.levels, levels) {
		return nil, fmt.Errorf("network history: the model's history keeps other levels than its encoder's (%v, not %v)", prev.levels, levels)
	}
	h, err := countHistory(ctx, levels, o.TopNetworks, o.Workers, data.All(), data.Len())
	if err != nil {
		return nil, err
	}
	if prev != nil {
		h = mergeHistories(prev, h, o.TopNetworks)
	}
	c := m.clone()
	c.hist = h
	return c, nil
}

// WithoutNetworkHistory returns a model with m's parameters and no network
// history, for sharing a model without the summary of where each entity
// comes from. m itself does not change.
func (m *Model) WithoutNetworkHistory() *Model {
	c := m.clone()
	c.hist = nil
	return c
}

// HasNetworkHistory reports whether the model holds a network history
// (see WithNetworkHistory).
func (m *Model) HasNetworkHistory() bool { return m.hist != nil }

// maxHistLevels bounds the levels of a history: at most two per family.
const maxHistLevels = 4

// histLevel is one prefix length of a history.
type histLevel struct {
	v6   bool
	bits uint8 // IPv4: 1..32; IPv6: 1..64
}

// historyLevels returns the levels a history of a model of cfg keeps:
// IPv4 finest then /16 (when shorter than the finest), IPv6 finest capped
// at /64. Within a family the first level is the finest.
func historyLevels(cfg Config) []histLevel {
	var ls [maxHistLevels]histLevel
	n := levelsOf(cfg, &ls)
	return append([]histLevel(nil), ls[:n]...)
}

// levelsOf writes historyLevels(cfg) to ls, without allocating, and
// returns how many there are.
func levelsOf(cfg Config, ls *[maxHistLevels]histLevel) int {
	n := 0
	if k := len(cfg.IPv4Prefixes); k > 0 {
		fine := cfg.IPv4Prefixes[k-1]
		ls[n] = histLevel{bits: uint8(fine)}
		n++
		if fine > 16 {
			ls[n] = histLevel{bits: 16}
			n++
		}
	}
	if k := len(cfg.IPv6Prefixes); k > 0 {
		ls[n] = histLevel{v6: true, bits: uint8(min(cfg.IPv6Prefixes[k-1], 64))}
		n++
	}
	return n
}

// levelRoles returns the finest and the widest level of each family (0
// IPv4, 1 IPv6), -1 where levels has none of the family; the two are equal
// when the family has one level.
func levelRoles(levels []histLevel) (fine, wide [2]int8) {
	fine, wide = [2]int8{-1, -1}, [2]int8{-1, -1}
	for i, l := range levels {
		f := 0
		if l.v6 {
			f = 1
		}
		if fine[f] < 0 || l.bits > levels[fine[f]].bits {
			fine[f] = int8(i)
		}
		if wide[f] < 0 || l.bits < levels[wide[f]].bits {
			wide[f] = int8(i)
		}
	}
	return fine, wide
}

// key returns the network of a at level l as its prefix bits,
// right-aligned, and whether a is of l's family.
func (l histLevel) key(a embedding.Addr) (uint64, bool) {
	if a.Is4() != !l.v6 {
		return 0, false
	}
	if l.v6 {
		return a.Hi >> (64 - l.bits), true
	}
	return uint64(a.V4() >> (32 - l.bits)), true
}

// prefix returns the network of key at level l.
func (l histLevel) prefix(key uint64) netip.Prefix {
	if l.v6 {
		var b [16]byte
		binary.BigEndian.PutUint64(b[:8], key<<(64-l.bits))
		return netip.PrefixFrom(netip.AddrFrom16(b), int(l.bits))
	}
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(key)<<(32-l.bits))
	return netip.PrefixFrom(netip.AddrFrom4(b), int(l.bits))
}

// networkHistory is a model's network history. It is immutable once built
// (or loaded), but for the explanation cache, which fills on first use.
type networkHistory struct {
	top    int
	levels []histLevel
	// fine[f] and wide[f] are the finest and the widest level of family f
	// (0 IPv4, 1 IPv6), -1 when the history keeps none; equal when the
	// family has one level.
	fine, wide [2]int8
	hashes     []uint64 // ascending entity hashes
	ents       []histEntity
	nets       []histNet
	index      []uint32 // open addressing over hashes: entity number + 1, 0 empty

	cache explainCache // see explain.go
}

// histEntity is one entity of a history: its pair count and its networks,
// nets[start:], n[l] of them at level l, level by level, most pairs first.
type histEntity struct {
	pairs uint64
	start uint32
	n     [maxHistLevels]uint8
}

// histNet is one network of an entity: its prefix bits and pair count.
type histNet struct {
	key   uint64
	count uint32
}

// netsAt returns entity e's networks at level l.
func (h *networkHistory) netsAt(e *histEntity, l int) []histNet {
	lo := int(e.start)
	for i := 0; i < l; i++ {
		lo += int(e.n[i])
	}
	return h.nets[lo : lo+int(e.n[l])]
}

// find returns the entity of hash x, nil when the history has none.
func (h *networkHistory) find(x uint64) *histEntity {
	if len(h.index) == 0 {
		return nil
	}
	mask := uint64(len(h.index) - 1)
	for i := x & mask; ; i = (i + 1) & mask {
		v := h.index[i]
		if v == 0 {
			return nil
		}
		if h.hashes[v-1] == x {
			return &h.ents[v-1]
		}
	}
}

// finish derives the roles of the levels and builds the entity index.
func (h *networkHistory) finish() {
	h.fine, h.wide = levelRoles(h.levels)
	size := 16
	for size < 2*len(h.hashes) {
		size *= 2
	}
	h.index = make([]uint32, size)
	indexHashes(h.index, h.hashes)
}

// ssCounter is one counter of a Space-Saving sketch: a network, its
// estimated count and the most that estimate may exceed the true count by.
type ssCounter struct {
	key        uint64
	count, err uint32
}

// ssAdd counts key in the sketch c of at most size counters.
func ssAdd(c []ssCounter, key uint64, size int) []ssCounter {
	for i := range c {
		if c[i].key == key {
			if c[i].count < math.MaxUint32 {
				c[i].count++
			}
			return c
		}
	}
	if len(c) < size {
		return append(c, ssCounter{key: key, count: 1})
	}
	j := 0
	for i := 1; i < len(c); i++ {
		if c[i].count < c[j].count {
			j = i
		}
	}
	c[j] = ssCounter{key: key, count: c[j].count + 1, err: c[j].count}
	return c
}

// entityCounts is the sketch state of one entity while counting.
type entityCounts struct {
	hash  uint64
	pairs uint64
	lv    [maxHistLevels][]ssCounter
}

// ctxCheckPairs is how many pairs a counting goroutine reads between
// looks at its context.
const ctxCheckPairs = 1 << 16

// countHistory counts the history of the n pairs of ts over workers
// goroutines, each reading them all and taking the entities of its share
// of the hash space (so that an entity's pairs are counted in data order
// whatever the number of workers). ts is read, not copied: a Dataset's
// compact rows stay its only copy.
func countHistory(ctx context.Context, levels []histLevel, top, workers int, ts iter.Seq[embedding.Tuple], n int) (*networkHistory, error) {
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, n/ctxCheckPairs+1))
	size := 4 * top
	parts := make([][]entityCounts, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			done := ctx.Done()
			idx := map[uint64]int32{}
			var ents []entityCounts
			i := 0
			for t := range ts {
				if i++; i%ctxCheckPairs == 1 {
					select {
					case <-done:
						errs[w] = ctx.Err()
						return
					default:
					}
				}
				if workers > 1 && embedding.Bucket(t.Entity, workers) != w {
					continue
				}
				k, ok := idx[t.Entity]
				if !ok {
					k = int32(len(ents))
					idx[t.Entity] = k
					ents = append(ents, entityCounts{hash: t.Entity})
				}
				e := &ents[k]
				e.pairs++
				for l, lv := range levels {
					if key, ok := lv.key(t.Addr); ok {
						e.lv[l] = ssAdd(e.lv[l], key, size)
					}
				}
			}
			parts[w] = ents
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("network history: %w", ctx.Err())
	}
	var all []entityCounts
	for _, p := range parts {
		all = append(all, p...)
	}
	slices.SortFunc(all, func(a, b entityCounts) int { return cmp.Compare(a.hash, b.hash) })
	h := &networkHistory{top: top, levels: levels, hashes: make([]uint64, len(all)), ents: make([]histEntity, len(all))}
	for i := range all {
		e := &all[i]
		h.hashes[i] = e.hash
		he := histEntity{pairs: e.pairs, start: uint32(len(h.nets))}
		for l := range levels {
			c := e.lv[l]
			// Rank by the guaranteed count (estimate less error), the
			// count reported; ties by prefix, so the order is canonical.
			slices.SortFunc(c, func(a, b ssCounter) int {
				if d := cmp.Compare(b.count-b.err, a.count-a.err); d != 0 {
					return d
				}
				return cmp.Compare(a.key, b.key)
			})
			c = c[:min(len(c), top)]
			he.n[l] = uint8(len(c))
			for _, x := range c {
				h.nets = append(h.nets, histNet{key: x.key, count: x.count - x.err})
			}
		}
		h.ents[i] = he
		e.lv = [maxHistLevels][]ssCounter{} // let the sketch go
	}
	h.finish()
	return h, nil
}

// mergeHistories returns the history of the pairs of a and b, of the same
// levels, keeping top networks per entity and level (see
// HistoryOptions.Merge).
func mergeHistories(a, b *networkHistory, top int) *networkHistory {
	h := &networkHistory{top: top, levels: a.levels}
	var lists [maxHistLevels][]histNet
	add := func(x, pairs uint64) {
		h.hashes = append(h.hashes, x)
		e := histEntity{pairs: pairs, start: uint32(len(h.nets))}
		for l := range h.levels {
			c := lists[l]
			slices.SortFunc(c, func(p, q histNet) int {
				if d := cmp.Compare(q.count, p.count); d != 0 {
					return d
				}
				return cmp.Compare(p.key, q.key)
			})
			c = c[:min(len(c), top)]
			e.n[l] = uint8(len(c))
			h.nets = append(h.nets, c...)
		}
		h.ents = append(h.ents, e)
	}
	for i, j := 0, 0; i < len(a.hashes) || j < len(b.hashes); {
		inA := i < len(a.hashes) && (j == len(b.hashes) || a.hashes[i] <= b.hashes[j])
		inB := j < len(b.hashes) && (i == len(a.hashes) || b.hashes[j] <= a.hashes[i])
		var x, pairs uint64
		for l := range h.levels {
			lists[l] = lists[l][:0]
		}
		if inA {
			x, pairs = a.hashes[i], a.ents[i].pairs
			for l := range h.levels {
				lists[l] = append(lists[l], a.netsAt(&a.ents[i], l)...)
			}
			i++
		}
		if inB {
			eb := &b.ents[j]
			x, pairs = b.hashes[j], addSat(pairs, eb.pairs)
			for l := range h.levels {
			next:
				for _, n := range b.netsAt(eb, l) {
					for k := range lists[l] {
						if lists[l][k].key == n.key {
							lists[l][k].count = uint32(min(uint64(lists[l][k].count)+uint64(n.count), math.MaxUint32))
							continue next
						}
					}
					lists[l] = append(lists[l], n)
				}
			}
			j++
		}
		add(x, pairs)
	}
	h.finish()
	return h
}

// addSat returns a+b, or the largest uint64 when that overflows.
func addSat(a, b uint64) uint64 {
	if a+b < a {
		return math.MaxUint64
	}
	return a + b
}

// The "network_history" section of a model file, all integers unsigned
// varints (encoding/binary) but the entity hashes:
//
//	version    1
//	top        TopNetworks, 1..MaxTopNetworks
//	levels     1..4, then per level: family (4 or 6), prefix length
//	entities   then per entity, by ascending hash:
//	  hash     8 bytes, little endian
//	  pairs    >= 1
//	  per level: n (<= top), then n times: prefix bits (right-aligned), count
//	           (1..pairs), by descending count then ascending prefix
//
// Levels are IPv4 before IPv6, finest first within a family, at most two
// per family.
const histVersion = 1

func init() {
	registerSection(sectionCodec{
		name: "network_history",
		size: func(m *Model) int64 {
			if m.hist == nil {
				return 0
			}
			cw := &countWriter{w: io.Discard}
			m.hist.encode(cw)
			return cw.n
		},
		write: func(m *Model, w io.Writer) error { return m.hist.encode(w) },
		read: func(m *Model, r *bufio.Reader, n int64) error {
			h, err := decodeHistory(r, n)
			if err != nil {
				return err
			}
			m.hist = h
			return nil
		},
	})
}

func (h *networkHistory) encode(w io.Writer) error {
	buf := make([]byte, 0, 1<<16)
	buf = binary.AppendUvarint(buf, histVersion)
	buf = binary.AppendUvarint(buf, uint64(h.top))
	buf = binary.AppendUvarint(buf, uint64(len(h.levels)))
	for _, l := range h.levels {
		fam := byte(4)
		if l.v6 {
			fam = 6
		}
		buf = append(buf, fam, l.bits)
	}
	buf = binary.AppendUvarint(buf, uint64(len(h.hashes)))
	for i := range h.ents {
		if len(buf) > 1<<16-1024 {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
		e := &h.ents[i]
		buf = binary.LittleEndian.AppendUint64(buf, h.hashes[i])
		buf = binary.AppendUvarint(buf, e.pairs)
		for l := range h.levels {
			nets := h.netsAt(e, l)
			buf = binary.AppendUvarint(buf, uint64(len(nets)))
			for _, x := range nets {
				buf = binary.AppendUvarint(buf, x.key)
				buf = binary.AppendUvarint(buf, uint64(x.count))
			}
		}
	}
	_, err := w.Write(buf)
	return err
}

// histReader reads the varints of a section, turning the end of the data
// into ErrCorrupt.
type histReader struct {
	r   *bufio.Reader
	err error
}

func (hr *histReader) uvarint(what string) uint64 {
	var v uint64
	for shift := 0; hr.err == nil; shift += 7 {
		b := hr.byte(what)
		if shift == 63 && b > 1 {
			hr.corrupt("%s: varint overflows 64 bits", what)
		}
		v |= uint64(b&0x7f) << shift
		if b < 0x80 {
			if b == 0 && shift > 0 {
				// 0x80 0x00 reads as 0 too: one value, one encoding.
				hr.corrupt("%s: varint not in its shortest form", what)
			}
			return v
		}
	}
	return 0
}

func (hr *histReader) byte(what string) byte {
	if hr.err != nil {
		return 0
	}
	b, err := hr.r.ReadByte()
	if err != nil {
		hr.fail(err, what)
	}
	return b
}

func (hr *histReader) u64(what string) uint64 {
	if hr.err != nil {
		return 0
	}
	var b [8]byte
	if _, err := io.ReadFull(hr.r, b[:]); err != nil {
		hr.fail(err, what)
	}
	return binary.LittleEndian.Uint64(b[:])
}

// fail records a read error: the end of the payload is ErrCorrupt, another
// error (of the file system, of the network) is returned as it is.
func (hr *histReader) fail(err error, what string) {
	hr.err = readErr(err, ErrCorrupt, "network history: "+what+" cut short")
}

// corrupt records a malformed value, unless an error came first.
func (hr *histReader) corrupt(format string, args ...any) {
	if hr.err == nil {
		hr.err = fmt.Errorf("%w: network history: %s", ErrCorrupt, fmt.Sprintf(format, args...))
	}
}

// decodeHistory reads a "network_history" payload of n bytes. Its slices
// grow as the data arrives, so a hostile header can not make it allocate
// much more than the payload holds.
func decodeHistory(r *bufio.Reader, n int64) (*networkHistory, error) {
	hr := &histReader{r: r}
	if v := hr.uvarint("version"); hr.err == nil && v != histVersion {
		return nil, fmt.Errorf("network history version %d; this build reads version %d", v, histVersion)
	}
	h := &networkHistory{}
	top := hr.uvarint("top networks")
	if hr.err == nil && (top < 1 || top > MaxTopNetworks) {
		hr.corrupt("top networks %d out of range 1..%d", top, MaxTopNetworks)
	}
	h.top = int(top)
	nl := hr.uvarint("level count")
	if hr.err == nil && (nl < 1 || nl > maxHistLevels) {
		hr.corrupt("%d levels, want 1..%d", nl, maxHistLevels)
	}
	for i := 0; hr.err == nil && i < int(nl); i++ {
		fam, bits := hr.byte("level"), hr.byte("level")
		l := histLevel{v6: fam == 6, bits: bits}
		switch {
		case hr.err != nil:
		case fam != 4 && fam != 6:
			hr.corrupt("level %d: address family %d", i, fam)
		case bits < 1 || (fam == 4 && bits > 32) || (fam == 6 && bits > 64):
			hr.corrupt("level %d: prefix length %d for IPv%d", i, bits, fam)
		case i > 0 && !levelBefore(h.levels[i-1], l):
			hr.corrupt("levels out of order")
		case i > 1 && h.levels[i-2].v6 == l.v6:
			hr.corrupt("more than two levels for IPv%d", fam)
		}
		h.levels = append(h.levels, l)
	}
	count := hr.uvarint("entity count")
	// Each entity takes at least 9 bytes plus one per level.
	if hr.err == nil && count > uint64(n)/uint64(9+nl) {
		hr.corrupt("%d entities do not fit %d bytes", count, n)
	}
	for i := uint64(0); hr.err == nil && i < count; i++ {
		x := hr.u64("entity hash")
		if hr.err == nil && i > 0 && x <= h.hashes[i-1] {
			hr.corrupt("entity hashes not ascending")
		}
		e := histEntity{pairs: hr.uvarint("pairs"), start: uint32(len(h.nets))}
		if hr.err == nil && e.pairs == 0 {
			hr.corrupt("an entity with no pairs")
		}
		if len(h.nets) > math.MaxUint32-maxHistLevels*MaxTopNetworks {
			hr.corrupt("too many networks")
		}
		for l := 0; hr.err == nil && l < len(h.levels); l++ {
			k := hr.uvarint("networks of a level")
			if hr.err == nil && k > top {
				hr.corrupt("%d networks at a level, more than the top %d", k, top)
			}
			e.n[l] = uint8(k)
			lim := uint64(1) << h.levels[l].bits
			var sum uint64
			for j := 0; hr.err == nil && j < int(k); j++ {
				key, c := hr.uvarint("network"), hr.uvarint("network's pairs")
				sum += c
				switch {
				case hr.err != nil:
				case h.levels[l].bits < 64 && key >= lim:
					hr.corrupt("prefix bits %#x beyond /%d", key, h.levels[l].bits)
				case c == 0 || c > e.pairs || c > math.MaxUint32 || sum > e.pairs:
					hr.corrupt("network count %d with %d pairs", c, e.pairs)
				case j > 0 && !netBefore(h.nets[len(h.nets)-1], key, c):
					hr.corrupt("networks out of order")
				}
				h.nets = append(h.nets, histNet{key: key, count: uint32(c)})
			}
		}
		h.hashes = append(h.hashes, x)
		h.ents = append(h.ents, e)
	}
	if hr.err != nil {
		return nil, hr.err
	}
	h.finish()
	return h, nil
}

// levelBefore reports whether a comes before b in a history's level order:
// IPv4 before IPv6, finest first.
func levelBefore(a, b histLevel) bool {
	if a.v6 != b.v6 {
		return !a.v6
	}
	return a.bits > b.bits
}

// netBefore reports whether prev comes strictly before (key, count): more
// pairs first, then the lower prefix.
func netBefore(prev histNet, key, count uint64) bool {
	if uint64(prev.count) != count {
		return uint64(prev.count) > count
	}
	return prev.key < key
}
