package ipinsights

import (
	"errors"
	"math"
	"sort"

	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/rng"
)

// AUC returns the area under the ROC curve of scores for telling the items
// with positive[i] true from the others: the probability that a random
// positive scores higher than a random negative, ties counting one half
// (the Mann-Whitney statistic). It returns NaN when either class is empty
// or a score is NaN. scores is not modified. High scores count as
// positive: for dot products, where low means anomalous, pass the negated
// dot products with the anomalous labels, as Evaluate does. It panics when
// the two slices differ in length, a programming error.
func AUC(scores []float64, positive []bool) float64 {
	if len(scores) != len(positive) {
		panic("ipinsights: AUC length mismatch")
	}
	for _, s := range scores {
		if math.IsNaN(s) {
			return math.NaN()
		}
	}
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	var npos, nneg float64
	var rankSum float64 // sum of the (1-based, tie-averaged) ranks of positives
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		avg := float64(i+j+1) / 2 // mean of ranks i+1..j
		for _, k := range idx[i:j] {
			if positive[k] {
				rankSum += avg
				npos++
			} else {
				nneg++
			}
		}
		i = j
	}
	if npos == 0 || nneg == 0 {
		return math.NaN()
	}
	return (rankSum - npos*(npos+1)/2) / (npos * nneg)
}

// Evaluation summarises how well dot products separate anomalous pairs from
// normal ones. The anomaly score is -dot_product; a pair is flagged when its
// dot product is below Threshold.
type Evaluation struct {
	N         int     // labeled pairs
	Anomalies int     // pairs labeled anomalous
	AUC       float64 // ROC AUC of the anomaly score
	Threshold float64
	// Confusion counts at Threshold (positive = flagged as anomalous).
	TP, FP, TN, FN int
	// Precision is TP/(TP+FP), NaN when nothing is flagged; Recall is
	// TP/(TP+FN); FPR is FP/(FP+TN), the share of normal pairs flagged.
	Precision, Recall, FPR float64
}

// Evaluate computes the Evaluation of dot products against labels
// (anomalous[i] true for label 1). It returns an error when the labels do
// not include both classes, when a dot product is NaN (the score of an
// invalid address), or when the two slices differ in length.
func Evaluate(dots []float64, anomalous []bool, threshold float64) (Evaluation, error) {
	if len(dots) != len(anomalous) {
		return Evaluation{}, errors.New("ipinsights: Evaluate: dots and labels differ in length")
	}
	ev := Evaluation{N: len(dots), Threshold: threshold}
	neg := make([]float64, len(dots))
	for i, d := range dots {
		if math.IsNaN(d) {
			return Evaluation{}, errors.New("ipinsights: Evaluate: NaN score")
		}
		neg[i] = -d
		flagged := d < threshold
		switch {
		case anomalous[i] && flagged:
			ev.TP++
		case anomalous[i]:
			ev.FN++
		case flagged:
			ev.FP++
		default:
			ev.TN++
		}
		if anomalous[i] {
			ev.Anomalies++
		}
	}
	if ev.Anomalies == 0 || ev.Anomalies == ev.N {
		return Evaluation{}, errors.New("ipinsights: Evaluate: labels must include both normal (0) and anomalous (1) pairs")
	}
	ev.AUC = AUC(neg, anomalous)
	ev.Precision = ratio(ev.TP, ev.TP+ev.FP)
	ev.Recall = ratio(ev.TP, ev.TP+ev.FN)
	ev.FPR = ratio(ev.FP, ev.FP+ev.TN)
	return ev, nil
}

func ratio(a, b int) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

// ROCPoint is one point of a ROC curve.
type ROCPoint struct {
	Threshold float64 // dot products below this are flagged
	FPR, TPR  float64
}

// ROCCurve returns the ROC curve of the anomaly score -dot_product, from
// (0,0) to (1,1), one point per distinct dot product. It returns nil when
// a dot product is NaN (Evaluate reports that as an error), and panics when
// the two slices differ in length, a programming error.
func ROCCurve(dots []float64, anomalous []bool) []ROCPoint {
	if len(dots) != len(anomalous) {
		panic("ipinsights: ROCCurve length mismatch")
	}
	for _, d := range dots {
		if math.IsNaN(d) {
			return nil
		}
	}
	idx := make([]int, len(dots))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return dots[idx[a]] < dots[idx[b]] })
	var npos, nneg float64
	for _, a := range anomalous {
		if a {
			npos++
		} else {
			nneg++
		}
	}
	pts := []ROCPoint{{Threshold: math.Inf(-1)}}
	var tp, fp float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && dots[idx[j]] == dots[idx[i]] {
			if anomalous[idx[j]] {
				tp++
			} else {
				fp++
			}
			j++
		}
		pts = append(pts, ROCPoint{Threshold: math.Nextafter(dots[idx[i]], math.Inf(1)), FPR: safeDiv(fp, nneg), TPR: safeDiv(tp, npos)})
		i = j
	}
	return pts
}

func safeDiv(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// validationStream is the RNG stream of validation negatives; fixed so that
// every epoch is scored against the same negatives.
const validationStream = 0x76616c69 // "vali"

// discriminatorAUC scores every pair of valid against one random address of
// the same family for the same entity and returns the ROC AUC of real
// against random, as SageMaker's validation:discriminator_auc.
func (m *Model) discriminatorAUC(valid *Dataset) float64 {
	r := rng.New(m.cfg.Seed, validationStream)
	n := valid.Len()
	ts := make([]embedding.Tuple, 2*n)
	i := 0
	for t := range valid.All() {
		ts[i] = t
		neg := t
		if t.Addr.Is4() {
			neg.Addr = embedding.AddrV4(r.Uint32())
		} else {
			neg.Addr = embedding.Addr{Hi: r.Uint64(), Lo: r.Uint64()}
		}
		ts[n+i] = neg
		i++
	}
	res := m.ScoreTuples(nil, ts)
	scores := make([]float64, 2*n)
	real := make([]bool, 2*n)
	for i, rr := range res {
		scores[i] = rr.DotProduct
		real[i] = i < n
	}
	return AUC(scores, real)
}

// DiscriminatorAUC returns SageMaker's validation metric for the pairs of
// data: the ROC AUC of each real pair against one random address of the same
// family for the same entity. The random addresses depend only on the model's
// seed. It is NaN for an empty or nil dataset.
func (m *Model) DiscriminatorAUC(data *Dataset) float64 {
	if data == nil {
		return math.NaN()
	}
	return m.discriminatorAUC(data)
}
