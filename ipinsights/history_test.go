package ipinsights

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/rng"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	histModelOnce sync.Once
	histModel     *Model // trainedForFiles' model with a history of its data
	histData      *Dataset
)

// trainedWithHistory returns trainedForFiles' model with a network history
// of a dataset drawn from the same planted networks, with some IPv6 pairs.
func trainedWithHistory(t testing.TB) (*Model, *Dataset) {
	histModelOnce.Do(func() {
		base, p := trainedForFiles()
		d := NewDataset()
		for i := range 3000 {
			e, a := p.pair()
			if i%10 == 0 {
				a = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, byte(i % 3), 15: byte(i)})
			}
			d.Add(e, a)
		}
		m, err := base.WithNetworkHistory(context.Background(), d, nil)
		if err != nil {
			panic(err)
		}
		histModel, histData = m, d
	})
	return histModel, histData
}

// exactCounts counts the pairs of each (entity, network) of level l.
func exactCounts(ts []embedding.Tuple, l histLevel) (map[uint64]map[uint64]int, map[uint64]int) {
	nets, pairs := map[uint64]map[uint64]int{}, map[uint64]int{}
	for _, t := range ts {
		pairs[t.Entity]++
		k, ok := l.key(t.Addr)
		if !ok {
			continue
		}
		if nets[t.Entity] == nil {
			nets[t.Entity] = map[uint64]int{}
		}
		nets[t.Entity][k]++
	}
	return nets, pairs
}

func TestHistoryLevels(t *testing.T) {
	cfg := DefaultConfig()
	assert.Equal(t, []histLevel{{bits: 16}, {v6: true, bits: 48}}, historyLevels(cfg))
	cfg.IPv4Prefixes, cfg.IPv6Prefixes = []int{16, 24}, []int{32, 64, 128}
	assert.Equal(t, []histLevel{{bits: 24}, {bits: 16}, {v6: true, bits: 64}}, historyLevels(cfg))
	cfg.IPv4Prefixes = []int{8, 12}
	assert.Equal(t, []histLevel{{bits: 12}, {v6: true, bits: 64}}, historyLevels(cfg))

	fine, wide := levelRoles([]histLevel{{bits: 24}, {bits: 16}, {v6: true, bits: 48}})
	assert.Equal(t, [2]int8{0, 2}, fine)
	assert.Equal(t, [2]int8{1, 2}, wide)

	l := histLevel{bits: 24}
	k, ok := l.key(embedding.AddrFrom(netip.MustParseAddr("203.0.113.77")))
	require.True(t, ok)
	assert.Equal(t, netip.MustParsePrefix("203.0.113.0/24"), l.prefix(k))
	_, ok = l.key(embedding.AddrFrom(netip.MustParseAddr("2001:db8::1")))
	assert.False(t, ok, "an IPv6 address has no IPv4 network")
	l6 := histLevel{v6: true, bits: 48}
	k, ok = l6.key(embedding.AddrFrom(netip.MustParseAddr("2001:db8:aa:bb::1")))
	require.True(t, ok)
	assert.Equal(t, netip.MustParsePrefix("2001:db8:aa::/48"), l6.prefix(k))
	l64 := histLevel{v6: true, bits: 64}
	k, _ = l64.key(embedding.AddrFrom(netip.MustParseAddr("2001:db8:aa:bb:1:2:3:4")))
	assert.Equal(t, netip.MustParsePrefix("2001:db8:aa:bb::/64"), l64.prefix(k))
}

