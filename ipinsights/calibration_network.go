package ipinsights

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/ipinsights/ipinsights-go/embedding"
)

// netCalibration is the part of a calibration that the AlertByNetwork
// basis reads: the dot products of the calibration pairs whose address is
// not in one of their entity's usual networks (unseen) and of the others
// (seen), each summarised as the global distribution is (at most
// globalQuantiles values). A dist with n == 0 holds no pair.
type netCalibration struct {
	unseen, seen dist
}

// newNetCalibration splits pairs by seen (of the same length) and
// summarises each part. pairs is not modified.
func newNetCalibration(pairs []scoredPair, seen []bool) *netCalibration {
	if len(pairs) != len(seen) {
		panic("ipinsights: newNetCalibration: mismatched lengths")
	}
	var u, s []float32
	for i, p := range pairs {
		if seen[i] {
			s = append(s, p.dot)
		} else {
			u = append(u, p.dot)
		}
	}
	nc := &netCalibration{}
	for _, x := range []struct {
		dst *dist
		v   []float32
	}{{&nc.unseen, u}, {&nc.seen, s}} {
		if len(x.v) > 0 {
			slices.Sort(x.v)
			*x.dst = newDist(x.v, globalQuantiles)
		}
	}
	return nc
}

// pairs returns the number of pairs c was computed from.
func (c *netCalibration) pairs() int { return c.unseen.n + c.seen.n }

// thresholds returns the dot products below which the AlertByNetwork rule
// of rate fpr flags unseen-network and seen-network pairs: with
// k = floor(fpr*n) pairs to flag of n, the k lowest unseen ones when
// there are that many, else all of them (+Inf) and the lowest seen ones
// for the rest. A kind none of whose pairs is flagged gets -Inf, so that
// no pair of it ranks before an unseen-network pair.
func (c *netCalibration) thresholds(fpr float64) (unseen, seen float64) {
	k := math.Floor(fpr * float64(c.pairs()))
	if u := float64(c.unseen.n); k <= u {
		if k < 1 || u == 0 {
			return math.Inf(-1), math.Inf(-1)
		}
		return c.unseen.thresholdCount(k), math.Inf(-1)
	}
	return math.Inf(1), c.seen.thresholdCount(k - float64(c.unseen.n))
}

// UnseenNetworkShare returns the share of the calibration pairs whose
// address was not in one of their entity's usual networks, and the number
// of pairs it is stated on (the pairs scored, without those a warm start
// carried over: see CalibrationOptions.Previous). ok is false when the
// calibration was computed without a network history.
func (c *Calibration) UnseenNetworkShare() (share float64, pairs int, ok bool) {
	if c.net == nil {
		return 0, 0, false
	}
	n := c.net.pairs()
	return float64(c.net.unseen.n) / float64(n), n, true
}

// HasNetworkCalibration reports whether the model can give AlertByNetwork
// rules: it has a network history and a calibration computed with one.
func (m *Model) HasNetworkCalibration() bool {
	return m.hist != nil && m.calib != nil && m.calib.net != nil
}

// networkSeen reports whether t's address is in one of its entity's usual
// networks at the history's finest level for its family, as
// Explanation.NetworkSeen. It does not allocate.
func (h *networkHistory) networkSeen(t embedding.Tuple) bool {
	fam := 0
	if !t.Addr.Is4() {
		fam = 1
	}
	l := h.fine[fam]
	if l < 0 {
		return false
	}
	e := h.find(t.Entity)
	if e == nil {
		return false
	}
	key, ok := h.levels[l].key(t.Addr)
	return ok && countOf(h.netsAt(e, int(l)), key) > 0
}

// The model file's "network_calibration" section holds a calibration's
// netCalibration, after the "calibration" section it belongs to. Little
// endian:
//
//	format         uint32   1
//	unseen_pairs   uint64   pairs in none of their entity's usual networks
//	unseen_values  uint32   k, then k float32, ascending (k = 0 iff no pair)
//	seen_pairs     uint64   the other pairs
//	seen_values    uint32   k, then k float32, ascending
//
// Each part is summarised as the global distribution is. The section is
// written only for a model that has a network history too, so that a
// model without one saves byte for byte as before the section existed.
const netCalibrationFormat = 1

func netCalibrationCodec() sectionCodec {
	return sectionCodec{
		name: "network_calibration",
		size: func(m *Model) int64 {
			if m.calib == nil || m.calib.net == nil || m.hist == nil {
				return 0
			}
			return m.calib.net.encodedSize()
		},
		write: func(m *Model, w io.Writer) error { return m.calib.net.encode(w) },
		read: func(m *Model, r *bufio.Reader, _ int64) error {
			if m.calib == nil {
				return fmt.Errorf("%w: network calibration without a calibration before it", ErrCorrupt)
			}
			c, err := decodeNetCalibration(r)
			if err != nil {
				return err
			}
			if c.pairs() > m.calib.Pairs() {
				return fmt.Errorf("%w: network calibration: %d pairs, more than the calibration's %d", ErrCorrupt, c.pairs(), m.calib.Pairs())
			}
			// The calibration was just read from this file: no one else
			// holds it yet.
			m.calib.net = c
			return nil
		},
	}
}

func (c *netCalibration) encodedSize() int64 {
	return 4 + 2*(8+4) + 4*int64(len(c.unseen.v)+len(c.seen.v))
}

func (c *netCalibration) encode(w io.Writer) error {
	b := make([]byte, 0, c.encodedSize())
	b = binary.LittleEndian.AppendUint32(b, netCalibrationFormat)
	for _, d := range []dist{c.unseen, c.seen} {
		b = binary.LittleEndian.AppendUint64(b, uint64(d.n))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(d.v)))
		for _, x := range d.v {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
		}
	}
	_, err := w.Write(b)
	return err
}

func decodeNetCalibration(r *bufio.Reader) (*netCalibration, error) {
	cr := &calibReader{r: r}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: network calibration: %s", ErrCorrupt, fmt.Sprintf(format, a...))
	}
	if f := cr.u32(); cr.err == nil && f != netCalibrationFormat {
		return nil, bad("format %d, this build reads %d", f, netCalibrationFormat)
	}
	c := &netCalibration{}
	for _, d := range []*dist{&c.unseen, &c.seen} {
		n, k := cr.u64(), cr.u32()
		switch {
		case cr.err != nil:
			return nil, cr.err
		case n > 1<<62:
			return nil, bad("%d pairs", n)
		case uint64(k) > n || k == 0 && n > 0 || k == 1 && n > 1 || k > globalQuantiles && uint64(k) != n:
			return nil, bad("%d values for %d pairs", k, n)
		}
		d.n = int(n)
		if k > 0 {
			if d.v = cr.floats(nil, int(k)); cr.err != nil {
				return nil, cr.err
			}
		}
	}
	if c.pairs() == 0 {
		return nil, bad("no pairs")
	}
	return c, nil
}
