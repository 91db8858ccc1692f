package main

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/ipinsights/ipinsights-go/synth"
)

func init() {
	register(&command{
		name:    "demo",
		summary: "generate the tutorial's login data, train, evaluate, and compare with SageMaker's published figures",
		usage:   "[--users N] [--seed S] [--workers N] [--model OUT]",
		example: `ipinsights demo                 # 2,000 users, about a minute on 2 cores
ipinsights demo --users 10000   # the tutorial's full scale`,
		run: runDemo,
	})
}

// tutorialHyperparameters are the SageMaker tutorial's settings.
var tutorialHyperparameters = map[string]string{
	"num_entity_vectors":            "20000",
	"vector_dim":                    "128",
	"random_negative_sampling_rate": "5",
	"mini_batch_size":               "1000",
	"epochs":                        "5",
	"learning_rate":                 "0.01",
}

// Published figures of the SageMaker tutorial (DESIGN.md section 1).
const (
	smPrecision  = 0.9513
	smRecall     = 0.9845
	smTrainAcc   = 0.987
	smTrainCE    = 0.054
	smValidAUC   = 0.99
	smThroughput = 142000
)

func runDemo(ctx context.Context, e *env, args []string) error {
	c := commands["demo"]
	fs := newFlagSet(c, e)
	users := fs.Int("users", 2000, "users to simulate (the tutorial uses 10,000)")
	seed := fs.Uint64("seed", 1, "random seed of the data and the training")
	workers := fs.Int("workers", 0, "training goroutines (default: all CPUs)")
	modelPath := fs.String("model", "", "also save the trained model here")
	quiet := fs.Bool("quiet", false, "no training progress")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *users < 10 {
		return usagef("--users must be at least 10")
	}
	hp := map[string]string{"seed": strconv.FormatUint(*seed, 10), "workers": strconv.Itoa(*workers)}
	for k, v := range tutorialHyperparameters {
		hp[k] = v
	}
	cfg, err := ipinsights.ParseHyperparameters(hp)
	if err != nil {
		return err
	}
	w := e.stdout
	fmt.Fprintf(w, "IP Insights demo: the SageMaker tutorial's synthetic web logins, %s users (the tutorial has 10,000)\n", commas(*users))

	start := time.Now()
	l, err := synth.GenerateLogins(synth.LoginConfig{Users: *users, Seed: *seed})
	if err != nil {
		return err
	}
	train, valid := toDataset(l.Train), toDataset(l.Validation)
	fmt.Fprintf(w, "generated %s login events in %s: %s training rows (7 days), %s validation rows (day 8), %s attack-test rows\n",
		commas(l.Events), time.Since(start).Round(time.Millisecond), commas(len(l.Train)), commas(len(l.Validation)), commas(len(l.Test)))
	fmt.Fprintf(w, "training with the tutorial's hyperparameters: %s\n\n", hpString(tutorialHyperparameters))

	var last ipinsights.Metrics
	var prog ipinsights.Progress = ipinsights.ProgressFunc(func(m ipinsights.Metrics) {
		if m.EpochEnd {
			last = m
		}
	})
	if !*quiet {
		pp := newProgressPrinter(e.stderr, e.stderrIsTerminal, cfg.Epochs)
		prog = ipinsights.ProgressFunc(func(m ipinsights.Metrics) {
			if m.EpochEnd {
				last = m
			}
			pp.Record(m)
		})
	}
	trainStart := time.Now()
	m, err := ipinsights.Train(ctx, cfg, train, &ipinsights.TrainOptions{Validation: valid, Progress: prog})
	if err != nil {
		return err
	}
	trainTime := time.Since(trainStart)
	if *modelPath != "" {
		if err := m.SaveFile(*modelPath); err != nil {
			return err
		}
	}

	pairs := make([]ipinsights.Pair, len(l.Test))
	anomalous := make([]bool, len(l.Test))
	for i, x := range l.Test {
		pairs[i] = ipinsights.Pair{Entity: x.Entity(), IP: x.Addr()}
		anomalous[i] = x.Anomalous()
	}
	scoreStart := time.Now()
	res := m.ScoreBatch(nil, pairs)
	scoreTime := time.Since(scoreStart)
	dots := make([]float64, len(res))
	for i, r := range res {
		dots[i] = r.DotProduct
	}
	ev, err := ipinsights.Evaluate(dots, anomalous, 0)
	if err != nil {
		return err
	}
	samples := float64(last.Samples) / trainTime.Seconds()

	fmt.Fprintf(w, "\ntrained %s expanded samples in %s; scored %s pairs in %s\n\n",
		commas(int(last.Samples)), trainTime.Round(100*time.Millisecond), commas(len(pairs)), scoreTime.Round(time.Millisecond))
	fmt.Fprintf(w, "%-44s %12s %12s\n", "", "this run", "SageMaker")
	row := func(name, ours, theirs string) { fmt.Fprintf(w, "%-44s %12s %12s\n", name, ours, theirs) }
	f4 := func(v float64) string {
		if math.IsNaN(v) {
			return "n/a"
		}
		return fmt.Sprintf("%.4f", v)
	}
	row("attack-test AUC", f4(ev.AUC), "-")
	row(fmt.Sprintf("  best possible (travel share %.1f%%)", 100*l.TravelShare()), f4(l.Ceiling()), "")
	row("precision, flagging dot_product < 0", f4(ev.Precision), f4(smPrecision))
	row("recall, flagging dot_product < 0", f4(ev.Recall), f4(smRecall))
	row("false-positive rate, dot_product < 0", f4(ev.FPR), "-")
	row("validation discriminator AUC (last epoch)", f4(last.ValidationAUC), fmt.Sprintf("~%.2f", smValidAUC))
	row("train accuracy (last epoch)", f4(last.Accuracy), fmt.Sprintf("%.3f", smTrainAcc))
	row("train cross-entropy (last epoch)", f4(last.CrossEntropy), fmt.Sprintf("%.3f", smTrainCE))
	row("training throughput (expanded samples/s)", humanCount(samples), humanCount(smThroughput)+"*")
	fmt.Fprintf(w, "\n* SageMaker: ml.m5.2xlarge (8 vCPU), published in the tutorial's training logs.\n")
	if *users != 10000 {
		fmt.Fprintf(w, "SageMaker's figures are for 10,000 users; run with --users 10000 for the same scale.\n")
	}
	return nil
}

func toDataset(ls []synth.Login) *ipinsights.Dataset {
	d := ipinsights.NewDataset()
	var b []byte
	for _, x := range ls {
		b = x.AppendEntity(b[:0])
		d.AddBytes(b, x.Addr())
	}
	return d
}

func hpString(hp map[string]string) string {
	s := ""
	for _, k := range ipinsights.SageMakerNames() {
		if v, ok := hp[k]; ok {
			if s != "" {
				s += " "
			}
			s += k + "=" + v
		}
	}
	return s
}
