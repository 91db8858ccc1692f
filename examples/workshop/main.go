// Command workshop reproduces the SEC405 workshop ("Scalable, automated
// anomaly detection with Amazon GuardDuty and SageMaker") offline, with no
// AWS account: it writes a week of CloudTrail logs for a made-up account in
// CloudTrail's S3 layout and a few GuardDuty findings in the real finding
// format (package synth), extracts (principal, IP) tuples from both with package awslogs,
// trains IP Insights with the workshop's hyperparameters on the first days,
// and scores the last day's normal activity and the findings side by side.
// It ends with the alert list it would send: each finding's pair with its
// percentile among normal pairs, whether it alerts at a 1% false-positive
// rate and why (the principal's usual networks), written as AWS Security
// Hub findings too, and how many of the normal day's pairs alert at that
// rate.
//
//	go run ./examples/workshop                 # a few seconds, once built
//	go run ./examples/workshop -out /tmp/ws    # keep the logs, tuples and plot there
package main

import (
	"context"
	"flag"
	"fmt"
	"image/color"
	"io"
	"log"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/ipinsights/ipinsights-go/alert"
	"github.com/ipinsights/ipinsights-go/awslogs"
	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/ipinsights/ipinsights-go/synth"
)

// settings size the simulation; the defaults are the workshop's.
type settings struct {
	out          string
	users, roles int
	days         int
	eventsPerDay int // per user; roles make twice as many
	epochs       string
	seed         uint64
}

func main() {
	s := settings{}
	flag.StringVar(&s.out, "out", "", "directory for the logs, findings, tuples and plot (default: a new temporary directory)")
	flag.IntVar(&s.users, "users", 40, "IAM users in the made-up account")
	flag.IntVar(&s.roles, "roles", 6, "IAM roles assumed by instances and pipelines")
	flag.IntVar(&s.days, "days", 7, "days of CloudTrail logs; the last one is held out for scoring")
	flag.IntVar(&s.eventsPerDay, "events", 90, "API events per user per day")
	flag.StringVar(&s.epochs, "epochs", "5", "training epochs (the workshop's 5)")
	flag.Uint64Var(&s.seed, "seed", 1, "random seed")
	flag.Parse()
	temp := s.out == ""
	if temp {
		dir, err := os.MkdirTemp("", "ipinsights-workshop-")
		if err != nil {
			log.Fatal(err)
		}
		s.out = dir
	}
	res, err := run(context.Background(), s, os.Stdout)
	if err != nil {
		log.Fatal(err)
	}
	if temp {
		fmt.Printf("\nThe logs, tuples and plot stay in %s; remove it with: rm -r %s\n", s.out, s.out)
	}
	if !res.clearlyBelow() {
		os.Exit(1)
	}
}

// result is what run measured.
type result struct {
	normal, findings []float64 // dot products
	auc              float64
	belowP5          int // findings below the 5th percentile of normal pairs
	unseenFindings   int
	// The alert list at alertFPR: the findings that alert, the normal
	// pairs that do, and the Security Hub findings written to asffPath.
	findingAlerts, normalAlerts int
	asffPath                    string
	asffFindings                int
	// basis is the alert rule's basis (network when the model has its
	// network history and a calibration made with it); unusualFindings
	// counts the findings whose address is in none of their principal's
	// usual networks.
	basis           ipinsights.AlertBasis
	unusualFindings int
}

// alertFPR is the false-positive rate of the alert list: the share of
// normal pairs that alert.
const alertFPR = 0.01

// clearlyBelow is the claim the workshop makes: the findings score well
// below normal activity.
func (r *result) clearlyBelow() bool {
	return len(r.findings) > 0 && r.auc >= 0.9 && median(r.findings) < quantile(r.normal, 0.05)
}

