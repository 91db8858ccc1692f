package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/ipinsights/ipinsights-go/csvio"
	"github.com/ipinsights/ipinsights-go/internal/plural"
	"github.com/ipinsights/ipinsights-go/ipinsights"
)

func init() {
	register(&command{
		name:    "train",
		summary: "train a model on entity,ip CSV rows",
		usage: "--train FILE [--validation FILE] --model OUT [--hp key=value ...] [--hyperparameters FILE.json] [--workers N] [--seed N] [--no-network-history] [--no-calibration] [--stream [--window ROWS]]\n" +
			"       [--init MODEL] [--save-optimizer-state]",
		example: `ipinsights train --train train.csv --validation valid.csv --model model.bin \
    --hp num_entity_vectors=20000 --hp vector_dim=128 --hp epochs=5 \
    --hp mini_batch_size=1000 --hp random_negative_sampling_rate=5 --hp learning_rate=0.01
# the model is calibrated on valid.csv (without --validation: on the training pairs, in sample;
# ipinsights calibrate recalibrates it on held-out traffic)
ipinsights train --init model.bin --train day8.csv --validation day9.csv --model model.bin
# a warm start: continues model.bin on a new day, with its hyperparameters (--hp epochs=2 to change one);
# add --save-optimizer-state to both trainings to continue Adam exactly`,
		run: runTrain,
	})
}

