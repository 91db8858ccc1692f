package sagemaker

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// CompareOptions configure Compare. The zero value compares ranks only.
type CompareOptions struct {
	// TopK is the number of most anomalous rows (lowest dot products) whose
	// overlap is reported; zero means DefaultTopK, capped at the number of
	// rows.
	TopK int
	// Threshold flags a row as anomalous when its dot product is below it
	// (SageMaker's tutorial uses 0: a negative log-odds).
	Threshold float64
	// Anomalous, when set, gives each row's label (true for label 1) and
	// adds both AUCs and both precision/recall at Threshold to the report.
	Anomalous []bool
	// Seen, when set, tells which rows have an entity seen in training;
	// the report then adds the rank statistics over seen rows only, since
	// scores of unseen entities are arbitrary in both implementations.
	Seen []bool
}

// DefaultTopK is the default number of most anomalous rows compared.
const DefaultTopK = 100

// Parity compares two score lists for the same rows: ours and SageMaker's.
// It has no JSON form of its own: statistics that are undefined for the
// data are NaN, which encoding/json refuses, so a caller that encodes the
// report chooses how to write them (null, say).
type Parity struct {
	N int // rows compared
	// Spearman and KendallTauB are rank correlations (ties averaged for
	// Spearman, tau-b for Kendall): 1 means the same order.
	Spearman    float64
	KendallTauB float64
	// Pearson is the linear correlation of the raw scores.
	Pearson float64
	// TopK most anomalous rows of each list, and how many they share.
	TopK        int
	TopKShared  int
	TopKOverlap float64 // TopKShared / TopK
	// Threshold and FlagAgreement: the share of rows that both lists flag,
	// or both do not, at Threshold.
	Threshold     float64
	FlagAgreement float64
	// Ours and SageMaker evaluate each list against the labels, when given.
	Ours      *ipinsights.Evaluation
	SageMaker *ipinsights.Evaluation
	// SeenOnly repeats the rank statistics over rows whose entity was seen
	// in training, when CompareOptions.Seen was given and some were not.
	SeenOnly *Parity
}

// Compare computes the parity report of ours against sagemaker, two score
// lists (dot products) for the same rows in the same order.
func Compare(ours, sagemaker []float64, opts CompareOptions) (*Parity, error) {
	n := len(ours)
	if len(sagemaker) != n {
		return nil, fmt.Errorf("sagemaker: compare: %d scores of ours, %d of SageMaker's: the lists must cover the same rows", n, len(sagemaker))
	}
	if n < 2 {
		return nil, errors.New("sagemaker: compare: at least two rows are needed")
	}
	if opts.Anomalous != nil && len(opts.Anomalous) != n {
		return nil, fmt.Errorf("sagemaker: compare: %d labels for %d rows", len(opts.Anomalous), n)
	}
	if opts.Seen != nil && len(opts.Seen) != n {
		return nil, fmt.Errorf("sagemaker: compare: %d seen flags for %d rows", len(opts.Seen), n)
	}
	for i := range ours {
		if math.IsNaN(ours[i]) || math.IsNaN(sagemaker[i]) {
			return nil, fmt.Errorf("sagemaker: compare: row %d has a NaN score", i+1)
		}
	}
	p := &Parity{N: n, Threshold: opts.Threshold}
	p.Spearman = Spearman(ours, sagemaker)
	p.KendallTauB = KendallTauB(ours, sagemaker)
	p.Pearson = pearson(ours, sagemaker)
	k := opts.TopK
	if k <= 0 {
		k = DefaultTopK
	}
	p.TopK = min(k, n)
	p.TopKShared = TopKShared(ours, sagemaker, p.TopK)
	p.TopKOverlap = float64(p.TopKShared) / float64(p.TopK)
	agree := 0
	for i := range ours {
		if (ours[i] < opts.Threshold) == (sagemaker[i] < opts.Threshold) {
			agree++
		}
	}
	p.FlagAgreement = float64(agree) / float64(n)
	if opts.Anomalous != nil {
		eo, err := ipinsights.Evaluate(ours, opts.Anomalous, opts.Threshold)
		if err != nil {
			return nil, fmt.Errorf("sagemaker: compare: %w", err)
		}
		es, err := ipinsights.Evaluate(sagemaker, opts.Anomalous, opts.Threshold)
		if err != nil {
			return nil, fmt.Errorf("sagemaker: compare: %w", err)
		}
		p.Ours, p.SageMaker = &eo, &es
	}
	if opts.Seen != nil {
		var so, ss []float64
		for i, s := range opts.Seen {
			if s {
				so, ss = append(so, ours[i]), append(ss, sagemaker[i])
			}
		}
		if len(so) < n && len(so) >= 2 {
			sub, err := Compare(so, ss, CompareOptions{TopK: k, Threshold: opts.Threshold})
			if err != nil {
				return nil, err
			}
			p.SeenOnly = sub
		}
	}
	return p, nil
}

