package embedding

import "net/netip"

// Tuple is an encoded (entity, address) pair, as training and scoring use it: the 64-bit hash of the entity string
// (EntityHash) and the address. It takes 24 bytes, so a machine
// holds hundreds of millions of them; the entity bucket is derived from the
// hash when the batch is built, so a data set does not depend on
// num_entity_vectors.
type Tuple struct {
	Entity uint64
	Addr   Addr
}

// NewTuple encodes an (entity, address) pair.
func NewTuple(entity string, ip netip.Addr) Tuple {
	return Tuple{Entity: EntityHash(entity), Addr: AddrFrom(ip)}
}

// NewTupleBytes is NewTuple for an entity in a byte slice (a field of a
// reader's buffer), without converting it to a string.
func NewTupleBytes(entity []byte, ip netip.Addr) Tuple {
	return Tuple{Entity: EntityHashBytes(entity), Addr: AddrFrom(ip)}
}