func run(ctx context.Context, s settings, out io.Writer) (*result, error) {
	began := time.Now()
	// A made-up account: IAM users working from home, two offices and
	// the odd hotel; roles whose sessions call from their own networks;
	// services; and, on the last day, GuardDuty findings about five
	// users' access keys and the first role's credentials used from
	// attackers' addresses, and an SSH brute force on an instance.
	acct, err := synth.NewAccount(synth.AccountConfig{Users: s.users, Roles: s.roles, Days: s.days, EventsPerDay: s.eventsPerDay, Seed: s.seed})
	if err != nil {
		return nil, err
	}
	n, err := acct.WriteCloudTrail(s.out)
	if err != nil {
		return nil, err
	}
	gdPath, err := acct.WriteFindings(s.out)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "wrote %d CloudTrail records (%d days, %d users, %d roles) and GuardDuty findings under %s\n\n", n, s.days, s.users, s.roles, s.out)

	// Tuples: the first days train, the last day is held out as normal
	// activity to score. The same principal key rule on both sides.
	split := acct.Config.Start.Add(time.Duration(s.days-1) * 24 * time.Hour)
	train := ipinsights.NewDataset()
	trainCSV, err := os.Create(filepath.Join(s.out, "cloudtrail_tuples.csv"))
	if err != nil {
		return nil, err
	}
	defer trainCSV.Close()
	csvw := awslogs.NewCSVWriter(trainCSV)
	ctDir := filepath.Join(s.out, "AWSLogs", acct.Config.ID, "CloudTrail")
	rep, err := awslogs.ExtractCloudTrail(ctx, []string{ctDir}, awslogs.TupleWriterFunc(func(t *awslogs.Tuple) error {
		train.Add(t.Principal, t.Addr)
		return csvw.WriteTuple(t)
	}), &awslogs.Options{Until: split})
	if err != nil {
		return nil, err
	}
	if err := csvw.Flush(); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "CloudTrail, days 1-%d (training): %s\n", s.days-1, rep.Summary())
	var held []ipinsights.Pair
	rep, err = awslogs.ExtractCloudTrail(ctx, []string{ctDir}, awslogs.TupleWriterFunc(func(t *awslogs.Tuple) error {
		held = append(held, t.Pair())
		return nil
	}), &awslogs.Options{Since: split})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "CloudTrail, day %d (held out, normal): %d tuples\n", s.days, rep.Tuples)
	var findings []awslogs.Tuple
	rep, err = awslogs.ExtractGuardDuty(ctx, []string{gdPath}, awslogs.TupleWriterFunc(func(t *awslogs.Tuple) error {
		findings = append(findings, *t)
		return nil
	}), nil)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "GuardDuty: %s\n\n", rep.Summary())
	if train.Len() == 0 || len(held) == 0 || len(findings) == 0 {
		return nil, fmt.Errorf("nothing to train or score: %d training tuples, %d held out, %d findings", train.Len(), len(held), len(findings))
	}

	// The workshop's hyperparameters.
	cfg, err := ipinsights.ParseHyperparameters(map[string]string{
		"num_entity_vectors": "20000", "random_negative_sampling_rate": "5", "vector_dim": "128",
		"mini_batch_size": "1000", "epochs": s.epochs, "learning_rate": "0.01", "seed": strconv.FormatUint(s.seed, 10),
	})
	if err != nil {
		return nil, err
	}
	model, err := ipinsights.Train(ctx, cfg, train, &ipinsights.TrainOptions{Progress: ipinsights.ProgressFunc(func(m ipinsights.Metrics) {
		if m.EpochEnd {
			fmt.Fprintf(out, "  epoch %d: cross-entropy %.4f, accuracy %.4f\n", m.Epoch, m.CrossEntropy, m.Accuracy)
		}
	})})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "trained on %d tuples (%d principals)\n\n", train.Len(), model.SeenEntities())

	// What ipinsights train adds to the model it writes: the network
	// history that explanations read, and then a calibration, here in
	// sample on the training tuples (as train does without --validation),
	// which states thresholds as a share of normal pairs. The order
	// matters: a calibration made with the history also measures the
	// pairs outside their principal's usual networks, which the default
	// alert basis (network) needs; one made before it would leave the
	// default on dot_product.
	if model, err = model.WithNetworkHistory(ctx, train, nil); err != nil {
		return nil, err
	}
	cal, err := model.Calibrate(ctx, train, nil)
	if err != nil {
		return nil, err
	}
	model = model.WithCalibration(cal)

	res := &result{}
	for _, sc := range model.ScoreBatch(nil, held) {
		res.normal = append(res.normal, sc.DotProduct)
	}
	pairs := make([]ipinsights.Pair, len(findings))
	for i, f := range findings {
		pairs[i] = f.Pair()
	}
	scores := model.ScoreBatch(nil, pairs)
	for _, sc := range scores {
		res.findings = append(res.findings, sc.DotProduct)
		if !sc.EntitySeen {
			res.unseenFindings++
		}
	}
	p5 := quantile(res.normal, 0.05)
	for _, d := range res.findings {
		if d < p5 {
			res.belowP5++
		}
	}
	labels := make([]bool, 0, len(res.normal)+len(res.findings))
	all := make([]float64, 0, cap(labels))
	for _, d := range res.normal {
		all, labels = append(all, -d), append(labels, false)
	}
	for _, d := range res.findings {
		all, labels = append(all, -d), append(labels, true)
	}
	res.auc = ipinsights.AUC(all, labels)

	printSideBySide(out, res)
	fmt.Fprintf(out, "\n%-68s %-16s %-16s %9s %s\n", "finding", "principal", "ip", "dot_prod", "pct of normal")
	for i, f := range findings {
		fmt.Fprintf(out, "%-68s %-16s %-16s %9.3f %5.1f%%\n", f.FindingType, short(f.Principal), f.Addr, scores[i].DotProduct, 100*fractionBelow(res.normal, scores[i].DotProduct))
	}
	workshopMismatch(out, model, findings, acct)
	if err := alertList(out, s, res, model, held, findings, acct); err != nil {
		return nil, err
	}

	png := filepath.Join(s.out, "scores.png")
	if err := histogram(png, res); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "\nhistogram: %s\ntraining tuples: %s\n", png, trainCSV.Name())
	fmt.Fprintf(out, "\nThe %d finding tuples score clearly below the %d normal ones: median %.3f against %.3f; %d of %d are below the normal pairs' 5th percentile (%.3f); AUC %.4f (findings as anomalies).\n",
		len(res.findings), len(res.normal), median(res.findings), median(res.normal), res.belowP5, len(res.findings), p5, res.auc)
	if !res.clearlyBelow() {
		fmt.Fprintln(out, "NOT as expected: the findings do not score clearly below normal activity.")
	}
	fmt.Fprintf(out, "total time %s\n", time.Since(began).Round(100*time.Millisecond))
	return res, nil
}

