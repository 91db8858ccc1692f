package ipinsights

import (
	"cmp"
	"fmt"
	"math"
	"net/netip"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/internal/f32"
)

// Explanation says why a pair scored as it did: its score, and how the
// address compares with the networks the entity was seen in. The fields
// after Result come from the model's network history (see
// WithNetworkHistory) and are zero when the model has none or the entity
// is not in it; Network and WideNetwork need only a valid address.
type Explanation struct {
	// Result is the pair's score, as Score gives it, bit for bit.
	Result
	// EntityPairs is the number of the entity's pairs the history was
	// counted from (its training pairs).
	EntityPairs int
	// Network is the address's network at the history's finest level
	// for its family: the encoder's finest IPv4 prefix length, or its
	// finest IPv6 prefix length capped at /64. It is the zero Prefix for
	// an invalid address.
	Network netip.Prefix
	// NetworkPairs is the entity's pairs in Network, as far as the
	// history kept them: 0 when Network is not among the entity's usual
	// networks (it may still have been seen a few times, below the top
	// networks kept).
	NetworkPairs int
	// NetworkSeen reports whether Network is among the entity's usual
	// networks (NetworkPairs > 0).
	NetworkSeen bool
	// WideNetwork, WideNetworkPairs and WideNetworkSeen are the same at
	// the history's widest level for the address's family: /16 for IPv4
	// (or the finest level when that is /16 or shorter, where they equal
	// Network, NetworkPairs and NetworkSeen), the finest level for IPv6.
	WideNetwork      netip.Prefix
	WideNetworkPairs int
	WideNetworkSeen  bool
	// UsualNetworks are the entity's usual networks at the finest level,
	// IPv4 and IPv6 together, most pairs first: at most the history's
	// top networks per family.
	UsualNetworks NetworkCounts
	// UsualWideNetworks are the entity's usual networks at the widest
	// level of the families whose history keeps one besides the finest
	// (IPv4 /16 when the encoder has a longer IPv4 prefix), most pairs
	// first; nil when there is none, as with the default encoder, whose
	// finest IPv4 level is /16 already.
	UsualWideNetworks NetworkCounts
	// NearestUsualNetwork is the network of UsualNetworks whose IP
	// embedding (the encoder's output for its addresses) has the highest
	// cosine similarity with the address's; the zero Prefix when
	// UsualNetworks is empty or the address is invalid. It is Network
	// itself, with NearestSimilarity 1, when Network is usual and at the
	// encoder's finest prefix length (always so for IPv4): the address
	// shares its every encoder row.
	NearestUsualNetwork netip.Prefix
	// NearestSimilarity is that cosine similarity, in [-1, 1]; 0 when
	// there is no NearestUsualNetwork.
	NearestSimilarity float64
}

// NetworkCount is a network and a number of pairs.
type NetworkCount struct {
	Prefix netip.Prefix
	Count  int
}

// NetworkCounts is a list of networks with their pair counts.
type NetworkCounts []NetworkCount

// String returns the list as "203.0.113.0/24 312; 198.51.100.0/24 41",
// empty for an empty list.
func (n NetworkCounts) String() string {
	b, _ := n.AppendText(nil)
	return string(b)
}

// AppendText appends the list as String formats it to b. It never fails.
func (n NetworkCounts) AppendText(b []byte) ([]byte, error) {
	for i, x := range n {
		if i > 0 {
			b = append(b, "; "...)
		}
		b, _ = x.Prefix.AppendText(b)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(x.Count), 10)
	}
	return b, nil
}

// Explain explains one pair. Its Result equals Score's. The slices of the
// explanation are new.
func (m *Model) Explain(entity string, ip netip.Addr) Explanation {
	x := m.getExplainer()
	defer m.putExplainer(x)
	var e Explanation
	m.explainTuple(x, &e, embedding.NewTuple(entity, ip), ip.IsValid(), true)
	return e
}