func runTrain(ctx context.Context, e *env, args []string) error {
	c := commands["train"]
	fs := newFlagSet(c, e)
	trainPath := fs.String("train", "", "training data: entity,ip rows, no header (.gz ok; - for stdin)")
	validPath := fs.String("validation", "", "optional validation data, same format: reports validation:discriminator_auc per epoch, and calibrates the model")
	modelPath := fs.String("model", "", "where to write the trained model")
	hpFile := fs.String("hyperparameters", "", "a SageMaker hyperparameters.json file (string values)")
	var hps multiFlag
	fs.Var(&hps, "hp", "a hyperparameter as key=value, SageMaker's names (repeatable; overrides --hyperparameters)")
	workers := fs.Int("workers", 0, "training goroutines (default: all CPUs); does not change the result")
	seed := fs.String("seed", "", "random seed (default 1, or the --init model's); the same seed gives the same model")
	lenient := fs.Bool("lenient", false, "skip malformed rows (counted on stderr) instead of failing")
	quiet := fs.Bool("quiet", false, "no progress output")
	noHistory := fs.Bool("no-network-history", false, "do not store each entity's usual networks (where it logs in from, which explanations use) in the model file")
	noCalib := fs.Bool("no-calibration", false, "do not calibrate: by default the model keeps the score distribution of the --validation pairs\n"+
		"(without --validation: of up to 4,000,000 training pairs, in sample, against which new traffic alerts more often than the rates asked)")
	initPath := fs.String("init", "", "continue training from this model (a warm start): known entities keep their vectors, new ones join; its hyperparameters are the defaults,\n"+
		"and those that shape the model ("+strings.Join(ipinsights.ShapeNames(), ", ")+") must keep its values;\n"+
		"its network history is merged and its calibration recomputed, keeping the entities the new sample lacks. --model may name the same file")
	saveOpt := fs.Bool("save-optimizer-state", false, "store Adam's moments and step count in the model (the file grows to about three times its size), so that\n"+
		"train --init continues exactly where this training stopped; without it, a warm start restarts Adam")
	stream := fs.Bool("stream", false, "read --train again every epoch instead of holding it in memory, shuffling windows of --window consecutive rows (SageMaker's File mode)")
	window := fs.Int("window", 0, fmt.Sprintf("with --stream: rows shuffled together and held in memory, twice while the next are read (default %d, 32 MiB of IPv4 rows)", ipinsights.DefaultWindow))
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *trainPath == "" || *modelPath == "" {
		return usagef("--train and --model are required")
	}
	if *workers < 0 {
		return usagef("--workers: %d is negative", *workers)
	}
	if *stream && *trainPath == "-" {
		return usagef("--stream reads --train again every epoch: give a file, not standard input")
	}
	if *window < 0 || *window > 0 && !*stream {
		return usagef("--window %d: want a number of rows, with --stream", *window)
	}
	hp, err := hyperparameterFlags(*hpFile, hps)
	if err != nil {
		return err
	}
	if _, ok := hp["workers"]; ok {
		return usagef("workers is not a hyperparameter: use --workers")
	}
	if *seed != "" {
		hp["seed"] = *seed
	}
	ins := []file{{"--train", *trainPath}, {"--validation", *validPath}, {"--hyperparameters", *hpFile}}
	if err := checkFiles(ins, file{"--model", *modelPath}); err != nil {
		return err
	}
	// A warm start takes the initial model's hyperparameters, which
	// --hyperparameters and --hp override. The model is read whole before
	// training, so --model may replace it (SaveFile is atomic).
	var init *ipinsights.Model
	cfg := ipinsights.DefaultConfig()
	if *initPath != "" {
		if init, err = ipinsights.LoadFile(*initPath); err != nil {
			return fmt.Errorf("--init %w", err)
		}
		cfg = init.Config()
	}
	if err := cfg.Set(hp); err != nil {
		return usagef("%v", err)
	}
	if init != nil {
		if err := init.CheckWarmStart(cfg); err != nil {
			return usagef("--init %s: %s", *initPath, strings.TrimPrefix(err.Error(), "ipinsights: "))
		}
	}

	start := time.Now()
	var data *ipinsights.Dataset
	if !*stream {
		if data, err = loadDataset(ctx, e, *trainPath, *lenient); err != nil {
			return err
		}
	}
	var valid *ipinsights.Dataset
	if *validPath != "" {
		if valid, err = loadDataset(ctx, e, *validPath, *lenient); err != nil {
			return err
		}
	}
	if !*quiet && data != nil {
		fmt.Fprintf(e.stderr, "read %s in %s\n", plural.Count(data.Len(), "training row", "training rows"), time.Since(start).Round(time.Millisecond))
	}
	var prog ipinsights.Progress
	if !*quiet {
		prog = newProgressPrinter(e.stderr, e.stderrIsTerminal, cfg.Epochs)
	}
	opts := &ipinsights.TrainOptions{Validation: valid, Progress: prog, Workers: *workers, Init: init, SaveOptimizerState: *saveOpt}
	var m *ipinsights.Model
	if *stream {
		var skips []*csvio.SkipReport
		m, skips, err = ipinsights.TrainStream(ctx, cfg, ipinsights.Stream{Files: []string{*trainPath}, CSV: csvio.Options{Lenient: *lenient}, Window: *window}, opts)
		for _, s := range skips {
			if s.Total() > 0 {
				fmt.Fprintln(e.stderr, s.String())
			}
		}
	} else {
		m, err = ipinsights.Train(ctx, cfg, data, opts)
	}
	if err != nil {
		return err
	}
	m, calibNotes, calibErr, err := addExtras(ctx, m, extrasOptions{data: data, valid: valid, init: init, workers: *workers, noHistory: *noHistory, noCalib: *noCalib})
	if err != nil {
		return err
	}
	if init != nil && !*quiet {
		same := strings.EqualFold(init.Config().Optimizer, cfg.Optimizer)
		var how string
		switch {
		case init.HasOptimizerState() && same:
			how = "the optimizer continued from its saved state"
		case init.HasOptimizerState():
			how = "the optimizer restarted (the model's saved state is of its own optimizer, " + init.Config().Optimizer + ")"
		default:
			how = "the optimizer restarted (the model carries no optimizer state)"
			if strings.EqualFold(cfg.Optimizer, "adam") {
				how = "Adam restarted (the model carries no optimizer state; --save-optimizer-state keeps it)"
			}
		}
		calibNotes = append([]string{fmt.Sprintf("continued from %s: %s", *initPath, how)}, calibNotes...)
	}
	if err := m.SaveFile(*modelPath); err != nil {
		return err
	}
	if !*quiet {
		fmt.Fprintf(e.stderr, "wrote %s: %s, %s, trained in %s\n", *modelPath,
			plural.Count(m.SeenEntities(), "distinct entity", "distinct entities"), plural.Count(cfg.NumEntityVectors, "entity vector", "entity vectors"),
			time.Since(start).Round(time.Millisecond))
		for _, n := range calibNotes {
			fmt.Fprintln(e.stderr, n)
		}
	}
	if calibErr != nil { // even with --quiet
		fmt.Fprintf(e.stderr, "note: the model is not calibrated: %v\n", calibErr)
	}
	if n := m.SeenEntities(); cfg.NumEntityVectors < 2*n {
		fmt.Fprintf(e.stderr, "note: %s %s %s; AWS recommends num_entity_vectors of at least twice the number of entities (%d) to limit hash collisions\n",
			plural.Count(n, "distinct entity", "distinct entities"), plural.Noun(n, "shares", "share"),
			plural.Count(cfg.NumEntityVectors, "entity vector", "entity vectors"), 2*n)
	}
	return nil
}

