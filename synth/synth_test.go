package synth

import (
	"bytes"
	"math"
	"sort"
	"strings"
	"testing"

	"github.com/ipinsights/ipinsights-go/rng"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestASNTableCoversSpanContiguously(t *testing.T) {
	a := NewASNTable(50000, 1)
	require.Equal(t, 50000, a.Len())
	assert.Equal(t, uint32(asnSpanStart), a.Begin[0])
	assert.Equal(t, uint32(asnSpanEnd), a.End[a.Len()-1])
	sizes := make([]float64, a.Len())
	for i := range a.Begin {
		require.LessOrEqual(t, a.Begin[i], a.End[i], "range %d", i)
		if i > 0 {
			require.Equal(t, a.End[i-1]+1, a.Begin[i], "range %d starts where %d ends", i, i-1)
		}
		sizes[i] = float64(a.End[i]-a.Begin[i]) + 1
	}
	sort.Float64s(sizes)
	median, p999 := sizes[len(sizes)/2], sizes[len(sizes)*999/1000]
	// Heavy tail: the top 0.1% of ranges are more than 50x the median.
	assert.Greater(t, p999/median, 50.0, "median %.0f, 99.9th percentile %.0f", median, p999)
	r := rng.New(1, 1)
	for i := 0; i < 1000; i++ {
		k := r.IntN(a.Len())
		ip := a.Draw(r, k)
		require.True(t, ip >= a.Begin[k] && ip <= a.End[k])
	}
}

func TestDistributions(t *testing.T) {
	r := rng.New(2, 2)
	const n = 100000
	var sb, sl float64
	below := 0
	for i := 0; i < n; i++ {
		sb += beta(r, 3, 5)
		x := lomax(r, 1)
		if x < 1 {
			below++
		}
		sl += math.Min(x, 100)
	}
	assert.InDelta(t, 3.0/8, sb/n, 0.005, "mean of Beta(3,5)")
	// Lomax(1): P(X < 1) = 1 - 1/2.
	assert.InDelta(t, 0.5, float64(below)/n, 0.01)
	assert.Equal(t, 2, floorMod(-3, 5))
	assert.Equal(t, 3, floorMod(8, 5))
}

func small() LoginConfig {
	return LoginConfig{Users: 800, Seed: 3, ASNs: 60000, TestNormal: 5000, TestAttacks: 5000}
}

func TestGenerateLoginsShape(t *testing.T) {
	l, err := GenerateLogins(small())
	require.NoError(t, err)
	seen := map[int32]bool{}
	for _, x := range l.Train {
		seen[x.User] = true
		assert.NotEqual(t, Attack, x.Kind)
	}
	assert.Equal(t, len(seen), l.TrainUsers)
	// 7 of 10 days train: 70% of events, within sampling error.
	assert.InDelta(t, 0.7, float64(len(l.Train))/float64(l.Events), 0.01)
	// int(50*(Lomax(1)+1)) capped at 10,000 has mean 50*(1+ln 200) = 315;
	// the sample mean of 800 heavy-tailed draws varies a lot, so only
	// bound it loosely, and check the median (100) more tightly.
	perUser := float64(l.Events) / float64(l.Config.Users)
	assert.True(t, perUser > 200 && perUser < 450, "events per user %.1f", perUser)
	counts := map[int32]int{}
	for _, x := range l.Train {
		counts[x.User]++
	}
	var cs []int
	for _, c := range counts {
		cs = append(cs, c)
	}
	sort.Ints(cs)
	assert.InDelta(t, 70, cs[len(cs)/2], 12, "median training events per user (0.7 * 100)")

	var normal, attacks int
	for _, x := range l.Test {
		assert.True(t, seen[x.User], "test rows only use users seen in training")
		if x.Anomalous() {
			attacks++
		} else {
			normal++
		}
	}
	assert.Equal(t, 5000, normal)
	assert.Equal(t, 5000, attacks)
	trainEnd := int32(7 * daySeconds)
	for _, x := range l.Train {
		require.Less(t, x.Time, trainEnd)
	}
	require.NotEmpty(t, l.Validation)
	for _, x := range l.Validation {
		assert.True(t, seen[x.User])
		assert.True(t, x.Time >= trainEnd && x.Time < trainEnd+daySeconds, "validation is the first test day")
	}
	// Travel share: mean of Beta(1, 30) is 1/31, weighted by activity.
	ts := l.TravelShare()
	assert.True(t, ts > 0.015 && ts < 0.06, "travel share %.4f", ts)
	assert.InDelta(t, 1-ts/2, l.Ceiling(), 1e-12)
}

func TestGenerateLoginsDeterministic(t *testing.T) {
	c := small()
	c.Workers = 1
	a, err := GenerateLogins(c)
	require.NoError(t, err)
	c.Workers = 4
	b, err := GenerateLogins(c)
	require.NoError(t, err)
	assert.Equal(t, a.Train, b.Train)
	assert.Equal(t, a.Test, b.Test)
	c.Seed++
	d, err := GenerateLogins(c)
	require.NoError(t, err)
	assert.NotEqual(t, a.Train[:100], d.Train[:100])

	_, err = GenerateLogins(LoginConfig{Days: 5, TrainDays: 5})
	assert.Error(t, err)
}

func TestHomeWorkLocality(t *testing.T) {
	// Most of a user's non-travel events fall within a few dozen ASN
	// indices of one of two centres.
	l, err := GenerateLogins(small())
	require.NoError(t, err)
	idx := func(ip uint32) int {
		return sort.Search(l.ASNs.Len(), func(i int) bool { return l.ASNs.End[i] >= ip })
	}
	byUser := map[int32][]int{}
	for _, x := range l.Train {
		if x.Kind != Travel {
			byUser[x.User] = append(byUser[x.User], idx(x.IP))
		}
	}
	near, total := 0, 0
	for _, is := range byUser {
		if len(is) < 20 {
			continue
		}
		sort.Ints(is)
		lo, hi := is[len(is)/10], is[len(is)*9/10]
		for _, i := range is {
			total++
			// Each event is within 4 sigma (40 indices) of its centre;
			// both centres lie in [lo-40, hi+40].
			if i >= lo-40 && i <= hi+40 {
				near++
			}
		}
	}
	assert.Greater(t, float64(near)/float64(total), 0.95)
}

func TestAttacksScaleWithNormalRows(t *testing.T) {
	l, err := GenerateLogins(LoginConfig{Users: 20, Seed: 1, ASNs: 5000})
	require.NoError(t, err)
	var normal, attacks int
	for _, x := range l.Test {
		if x.Anomalous() {
			attacks++
		} else {
			normal++
		}
	}
	require.Less(t, normal, 100000, "20 users have fewer than 100k test events")
	assert.Equal(t, normal, attacks)
}

func TestWriteCSV(t *testing.T) {
	l, err := GenerateLogins(LoginConfig{Users: 50, Seed: 1, ASNs: 5000, TestNormal: 100, TestAttacks: 100})
	require.NoError(t, err)
	var tr, te bytes.Buffer
	require.NoError(t, l.WriteTrainCSV(&tr))
	require.NoError(t, l.WriteTestCSV(&te))
	lines := strings.Split(strings.TrimSpace(tr.String()), "\n")
	require.Len(t, lines, len(l.Train))
	assert.Equal(t, l.Train[0].Entity()+","+l.Train[0].Addr().String(), lines[0])
	tl := strings.Split(strings.TrimSpace(te.String()), "\n")
	require.Len(t, tl, len(l.Test))
	for i, line := range tl {
		f := strings.Split(line, ",")
		require.Len(t, f, 4)
		want := "0"
		if l.Test[i].Anomalous() {
			want = "1"
		}
		assert.Equal(t, want, f[2])
		assert.Equal(t, l.Test[i].Kind.String(), f[3])
	}
}