// TestHistoryCountsMatchSpaceSavingBounds checks the counts against exact
// counting: never above the true count, short by at most pairs/(4 top),
// exact for entities with at most 4 top networks, and every network whose
// true count passes pairs/(4 top) plus the last kept count is kept.
func TestHistoryCountsMatchSpaceSavingBounds(t *testing.T) {
	r := rng.New(3, 1)
	d := NewDataset()
	// Entity i draws from 2+3i networks with Zipf-like weights, so some
	// have fewer networks than the sketch holds and some many more.
	for i := range 40 {
		nNets := 2 + 3*i
		for range 50 + 40*i {
			j := int(float64(nNets) * r.Float64() * r.Float64()) // skewed to low j
			d.Add(fmt.Sprintf("e%d", i), embedding.AddrV4(uint32(1000+7*j+i)<<16|uint32(r.IntN(1<<16))).Netip())
		}
	}
	const top = 4
	m, err := newModel(smallConfig())
	require.NoError(t, err)
	hm, err := m.WithNetworkHistory(context.Background(), d, &HistoryOptions{TopNetworks: top})
	require.NoError(t, err)
	h := hm.hist
	exact, pairs := exactCounts(d.Tuples(), h.levels[0])
	require.Len(t, h.hashes, 40)
	inexact := 0
	for i, x := range h.hashes {
		e := &h.ents[i]
		assert.Equal(t, uint64(pairs[x]), e.pairs)
		nets := h.netsAt(e, 0)
		require.LessOrEqual(t, len(nets), top)
		bound := int(e.pairs) / (4 * top)
		for _, n := range nets {
			truth := exact[x][n.key]
			assert.LessOrEqual(t, int(n.count), truth, "never above the true count")
			assert.LessOrEqual(t, truth-int(n.count), bound, "short by at most pairs/(4 top)")
			if len(exact[x]) <= 4*top {
				assert.Equal(t, truth, int(n.count), "exact with at most 4 top networks")
			} else if truth != int(n.count) {
				inexact++
			}
		}
		last := int(nets[len(nets)-1].count)
		for k, c := range exact[x] {
			if c > bound+last {
				assert.True(t, slices.ContainsFunc(nets, func(n histNet) bool { return n.key == k }),
					"network %x with %d of %d pairs is kept", k, c, e.pairs)
			}
		}
		assert.True(t, slices.IsSortedFunc(nets, func(a, b histNet) int { return cmp.Compare(b.count, a.count) }))
	}
	assert.Positive(t, inexact, "the test reaches the sketch's approximate regime")
}

func TestHistoryDoesNotDependOnWorkers(t *testing.T) {
	p := newPlanted(5, 300, 4, 500)
	d := p.dataset(200_000) // several counting shards' worth
	m, err := newModel(smallConfig())
	require.NoError(t, err)
	var want []byte
	for _, w := range []int{1, 2, 3} {
		hm, err := m.WithNetworkHistory(context.Background(), d, &HistoryOptions{Workers: w})
		require.NoError(t, err)
		var b bytes.Buffer
		require.NoError(t, hm.hist.encode(&b))
		if want == nil {
			want = b.Bytes()
			continue
		}
		assert.Equal(t, want, b.Bytes(), "workers=%d", w)
	}
}

func TestHistoryKeyedByFullHash(t *testing.T) {
	cfg := smallConfig()
	cfg.NumEntityVectors = 4
	m, err := newModel(cfg)
	require.NoError(t, err)
	m.initParams()
	// Two entities in the same bucket, each with its own network.
	var a, b string
	for i := 0; b == ""; i++ {
		n := fmt.Sprintf("user%d", i)
		switch {
		case a == "":
			a = n
		case embedding.Bucket(embedding.EntityHash(n), 4) == embedding.Bucket(embedding.EntityHash(a), 4):
			b = n
		}
	}
	d := NewDataset()
	for i := range 10 {
		d.Add(a, netip.AddrFrom4([4]byte{10, 1, byte(i), 1}))
		d.Add(b, netip.AddrFrom4([4]byte{10, 2, byte(i), 1}))
	}
	d.Add(b, netip.AddrFrom4([4]byte{10, 2, 0, 1}))
	hm, err := m.WithNetworkHistory(context.Background(), d, nil)
	require.NoError(t, err)
	ea, eb := hm.Explain(a, netip.MustParseAddr("10.1.0.9")), hm.Explain(b, netip.MustParseAddr("10.1.0.9"))
	assert.Equal(t, "10.1.0.0/16 10", ea.UsualNetworks.String())
	assert.Equal(t, "10.2.0.0/16 11", eb.UsualNetworks.String())
	assert.True(t, ea.NetworkSeen)
	assert.False(t, eb.NetworkSeen)
	assert.Equal(t, 10, ea.EntityPairs)
	assert.Equal(t, 11, eb.EntityPairs)
}