// progressPrinter renders training metrics: a progress bar on a terminal,
// plain lines (in SageMaker's metric names) otherwise.
type progressPrinter struct {
	w       io.Writer
	tty     bool
	epochs  int
	started bool
}

func newProgressPrinter(w io.Writer, tty bool, epochs int) *progressPrinter {
	return &progressPrinter{w: w, tty: tty, epochs: epochs}
}

func (p *progressPrinter) Record(m ipinsights.Metrics) {
	if !p.started {
		p.started = true
		fmt.Fprintf(p.w, "first batch %s after the start of training\n", m.FirstBatch.Round(time.Millisecond))
	}
	if p.tty && m.Batches == 0 { // the first epoch of a stream: its length is not known yet
		fmt.Fprintf(p.w, "\r\033[Kepoch %d/%d batch %d  %s samples/s  cross_entropy %.4f  accuracy %.4f",
			m.Epoch, p.epochs, m.Batch, humanCount(m.SamplesPerSecond), m.CrossEntropy, m.Accuracy)
		return
	}
	if p.tty {
		const width = 30
		done := float64(m.Batch) / float64(m.Batches)
		n := int(done * width)
		fmt.Fprintf(p.w, "\r\033[Kepoch %d/%d [%s%s] %3.0f%%  %s samples/s  cross_entropy %.4f  accuracy %.4f",
			m.Epoch, p.epochs, strings.Repeat("=", n), strings.Repeat(" ", width-n), 100*done,
			humanCount(m.SamplesPerSecond), m.CrossEntropy, m.Accuracy)
		if m.EpochEnd {
			fmt.Fprintln(p.w, p.epochSuffix(m))
		}
		return
	}
	if m.EpochEnd {
		fmt.Fprintf(p.w, "epoch=%d done: train binary_classification_cross_entropy=%.4f binary_classification_accuracy=%.4f samples/s=%.0f%s\n",
			m.Epoch, m.CrossEntropy, m.Accuracy, m.SamplesPerSecond, p.epochSuffix(m))
		return
	}
	batch := fmt.Sprintf("%d/%d", m.Batch, m.Batches)
	if m.Batches == 0 {
		batch = fmt.Sprint(m.Batch)
	}
	fmt.Fprintf(p.w, "epoch=%d batch=%s train binary_classification_cross_entropy=%.4f binary_classification_accuracy=%.4f samples/s=%.0f\n",
		m.Epoch, batch, m.CrossEntropy, m.Accuracy, m.SamplesPerSecond)
}

func (p *progressPrinter) epochSuffix(m ipinsights.Metrics) string {
	s := fmt.Sprintf(" elapsed=%s", m.Elapsed.Round(100*time.Millisecond))
	if !math.IsNaN(m.ValidationAUC) {
		s = fmt.Sprintf(" validation:discriminator_auc=%.4f", m.ValidationAUC) + s
	}
	return s
}

func humanCount(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.0fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}