// WriteText writes the report for a terminal.
func (p *Parity) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "parity of %d rows (ours vs SageMaker)\n", p.N)
	p.writeRanks(&b, "  ")
	if p.SeenOnly != nil {
		fmt.Fprintf(&b, "over the %d rows whose entity was seen in training:\n", p.SeenOnly.N)
		p.SeenOnly.writeRanks(&b, "  ")
	}
	if p.Ours != nil {
		e, s := p.Ours, p.SageMaker
		fmt.Fprintf(&b, "with labels (%d anomalous of %d), flagging dot_product < %g:\n", e.Anomalies, e.N, p.Threshold)
		fmt.Fprintf(&b, "  %-10s %8s %10s %8s %8s\n", "", "AUC", "precision", "recall", "FPR")
		for _, r := range []struct {
			name string
			e    *ipinsights.Evaluation
		}{{"ours", e}, {"SageMaker", s}} {
			fmt.Fprintf(&b, "  %-10s %8.4f %10.4f %8.4f %8.4f\n", r.name, r.e.AUC, r.e.Precision, r.e.Recall, r.e.FPR)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (p *Parity) writeRanks(b *strings.Builder, in string) {
	fmt.Fprintf(b, "%sSpearman rank correlation  %.4f\n", in, p.Spearman)
	fmt.Fprintf(b, "%sKendall tau-b              %.4f\n", in, p.KendallTauB)
	fmt.Fprintf(b, "%sPearson (raw scores)       %.4f\n", in, p.Pearson)
	fmt.Fprintf(b, "%stop-%d most anomalous      %d shared (%.1f%%)\n", in, p.TopK, p.TopKShared, 100*p.TopKOverlap)
	fmt.Fprintf(b, "%sflags agree at < %g        %.1f%% of rows\n", in, p.Threshold, 100*p.FlagAgreement)
}

// ranks returns the 1-based ranks of xs, ties given their average rank.
func ranks(xs []float64) []float64 {
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(xs[a], xs[b]) })
	r := make([]float64, len(xs))
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && xs[idx[j]] == xs[idx[i]] {
			j++
		}
		avg := float64(i+j+1) / 2
		for _, k := range idx[i:j] {
			r[k] = avg
		}
		i = j
	}
	return r
}

// Spearman returns Spearman's rank correlation of x and y (the Pearson
// correlation of their tie-averaged ranks); NaN when either is constant.
func Spearman(x, y []float64) float64 {
	if len(x) != len(y) {
		panic("sagemaker: Spearman length mismatch")
	}
	return pearson(ranks(x), ranks(y))
}

func pearson(x, y []float64) float64 {
	n := float64(len(x))
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx, my = mx/n, my/n
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return math.NaN()
	}
	return sxy / math.Sqrt(sxx*syy)
}

// KendallTauB returns Kendall's tau-b of x and y, which accounts for ties,
// in O(n log n) time with Knight's algorithm: sort by (x, y), then count the
// discordant pairs as the swaps of a merge sort by y. NaN when either list
// is constant.
func KendallTauB(x, y []float64) float64 {
	n := len(x)
	if len(y) != n {
		panic("sagemaker: KendallTauB length mismatch")
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(i, j int) int {
		if c := cmp.Compare(x[i], x[j]); c != 0 {
			return c
		}
		return cmp.Compare(y[i], y[j])
	})
	pairs := func(t int64) int64 { return t * (t - 1) / 2 }
	// Ties in x, and joint ties in (x, y).
	var tx, txy int64
	for i := 0; i < n; {
		j := i
		for j < n && x[idx[j]] == x[idx[i]] {
			j++
		}
		tx += pairs(int64(j - i))
		for a := i; a < j; {
			b := a
			for b < j && y[idx[b]] == y[idx[a]] {
				b++
			}
			txy += pairs(int64(b - a))
			a = b
		}
		i = j
	}
	ys := make([]float64, n)
	for i, k := range idx {
		ys[i] = y[k]
	}
	swaps := mergeCount(ys, make([]float64, n))
	// Ties in y (ys is now sorted).
	var ty int64
	for i := 0; i < n; {
		j := i
		for j < n && ys[j] == ys[i] {
			j++
		}
		ty += pairs(int64(j - i))
		i = j
	}
	n0 := pairs(int64(n))
	num := float64(n0-tx-ty+txy) - 2*float64(swaps)
	den := math.Sqrt(float64(n0-tx) * float64(n0-ty))
	if den == 0 {
		return math.NaN()
	}
	return num / den
}

// mergeCount sorts a ascending with a merge sort, using buf (len(a)) as
// scratch, and returns the number of pairs i < j with a[i] > a[j].
func mergeCount(a, buf []float64) int64 {
	n := len(a)
	if n < 2 {
		return 0
	}
	m := n / 2
	c := mergeCount(a[:m], buf[:m]) + mergeCount(a[m:], buf[m:])
	copy(buf, a)
	l, r := buf[:m], buf[m:n]
	i, j, k := 0, 0, 0
	for i < len(l) && j < len(r) {
		if r[j] < l[i] {
			a[k] = r[j]
			c += int64(len(l) - i)
			j++
		} else {
			a[k] = l[i]
			i++
		}
		k++
	}
	k += copy(a[k:], l[i:])
	copy(a[k:], r[j:])
	return c
}

// TopKShared returns how many rows are among the k lowest scores of both x
// and y (the k most anomalous rows of each). Ties at the k-th score are
// broken by row order.
func TopKShared(x, y []float64, k int) int {
	in := make([]bool, len(x))
	for _, i := range lowest(x, k) {
		in[i] = true
	}
	shared := 0
	for _, i := range lowest(y, k) {
		if in[i] {
			shared++
		}
	}
	return shared
}

func lowest(xs []float64, k int) []int {
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(xs[a], xs[b]) })
	return idx[:min(k, len(idx))]
}
