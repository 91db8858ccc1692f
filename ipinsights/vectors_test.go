package ipinsights

import (
	"context"
	"math"
	"net/netip"
	"slices"
	"testing"

	"github.com/ipinsights/ipinsights-go/internal/f32"
)

func TestEntityAndIPVectors(t *testing.T) {
	for _, layers := range []int{0, 1, 2} {
		p := newPlanted(3, 50, 2, 100)
		cfg := smallConfig()
		cfg.Epochs = 1
		cfg.NumIPEncoderLayers = layers
		m, err := Train(context.Background(), cfg, p.dataset(3000), nil)
		if err != nil {
			t.Fatal(err)
		}
		names := []string{entityName(0), "never-seen", entityName(7), entityName(0)}
		vecs, seen := m.EntityVectors(names)
		d := cfg.VectorDim
		if len(vecs) != len(names)*d {
			t.Fatalf("layers %d: %d floats for %d entities of dim %d", layers, len(vecs), len(names), d)
		}
		if want := []bool{true, false, true, true}; !slices.Equal(seen, want) {
			t.Errorf("layers %d: seen %v, want %v", layers, seen, want)
		}
		for i, n := range names {
			if got, want := vecs[i*d:(i+1)*d], m.EntityEmbedding(n); !slices.Equal(got, want) {
				t.Errorf("layers %d: row %d (%s) differs from EntityEmbedding", layers, i, n)
			}
		}

		addrs := []netip.Addr{p.nets0(), netip.MustParseAddr("2001:db8::1"), {}, netip.MustParseAddr("192.0.2.1")}
		ips := m.IPVectors(addrs)
		if len(ips) != len(addrs)*d {
			t.Fatalf("layers %d: %d floats for %d addresses", layers, len(ips), len(addrs))
		}
		for i, a := range addrs {
			row := ips[i*d : (i+1)*d]
			if !a.IsValid() {
				for _, v := range row {
					if !math.IsNaN(float64(v)) {
						t.Fatalf("layers %d: the row of the invalid address holds %v, want NaN", layers, v)
					}
				}
				continue
			}
			if !slices.Equal(row, m.IPEmbedding(a)) {
				t.Errorf("layers %d: row %d (%s) differs from IPEmbedding", layers, i, a)
			}
			// The score is the dot product of the two vectors, up to
			// float32 rounding (it is computed in another order).
			want := m.Score(names[0], a).DotProduct
			got := float64(f32.Dot(vecs[:d], row))
			if math.Abs(got-want) > 1e-4*(1+math.Abs(want)) {
				t.Errorf("layers %d: %s: dot of exported vectors %v, score %v", layers, a, got, want)
			}
		}
	}
}
