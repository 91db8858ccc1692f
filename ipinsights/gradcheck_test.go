package ipinsights

import (
	"fmt"
	"math"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/rng"
)

// params64 is a float64 copy of a model's parameters for the reference
// implementation.
type params64 struct {
	entity, ip []float64
	w, b       [][]float64
}

func to64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// refLoss is an independent float64 implementation of the mean batch loss:
// x = sum of prefix rows, hidden layers with ReLU, linear last layer, score
// = e.y, binary cross-entropy with label 1 for sample 0 of each group.
func refLoss(p *params64, d int, tr *trainer) float64 {
	var total float64
	n := 0
	in := tr.cur
	for g := 0; g < in.groups; g++ {
		er := int(in.eRows[g])
		e := p.entity[er*d : (er+1)*d]
		for k := 0; k < tr.K; k++ {
			i := g*tr.K + k
			h := make([]float64, d)
			for _, r := range in.sampleRows(i) {
				for j := 0; j < d; j++ {
					h[j] += p.ip[int(r)*d+j]
				}
			}
			for l := range p.w {
				y := make([]float64, d)
				for o := 0; o < d; o++ {
					s := p.b[l][o]
					for j := 0; j < d; j++ {
						s += p.w[l][o*d+j] * h[j]
					}
					if l < len(p.w)-1 && s < 0 {
						s = 0
					}
					y[o] = s
				}
				h = y
			}
			var s float64
			for j := 0; j < d; j++ {
				s += e[j] * h[j]
			}
			total += logLoss(s, k == 0)
			n++
		}
	}
	return total / float64(n)
}

func TestGradientCheck(t *testing.T) {
	for _, layers := range []int{0, 1, 2} {
		t.Run(fmt.Sprintf("layers=%d", layers), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.NumEntityVectors = 5
			cfg.VectorDim = 6
			cfg.NumIPEncoderLayers = layers
			cfg.RandomNegativeSamplingRate = 2
			cfg.ShuffledNegativeSamplingRate = 1
			cfg.MiniBatchSize = 16 // 4 groups of 4
			cfg.IPv4Prefixes = []int{8, 16, 32}
			cfg.IPv6Prefixes = []int{32, 128}
			cfg.IPv4HashRows = 32
			cfg.IPv6HashRows = 8
			m, err := newModel(cfg)
			require.NoError(t, err)
			m.initParams()
			// Scale parameters up so that scores are far from 0 and the
			// loss is not flat, and give biases non-zero values.
			r := rng.New(11, 0)
			for i := range m.entity {
				m.entity[i] *= 3
			}
			for i := range m.ip {
				m.ip[i] *= 3
			}
			for _, ly := range m.layers {
				for i := range ly.b {
					ly.b[i] = 0.3 * float32(r.NormFloat64())
				}
			}
			pos := []embedding.Tuple{
				embedding.NewTuple("alice", netip.MustParseAddr("10.1.2.3")),
				embedding.NewTuple("bob", netip.MustParseAddr("10.1.9.9")),
				embedding.NewTuple("alice", netip.MustParseAddr("2001:db8::7")),
				embedding.NewTuple("carol", netip.MustParseAddr("192.0.2.1")),
			}
			tr := newTrainer(m, len(pos), 1)
			defer tr.close()
			capt := tr.gradients(jobOf(orderOf(pos), 0, len(pos), 3, 3))

			p := &params64{entity: to64(m.entity), ip: to64(m.ip)}
			for _, ly := range m.layers {
				p.w = append(p.w, to64(ly.w))
				p.b = append(p.b, to64(ly.b))
			}
			d := cfg.VectorDim
			base := refLoss(p, d, tr)
			require.InDelta(t, float64(sumLoss(tr))/float64(tr.cur.groups*tr.K), base, 1e-5, "forward loss matches reference")

			var maxG, maxErr float64
			check := func(name string, xs []float64, got []float32, idx []int) {
				const h = 1e-6
				for _, i := range idx {
					old := xs[i]
					xs[i] = old + h
					up := refLoss(p, d, tr)
					xs[i] = old - h
					down := refLoss(p, d, tr)
					xs[i] = old
					num := (up - down) / (2 * h)
					maxG = math.Max(maxG, math.Abs(num))
					diff := math.Abs(num - float64(got[i]))
					maxErr = math.Max(maxErr, diff)
					assert.InDelta(t, num, float64(got[i]), 2e-5+1e-3*math.Abs(num), "%s[%d]", name, i)
				}
			}
			rowsOf := func(rows []int32) []int {
				var idx []int
				for _, r := range rows {
					for j := 0; j < d; j++ {
						idx = append(idx, int(r)*d+j)
					}
				}
				return idx
			}
			check("entity", p.entity, capt.entity, rowsOf(tr.cur.ent.uniq))
			check("ip", p.ip, capt.ip, rowsOf(tr.ipRowsTouched()))
			for l := range p.w {
				all := make([]int, len(p.w[l]))
				for i := range all {
					all[i] = i
				}
				check(fmt.Sprintf("W%d", l), p.w[l], capt.w[l], all)
				check(fmt.Sprintf("b%d", l), p.b[l], capt.b[l], all[:d])
			}
			require.Greater(t, maxG, 1e-3, "gradients are not trivially zero")
			t.Logf("max |grad| %.4g, max abs error %.3g", maxG, maxErr)
			assert.Len(t, tr.cur.ent.uniq, 3, "alice, bob and carol rows")
		})
	}
}

func sumLoss(tr *trainer) float64 {
	var s float64
	for g := 0; g < tr.cur.groups; g++ {
		s += tr.fw.lossG[g]
	}
	return s
}
