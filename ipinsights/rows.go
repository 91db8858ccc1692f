package ipinsights

import (
	"net/netip"

	"github.com/ipinsights/ipinsights-go/embedding"
)

// How a Dataset stores its pairs.
//
// A pair is a row of 8 bytes: the index of its entity's 64-bit hash in a
// dictionary of the distinct hashes, and the IPv4 address. The top bit of
// the entity index marks an IPv6 pair, whose address field is then the
// index of the 16-byte address in a side list. Rows live in chunks of at
// most chunkRows, so a growing Dataset does not copy what it holds (but
// for its first chunk, which grows by doubling so that a small Dataset
// stays small): a full chunk stays where it is and a new one begins. Each chunk names its
// dictionary and holds its own IPv6 list, so that chunks filled by
// different goroutines (see LoadDataset) join without rewriting a row.
//
// A row is named by a 32-bit id, its chunk's index times chunkRows plus its
// place in the chunk. Ids are not dense (a chunk filled by one goroutine
// may end before chunkRows), but they are what training shuffles: 4 bytes
// a pair rather than a copy of the pairs.

// row is one pair; see above.
type row struct {
	ent uint32 // index into the chunk's dictionary, v6Flag for IPv6
	ip  uint32 // the IPv4 address, or the index into the chunk's v6 list
}

const (
	v6Flag    = 1 << 31
	chunkBits = 20
	chunkRows = 1 << chunkBits // 8 MiB of rows
	// maxChunks is how many chunks 32-bit row ids can name.
	maxChunks = 1 << (32 - chunkBits)
	// maxDictEntities is how many entities a dictionary numbers (the
	// entity index of a row has 31 bits); a store starts another
	// dictionary, with a new chunk, when one is full.
	maxDictEntities = v6Flag - 1
)

// chunk holds up to chunkRows pairs.
type chunk struct {
	rows []row
	v6   []embedding.Addr // the addresses of the IPv6 rows
	dict *entityDict
}

// entityDict numbers the distinct entity hashes it is given, in order of
// first appearance. It costs 8 bytes per distinct entity for the list and
// 8 to 16 for the index (an open-addressing table at most half full).
type entityDict struct {
	hashes []uint64
	slots  []uint32 // 1 + index into hashes; 0 marks an empty slot
}