// alertList prints the alert list the workshop would send: every
// finding's pair with its percentile among normal pairs, whether it alerts
// at alertFPR and why, and how many of the held-out day's normal pairs
// alert at that rate; and writes the alerting findings as AWS Security Hub
// findings (BatchImportFindings request bodies, one a line).
func alertList(out io.Writer, s settings, res *result, model *ipinsights.Model, held []ipinsights.Pair, findings []awslogs.Tuple, acct *synth.Account) error {
	rule, err := model.AlertRule(alertFPR, ipinsights.AlertDefault)
	if err != nil {
		return err
	}
	res.basis = rule.Basis()
	cal := model.Calibration()
	// AlertTuple, not Alert: the network basis needs the pair's address
	// (Alert, given only the entity, applies the global dot-product
	// threshold instead).
	for i, d := range res.normal {
		if rule.AlertTuple(embedding.NewTuple(held[i].Entity, held[i].IP), d) {
			res.normalAlerts++
		}
	}
	pairs := make([]ipinsights.Pair, len(findings))
	for i := range findings {
		pairs[i] = findings[i].Pair()
	}
	expls := model.ExplainBatch(nil, pairs)

	res.asffPath = filepath.Join(s.out, "securityhub_findings.jsonl")
	f, err := os.Create(res.asffPath)
	if err != nil {
		return err
	}
	defer f.Close()
	fw := alert.NewASFFWriter(f)
	fields := alert.Fields{Percentile: true, Alert: true, Explain: true, Extra: []string{"finding_id", "finding_type"}}
	opts := alert.ASFFOptions{AccountID: acct.Config.ID, Region: "us-east-1", Rule: &rule}

	fmt.Fprintf(out, "\nThe alert list: each finding's pair, its percentile among normal pairs (the principal's own when it has\n")
	fmt.Fprintf(out, "%d or more), whether it alerts at a %g%% false-positive rate (%s), and why.\n",
		cal.MinEntityPairs(), 100*alertFPR, ruleText(rule))
	for i, t := range findings {
		e := &expls[i]
		rec := alert.Record{Entity: []byte(t.Principal), Addr: t.Addr, Result: e.Result, Explanation: e,
			Percentile: cal.Percentile(embedding.EntityHash(t.Principal), e.DotProduct),
			Alert:      rule.AlertTuple(embedding.NewTuple(t.Principal, t.Addr), e.DotProduct),
			Extra:      [][]byte{[]byte(t.FindingID), []byte(t.FindingType)}}
		if !e.NetworkSeen {
			res.unusualFindings++
		}
		flag := "no alert"
		if rec.Alert {
			flag = "ALERT"
			res.findingAlerts++
			fd, err := alert.NewFinding(&rec, &fields, &opts)
			if err != nil {
				return err
			}
			if err := fw.Write(&fd); err != nil {
				return err
			}
		}
		fmt.Fprintf(out, "  %-8s %-16s %-15s %-24s %s\n", flag, short(t.Principal), t.Addr, percentile(rec.Percentile), t.FindingType)
		fmt.Fprintf(out, "           %s\n", why(&rec, &fields))
	}
	if err := fw.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	res.asffFindings = fw.Findings()
	fmt.Fprintf(out, "%d of %d findings alert. The normal day: %d of %d pairs alert (%.2f%%) at that rate",
		res.findingAlerts, len(findings), res.normalAlerts, len(res.normal), 100*float64(res.normalAlerts)/float64(len(res.normal)))
	fmt.Fprintf(out, " (calibrated in sample, on the training days: new traffic alerts more often than the rate).\n")
	fmt.Fprintf(out, "Security Hub findings for the %d alerts: %s\n", res.asffFindings, res.asffPath)
	return nil
}