// ExplainBatch explains pairs into dst, which it grows when too short, and
// returns it; the Results equal ScoreBatch's. It reuses the UsualNetworks
// and UsualWideNetworks slices of dst's elements when they have room, and
// otherwise takes new ones from blocks it allocates per few hundred
// explanations: copy them to keep them past the next call with the same
// dst. Large batches are spread over GOMAXPROCS goroutines, as ScoreBatch
// does.
func (m *Model) ExplainBatch(dst []Explanation, pairs []Pair) []Explanation {
	return m.ExplainBatchWorkers(dst, pairs, 0)
}

// ExplainBatchWorkers is ExplainBatch over at most workers goroutines, the
// calling one included, and never more than GOMAXPROCS: 1 explains in the
// calling goroutine only, 0 means GOMAXPROCS. The results do not depend on
// workers. It panics if workers is negative.
func (m *Model) ExplainBatchWorkers(dst []Explanation, pairs []Pair, workers int) []Explanation {
	dst = growExplanations(dst, len(pairs))
	m.explainParallel(len(pairs), workers, func(x *explainer, lo, hi int) {
		for c := lo; c < hi; c += scoreChunk {
			ts := x.ts[:min(scoreChunk, hi-c)]
			for i := range ts {
				ts[i] = embedding.NewTuple(pairs[c+i].Entity, pairs[c+i].IP)
			}
			m.explainRange(x, dst[c:c+len(ts)], ts, pairs[c:c+len(ts)])
		}
	})
	return dst
}

// ExplainTuples is ExplainBatch for encoded pairs (see embedding.NewTuple
// and embedding.NewTupleBytes), for callers that parse input without
// allocating strings.
func (m *Model) ExplainTuples(dst []Explanation, ts []embedding.Tuple) []Explanation {
	return m.ExplainTuplesWorkers(dst, ts, 0)
}

// ExplainTuplesWorkers is ExplainTuples over at most workers goroutines,
// as ExplainBatchWorkers. It panics if workers is negative.
func (m *Model) ExplainTuplesWorkers(dst []Explanation, ts []embedding.Tuple, workers int) []Explanation {
	dst = growExplanations(dst, len(ts))
	m.explainParallel(len(ts), workers, func(x *explainer, lo, hi int) {
		m.explainRange(x, dst[lo:hi], ts[lo:hi], nil)
	})
	return dst
}

func growExplanations(dst []Explanation, n int) []Explanation {
	if cap(dst) < n {
		grown := make([]Explanation, n)
		copy(grown, dst[:cap(dst)]) // keep their slices for reuse
		return grown
	}
	return dst[:n]
}

// explainParallelMin is the batch size from which explaining is spread
// over goroutines.
const explainParallelMin = 1024

// explainParallel runs fn over [0, n) split over up to workers goroutines
// (0: GOMAXPROCS), each with its own explainer.
func (m *Model) explainParallel(n, workers int, fn func(x *explainer, lo, hi int)) {
	if workers < 0 {
		panic(fmt.Sprintf("ipinsights: negative number of explaining workers %d", workers))
	}
	w := runtime.GOMAXPROCS(0)
	if workers > 0 {
		w = min(w, workers)
	}
	w = max(1, min(w, n/explainParallelMin))
	if w == 1 { // no closure, no WaitGroup: small batches (a server's) allocate nothing here
		x := m.getExplainer()
		fn(x, 0, n)
		m.putExplainer(x)
		return
	}
	run := func(lo, hi int) {
		x := m.getExplainer()
		fn(x, lo, hi)
		m.putExplainer(x)
	}
	chunk := (n + w - 1) / w
	var wg sync.WaitGroup
	for lo := chunk; lo < n; lo += chunk {
		wg.Go(func() { run(lo, min(lo+chunk, n)) })
	}
	run(0, min(chunk, n))
	wg.Wait()
}

// explainer holds the per-goroutine buffers of explaining.
type explainer struct {
	s     *scratch
	emb   []float32 // the address's IP embedding, or the input of the encoder's last layer for it
	tmp   []float32 // a network's embedding when the cache has no room
	tmpT  []float32 // and its projection through the last layer
	ts    []embedding.Tuple
	arena []NetworkCount // NetworkCounts are cut from it
}

var explainers sync.Pool

