package main

import (
	"context"
	"encoding/json"
	"math"

	"github.com/ipinsights/ipinsights-go/sagemaker"
)

func init() {
	register(&command{
		name:    "parity",
		summary: "compare our scores with SageMaker's outputs (no AWS calls)",
		usage:   "--ours FILE --sagemaker FILE [--sagemaker FILE ...] [--labeled FILE [--header]] [--top-k K] [--threshold T] [--json]",
		example: `ipinsights score --model model.bin --input test.csv --output ours.csv
ipinsights parity --ours ours.csv --sagemaker test.csv.out --labeled test_labeled.csv`,
		run: runParity,
	})
}

func runParity(ctx context.Context, e *env, args []string) error {
	c := commands["parity"]
	fs := newFlagSet(c, e)
	ours := fs.String("ours", "", "our scores: CSV with a header naming dot_product, as the score command writes")
	var sm multiFlag
	fs.Var(&sm, "sagemaker", "SageMaker's scores: a batch transform .out file, saved endpoint responses (JSON or JSON lines), or CSV with a dot_product column; repeat for several files, read in order")
	labeled := fs.String("labeled", "", "optional entity,ip,label file (label 1 = anomaly) for the same rows")
	header := fs.Bool("header", false, "the labeled file's first line is a header")
	cmp := compareFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *ours == "" || len(sm) == 0 {
		return usagef("--ours and --sagemaker are required")
	}
	if err := cmp.check(); err != nil {
		return err
	}
	lab := sagemaker.RowsFile{Path: *labeled, Header: *header}
	p, err := sagemaker.CompareFiles(*ours, sm, lab, cmp.options())
	if err != nil {
		return headerHint(err, lab.Path, *header)
	}
	return writeParity(e, p, *cmp.json)
}

type compareFlagSet struct {
	topK      *int
	threshold *float64
	json      *bool
}

func compareFlags(fs interface {
	Int(string, int, string) *int
	Float64(string, float64, string) *float64
	Bool(string, bool, string) *bool
}) compareFlagSet {
	return compareFlagSet{
		topK:      fs.Int("top-k", sagemaker.DefaultTopK, "number of most anomalous rows (lowest dot products) whose overlap is reported"),
		threshold: fs.Float64("threshold", 0, "flag a row as anomalous when its dot_product is below this"),
		json:      fs.Bool("json", false, "write the report as JSON"),
	}
}

// check refuses values that would give a meaningless report.
func (c compareFlagSet) check() error {
	if *c.topK < 1 {
		return usagef("--top-k %d: want 1 or more", *c.topK)
	}
	if math.IsNaN(*c.threshold) || math.IsInf(*c.threshold, 0) {
		return usagef("--threshold must be a finite number")
	}
	return nil
}

func (c compareFlagSet) options() sagemaker.CompareOptions {
	return sagemaker.CompareOptions{TopK: *c.topK, Threshold: *c.threshold}
}

// writeParity prints the report as text or JSON on stdout.
func writeParity(e *env, p *sagemaker.Parity, asJSON bool) error {
	if !asJSON {
		return p.WriteText(e.stdout)
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(parityJSON(p))
}

// parityJSON is the report with NaN (undefined statistics) as null. Each
// side's evaluation has the keys of eval --json.
func parityJSON(p *sagemaker.Parity) map[string]any {
	m := map[string]any{
		"rows": p.N, "spearman": num(p.Spearman), "kendall_tau_b": num(p.KendallTauB), "pearson": num(p.Pearson),
		"top_k": p.TopK, "top_k_shared": p.TopKShared, "top_k_overlap": num(p.TopKOverlap),
		"threshold": p.Threshold, "flag_agreement": num(p.FlagAgreement),
	}
	if p.Ours != nil {
		m["ours"], m["sagemaker"] = newEvalMetrics(p.Ours), newEvalMetrics(p.SageMaker)
	}
	if p.SeenOnly != nil {
		m["seen_only"] = parityJSON(p.SeenOnly)
	}
	return m
}

func num(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return f
}