// ruleText says what rule flags: on the network basis, the dot products
// below which a pair outside and inside its principal's usual networks
// alerts; on the others, the one threshold.
func ruleText(rule ipinsights.AlertRule) string {
	if rule.Basis() != ipinsights.AlertByNetwork {
		return fmt.Sprintf("by %s: below %.3f", rule.Basis(), rule.Threshold())
	}
	unseen, seen := rule.NetworkThresholds()
	side := func(where string, below float64) string {
		switch {
		case math.IsInf(below, 1):
			return "every pair " + where
		case math.IsInf(below, -1):
			return "no pair " + where
		}
		return fmt.Sprintf("pairs %s below %.3f", where, below)
	}
	return fmt.Sprintf("by network: %s, %s", side("outside the principal's usual networks", unseen), side("inside them", seen))
}

// percentile says where a pair ranks among the normal pairs its
// percentile counts.
func percentile(p ipinsights.Percentile) string {
	if p.Value*float64(p.Pairs) < 1 {
		return fmt.Sprintf("below all %d pairs", p.Pairs)
	}
	return fmt.Sprintf("percentile %.3g%%", 100*p.Value)
}

// why says in a line why a pair scored as it did: its network against the
// principal's usual networks.
func why(r *alert.Record, f *alert.Fields) string {
	e := r.Explanation
	switch {
	case !r.Result.EntitySeen:
		return "the principal was never seen in training: its score carries no information"
	case e.NetworkSeen:
		return fmt.Sprintf("%s is one of its usual networks (%d of %d training pairs)", e.Network, e.NetworkPairs, e.EntityPairs)
	}
	usual := e.UsualNetworks
	if len(usual) > 3 {
		usual = usual[:3]
	}
	rr := *r
	ee := *e
	ee.UsualNetworks = usual
	rr.Explanation = &ee
	s := fmt.Sprintf("%s is not among its usual networks (%d training pairs: %s", e.Network, e.EntityPairs, f.AppendNetworks(nil, &rr))
	if len(usual) < len(e.UsualNetworks) {
		s += "; ..."
	}
	s += ")"
	if e.NearestUsualNetwork.IsValid() {
		s += fmt.Sprintf("; nearest by IP embedding %s (cosine %.2f)", e.NearestUsualNetwork, e.NearestSimilarity)
	}
	return s
}