func (m *Model) getExplainer() *explainer {
	x, _ := explainers.Get().(*explainer)
	if x == nil {
		x = &explainer{ts: make([]embedding.Tuple, scoreChunk)}
	}
	if len(x.emb) != m.dim {
		x.emb, x.tmp, x.tmpT = make([]float32, m.dim), make([]float32, m.dim), make([]float32, m.dim)
	}
	x.s = m.getScratch()
	return x
}

func (m *Model) putExplainer(x *explainer) {
	m.putScratch(x.s)
	x.s = nil
	explainers.Put(x)
}

// counts returns room for n NetworkCounts: old's when it has room, else a
// new exact slice (fresh) or a piece of the arena.
func (x *explainer) counts(old NetworkCounts, n int, fresh bool) NetworkCounts {
	switch {
	case n == 0:
		return old[:0]
	case cap(old) >= n:
		return old[:n]
	case fresh:
		return make(NetworkCounts, n)
	}
	if len(x.arena) < n {
		x.arena = make([]NetworkCount, max(1024, n))
	}
	out := x.arena[:n:n]
	x.arena = x.arena[n:]
	return out
}

// explainAhead is how many pairs ahead explainRange starts loading the
// rows of a pair (its encoder rows, entity projection and history index
// slot); its history entity is loaded half as far ahead, once the index
// slot has arrived. These are cache misses: the tables are large.
const explainAhead = 4

// explainRange explains ts into dst (of equal length). pairs, when not
// nil, are the pairs ts encode, whose invalid addresses are explained as
// such.
func (m *Model) explainRange(x *explainer, dst []Explanation, ts []embedding.Tuple, pairs []Pair) {
	d := m.dim
	if len(m.layers) > 0 {
		m.projOnce.Do(m.initProjCache)
	}
	hist := m.hist
	var rows [embedding.MaxLevels]int32
	for i, t := range ts {
		if j := i + explainAhead; j < len(ts) {
			a := ts[j]
			n := m.enc.Encode(rows[:], a.Addr)
			for _, r := range rows[:n] {
				f32.Prefetch(m.ip[int(r)*d : (int(r)+1)*d])
			}
			row := embedding.Bucket(a.Entity, m.cfg.NumEntityVectors)
			if m.proj != nil {
				f32.Prefetch(m.proj[row*(d+1) : (row+1)*(d+1)])
			} else {
				f32.Prefetch(m.entity[row*d : (row+1)*d])
			}
			if hist != nil && len(hist.index) > 0 {
				prefetch(&hist.index[a.Entity&uint64(len(hist.index)-1)])
			}
		}
		if j := i + explainAhead/2; hist != nil && j < len(ts) {
			if e := hist.find(ts[j].Entity); e != nil {
				prefetch(e)
				if int(e.start) < len(hist.nets) {
					prefetch(&hist.nets[e.start])
				}
			}
		}
		valid := pairs == nil || pairs[i].IP.IsValid()
		m.explainTuple(x, &dst[i], t, valid, false)
	}
}

// prefetch asks the CPU to bring the cache line of *p into cache.
func prefetch[T any](p *T) {
	f32.Prefetch(unsafe.Slice((*float32)(unsafe.Pointer(p)), 1))
}

