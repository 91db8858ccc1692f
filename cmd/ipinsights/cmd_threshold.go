package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"

	"github.com/ipinsights/ipinsights-go/internal/plural"
	"github.com/ipinsights/ipinsights-go/ipinsights"
)

func init() {
	register(&command{
		name:    "threshold",
		summary: "the dot-product threshold of a false-positive rate, or of a precision or recall on labeled rows",
		usage:   "--model FILE (--fpr RATE [--alert-basis dot_product|network] [--normal FILE] | --labeled FILE (--precision P | --recall R) [--header]) [--lenient] [--json]",
		example: `ipinsights threshold --model model.bin --fpr 0.01
# the dot product below which 1% of the calibration pairs lie: flag dot_product < threshold
ipinsights threshold --model model.bin --fpr 0.01 --normal yesterday.csv --json
# {"threshold": -1.23, "fpr": 0.01, "pairs": 312000}, from yesterday's logins instead
ipinsights threshold --model model.bin --fpr 0.01 --alert-basis network
# the two thresholds of score --alert-basis network: one for pairs outside the entity's
# usual networks (flagged first), one for pairs inside them
ipinsights threshold --model model.bin --labeled test_labeled.csv --recall 0.995
# the threshold that catches 99.5% of the anomalies (label 1) with the fewest flags`,
		run: runThreshold,
	})
}

// fprReport is what threshold --fpr prints, also as JSON.
type fprReport struct {
	Threshold float64 `json:"threshold"`
	FPR       float64 `json:"fpr"`
	Pairs     int     `json:"pairs"`
}

// networkFPRReport is what threshold --fpr --alert-basis network prints,
// also as JSON: how pairs outside their entity's usual networks (unseen)
// and inside them are flagged.
type networkFPRReport struct {
	Basis              string      `json:"basis"`
	FPR                float64     `json:"fpr"`
	Pairs              int         `json:"pairs"`
	UnseenNetworkShare float64     `json:"unseen_network_share"`
	UnseenNetwork      networkSide `json:"unseen_network"`
	UsualNetwork       networkSide `json:"usual_network"`
}

// networkSide says which pairs of one kind a network rule flags: "all",
// "none", or those "below" Threshold (flag dot_product < threshold).
type networkSide struct {
	Flag      string   `json:"flag"`
	Threshold *float64 `json:"threshold,omitempty"`
}

func newNetworkSide(below float64) networkSide {
	switch {
	case math.IsInf(below, 1):
		return networkSide{Flag: "all"}
	case math.IsInf(below, -1):
		return networkSide{Flag: "none"}
	}
	return networkSide{Flag: "below", Threshold: &below}
}

func (n networkSide) String() string {
	switch n.Flag {
	case "all":
		return "all flagged"
	case "none":
		return "none flagged"
	}
	return fmt.Sprintf("flag dot_product < %g", *n.Threshold)
}

// targetReport is what threshold --precision or --recall prints, also as
// JSON: eval's metrics at the threshold picked, and the target.
type targetReport struct {
	evalMetrics
	TargetPrecision *float64 `json:"target_precision,omitempty"`
	TargetRecall    *float64 `json:"target_recall,omitempty"`
}

func runThreshold(ctx context.Context, e *env, args []string) error {
	c := commands["threshold"]
	fs := newFlagSet(c, e)
	modelPath := fs.String("model", "", "the model file")
	fpr := fs.Float64("fpr", 0, "false-positive rate: the share of normal pairs to flag, between 0 and 1 (0.01 = 1%)")
	normalPath := fs.String("normal", "", "with --fpr: normal entity,ip rows to take the rate of (default: the model's calibration pairs)")
	labeledPath := fs.String("labeled", "", "entity,ip,label[,kind] rows (label 1 = anomaly, 0 = normal; - for stdin), with --precision or --recall")
	precision := fs.Float64("precision", 0, "with --labeled: the threshold that flags the most rows at this precision or better")
	recall := fs.Float64("recall", 0, "with --labeled: the threshold that reaches this recall with the fewest flagged rows")
	header := fs.Bool("header", false, "the labeled file's first row is a header")
	lenient := fs.Bool("lenient", false, "skip malformed rows (counted on stderr) instead of failing")
	basisName := fs.String("alert-basis", "dot_product", "with --fpr: dot_product (one threshold) or network (one for pairs outside the entity's usual\nnetworks, flagged first, one for the others; needs a network history, as score --alert-basis network)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *modelPath == "" {
		return usagef("--model is required")
	}
	switch n := btoi(set["fpr"]) + btoi(set["precision"]) + btoi(set["recall"]); {
	case n == 0:
		return usagef("give --fpr, or --labeled with --precision or --recall")
	case n > 1:
		return usagef("give one of --fpr, --precision and --recall")
	}
	switch {
	case set["fpr"] && !(*fpr > 0 && *fpr < 1):
		return usagef("--fpr %v: want a rate between 0 and 1, exclusive (0.01 flags 1%% of normal pairs)", *fpr)
	case set["precision"] && !(*precision > 0 && *precision <= 1):
		return usagef("--precision %v: want a value above 0, at most 1", *precision)
	case set["recall"] && !(*recall > 0 && *recall <= 1):
		return usagef("--recall %v: want a value above 0, at most 1", *recall)
	case set["fpr"] && *labeledPath != "":
		return usagef("--labeled picks a threshold for --precision or --recall; --fpr takes the rate of normal rows (--normal)")
	case !set["fpr"] && *labeledPath == "":
		return usagef("--precision and --recall need --labeled")
	case !set["fpr"] && *normalPath != "":
		return usagef("--normal goes with --fpr")
	case *header && *labeledPath == "":
		return usagef("--header applies to --labeled")
	case set["alert-basis"] && !set["fpr"]:
		return usagef("--alert-basis goes with --fpr")
	case *basisName == "percentile":
		return usagef("--alert-basis percentile has a threshold per entity, not one: score --alert-fpr RATE --alert-basis percentile applies it")
	case *basisName != "dot_product" && *basisName != "network":
		return usagef("--alert-basis %q: want dot_product or network", *basisName)
	}
	if err := checkFiles([]file{{"--model", *modelPath}, {"--normal", *normalPath}, {"--labeled", *labeledPath}}); err != nil {
		return err
	}
	m, err := ipinsights.LoadFile(*modelPath)
	if err != nil {
		return err
	}
	if !set["fpr"] {
		return thresholdForTarget(ctx, e, m, *labeledPath, *header, *lenient, set["precision"], *precision, *recall, *asJSON)
	}

	cal, source := m.Calibration(), "the calibration pairs of "+*modelPath
	if *normalPath != "" {
		normal, err := loadDataset(ctx, e, *normalPath, *lenient)
		if err != nil {
			return err
		}
		if cal, err = m.Calibrate(ctx, normal, nil); err != nil {
			return fmt.Errorf("%s: %w", inputName(*normalPath), err)
		}
		source = "the pairs of " + inputName(*normalPath)
		if n := cal.Skipped(); n > 0 {
			source += fmt.Sprintf(", less %s of entities unseen in training", plural.Count(int(n), "pair", "pairs"))
		}
	}
	if cal == nil {
		return notCalibrated(ipinsights.ErrNotCalibrated, *modelPath, "give --normal FILE")
	}
	if *basisName == "network" {
		return networkThreshold(e, m.WithCalibration(cal), *modelPath, *fpr, source, *asJSON)
	}
	th, err := cal.Threshold(*fpr)
	if err != nil {
		return err
	}
	rep := fprReport{Threshold: th, FPR: *fpr, Pairs: cal.Pairs()}
	if *asJSON {
		return writeJSON(e.stdout, rep)
	}
	fmt.Fprintf(e.stdout, "threshold            %g (flag dot_product < %g)\n", th, th)
	fmt.Fprintf(e.stdout, "false-positive rate  %g of %s (%s)\n", *fpr, plural.Count(rep.Pairs, "normal pair", "normal pairs"), source)
	return nil
}

