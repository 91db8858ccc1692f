package main

// A stand-in for the tutorial data generator (DESIGN.md section 3) until
// package synth lands on main. Same shape: users with home and work ASNs,
// Pareto event counts, travel events, a 7/3 day split and an attack test.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
)

type row struct {
	user int
	ip   uint32
}

type tutorialData struct {
	train  []row
	test   []row // normal test rows
	attack []row
	label  []bool // per attack-test row: true for an attack
}

func entityName(u int) string { return fmt.Sprintf("user_%d", u) }

func addr(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func generate(users int, seed uint64) *tutorialData {
	r := rand.New(rand.NewPCG(seed, 0x7475746f))
	// ASN table: heavy-tailed range sizes laid end to end from 1.0.0.0.
	const nASN = 827_000
	starts := make([]uint32, nASN)
	sizes := make([]uint32, nASN)
	next := uint64(1 << 24)
	for i := range starts {
		s := uint64(256 * math.Floor(math.Pow(r.Float64(), -1/1.5)))
		s = min(s, 1<<20)
		if next+s > 0xE0000000 {
			s = 256
		}
		starts[i], sizes[i] = uint32(next), uint32(s)
		next += s
	}
	ipIn := func(a int) uint32 { return starts[a] + uint32(r.IntN(int(sizes[a]))) }
	beta := func(a, b int) float64 { // order statistic of uniforms
		u := make([]float64, a+b-1)
		for i := range u {
			u[i] = r.Float64()
		}
		for i := 0; i < a; i++ { // partial selection of the a-th smallest
			for j := i + 1; j < len(u); j++ {
				if u[j] < u[i] {
					u[i], u[j] = u[j], u[i]
				}
			}
		}
		return u[a-1]
	}
	d := &tutorialData{}
	for u := 0; u < users; u++ {
		home := r.IntN(nASN)
		work := home
		for work == home {
			work = ((home+r.IntN(100001)-50000)%nASN + nASN) % nASN
		}
		events := min(int(50/(1-r.Float64())), 10000)
		pTravel := 1 - math.Pow(1-r.Float64(), 1.0/30)
		pHome := beta(3, 5)
		for e := 0; e < events; e++ {
			var a int
			if r.Float64() < pTravel {
				a = r.IntN(nASN)
			} else {
				c := work
				if r.Float64() < pHome {
					c = home
				}
				a = ((int(r.NormFloat64()*10)+c)%nASN + nASN) % nASN
			}
			x := row{u, ipIn(a)}
			if r.Float64() < 0.7 {
				d.train = append(d.train, x)
			} else {
				d.test = append(d.test, x)
			}
		}
	}
	r.Shuffle(len(d.train), func(i, j int) { d.train[i], d.train[j] = d.train[j], d.train[i] })
	seen := map[int]bool{}
	var seenList []int
	for _, x := range d.train {
		if !seen[x.user] {
			seen[x.user] = true
			seenList = append(seenList, x.user)
		}
	}
	for len(d.attack) < 100_000 {
		x := d.test[r.IntN(len(d.test))]
		if seen[x.user] {
			d.attack = append(d.attack, x)
			d.label = append(d.label, false)
		}
	}
	for i := 0; i < 100_000; i++ {
		d.attack = append(d.attack, row{seenList[r.IntN(len(seenList))], ipIn(r.IntN(nASN))})
		d.label = append(d.label, true)
	}
	return d
}