// explainTuple explains t into dst. valid is false for a pair whose address
// was invalid (t.Addr is then ::). fresh asks for new slices.
func (m *Model) explainTuple(x *explainer, dst *Explanation, t embedding.Tuple, valid, fresh bool) {
	s := x.s
	usual, wide := dst.UsualNetworks, dst.UsualWideNetworks // reused when they have room
	*dst = Explanation{Result: Result{DotProduct: math.NaN(), EntitySeen: m.seen.has(t.Entity)}}
	var h []float32
	var rows []int32 // the address's encoder rows; nearest reads them below
	if valid {
		// As scoreRows computes it, so that the score is Score's.
		rows = s.rows[:m.enc.Encode(s.rows[:], t.Addr)]
		u, c := m.projection(s, embedding.Bucket(t.Entity, m.cfg.NumEntityVectors))
		h = m.lastInputRows(s, rows)
		dst.DotProduct = float64(f32.Dot(u, h) + c)
	}

	hist := m.hist
	var levels []histLevel
	var fineL, wideL [2]int8 // per family, the index of its finest and widest level
	if hist != nil {
		levels, fineL, wideL = hist.levels, hist.fine, hist.wide
	} else {
		var ls [maxHistLevels]histLevel
		levels = ls[:levelsOf(m.cfg, &ls)]
		fineL, wideL = levelRoles(levels)
	}
	fam := 0
	if !t.Addr.Is4() {
		fam = 1
	}
	var fineKey, wideKey uint64
	if valid && fineL[fam] >= 0 {
		fineKey, _ = levels[fineL[fam]].key(t.Addr)
		wideKey, _ = levels[wideL[fam]].key(t.Addr)
		dst.Network = levels[fineL[fam]].prefix(fineKey)
		dst.WideNetwork = levels[wideL[fam]].prefix(wideKey)
	}

	var he *histEntity
	if hist != nil {
		he = hist.find(t.Entity)
	}
	if he == nil {
		dst.UsualNetworks, dst.UsualWideNetworks = usual[:0], nil
		if wide != nil {
			dst.UsualWideNetworks = wide[:0]
		}
		return
	}
	dst.EntityPairs = int(he.pairs)
	if valid && fineL[fam] >= 0 {
		dst.NetworkPairs = countOf(hist.netsAt(he, int(fineL[fam])), fineKey)
		dst.WideNetworkPairs = countOf(hist.netsAt(he, int(wideL[fam])), wideKey)
		dst.NetworkSeen, dst.WideNetworkSeen = dst.NetworkPairs > 0, dst.WideNetworkPairs > 0
	}

	// The usual networks: the two families' lists merged by count.
	var v4, v6 []histNet
	if fineL[0] >= 0 {
		v4 = hist.netsAt(he, int(fineL[0]))
	}
	if fineL[1] >= 0 {
		v6 = hist.netsAt(he, int(fineL[1]))
	}
	usual = x.counts(usual, len(v4)+len(v6), fresh)
	i, j := 0, 0
	for k := range usual {
		if j == len(v6) || (i < len(v4) && v4[i].count >= v6[j].count) {
			usual[k] = NetworkCount{Prefix: levels[fineL[0]].prefix(v4[i].key), Count: int(v4[i].count)}
			i++
		} else {
			usual[k] = NetworkCount{Prefix: levels[fineL[1]].prefix(v6[j].key), Count: int(v6[j].count)}
			j++
		}
	}
	dst.UsualNetworks = usual

	nw := 0
	for f := range 2 {
		if wideL[f] != fineL[f] {
			nw += int(he.n[wideL[f]])
		}
	}
	if nw > 0 {
		wide = x.counts(wide, nw, fresh)
		k, families := 0, 0
		for f := range 2 {
			if wideL[f] == fineL[f] || he.n[wideL[f]] == 0 {
				continue
			}
			families++
			for _, n := range hist.netsAt(he, int(wideL[f])) {
				wide[k] = NetworkCount{Prefix: levels[wideL[f]].prefix(n.key), Count: int(n.count)}
				k++
			}
		}
		if families > 1 { // not from histories this build counts (IPv6 has one level), but readable
			slices.SortStableFunc(wide, func(a, b NetworkCount) int { return cmp.Compare(b.Count, a.Count) })
		}
		dst.UsualWideNetworks = wide
	} else if wide != nil {
		dst.UsualWideNetworks = wide[:0]
	}

	switch {
	case !valid || len(usual) == 0:
	case dst.NetworkSeen && int(levels[fineL[fam]].bits) == m.finestPrefix(fam):
		// The address shares every encoder row with its network, so
		// its embedding is the network's: no other is nearer.
		dst.NearestUsualNetwork, dst.NearestSimilarity = dst.Network, 1
	default:
		row := int32(-1) // the address's one encoder row, when it has one
		if len(rows) == 1 {
			row = rows[0]
		}
		m.nearest(x, dst, h, row, he, v4, v6)
	}
}

// finestPrefix returns the encoder's longest prefix length for family f
// (0 IPv4, 1 IPv6).
func (m *Model) finestPrefix(f int) int {
	ps := m.cfg.IPv4Prefixes
	if f == 1 {
		ps = m.cfg.IPv6Prefixes
	}
	return ps[len(ps)-1]
}

