package ipinsights

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// ErrUnreachable is wrapped by the errors of ThresholdForPrecision when no
// threshold reaches the target.
var ErrUnreachable = errors.New("no threshold reaches the target")

// UnreachableError is the error of ThresholdForPrecision when no threshold
// reaches the target precision; it wraps ErrUnreachable.
type UnreachableError struct {
	Target float64 // the precision asked for
	// Best is the highest precision any threshold reaches, at the recall
	// BestRecall.
	Best, BestRecall float64
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("ipinsights: no threshold reaches precision %g: the best is %.4f (at recall %.4f)", e.Target, e.Best, e.BestRecall)
}

func (e *UnreachableError) Unwrap() error { return ErrUnreachable }

// ThresholdForRecall returns the Evaluation at the threshold that reaches
// recall with the fewest flagged pairs (so the best precision among the
// thresholds that reach it). The threshold lies halfway between the
// highest flagged dot product and the next; a pair is flagged when its
// dot product is below it, as in Evaluate. recall must be in (0, 1]. The
// errors are Evaluate's.
func ThresholdForRecall(dots []float64, anomalous []bool, recall float64) (Evaluation, error) {
	if !(recall > 0 && recall <= 1) {
		return Evaluation{}, fmt.Errorf("ipinsights: recall %v is not in (0, 1]", recall)
	}
	c, err := newCutter(dots, anomalous)
	if err != nil {
		return Evaluation{}, err
	}
	for g := range c.groups {
		if c.tp[g]/c.npos >= recall {
			return Evaluate(dots, anomalous, c.threshold(g))
		}
	}
	// Unreachable: flagging every pair gives recall 1.
	panic("ipinsights: ThresholdForRecall: recall 1 not reached")
}

// ThresholdForPrecision returns the Evaluation at the threshold that
// flags the most pairs (so the best recall) while keeping precision at
// least precision. When none does, the error is an *UnreachableError that
// says the best precision reached. precision must be in (0, 1]; the other
// errors are Evaluate's.
func ThresholdForPrecision(dots []float64, anomalous []bool, precision float64) (Evaluation, error) {
	if !(precision > 0 && precision <= 1) {
		return Evaluation{}, fmt.Errorf("ipinsights: precision %v is not in (0, 1]", precision)
	}
	c, err := newCutter(dots, anomalous)
	if err != nil {
		return Evaluation{}, err
	}
	found, best := -1, -1
	bestP := -1.0
	for g := range c.groups {
		p := c.tp[g] / (c.tp[g] + c.fp[g])
		if p >= precision {
			found = g
		}
		if p > bestP {
			best, bestP = g, p
		}
	}
	if found < 0 {
		return Evaluation{}, &UnreachableError{Target: precision, Best: bestP, BestRecall: c.tp[best] / c.npos}
	}
	return Evaluate(dots, anomalous, c.threshold(found))
}

// cutter holds labeled dot products grouped by distinct value, ascending,
// with the counts flagged when every group up to g is.
type cutter struct {
	groups []float64 // distinct dot products, ascending
	tp, fp []float64 // cumulative anomalous and normal pairs up to group g
	npos   float64
}

func newCutter(dots []float64, anomalous []bool) (*cutter, error) {
	if len(dots) != len(anomalous) {
		return nil, errors.New("ipinsights: dots and labels differ in length")
	}
	idx := make([]int, len(dots))
	npos := 0
	for i, d := range dots {
		if math.IsNaN(d) {
			return nil, errors.New("ipinsights: NaN score")
		}
		idx[i] = i
		if anomalous[i] {
			npos++
		}
	}
	if npos == 0 || npos == len(dots) {
		return nil, errors.New("ipinsights: labels must include both normal (0) and anomalous (1) pairs")
	}
	sort.Slice(idx, func(a, b int) bool { return dots[idx[a]] < dots[idx[b]] })
	c := &cutter{npos: float64(npos)}
	var tp, fp float64
	for i := 0; i < len(idx); {
		d := dots[idx[i]]
		for ; i < len(idx) && dots[idx[i]] == d; i++ {
			if anomalous[idx[i]] {
				tp++
			} else {
				fp++
			}
		}
		c.groups = append(c.groups, d)
		c.tp = append(c.tp, tp)
		c.fp = append(c.fp, fp)
	}
	return c, nil
}

// threshold returns the threshold that flags groups 0..g: halfway to the
// next group, or just above the last.
func (c *cutter) threshold(g int) float64 {
	a := c.groups[g]
	if g+1 == len(c.groups) {
		return math.Nextafter(a, math.Inf(1))
	}
	b := c.groups[g+1]
	if t := a + (b-a)/2; a < t && t < b {
		return t
	}
	return b
}