func TestWithNetworkHistoryLeavesTheModel(t *testing.T) {
	base, p := trainedForFiles()
	m, _ := trainedWithHistory(t)
	assert.False(t, base.HasNetworkHistory())
	assert.True(t, m.HasNetworkHistory())
	for range 50 {
		e, a := p.pair()
		assert.Equal(t, base.Score(e, a), m.Score(e, a))
	}
	plain := m.WithoutNetworkHistory()
	assert.False(t, plain.HasNetworkHistory())
	assert.True(t, m.HasNetworkHistory(), "m itself keeps it")
	assert.Equal(t, modelBytes(t, base), modelBytes(t, plain), "without a history: the file of the trained model")

	_, err := base.WithNetworkHistory(context.Background(), NewDataset(), &HistoryOptions{TopNetworks: MaxTopNetworks + 1})
	assert.ErrorContains(t, err, "TopNetworks 65 out of range 1..64")
	_, err = base.WithNetworkHistory(context.Background(), NewDataset(), &HistoryOptions{Workers: -1})
	assert.ErrorContains(t, err, "negative Workers")
	_, err = base.WithNetworkHistory(context.Background(), nil, nil)
	assert.ErrorContains(t, err, "nil Dataset")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = base.WithNetworkHistory(ctx, p.dataset(10), nil)
	assert.ErrorIs(t, err, context.Canceled)
	empty, err := base.WithNetworkHistory(context.Background(), NewDataset(), nil)
	require.NoError(t, err)
	assert.True(t, empty.HasNetworkHistory(), "an empty history is a history")
}

// TestCloneCopiesEveryField fails when a field added to Model is not
// copied by clone (the caches excepted), so that WithNetworkHistory does
// not drop it.
func TestCloneCopiesEveryField(t *testing.T) {
	m, d := trainedWithHistory(t)
	cal, err := m.Calibrate(context.Background(), d, nil)
	require.NoError(t, err)
	m = m.WithCalibration(cal) // every optional part set, so each is checked
	m.opt = &optState{optimizer: "sgd", steps: 1, epochs: 1}
	caches := map[string]bool{"projOnce": true, "proj": true, "projState": true, "scratch": true}
	c := reflect.ValueOf(m.clone()).Elem()
	orig := reflect.ValueOf(m).Elem()
	for i := range orig.NumField() {
		name := orig.Type().Field(i).Name
		if caches[name] {
			continue
		}
		if orig.Field(i).IsZero() {
			t.Errorf("field %s is zero in the test model: give it a value so that this test covers it", name)
		}
		if c.Field(i).IsZero() {
			t.Errorf("clone does not copy field %s", name)
		}
	}
}

func TestHistorySaveLoad(t *testing.T) {
	m, d := trainedWithHistory(t)
	b := modelBytes(t, m)
	assert.Equal(t, uint32(2), binary.LittleEndian.Uint32(b[8:]))
	assert.Contains(t, string(b[:4096]), `{"name":"network_history","bytes":`)
	back, err := Load(bytes.NewReader(b))
	require.NoError(t, err)
	require.True(t, back.HasNetworkHistory())
	assert.Equal(t, b, modelBytes(t, back), "save(load(save(m))) == save(m)")
	assert.Equal(t, m.hist.hashes, back.hist.hashes)
	assert.Equal(t, m.hist.ents, back.hist.ents)
	assert.Equal(t, m.hist.nets, back.hist.nets)
	for _, tu := range d.Tuples()[:200] {
		assert.Equal(t, m.ExplainTuples(nil, []embedding.Tuple{tu}), back.ExplainTuples(nil, []embedding.Tuple{tu}))
	}
	// A build without the codec skips the section and scores the same.
	saved := sectionCodecs
	sectionCodecs = nil
	old, err := Load(bytes.NewReader(b))
	sectionCodecs = saved
	require.NoError(t, err)
	assert.False(t, old.HasNetworkHistory())
}

// historyPayload returns the encoded history of m.
func historyPayload(t testing.TB, m *Model) []byte {
	var b bytes.Buffer
	require.NoError(t, m.hist.encode(&b))
	return b.Bytes()
}

func decodeBytes(p []byte) (*networkHistory, error) {
	return decodeHistory(bufio.NewReader(bytes.NewReader(p)), int64(len(p)))
}