// countOf returns the count of key in nets, 0 when absent.
func countOf(nets []histNet, key uint64) int {
	for _, n := range nets {
		if n.key == key {
			return int(n.count)
		}
	}
	return 0
}

// nearest sets dst's NearestUsualNetwork and NearestSimilarity. h is the
// input of the encoder's last layer for the address; row is the address's
// one encoder row, or -1 when it has several.
//
// The cosine of the address's embedding W h + b (W, b: the last layer)
// with a network's unit embedding v is (h·Wᵀv + b·v) / |W h + b|: the
// cache holds Wᵀv and b·v per network, and the norm per encoder row (for
// the addresses that have one row, such as every IPv4 address of the
// default encoder), so that an address costs a few dot products, not the
// matrix product of its embedding.
func (m *Model) nearest(x *explainer, dst *Explanation, h []float32, row int32, he *histEntity, v4, v6 []histNet) {
	hist := m.hist
	c := hist.explainCache(m)
	// The networks' cached rows are scattered: start loading them before
	// the address's norm is computed.
	var first [2]int
	for f, nets := range [2][]histNet{v4, v6} {
		if len(nets) == 0 {
			continue
		}
		first[f] = int(he.start)
		for i := 0; i < int(hist.fine[f]); i++ {
			first[f] += int(he.n[i])
		}
		for i := range nets {
			c.prefetch(m, first[f]+i)
		}
	}
	norm := c.norm(m, x, h, row)
	if norm == 0 || math.IsNaN(norm) || math.IsInf(norm, 0) {
		return
	}
	copy(x.emb, h) // h is in x.s's buffers, which vector may reuse below
	h = x.emb
	best, bestLevel, bestKey := float32(math.Inf(-1)), -1, uint64(0)
	for f, nets := range [2][]histNet{v4, v6} {
		l := int(hist.fine[f])
		for i, n := range nets {
			w, b := c.vector(m, x, first[f]+i, hist.levels[l], n.key)
			if d := f32.Dot(h, w) + b; d > best {
				best, bestLevel, bestKey = d, l, n.key
			}
		}
	}
	if bestLevel < 0 {
		return
	}
	dst.NearestUsualNetwork = hist.levels[bestLevel].prefix(bestKey)
	dst.NearestSimilarity = max(-1, min(1, float64(best)/norm))
}

// explainCache holds, for the networks at a history's finest levels, their
// unit-length IP embeddings v projected back through the encoder's last
// layer (W, b): Wᵀv and b·v, computed on first use, one row per distinct
// network; and the norm of the IP embedding of each encoder row, for
// addresses encoded by one row. They depend on the model's parameters,
// which never change once a history is attached (models that share a
// history share their tables; see clone).
type explainCache struct {
	once  sync.Once
	ids   []int32 // per history network: its row, -1 for the wider levels
	nets  []netRef
	emb   []float32 // len(nets) x dim: Wᵀv; nil when over maxNetCache
	bias  []float32 // len(nets): b·v
	state []atomic.Uint32
	// norms holds per encoder row the bits of its IP embedding's norm
	// squared, with normKnown set once computed (a squared norm is never
	// negative, so its sign bit is free).
	norms []atomic.Uint32
}

// normKnown marks a computed norm in explainCache.norms.
const normKnown = 1 << 31

// netRef is a distinct network of the cache: its level and prefix bits.
type netRef struct {
	level uint8
	key   uint64
}

// maxNetCache bounds the memory of the explanation cache (floats).
const maxNetCache = 1 << 27