// id returns the index of h, adding it when new.
func (d *entityDict) id(h uint64) uint32 {
	if 2*(len(d.hashes)+1) > len(d.slots) {
		d.grow()
	}
	mask := uint64(len(d.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := d.slots[i]
		if s == 0 {
			d.hashes = append(d.hashes, h)
			d.slots[i] = uint32(len(d.hashes))
			return uint32(len(d.hashes) - 1)
		}
		if d.hashes[s-1] == h {
			return s - 1
		}
	}
}

func (d *entityDict) grow() {
	d.slots = make([]uint32, max(1024, 2*len(d.slots)))
	indexHashes(d.slots, d.hashes)
}

// indexHashes fills slots, an empty open-addressing table whose length is
// a power of two greater than len(hashes), with 1 + the index of each
// hash, at the first free slot from hash & (len(slots)-1) on (linear
// probing); 0 stays the mark of an empty slot.
func indexHashes(slots []uint32, hashes []uint64) {
	mask := uint64(len(slots) - 1)
	for k, h := range hashes {
		i := h & mask
		for slots[i] != 0 {
			i = (i + 1) & mask
		}
		slots[i] = uint32(k + 1)
	}
}

// rowStore appends pairs to chunks that share one dictionary.
type rowStore struct {
	chunks []chunk
	dict   *entityDict
	n, v6  int // pairs, IPv6 pairs
}

// add appends the pair of entity hash h and address a. The first chunk
// grows by doubling, so that a small Dataset stays small; later chunks
// are made whole.
func (s *rowStore) add(h uint64, a embedding.Addr) {
	if s.dict == nil || len(s.dict.hashes) == maxDictEntities {
		s.dict = &entityDict{} // and so a new chunk
	}
	k := len(s.chunks) - 1
	if k < 0 || s.chunks[k].dict != s.dict || len(s.chunks[k].rows) == chunkRows {
		if k+1 < cap(s.chunks) && s.chunks[:k+2][k+1].dict == s.dict {
			s.chunks = s.chunks[:k+2] // a chunk emptied by reset
		} else {
			c := chunk{dict: s.dict}
			if k >= 0 {
				c.rows = make([]row, 0, chunkRows)
			}
			s.chunks = append(s.chunks, c)
		}
		k++
	}
	c := &s.chunks[k]
	if len(c.rows) == cap(c.rows) {
		grown := make([]row, len(c.rows), min(chunkRows, max(256, 2*cap(c.rows))))
		copy(grown, c.rows)
		c.rows = grown
	}
	e := s.dict.id(h)
	if a.Is4() {
		c.rows = append(c.rows, row{ent: e, ip: a.V4()})
	} else {
		c.rows = append(c.rows, row{ent: e | v6Flag, ip: uint32(len(c.v6))})
		c.v6 = append(c.v6, a)
		s.v6++
	}
	s.n++
}

// addIP is add for a netip.Addr, valid and without a zone.
func (s *rowStore) addIP(h uint64, a netip.Addr) {
	if a.Is4() {
		b := a.As4()
		s.add(h, embedding.AddrV4(uint32(b[0])<<24|uint32(b[1])<<16|uint32(b[2])<<8|uint32(b[3])))
		return
	}
	s.add(h, embedding.AddrFrom(a))
}

// reset empties s, keeping its memory for the pairs added next (its
// chunks must not be shared with another store).
func (s *rowStore) reset() {
	for i := range s.chunks {
		s.chunks[i].rows, s.chunks[i].v6 = s.chunks[i].rows[:0], s.chunks[i].v6[:0]
	}
	s.chunks = s.chunks[:0]
	if s.dict != nil {
		s.dict.hashes = s.dict.hashes[:0]
		clear(s.dict.slots)
	}
	s.n, s.v6 = 0, 0
}

// join appends the chunks of o, which must not be used afterwards; later
// adds continue o's last chunk.
func (s *rowStore) join(o *rowStore) {
	if o.n == 0 {
		return
	}
	s.chunks = append(s.chunks, o.chunks...)
	s.dict = o.dict
	s.n += o.n
	s.v6 += o.v6
}

// tuple returns the pair of row id id.
func (s *rowStore) tuple(id uint32) embedding.Tuple {
	c := &s.chunks[id>>chunkBits]
	r := c.rows[id&(chunkRows-1)]
	if r.ent&v6Flag == 0 {
		return embedding.Tuple{Entity: c.dict.hashes[r.ent], Addr: embedding.AddrV4(r.ip)}
	}
	return embedding.Tuple{Entity: c.dict.hashes[r.ent&^v6Flag], Addr: c.v6[r.ip]}
}

// ids appends the ids of all rows, in the order they were added, to dst.
func (s *rowStore) ids(dst []uint32) []uint32 {
	for k, c := range s.chunks {
		base := uint32(k) << chunkBits
		for j := range c.rows {
			dst = append(dst, base|uint32(j))
		}
	}
	return dst
}

// each calls fn for every pair in the order they were added, until fn
// returns false.
func (s *rowStore) each(fn func(embedding.Tuple) bool) {
	for k, c := range s.chunks {
		base := uint32(k) << chunkBits
		for j := range c.rows {
			if !fn(s.tuple(base | uint32(j))) {
				return
			}
		}
	}
}

// dicts returns the distinct dictionaries of the chunks.
func (s *rowStore) dicts() []*entityDict {
	var ds []*entityDict
	for _, c := range s.chunks {
		if len(ds) == 0 || ds[len(ds)-1] != c.dict {
			ds = append(ds, c.dict)
		}
	}
	return ds
}

// seenSet returns the set of the entity hashes of s.
func (s *rowStore) seenSet() seenSet {
	set := newSeenSet(nil)
	s.addEntitiesTo(&set)
	return set
}

// addEntitiesTo adds the entity hashes of s to set.
func (s *rowStore) addEntitiesTo(set *seenSet) {
	for _, d := range s.dicts() {
		for _, h := range d.hashes {
			set.add(h)
		}
	}
}
