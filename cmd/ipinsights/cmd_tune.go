package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ipinsights/ipinsights-go/csvio"
	"github.com/ipinsights/ipinsights-go/internal/atomicfile"
	"github.com/ipinsights/ipinsights-go/internal/plural"
	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/ipinsights/ipinsights-go/tune"
)

func init() {
	register(&command{
		name:    "tune",
		summary: "search hyperparameters as SageMaker's automatic model tuning does; writes the best model and hyperparameters.json",
		usage: `--train FILE --validation FILE --max-jobs N --out DIR [--hp key=value ...] [--range key=min:max[:log] ...]
       [--strategy bayesian|random|hyperband] [--seed S] [--objective discriminator_auc|attack_auc --labeled FILE]

Maximises validation:discriminator_auc, SageMaker's objective for IP Insights, over
AMT's recommended ranges: epochs 1:100, learning_rate 1e-4:0.1, mini_batch_size
100:50000, num_entity_vectors 10000:1000000, num_ip_encoder_layers 1:10, random and
shuffled_negative_sampling_rate 0:10, vector_dim 8:256, weight_decay 0:1. --hp fixes a
hyperparameter; --range narrows a range (never widens it).

The discriminator AUC measures how well a model tells real pairs from random
addresses (synthetic negatives), not from attacks. With labeled data,
--objective attack_auc --labeled FILE tunes for telling labeled attacks apart
instead; a model tuned on the rows it is then judged on looks better than it is.

Trials run one after another on every CPU; the same --seed gives the same trials.
Early stopping (AMT's median rule, default on with the discriminator objective,
except with hyperband) stops a trial whose validation AUC after an epoch is below
the median of the earlier trials' running averages at that epoch. --start FILE.json
makes the first trial a configuration you know (the search then tries to beat it). Writes DIR/hyperparameters.json (for train
--hyperparameters and sagemaker train), DIR/model.bin and DIR/trials.csv. The best
model gets a network history and a calibration, as train gives them.`,
		example: `ipinsights gen logins --users 2000 --seed 1 --out data
ipinsights tune --train data/train.csv --validation data/validation.csv --max-jobs 20 --out tuned \
    --range epochs=1:10 --range num_ip_encoder_layers=1:2
ipinsights eval --model tuned/model.bin --labeled data/test_labeled.csv`,
		run: runTune,
	})
}