func (h *networkHistory) explainCache(m *Model) *explainCache {
	c := &h.cache
	c.once.Do(func() {
		c.ids = make([]int32, len(h.nets))
		rows := map[netRef]int32{}
		for e := range h.ents {
			he := &h.ents[e]
			at := int(he.start)
			for l := range h.levels {
				n := int(he.n[l])
				isFine := int8(l) == h.fine[0] || int8(l) == h.fine[1]
				for i := at; i < at+n; i++ {
					c.ids[i] = -1
					if !isFine {
						continue
					}
					r := netRef{level: uint8(l), key: h.nets[i].key}
					id, ok := rows[r]
					if !ok {
						id = int32(len(c.nets))
						rows[r] = id
						c.nets = append(c.nets, r)
					}
					c.ids[i] = id
				}
				at += n
			}
		}
		if len(c.nets)*m.dim <= maxNetCache {
			c.emb = make([]float32, len(c.nets)*m.dim)
			adviseHugePages(c.emb) // read at random, as the tables are
			c.bias = make([]float32, len(c.nets))
			c.state = make([]atomic.Uint32, len(c.nets))
		}
		c.norms = make([]atomic.Uint32, len(m.ip)/m.dim) // 1/dim of the IP table
	})
	return c
}

// norm returns the norm of the IP embedding of an address whose input of
// the encoder's last layer is h and whose one encoder row is row (-1: it
// has several, and the norm is not cached).
func (c *explainCache) norm(m *Model, x *explainer, h []float32, row int32) float64 {
	if row >= 0 {
		if v := c.norms[row].Load(); v&normKnown != 0 {
			return math.Sqrt(float64(math.Float32frombits(v &^ normKnown)))
		}
	}
	m.encoderOutput(x.tmp, h)
	sq := f32.Dot(x.tmp, x.tmp)
	if row >= 0 {
		c.norms[row].Store(math.Float32bits(sq) | normKnown)
	}
	return math.Sqrt(float64(sq))
}

// prefetch starts loading the cached row of network i of the history.
func (c *explainCache) prefetch(m *Model, i int) {
	if c.emb != nil {
		id := int(c.ids[i])
		f32.Prefetch(c.emb[id*m.dim : (id+1)*m.dim])
	}
}

// vector returns, for network i of the history (at level l, with prefix
// bits key) and its unit-length IP embedding v, Wᵀv and b·v (see
// nearest).
func (c *explainCache) vector(m *Model, x *explainer, i int, l histLevel, key uint64) ([]float32, float32) {
	if c.emb == nil {
		return x.tmpT, networkProjection(m, x, x.tmpT, l, key)
	}
	id := int(c.ids[i])
	row := c.emb[id*m.dim : (id+1)*m.dim]
	state := &c.state[id]
	switch state.Load() {
	case projDone:
		return row, c.bias[id]
	case projEmpty:
		if state.CompareAndSwap(projEmpty, projBusy) {
			c.bias[id] = networkProjection(m, x, row, l, key)
			state.Store(projDone) // publishes row and bias
			return row, c.bias[id]
		}
	}
	return x.tmpT, networkProjection(m, x, x.tmpT, l, key)
}

// networkProjection sets dst to Wᵀv for the unit-length IP embedding v of
// the network (see networkEmbedding) and the encoder's last layer (W, b),
// and returns b·v; without layers, dst = v and it returns 0. It uses
// x.tmp.
func networkProjection(m *Model, x *explainer, dst []float32, l histLevel, key uint64) float32 {
	v := x.tmp
	networkEmbedding(m, x, v, l, key)
	if len(m.layers) == 0 {
		copy(dst, v)
		return 0
	}
	last := m.layers[len(m.layers)-1]
	f32.MatTVec(dst, last.w, v)
	return f32.Dot(last.b, v)
}

// networkEmbedding sets dst to the unit-length IP embedding of the network
// (that of its first address; every address of a network at a level no
// finer than the encoder's shares it), or to zeros when that is zero.
func networkEmbedding(m *Model, x *explainer, dst []float32, l histLevel, key uint64) {
	var rows [embedding.MaxLevels]int32
	n := m.enc.Encode(rows[:], embedding.AddrFrom(l.prefix(key).Addr()))
	m.encoderOutput(dst, m.lastInputRows(x.s, rows[:n]))
	norm := math.Sqrt(float64(f32.Dot(dst, dst)))
	if norm == 0 || math.IsNaN(norm) || math.IsInf(norm, 0) {
		clear(dst)
		return
	}
	f32.ScaleTo(dst, float32(1/norm), dst)
}