// networkThreshold prints the thresholds of the network rule of rate fpr
// of m, calibrated on source.
func networkThreshold(e *env, m *ipinsights.Model, modelPath string, fpr float64, source string, asJSON bool) error {
	rule, err := m.AlertRule(fpr, ipinsights.AlertByNetwork)
	if err != nil {
		return noNetworkCalibration(err, m, modelPath)
	}
	share, pairs, _ := m.Calibration().UnseenNetworkShare()
	unseen, seen := rule.NetworkThresholds()
	rep := networkFPRReport{Basis: rule.Basis().String(), FPR: fpr, Pairs: pairs, UnseenNetworkShare: share,
		UnseenNetwork: newNetworkSide(unseen), UsualNetwork: newNetworkSide(seen)}
	if asJSON {
		return writeJSON(e.stdout, rep)
	}
	w := e.stdout
	fmt.Fprintf(w, "unusual network      %s (%.2f%% of the normal pairs: address in none of the entity's usual networks)\n", rep.UnseenNetwork, 100*share)
	fmt.Fprintf(w, "usual network        %s\n", rep.UsualNetwork)
	fmt.Fprintf(w, "false-positive rate  %g of %s (%s)\n", fpr, plural.Count(pairs, "normal pair", "normal pairs"), source)
	return nil
}

// thresholdForTarget picks the threshold of a precision (byPrecision) or
// recall on the labeled file and prints it.
func thresholdForTarget(ctx context.Context, e *env, m *ipinsights.Model, path string, header, lenient, byPrecision bool, precision, recall float64, asJSON bool) error {
	lab, err := scoreLabeled(ctx, e, m, path, header, lenient)
	if err != nil {
		return headerHint(err, inputName(path), header)
	}
	var ev ipinsights.Evaluation
	rep := targetReport{}
	if byPrecision {
		ev, err = ipinsights.ThresholdForPrecision(lab.dots, lab.anomalous, precision)
		rep.TargetPrecision = &precision
	} else {
		ev, err = ipinsights.ThresholdForRecall(lab.dots, lab.anomalous, recall)
		rep.TargetRecall = &recall
	}
	var ue *ipinsights.UnreachableError
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: no threshold reaches precision %g: the best is %.4f (at recall %.4f)", inputName(path), ue.Target, ue.Best, ue.BestRecall)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", inputName(path), err)
	}
	rep.evalMetrics = newEvalMetrics(&ev)
	if asJSON {
		return writeJSON(e.stdout, rep)
	}
	target := fmt.Sprintf("recall %g, with the fewest flagged rows", recall)
	if byPrecision {
		target = fmt.Sprintf("precision %g, with the most flagged rows", precision)
	}
	w := e.stdout
	fmt.Fprintf(w, "threshold            %g (flag dot_product < %g; target %s)\n", ev.Threshold, ev.Threshold, target)
	fmt.Fprintf(w, "precision            %.4f\n", ev.Precision)
	fmt.Fprintf(w, "recall               %.4f\n", ev.Recall)
	fmt.Fprintf(w, "false-positive rate  %.4f\n", ev.FPR)
	fmt.Fprintf(w, "confusion            TP %d  FP %d  TN %d  FN %d\n", ev.TP, ev.FP, ev.TN, ev.FN)
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