func runTune(ctx context.Context, e *env, args []string) error {
	c := commands["tune"]
	fs := newFlagSet(c, e)
	trainPath := fs.String("train", "", "training data: entity,ip rows, no header (.gz ok)")
	validPath := fs.String("validation", "", "validation data, same format: scored after every epoch (validation:discriminator_auc)")
	hpFile := fs.String("hyperparameters", "", "a hyperparameters.json file of fixed hyperparameters")
	var hps multiFlag
	fs.Var(&hps, "hp", "a fixed hyperparameter key=value (repeatable; overrides --hyperparameters); fixed ones are not tuned")
	sf := addSearchFlags(fs, "trials", "AMT", "default auto, but off with hyperband, with attack_auc and without --validation")
	seed := fs.Uint64("seed", 1, "seed of the search; the training seed of every trial is --hp seed (default 1)")
	objective := fs.String("objective", "discriminator_auc", "discriminator_auc (validation:discriminator_auc, AMT's) or attack_auc (needs --labeled)")
	labeledPath := fs.String("labeled", "", "labeled rows entity,ip,label[,kind] (label 1 = attack) for --objective attack_auc")
	header := fs.Bool("header", false, "the --labeled file's first row is a header")
	startFile := fs.String("start", "", "a hyperparameters.json to train as the first trial (say, what you run today), so the search starts from it; tuned hyperparameters it lacks take their defaults")
	maxRuntime := fs.Duration("max-runtime", 0, "stop a trial that trains longer (a training job's stopping condition); 0: no limit. Makes the search depend on the machine's speed")
	out := fs.String("out", "", "directory for hyperparameters.json, model.bin and trials.csv (created if missing)")
	lenient := fs.Bool("lenient", false, "skip malformed rows (counted on stderr) instead of failing")
	quiet := fs.Bool("quiet", false, "no progress output")
	noHistory := fs.Bool("no-network-history", false, "do not store each entity's usual networks in the best model (as train)")
	noCalib := fs.Bool("no-calibration", false, "do not calibrate the best model: by default it keeps the score distribution of the --validation pairs (as train)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	opts := tune.Options{MaxJobs: *sf.maxJobs, Seed: *seed, MinEpochs: *sf.minEpochs, MaxTrialRuntime: *maxRuntime}
	if *trainPath == "" || *out == "" {
		return usagef("--train and --out are required")
	}
	var err error
	if opts.Strategy, err = sf.check(); err != nil {
		return err
	}
	if *maxRuntime < 0 {
		return usagef("--max-runtime %s: want a positive duration, or 0 for no limit", *maxRuntime)
	}
	switch *objective {
	case "discriminator_auc", string(tune.DiscriminatorAUC):
		opts.Objective = tune.DiscriminatorAUC
		if *validPath == "" {
			return usagef("--validation is required: the objective validation:discriminator_auc is measured on it")
		}
		if *labeledPath != "" {
			return usagef("--labeled is for --objective attack_auc")
		}
	case "attack_auc":
		opts.Objective = tune.AttackAUC
		if *labeledPath == "" {
			return usagef("--objective attack_auc needs --labeled FILE")
		}
	default:
		return usagef("--objective %q: want discriminator_auc or attack_auc", *objective)
	}
	// The median rule judges the per-epoch validation AUC, which is the
	// attack_auc objective's only by proxy.
	if opts.EarlyStopping, err = sf.earlyStopping(opts.Strategy, opts.Strategy != tune.Hyperband && *validPath != "" && opts.Objective == tune.DiscriminatorAUC); err != nil {
		return err
	}
	if opts.EarlyStopping && *validPath == "" {
		return usagef("--early-stopping auto judges trials by their validation AUC: give --validation")
	}
	if opts.Strategy == tune.Hyperband && *validPath == "" {
		return usagef("--strategy hyperband judges trials by their validation AUC: give --validation")
	}
	if opts.Static, err = hyperparameterFlags(*hpFile, hps); err != nil {
		return err
	}
	if opts.Ranges, err = sf.parseRanges(); err != nil {
		return err
	}
	space, err := tune.NewSpace(opts.Static, opts.Ranges, opts.Strategy)
	if err != nil {
		return usagef("%s", strings.TrimPrefix(err.Error(), "tune: "))
	}
	if *startFile != "" {
		if opts.Start, err = ipinsights.ReadHyperparametersFile(*startFile); err != nil {
			return err
		}
		if _, _, err := space.Start(opts.Start); err != nil {
			return usagef("--start %s: %s", *startFile, strings.TrimPrefix(err.Error(), "tune: start: "))
		}
	}
	hpOut, modelOut, trialsOut := filepath.Join(*out, "hyperparameters.json"), filepath.Join(*out, "model.bin"), filepath.Join(*out, "trials.csv")
	ins := []file{{"--train", *trainPath}, {"--validation", *validPath}, {"--labeled", *labeledPath}, {"--hyperparameters", *hpFile}, {"--start", *startFile}}
	if err := checkOutputDir(file{"--out", *out}); err != nil {
		return err
	}
	if _, err := os.Stat(*out); err == nil { // a new directory holds no input
		if err := checkFiles(ins, file{"--out", hpOut}, file{"--out", modelOut}, file{"--out", trialsOut}); err != nil {
			return err
		}
	}

	var data tune.Data
	if data.Train, err = loadDataset(ctx, e, *trainPath, *lenient); err != nil {
		return err
	}
	if *validPath != "" {
		if data.Validation, err = loadDataset(ctx, e, *validPath, *lenient); err != nil {
			return err
		}
	}
	if *labeledPath != "" {
		if data.Labeled, err = loadLabeled(ctx, e, *labeledPath, *header, *lenient); err != nil {
			return err
		}
	}
	if !*quiet {
		fmt.Fprintf(e.stderr, "tuning %s over %s (%s strategy, %s, early stopping %s); %s\n",
			strings.Join(space.Names(), ", "), plural.Count(*sf.maxJobs, "trial", "trials"), strings.ToLower(string(opts.Strategy)),
			opts.Objective, onOff(opts.EarlyStopping), plural.Count(data.Train.Len(), "training row", "training rows"))
		opts.Progress = &tuneProgress{w: e.stderr, tty: e.stderrIsTerminal, names: space.Names()}
	}
	res, err := tune.Run(ctx, data, opts)
	if res == nil {
		return err
	}
	printTrials(e.stdout, res)
	if res.Best < 0 {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	// The best model gets what train gives a model: its network history
	// and calibration. A search cut short writes its best model at once,
	// without them.
	var notes []string
	var calibErr error
	if ctx.Err() == nil {
		var xerr error
		res.Model, notes, calibErr, xerr = addExtras(ctx, res.Model, extrasOptions{data: data.Train, valid: data.Validation, noHistory: *noHistory, noCalib: *noCalib})
		if xerr != nil {
			return xerr
		}
	} else {
		notes = append(notes, "note: the search was cut short: the best model has no network history and no calibration (ipinsights calibrate adds one)")
	}
	if werr := writeTuneOutputs(res, hpOut, modelOut, trialsOut); werr != nil {
		return werr
	}
	best := res.BestTrial()
	fmt.Fprintf(e.stderr, "best: trial %d, %s=%.4f; wrote %s, %s and %s\n", best.Number, res.Objective, best.Objective, hpOut, modelOut, trialsOut)
	if !*quiet {
		for _, n := range notes {
			fmt.Fprintln(e.stderr, n)
		}
	}
	if calibErr != nil { // even with --quiet
		fmt.Fprintf(e.stderr, "note: the best model is not calibrated: %v\n", calibErr)
	}
	return err // the context's, when the search was cut short
}

func onOff(b bool) string {
	if b {
		return "auto"
	}
	return "off"
}

// loadLabeled reads a labeled file; skipped rows of a lenient read are
// reported on stderr.
func loadLabeled(ctx context.Context, e *env, path string, header, lenient bool) (*tune.Labeled, error) {
	r, err := openCSV(e, path, csvio.Options{MinFields: 3, MaxFields: -1, Header: header, Lenient: lenient})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	l, err := tune.ReadLabeled(ctx, r)
	if s := r.Skipped(); s.Total() > 0 {
		fmt.Fprintln(e.stderr, s.String())
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}

// writeTuneOutputs writes the best hyperparameters, the best model and the
// table of trials.
func writeTuneOutputs(res *tune.Result, hpOut, modelOut, trialsOut string) error {
	if err := writeHyperparameters(hpOut, res.BestHyperparameters()); err != nil {
		return err
	}
	if err := res.Model.SaveFile(modelOut); err != nil {
		return err
	}
	f, err := atomicfile.Create(trialsOut)
	if err != nil {
		return err
	}
	defer f.Abort() // an earlier trials.csv stays as it was unless this one is complete
	w := csv.NewWriter(f)
	names := res.Space.Names()
	w.Write(append([]string{"trial", "status", string(res.Objective), "seconds", "epochs_done", "reason"}, names...))
	for _, t := range res.Trials {
		rec := []string{strconv.Itoa(t.Number), string(t.Status), fmtObjective(t.Objective, 'g', -1),
			strconv.FormatFloat(t.Duration.Seconds(), 'f', 1, 64), strconv.Itoa(len(t.Epochs)), t.Reason}
		for _, n := range names {
			rec = append(rec, t.Hyperparameters[n])
		}
		w.Write(rec)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	return f.Commit()
}

// writeHyperparameters writes hp as the indented JSON object that train
// --hyperparameters and sagemaker train read, replacing path only once it
// is complete.
func writeHyperparameters(path string, hp map[string]string) error {
	b, err := json.MarshalIndent(hp, "", "  ")
	if err != nil {
		return err
	}
	f, err := atomicfile.Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(append(b, '\n')); err != nil {
		return err
	}
	return f.Commit()
}

func fmtObjective(v float64, format byte, prec int) string {
	if math.IsNaN(v) {
		return ""
	}
	return strconv.FormatFloat(v, format, prec, 64)
}

// shortNames abbreviate the tuned hyperparameters in the table.
var shortNames = map[string]string{
	"num_entity_vectors": "entity_vectors", "vector_dim": "dim", "epochs": "epochs", "learning_rate": "lr",
	"mini_batch_size": "batch", "num_ip_encoder_layers": "layers", "random_negative_sampling_rate": "R",
	"shuffled_negative_sampling_rate": "S", "weight_decay": "wd",
}

// printTrials writes the table of trials; the best is marked with *.
func printTrials(w io.Writer, res *tune.Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	names := res.Space.Names()
	head := []string{"trial", "status", "objective", "seconds"}
	for _, n := range names {
		head = append(head, shortNames[n])
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for i, t := range res.Trials {
		mark := ""
		if i == res.Best {
			mark = "*"
		}
		status := string(t.Status)
		if t.Status == tune.Stopped && len(t.Epochs) > 0 {
			status = fmt.Sprintf("stopped@%d", len(t.Epochs))
		}
		row := []string{strconv.Itoa(t.Number) + mark, status, fmtObjective(t.Objective, 'f', 4), fmt.Sprintf("%.1f", t.Duration.Seconds())}
		for _, n := range names {
			row = append(row, t.Hyperparameters[n])
		}
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	tw.Flush()
	fmt.Fprintf(w, "objective: %s; * best completed trial; stopped@N: stopped early after N epochs\n", res.Objective)
	printColumnLegend(w, names)
}

// printColumnLegend says which hyperparameter each abbreviated column of a
// table of trials is.
func printColumnLegend(w io.Writer, names []string) {
	var legend []string
	for _, n := range names {
		if shortNames[n] != n {
			legend = append(legend, shortNames[n]+"="+n)
		}
	}
	if len(legend) > 0 {
		fmt.Fprintf(w, "columns: %s\n", strings.Join(legend, ", "))
	}
}

// tuneProgress prints a line per trial on stderr, and the epochs of the
// running trial on a terminal.
type tuneProgress struct {
	w     io.Writer
	tty   bool
	names []string
}

func (p *tuneProgress) Record(ev tune.Event) {
	t := ev.Trial
	switch ev.Kind {
	case tune.TrialEpoch:
		if p.tty {
			auc := ""
			if n := len(t.Epochs); n > 0 {
				auc = fmt.Sprintf(" validation:discriminator_auc=%.4f", t.Epochs[n-1])
			}
			fmt.Fprintf(p.w, "\r\033[Ktrial %d/%d: epoch %d done%s (%s)", t.Number, ev.MaxJobs, ev.Metrics.Epoch, auc, t.Duration.Round(100*time.Millisecond))
		}
	case tune.TrialEnd:
		if p.tty {
			fmt.Fprint(p.w, "\r\033[K")
		}
		hp := make([]string, len(p.names))
		for i, n := range p.names {
			hp[i] = n + "=" + t.Hyperparameters[n]
		}
		obj := "objective n/a"
		if !math.IsNaN(t.Objective) {
			obj = fmt.Sprintf("objective %.4f", t.Objective)
		}
		best := ""
		if !math.IsNaN(ev.Best) {
			best = fmt.Sprintf(", best %.4f", ev.Best)
		}
		status := string(t.Status)
		if t.Reason != "" {
			status += " (" + t.Reason + ")"
		}
		fmt.Fprintf(p.w, "trial %d/%d %s: %s%s, %s; %s\n", t.Number, ev.MaxJobs, status, obj, best,
			t.Duration.Round(100*time.Millisecond), strings.Join(hp, " "))
	}
}
