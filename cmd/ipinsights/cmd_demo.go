package main

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/ipinsights/ipinsights-go/internal/tutorial"
	"github.com/ipinsights/ipinsights-go/ipinsights"
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
	if *users < 10 || *users > maxGenUsers {
		return usagef("--users %d: want 10 to %s", *users, commas(maxGenUsers))
	}
	if *workers < 0 {
		return usagef("--workers: %d is negative", *workers)
	}
	if err := checkFiles(nil, file{"--model", *modelPath}); err != nil {
		return err
	}
	w := e.stdout
	fmt.Fprintf(w, "IP Insights demo: the SageMaker tutorial's synthetic web logins, %s users (the tutorial has 10,000)\n", commas(*users))
	cfg, hp, err := tutorial.Config(nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "training with the tutorial's hyperparameters: %s\n\n", hpString(hp))
	opts := tutorial.Options{Users: *users, Seed: *seed, Workers: *workers}
	if !*quiet {
		opts.Progress = newProgressPrinter(e.stderr, e.stderrIsTerminal, cfg.Epochs)
	}
	res, err := tutorial.Run(ctx, opts)
	if err != nil {
		return err
	}
	if *modelPath != "" {
		if err := res.Model.SaveFile(*modelPath); err != nil {
			return err
		}
	}
	l, ev, last := res.Data, res.Eval, res.LastEpoch
	fmt.Fprintf(w, "generated %s login events in %s: %s training rows (7 days), %s validation rows (day 8), %s attack-test rows\n",
		commas(l.Events), res.GenTime.Round(time.Millisecond), commas(len(l.Train)), commas(len(l.Validation)), commas(len(l.Test)))
	fmt.Fprintf(w, "trained %s expanded samples in %s; scored %s pairs in %s\n\n",
		commas(int(last.Samples)), res.TrainTime.Round(100*time.Millisecond), commas(len(l.Test)), res.ScoreTime.Round(time.Millisecond))

	f4 := func(v float64) string {
		if math.IsNaN(v) {
			return "n/a"
		}
		return fmt.Sprintf("%.4f", v)
	}
	row := func(name, ours, theirs string) { fmt.Fprintf(w, "%-44s %12s %12s\n", name, ours, theirs) }
	row("", "this run", "SageMaker")
	row("attack-test AUC", f4(ev.AUC), "-")
	row(fmt.Sprintf("  best possible (travel share %.1f%%)", 100*l.TravelShare()), f4(l.Ceiling()), "")
	row("precision, flagging dot_product < 0", f4(ev.Precision), f4(tutorial.SageMakerPrecision))
	row("recall, flagging dot_product < 0", f4(ev.Recall), f4(tutorial.SageMakerRecall))
	row("false-positive rate, dot_product < 0", f4(ev.FPR), "-")
	row("validation discriminator AUC (last epoch)", f4(last.ValidationAUC), fmt.Sprintf("~%.2f", tutorial.SageMakerValidAUC))
	row("train accuracy (last epoch)", f4(last.Accuracy), fmt.Sprintf("%.3f", tutorial.SageMakerTrainAcc))
	row("train cross-entropy (last epoch)", f4(last.CrossEntropy), fmt.Sprintf("%.3f", tutorial.SageMakerTrainCE))
	row("training throughput (expanded samples/s)", humanCount(res.SamplesPerSecond()), humanCount(tutorial.SageMakerThroughput)+"*")
	fmt.Fprintf(w, "\n* SageMaker: ml.m5.2xlarge (8 vCPU), published in the tutorial's training logs.\n")
	if *users != 10000 {
		fmt.Fprintf(w, "SageMaker's figures are for 10,000 users; run with --users 10000 for the same scale.\n")
	}
	return nil
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
