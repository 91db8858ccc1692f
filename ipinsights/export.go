package ipinsights

import (
	"math"
	"net/netip"

	"github.com/ipinsights/ipinsights-go/embedding"
)

// EntityVectors returns the embeddings of entities as one row-major matrix:
// row i, vectors[i*d : (i+1)*d] with d the model's vector_dim, is the vector
// of entities[i]. seen[i] reports whether entities[i] occurred in training.
// The vector of an unseen entity is the row of the hash bucket it falls in,
// which was trained for other entities or not at all: it says nothing about
// that entity, so callers should report or drop it.
func (m *Model) EntityVectors(entities []string) (vectors []float32, seen []bool) {
	d := m.dim
	vectors = make([]float32, len(entities)*d)
	seen = make([]bool, len(entities))
	for i, e := range entities {
		h := embedding.EntityHash(e)
		copy(vectors[i*d:(i+1)*d], m.entityRow(h))
		seen[i] = m.seen.has(h)
	}
	return vectors, seen
}

// IPVectors returns the IP embeddings of addrs (the output of the IP
// encoder: the prefix rows summed, then the dense layers, as IPEmbedding)
// as one row-major matrix of len(addrs) rows of vector_dim values. The row
// of an invalid address (the zero netip.Addr) is NaN, as its score is.
func (m *Model) IPVectors(addrs []netip.Addr) []float32 {
	d := m.dim
	vectors := make([]float32, len(addrs)*d)
	nan := float32(math.NaN())
	for i, a := range addrs {
		row := vectors[i*d : (i+1)*d]
		if !a.IsValid() {
			for j := range row {
				row[j] = nan
			}
			continue
		}
		copy(row, m.IPEmbedding(a))
	}
	return vectors
}