// workshopMismatch shows what the workshop's GuardDuty code did to the
// assumed role's finding: it kept principalId whole (AROA...:session)
// while the training side cut it at the colon, so the principal was one
// the model never saw.
func workshopMismatch(out io.Writer, model *ipinsights.Model, findings []awslogs.Tuple, acct *synth.Account) {
	if len(acct.Roles) == 0 {
		return
	}
	ro := acct.Roles[0]
	for _, f := range findings {
		if f.Principal != ro.ID {
			continue
		}
		whole := ro.ID + ":" + ro.Session
		sc := model.Score(whole, f.Addr)
		fmt.Fprintf(out, "\nThe workshop's GuardDuty code keyed this role's finding as %q, a principal never seen in training (entity_seen=%v):\n"+
			"its dot product %.3f says nothing. Keyed like its CloudTrail tuples (%q) it scores %.3f, with entity_seen=%v.\n",
			whole, sc.EntitySeen, sc.DotProduct, ro.ID, model.Score(ro.ID, f.Addr).DotProduct, model.EntitySeen(ro.ID))
		return
	}
}

func printSideBySide(out io.Writer, r *result) {
	fmt.Fprintf(out, "%-14s %18s %18s\n", "dot_product", "normal (held out)", "GuardDuty findings")
	row := func(name string, f func([]float64) float64) {
		fmt.Fprintf(out, "%-14s %18.3f %18.3f\n", name, f(r.normal), f(r.findings))
	}
	fmt.Fprintf(out, "%-14s %18d %18d\n", "pairs", len(r.normal), len(r.findings))
	row("min", func(v []float64) float64 { return quantile(v, 0) })
	row("5th pct", func(v []float64) float64 { return quantile(v, 0.05) })
	row("median", median)
	row("mean", mean)
	row("95th pct", func(v []float64) float64 { return quantile(v, 0.95) })
	row("max", func(v []float64) float64 { return quantile(v, 1) })
}

func histogram(path string, r *result) error {
	p := plot.New()
	p.Title.Text = "IP Insights scores: CloudTrail activity vs GuardDuty findings"
	p.X.Label.Text = "dot_product (higher = more normal)"
	p.Y.Label.Text = "share of pairs"
	lo, hi := quantile(append(append([]float64{}, r.normal...), r.findings...), 0), quantile(append(append([]float64{}, r.normal...), r.findings...), 1)
	const bins = 40
	width := (hi - lo) / bins
	for i, set := range [][]float64{r.normal, r.findings} {
		// Both histograms on the same bins: pad each with the range ends at
		// zero weight.
		xy := make(plotter.XYs, 0, len(set)+2)
		for _, d := range set {
			xy = append(xy, plotter.XY{X: d, Y: 1 / float64(len(set))})
		}
		xy = append(xy, plotter.XY{X: lo}, plotter.XY{X: hi + width/1e6})
		h, err := plotter.NewHistogram(xy, bins)
		if err != nil {
			return err
		}
		h.FillColor = []color.Color{color.NRGBA{R: 60, G: 120, B: 200, A: 160}, color.NRGBA{R: 220, G: 60, B: 40, A: 200}}[i]
		h.LineStyle.Width = vg.Points(0.5)
		p.Add(h)
		p.Legend.Add([]string{"normal (held-out day)", "GuardDuty findings"}[i], h)
	}
	p.Legend.Top = true
	return p.Save(8*vg.Inch, 4.5*vg.Inch, path)
}

func quantile(v []float64, q float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return math.NaN()
	}
	return s[int(math.Round(q*float64(len(s)-1)))]
}

func median(v []float64) float64 { return quantile(v, 0.5) }

func mean(v []float64) float64 {
	t := 0.0
	for _, x := range v {
		t += x
	}
	return t / float64(len(v))
}

func fractionBelow(v []float64, x float64) float64 {
	n := 0
	for _, y := range v {
		if y < x {
			n++
		}
	}
	return float64(n) / float64(len(v))
}

func short(s string) string {
	if len(s) > 16 {
		return s[:15] + "…"
	}
	return s
}
