package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"

	"github.com/ipinsights/ipinsights-go/csvio"
	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/internal/plural"
	"github.com/ipinsights/ipinsights-go/internal/stats"
	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/ipinsights/ipinsights-go/synth"
)

func init() {
	register(&command{
		name:    "eval",
		summary: "evaluate a model on labeled entity,ip,label rows (1 = anomaly)",
		usage:   "--model FILE --labeled FILE [--header] [--lenient] [--threshold T] [--json] [--roc roc.png] [--hist hist.png]",
		example: `ipinsights eval --model model.bin --labeled test_labeled.csv --roc roc.png --hist hist.png
# prints AUC, and precision, recall and false-positive rate when flagging dot_product < threshold`,
		run: runEval,
	})
}

// labeled holds the scored rows of a labeled file.
type labeled struct {
	dots      []float64
	anomalous []bool
	kinds     []string // 4th column, when present
	unseen    int
	skipped   int // malformed rows skipped in lenient mode
}

func runEval(ctx context.Context, e *env, args []string) error {
	c := commands["eval"]
	fs := newFlagSet(c, e)
	modelPath := fs.String("model", "", "the model file")
	labeledPath := fs.String("labeled", "", "entity,ip,label[,kind] rows; label 1 = anomaly, 0 = normal (- for stdin)")
	threshold := fs.Float64("threshold", 0, "flag rows whose dot_product is below this")
	asJSON := fs.Bool("json", false, "print the results as JSON")
	roc := fs.String("roc", "", "write the ROC curve as PNG to this file")
	hist := fs.String("hist", "", "write histograms of normal and anomalous scores as PNG to this file")
	header := fs.Bool("header", false, "the labeled file's first row is a header")
	lenient := fs.Bool("lenient", false, "skip malformed rows and bad labels (counted on stderr) instead of failing")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *modelPath == "" || *labeledPath == "" {
		return usagef("--model and --labeled are required")
	}
	if math.IsNaN(*threshold) || math.IsInf(*threshold, 0) {
		return usagef("--threshold must be a finite number")
	}
	ins := []file{{"--model", *modelPath}, {"--labeled", *labeledPath}}
	if err := checkFiles(ins, file{"--roc", *roc}, file{"--hist", *hist}); err != nil {
		return err
	}
	m, err := ipinsights.LoadFile(*modelPath)
	if err != nil {
		return err
	}
	lab, err := scoreLabeled(ctx, e, m, *labeledPath, *header, *lenient)
	if err != nil {
		return headerHint(err, inputName(*labeledPath), *header)
	}
	ev, err := ipinsights.Evaluate(lab.dots, lab.anomalous, *threshold)
	if err != nil {
		return fmt.Errorf("%s: %w", *labeledPath, err)
	}
	rep := newEvalReport(ev, lab)
	if *roc != "" {
		if err := writeROC(*roc, lab.dots, lab.anomalous, ev.AUC); err != nil {
			return fmt.Errorf("writing %s: %w", *roc, err)
		}
	}
	if *hist != "" {
		if err := writeHistogram(*hist, lab.dots, lab.anomalous); err != nil {
			return fmt.Errorf("writing %s: %w", *hist, err)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	rep.print(e.stdout)
	return nil
}

// scoreLabeled reads and scores a labeled file; skipped rows of a lenient
// read are reported on stderr.
func scoreLabeled(ctx context.Context, e *env, m *ipinsights.Model, path string, header, lenient bool) (*labeled, error) {
	r, err := openCSV(e, path, csvio.Options{MinFields: 3, MaxFields: -1, Header: header, Lenient: lenient})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	lab := &labeled{}
	var tuples []embedding.Tuple
	kinds := map[string]string{} // interned
	for r.Next() {
		f := r.Fields()
		a, err := csvio.ParseLabel(f[2])
		if err != nil {
			if err := r.Reject(csvio.BadLabel, fmt.Sprintf("%q (want 0 for normal, 1 for anomaly)", f[2])); err != nil {
				return nil, err
			}
			continue
		}
		lab.anomalous = append(lab.anomalous, a)
		k := ""
		if len(f) > 3 {
			var ok bool
			if k, ok = kinds[string(f[3])]; !ok {
				k = string(f[3])
				kinds[k] = k
			}
		}
		lab.kinds = append(lab.kinds, k)
		tuples = append(tuples, embedding.NewTupleBytes(f[0], r.Addr()))
		if len(tuples)%(1<<16) == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	if s := r.Skipped(); s.Total() > 0 {
		fmt.Fprintln(e.stderr, s.String())
		lab.skipped = s.Total()
	}
	if len(kinds) == 0 {
		lab.kinds = nil // no file row has a kind column
	}
	res := m.ScoreTuples(nil, tuples)
	lab.dots = make([]float64, len(res))
	for i, x := range res {
		lab.dots[i] = x.DotProduct
		if !x.EntitySeen {
			lab.unseen++
		}
	}
	return lab, nil
}

// evalMetrics are the metrics of an ipinsights.Evaluation under the JSON
// keys of eval --json; parity --json reports each side's evaluation with
// the same type, so that both commands name a metric alike.
type evalMetrics struct {
	Rows              int       `json:"rows"`
	Anomalous         int       `json:"anomalous"`
	AUC               jsonFloat `json:"auc"`
	Threshold         float64   `json:"threshold"`
	Precision         jsonFloat `json:"precision"`
	Recall            jsonFloat `json:"recall"`
	FalsePositiveRate jsonFloat `json:"false_positive_rate"`
	TP                int       `json:"true_positives"`
	FP                int       `json:"false_positives"`
	TN                int       `json:"true_negatives"`
	FN                int       `json:"false_negatives"`
}

func newEvalMetrics(ev *ipinsights.Evaluation) evalMetrics {
	return evalMetrics{
		Rows: ev.N, Anomalous: ev.Anomalies, AUC: jsonFloat(ev.AUC), Threshold: ev.Threshold,
		Precision: jsonFloat(ev.Precision), Recall: jsonFloat(ev.Recall), FalsePositiveRate: jsonFloat(ev.FPR),
		TP: ev.TP, FP: ev.FP, TN: ev.TN, FN: ev.FN,
	}
}

// evalReport is what eval prints, also as JSON.
type evalReport struct {
	evalMetrics
	UnseenEntities int `json:"rows_with_unseen_entity"`
	// SkippedRows counts the malformed rows --lenient passed over.
	SkippedRows int           `json:"skipped_rows,omitempty"`
	ByKind      []kindSummary `json:"by_kind,omitempty"`
	// Ceiling is the best AUC any detector can reach when rows of kind
	// "travel" are drawn exactly as attacks are (synthetic data).
	Ceiling *float64 `json:"auc_ceiling,omitempty"`
}

type kindSummary struct {
	Kind    string    `json:"kind"`
	Rows    int       `json:"rows"`
	Flagged float64   `json:"flagged_share"`
	MeanDot jsonFloat `json:"mean_dot_product"`
	Median  jsonFloat `json:"median_dot_product"`
	// AnomalousShare is the share of the kind's rows labeled 1.
	AnomalousShare float64 `json:"anomalous_share"`
}

// jsonFloat encodes NaN as null.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(f))
}

func newEvalReport(ev ipinsights.Evaluation, lab *labeled) *evalReport {
	rep := &evalReport{evalMetrics: newEvalMetrics(&ev), UnseenEntities: lab.unseen, SkippedRows: lab.skipped}
	if len(lab.kinds) == 0 {
		return rep
	}
	byKind := map[string][]int{}
	for i, k := range lab.kinds {
		byKind[k] = append(byKind[k], i)
	}
	travel := 0 // normal rows of kind "travel"
	for k, idx := range byKind {
		s := kindSummary{Kind: k, Rows: len(idx)}
		ds := make([]float64, len(idx))
		flagged, anomalous := 0, 0
		sum := 0.0
		for j, i := range idx {
			ds[j] = lab.dots[i]
			sum += lab.dots[i]
			if lab.dots[i] < ev.Threshold {
				flagged++
			}
			if lab.anomalous[i] {
				anomalous++
			} else if k == "travel" {
				travel++
			}
		}
		s.Flagged = float64(flagged) / float64(len(idx))
		s.AnomalousShare = float64(anomalous) / float64(len(idx))
		s.MeanDot = jsonFloat(sum / float64(len(idx)))
		s.Median = jsonFloat(stats.Median(ds))
		rep.ByKind = append(rep.ByKind, s)
	}
	sort.Slice(rep.ByKind, func(i, j int) bool { return rep.ByKind[i].Kind < rep.ByKind[j].Kind })
	if normal := ev.N - ev.Anomalies; travel > 0 && normal > 0 {
		c := synth.CeilingFor(float64(travel) / float64(normal))
		rep.Ceiling = &c
	}
	return rep
}

func (r *evalReport) print(w io.Writer) {
	fmt.Fprintf(w, "rows                 %d (%d anomalous, %d normal)\n", r.Rows, r.Anomalous, r.Rows-r.Anomalous)
	if r.SkippedRows > 0 {
		fmt.Fprintf(w, "skipped              %s (malformed; see above)\n", plural.Count(r.SkippedRows, "row", "rows"))
	}
	if r.UnseenEntities > 0 {
		fmt.Fprintf(w, "unseen entities      %s absent from training: %s no information\n",
			plural.Count(r.UnseenEntities, "row has an entity", "rows have entities"), plural.Noun(r.UnseenEntities, "its score carries", "their scores carry"))
	}
	fmt.Fprintf(w, "AUC                  %.4f\n", float64(r.AUC))
	if r.Ceiling != nil {
		gap, side := *r.Ceiling-float64(r.AUC), "below"
		if gap < 0 { // possible: attack users are drawn uniformly, travel is not
			gap, side = -gap, "above"
		}
		fmt.Fprintf(w, "AUC ceiling          %.4f (travel rows look exactly like attacks; this model is %.4f %s)\n", *r.Ceiling, gap, side)
	}
	fmt.Fprintf(w, "threshold            %g (flag dot_product < %g)\n", r.Threshold, r.Threshold)
	fmt.Fprintf(w, "precision            %.4f\n", float64(r.Precision))
	fmt.Fprintf(w, "recall               %.4f\n", float64(r.Recall))
	fmt.Fprintf(w, "false-positive rate  %.4f\n", float64(r.FalsePositiveRate))
	fmt.Fprintf(w, "confusion            TP %d  FP %d  TN %d  FN %d\n", r.TP, r.FP, r.TN, r.FN)
	if len(r.ByKind) > 0 {
		fmt.Fprintf(w, "\n%-10s %8s %8s %12s %12s\n", "kind", "rows", "flagged", "mean dot", "median dot")
		for _, k := range r.ByKind {
			fmt.Fprintf(w, "%-10s %8d %8.4f %12.3f %12.3f\n", k.Kind, k.Rows, k.Flagged, float64(k.MeanDot), float64(k.Median))
		}
	}
}
