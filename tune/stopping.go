package tune

import (
	"fmt"
	"math"
	"slices"
)

// medianMinTrials is how many earlier trials must have reached an epoch
// before the median stopping rule judges a trial at that epoch. AMT does
// not document a minimum; with fewer trials the median says little.
const medianMinTrials = 3

// medianStop applies AMT's median stopping rule ("Stop Training Jobs
// Early" in the SageMaker developer guide) to a trial whose intermediate
// values so far are cur: after each epoch, the running average of every
// earlier trial's values up to the same epoch is computed, and the trial
// is stopped when its value at that epoch is below the median of those
// averages. prev holds the earlier trials' values by epoch. It returns
// the reason to stop, or "".
func medianStop(cur []float64, prev [][]float64) string {
	e := len(cur)
	var avgs []float64
	for _, p := range prev {
		if len(p) < e {
			continue
		}
		sum := 0.0
		for _, v := range p[:e] {
			sum += v
		}
		avgs = append(avgs, sum/float64(e))
	}
	if len(avgs) < medianMinTrials {
		return ""
	}
	med := median(avgs)
	if v := cur[e-1]; v < med {
		return fmt.Sprintf("epoch %d: %.4f below the median %.4f of %d earlier trials' running averages", e, v, med, len(avgs))
	}
	return ""
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// reduction is Hyperband's reduction factor: at each rung the best third
// of the trials go on.
const reduction = 3

// hyperband holds the rungs of asynchronous successive halving in
// brackets (Li et al., "A System for Massively Parallel Hyperparameter
// Tuning", 2020). Bracket b's rungs are at r = minEpochs*3^(b+k) epochs
// while 3r is at most the maximum (a rung later than that would stop
// trials that are nearly done); a trial that reaches a rung goes on only if its value is
// among the best third of the values recorded at that rung so far (the
// best one while fewer than three are recorded), as Optuna's
// SuccessiveHalvingPruner decides without pausing trials.
type hyperband struct {
	minEpochs, maxEpochs int
	brackets             int
	rungs                []map[int][]float64 // per bracket: epoch -> values recorded
}

func newHyperband(minEpochs, maxEpochs int) *hyperband {
	h := &hyperband{minEpochs: minEpochs, maxEpochs: maxEpochs}
	// floor(log_3(max/min)) + 1 brackets; the last has no rung (its
	// trials run every epoch), as in Hyperband.
	for r := minEpochs; r <= maxEpochs; r *= reduction {
		h.brackets++
		h.rungs = append(h.rungs, map[int][]float64{})
	}
	return h
}

// bracket returns the bracket of trial i (0-based): round robin.
func (h *hyperband) bracket(i int) int { return i % h.brackets }

// isRung reports whether epoch is a rung of bracket b.
func (h *hyperband) isRung(b, epoch int) bool {
	r := h.minEpochs
	for range b {
		r *= reduction
	}
	for ; r*reduction <= h.maxEpochs; r *= reduction {
		if r == epoch {
			return true
		}
	}
	return false
}

// judge records a trial of bracket b reaching epoch with value v and
// returns the reason to stop it, or "".
func (h *hyperband) judge(b, epoch int, v float64) string {
	if !h.isRung(b, epoch) {
		return ""
	}
	vals := append(h.rungs[b][epoch], v)
	h.rungs[b][epoch] = vals
	k := len(vals)/reduction - 1
	if k < 0 {
		k = 0
	}
	s := slices.Clone(vals)
	slices.SortFunc(s, func(a, b float64) int { return -cmpNaN(a, b) })
	if v >= s[k] {
		return ""
	}
	return fmt.Sprintf("Hyperband rung at epoch %d: %.4f not in the best third of %d trials (threshold %.4f)", epoch, v, len(vals), s[k])
}

// cmpNaN orders NaN below every number.
func cmpNaN(a, b float64) int {
	switch {
	case math.IsNaN(a) && math.IsNaN(b):
		return 0
	case math.IsNaN(a):
		return -1
	case math.IsNaN(b):
		return 1
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