func TestHistoryDecodeRefusesDamage(t *testing.T) {
	m, _ := trainedWithHistory(t)
	p := historyPayload(t, m)
	h, err := decodeBytes(p)
	require.NoError(t, err)
	assert.Equal(t, m.hist.nets, h.nets)
	for n := range len(p) {
		_, err := decodeBytes(p[:n])
		assert.ErrorIs(t, err, ErrCorrupt, "cut to %d of %d bytes", n, len(p))
	}
	u := binary.AppendUvarint
	head := func(top, levels uint64) []byte {
		b := u(u(nil, histVersion), top)
		return u(b, levels)
	}
	entity := func(b []byte, hash uint64, pairs uint64, nets ...uint64) []byte {
		b = binary.LittleEndian.AppendUint64(b, hash)
		b = u(b, pairs)
		for _, x := range nets {
			b = u(b, x)
		}
		return b
	}
	v4 := func(b []byte, bits byte) []byte { return append(b, 4, bits) }
	for name, c := range map[string]struct {
		payload []byte
		want    string
	}{
		"version":         {u(nil, 9), "network history version 9"},
		"top 0":           {head(0, 1), "top networks 0 out of range"},
		"no level":        {head(8, 0), "0 levels"},
		"family":          {append(head(8, 1), 5, 16), "address family 5"},
		"bits":            {v4(head(8, 1), 33), "prefix length 33 for IPv4"},
		"level order":     {v4(v4(head(8, 2), 16), 24), "levels out of order"},
		"three IPv4":      {v4(v4(v4(head(8, 3), 24), 20), 16), "more than two levels"},
		"hostile count":   {u(v4(head(8, 1), 16), 1<<60), "entities do not fit"},
		"no pairs":        {entity(u(v4(head(8, 1), 16), 1), 7, 0, 0), "an entity with no pairs"},
		"too many nets":   {entity(u(v4(head(1, 1), 16), 1), 7, 5, 2, 1, 1, 2, 1), "more than the top 1"},
		"prefix too long": {entity(u(v4(head(8, 1), 16), 1), 7, 5, 1, 1<<16, 1), "beyond /16"},
		"count > pairs":   {entity(u(v4(head(8, 1), 16), 1), 7, 5, 1, 3, 6), "network count 6 with 5 pairs"},
		"sum > pairs":     {entity(u(v4(head(8, 1), 16), 1), 7, 5, 2, 3, 3, 4, 3), "network count 3 with 5 pairs"},
		"net order":       {entity(u(v4(head(8, 1), 16), 1), 7, 5, 2, 3, 1, 4, 2), "networks out of order"},
		"hash order":      {entity(entity(u(v4(head(8, 1), 16), 2), 7, 1, 0), 7, 1, 0), "not ascending"},
		"varint overflow": {append(head(8, 1), 4, 16, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f), "overflows"},
	} {
		_, err := decodeBytes(c.payload)
		require.Error(t, err, name)
		assert.ErrorContains(t, err, c.want, name)
		if name != "version" {
			assert.ErrorIs(t, err, ErrCorrupt, name)
		}
	}
	ok := entity(u(v4(head(8, 1), 16), 1), 7, 5, 2, 3, 3, 4, 2)
	_, err = decodeBytes(ok)
	require.NoError(t, err, "the payload the cases above alter is valid")

	// A damaged payload inside a model file: refused, never a panic.
	b := modelBytes(t, m)
	_, err = Load(bytes.NewReader(b[:len(b)-10]))
	assert.ErrorIs(t, err, ErrCorrupt)
}

// FuzzDecodeHistory checks that any payload the decoder accepts is in
// canonical form: encoding what it read gives the same bytes.
func FuzzDecodeHistory(f *testing.F) {
	m, _ := trainedWithHistory(f)
	p := historyPayload(f, m)
	f.Add(p)
	f.Add(p[:len(p)/2])
	f.Fuzz(func(t *testing.T, p []byte) {
		h, err := decodeBytes(p)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				assert.ErrorContains(t, err, "network history version")
			}
			return
		}
		// Load refuses bytes the decoder leaves unread; the bytes it read
		// are the encoding of what it read.
		var b bytes.Buffer
		require.NoError(t, h.encode(&b))
		require.LessOrEqual(t, b.Len(), len(p))
		assert.Equal(t, p[:b.Len()], b.Bytes(), "re-encoding gives the bytes read")
	})
}
