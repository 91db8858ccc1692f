package main

import (
	"context"
	"fmt"
	"io"
	"math"

	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/internal/tutorial"
	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/ipinsights/ipinsights-go/synth"
)

// blendRanking is a ranking of the attack test's pairs (low = anomalous)
// made from what a model gives about a pair.
type blendRanking struct {
	name string
	rank func(p pairFacts) float64
}

// pairFacts is what a calibrated model with a network history says of a
// pair.
type pairFacts struct {
	dot         float64
	pct         ipinsights.Percentile // on the validation day
	pctTrain    ipinsights.Percentile // on the training pairs (in sample)
	networkSeen bool
	netPairs    int // the entity's training pairs in the address's network
}

func blendRankings() []blendRanking {
	rs := []blendRanking{
		{"dot_product", func(p pairFacts) float64 { return p.dot }},
		{"percentile", func(p pairFacts) float64 { return p.pct.Value }},
		{"percentile (training pairs)", func(p pairFacts) float64 { return p.pctTrain.Value }},
	}
	for _, g := range []float64{0.25, 1} {
		rs = append(rs, blendRanking{fmt.Sprintf("dot + %g ln(percentile)", g), func(p pairFacts) float64 {
			return p.dot + g*math.Log(max(p.pct.Value, 1e-300))
		}})
	}
	for _, b := range []float64{1, 2, 4, 8, 16, math.Inf(1)} {
		rs = append(rs, blendRanking{fmt.Sprintf("dot + %g network_seen", b), func(p pairFacts) float64 {
			if p.networkSeen {
				return p.dot + min(b, 1e6)
			}
			return p.dot
		}})
	}
	for _, b := range []float64{1, 2, 4} {
		rs = append(rs, blendRanking{fmt.Sprintf("dot + %g ln(1+network pairs)", b), func(p pairFacts) float64 {
			return p.dot + b*math.Log1p(float64(p.netPairs))
		}})
	}
	rs = append(rs, blendRanking{"percentile (training) + 1e6 seen", func(p pairFacts) float64 {
		if p.networkSeen {
			return p.pctTrain.Value + 1e6
		}
		return p.pctTrain.Value
	}})
	return rs
}

// blend scores the attack test and the labeled validation day (the
// validation day's pairs and as many attacks) with the run's model,
// calibrated on the validation day (and, for comparison, on the training
// pairs), with the network history of the training pairs, and prints the
// AUC and the precision at recall targetRecall of each ranking on both.
// Only the rankings that use neither percentile are out of sample on the
// validation day, on which a parameter can be chosen honestly.
func blend(ctx context.Context, w io.Writer, res *tutorial.Result, opts *ipinsights.CalibrationOptions) error {
	cal, err := res.Model.Calibrate(ctx, tutorial.Dataset(res.Data.Validation), opts)
	if err != nil {
		return err
	}
	calTrain, err := res.Model.Calibrate(ctx, tutorial.Dataset(res.Data.Train), opts)
	if err != nil {
		return err
	}
	m, err := res.Model.WithCalibration(cal).WithNetworkHistory(ctx, tutorial.Dataset(res.Data.Train), nil)
	if err != nil {
		return err
	}
	type set struct {
		facts     []pairFacts
		anomalous []bool
	}
	var sets [2]set
	for k, logins := range [2][]synth.Login{res.Data.Test, res.Data.ValidationLabeled()} {
		ts := make([]embedding.Tuple, len(logins))
		s := set{facts: make([]pairFacts, len(logins)), anomalous: make([]bool, len(logins))}
		for i, x := range logins {
			ts[i] = embedding.NewTuple(x.Entity(), x.Addr())
			s.anomalous[i] = x.Anomalous()
		}
		expls := m.ExplainTuples(nil, ts)
		for i := range expls {
			e := &expls[i]
			s.facts[i] = pairFacts{dot: e.DotProduct, pct: cal.Percentile(ts[i].Entity, e.DotProduct),
				pctTrain: calTrain.Percentile(ts[i].Entity, e.DotProduct), networkSeen: e.NetworkSeen, netPairs: e.NetworkPairs}
		}
		sets[k] = s
	}
	fmt.Fprintf(w, "\nblended rankings: AUC and precision at recall>=%g on the attack test and on the labeled validation day\n", targetRecall)
	fmt.Fprintf(w, "%-34s %8s %10s %8s %10s %10s\n", "ranking", "AUC", "precision", "recall", "valid AUC", "valid prec")
	for _, r := range blendRankings() {
		var auc, prec, rec [2]float64
		for k, s := range sets {
			rank, neg := make([]float64, len(s.facts)), make([]float64, len(s.facts))
			for i, f := range s.facts {
				rank[i] = r.rank(f)
				neg[i] = -rank[i]
			}
			ev, err := ipinsights.ThresholdForRecall(rank, s.anomalous, targetRecall)
			if err != nil {
				return err
			}
			auc[k], prec[k], rec[k] = ipinsights.AUC(neg, s.anomalous), ev.Precision, ev.Recall
		}
		fmt.Fprintf(w, "%-34s %8.4f %10.4f %8.4f %10.4f %10.4f\n", r.name, auc[0], prec[0], rec[0], auc[1], prec[1])
	}
	return nil
}
