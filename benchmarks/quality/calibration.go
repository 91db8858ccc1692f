package main

import (
	"context"
	"fmt"
	"io"
	"math"

	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/internal/stats"
	"github.com/ipinsights/ipinsights-go/internal/tutorial"
	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/ipinsights/ipinsights-go/synth"
)

// calibRates are the false-positive rates the calibration figures state.
var calibRates = []float64{0.001, 0.01, 0.05}

// targetRecall is the recall at which the rankings' precision is compared.
const targetRecall = 0.995

var bases = []ipinsights.AlertBasis{ipinsights.AlertByDotProduct, ipinsights.AlertByPercentile, ipinsights.AlertByNetwork}

// calibFigures are the calibration figures of one run.
type calibFigures struct {
	pairs, entities float64
	// Per basis and rate: the share of the attack test's normal rows
	// flagged, the same over the normal rows that are not validation rows
	// (out of sample), and the recall.
	flagged, flaggedOut, recall [3][]float64
	// Per basis (ranking): AUC, and precision at the threshold that
	// reaches targetRecall.
	auc, precAtRecall, recallReached [3]float64
	// unseenShare is the share of the calibration pairs in none of their
	// entity's usual networks.
	unseenShare            float64
	modelBytes, calibBytes float64
}

// calibrate calibrates the run's model on the validation day (or on the
// training pairs, in sample) and measures it on the attack test.
func calibrate(ctx context.Context, res *tutorial.Result, opts *ipinsights.CalibrationOptions, onTrain bool) (*calibFigures, error) {
	normal := res.Data.Validation
	if onTrain {
		normal = res.Data.Train
	}
	// The network history of the training pairs, as train gives it, for
	// the network basis.
	hm, err := res.Model.WithNetworkHistory(ctx, tutorial.Dataset(res.Data.Train), nil)
	if err != nil {
		return nil, err
	}
	cal, err := hm.Calibrate(ctx, tutorial.Dataset(normal), opts)
	if err != nil {
		return nil, err
	}
	m := hm.WithCalibration(cal)
	f := &calibFigures{pairs: float64(cal.Pairs()), entities: float64(cal.Entities())}
	f.unseenShare, _, _ = cal.UnseenNetworkShare()
	plain, with := countBytes(hm), countBytes(m)
	f.modelBytes, f.calibBytes = float64(plain), float64(with-plain)

	type key struct {
		user int32
		ip   uint32
		t    int32
	}
	inValidation := map[key]bool{}
	for _, x := range res.Data.Validation {
		inValidation[key{x.User, x.IP, x.Time}] = true
	}
	test := res.Data.Test
	ts := make([]embedding.Tuple, len(test))
	anomalous := make([]bool, len(test))
	for i, x := range test {
		ts[i] = embedding.NewTuple(x.Entity(), x.Addr())
		anomalous[i] = x.Anomalous()
	}
	scores := m.ExplainTuples(nil, ts)
	// Per basis, the ranking score: low = anomalous.
	var rank [3][]float64
	for b := range bases {
		rank[b] = make([]float64, len(test))
	}
	for i, s := range scores {
		rank[0][i] = s.DotProduct
		rank[1][i] = cal.Percentile(ts[i].Entity, s.DotProduct).Value
		rank[2][i] = s.DotProduct // usual networks after all others
		if s.NetworkSeen {
			rank[2][i] += 1e6
		}
	}
	for b, basis := range bases {
		neg := make([]float64, len(test))
		for i, v := range rank[b] {
			neg[i] = -v
		}
		f.auc[b] = ipinsights.AUC(neg, anomalous)
		ev, err := ipinsights.ThresholdForRecall(rank[b], anomalous, targetRecall)
		if err != nil {
			return nil, err
		}
		f.precAtRecall[b], f.recallReached[b] = ev.Precision, ev.Recall
		for _, fpr := range calibRates {
			rule, err := m.AlertRule(fpr, basis)
			if err != nil {
				return nil, err
			}
			var normal, flagged, normalOut, flaggedOut, attacks, caught int
			for i, x := range test {
				alert := rule.AlertTuple(ts[i], scores[i].DotProduct)
				switch {
				case x.Kind == synth.Attack:
					attacks++
					if alert {
						caught++
					}
				default:
					normal++
					out := !inValidation[key{x.User, x.IP, x.Time}]
					if out {
						normalOut++
					}
					if alert {
						flagged++
						if out {
							flaggedOut++
						}
					}
				}
			}
			f.flagged[b] = append(f.flagged[b], ratio(flagged, normal))
			f.flaggedOut[b] = append(f.flaggedOut[b], ratio(flaggedOut, normalOut))
			f.recall[b] = append(f.recall[b], ratio(caught, attacks))
		}
	}
	return f, nil
}

func ratio(a, b int) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

func countBytes(m *ipinsights.Model) int64 {
	var c counter
	if err := m.Save(&c); err != nil {
		panic(err)
	}
	return c.n
}

// printCalibration prints the medians of the runs' calibration figures.
func printCalibration(w io.Writer, users int, fs []*calibFigures, source string) {
	med := func(get func(*calibFigures) float64) float64 {
		xs := make([]float64, len(fs))
		for i, f := range fs {
			xs[i] = get(f)
		}
		return stats.Median(xs)
	}
	fmt.Fprintf(w, "\n%d users: calibrated on %s, %.0f pairs, %.0f entities with their own distribution\n",
		users, source, med(func(f *calibFigures) float64 { return f.pairs }), med(func(f *calibFigures) float64 { return f.entities }))
	fmt.Fprintf(w, "%.4f of the calibration pairs in none of their entity's usual networks (network history of the training pairs)\n",
		med(func(f *calibFigures) float64 { return f.unseenShare }))
	fmt.Fprintf(w, "%-12s %7s %16s %18s %8s\n", "alert basis", "fpr", "normal flagged", "(not validation)", "recall")
	for b, basis := range bases {
		for r, fpr := range calibRates {
			fmt.Fprintf(w, "%-12s %7.3f %16.4f %18.4f %8.4f\n", basis, fpr,
				med(func(f *calibFigures) float64 { return f.flagged[b][r] }),
				med(func(f *calibFigures) float64 { return f.flaggedOut[b][r] }),
				med(func(f *calibFigures) float64 { return f.recall[b][r] }))
		}
	}
	fmt.Fprintf(w, "%-12s %8s %26s\n", "ranking", "AUC", fmt.Sprintf("precision at recall>=%g", targetRecall))
	for b, basis := range bases {
		fmt.Fprintf(w, "%-12s %8.4f %26.4f (recall %.4f)\n", basis,
			med(func(f *calibFigures) float64 { return f.auc[b] }),
			med(func(f *calibFigures) float64 { return f.precAtRecall[b] }),
			med(func(f *calibFigures) float64 { return f.recallReached[b] }))
	}
	mb, cb := med(func(f *calibFigures) float64 { return f.modelBytes }), med(func(f *calibFigures) float64 { return f.calibBytes })
	fmt.Fprintf(w, "model file   %.0f bytes (with its network history); calibration sections +%.0f bytes (+%.2f%%)\n", mb, cb, 100*cb/mb)
}
