// Command quality runs the SageMaker IP Insights tutorial end to end at one
// or more data sizes and prints one table: data size, training time and
// throughput, attack-test AUC and its ceiling, precision, recall and
// false-positive rate at threshold 0, and the validation discriminator AUC.
//
//	go run ./benchmarks/quality                       # 2,000 and 10,000 users
//	go run ./benchmarks/quality -users 10000 -runs 3  # medians of three seeds
//	go run ./benchmarks/quality -hp ipv4_prefix_lengths=8,16,24
//	go run ./benchmarks/quality -users 10000 -calibration   # and the calibration figures
//	go run ./benchmarks/quality -users 10000 -warm-start    # day-by-day retraining (see warmstart.go)
//	go run ./benchmarks/quality -users 10000 -blend         # and blended rankings' precision
//
// With -calibration, each model is also calibrated twice, on the validation
// day (held out, as train --validation does) and on the training pairs (in
// sample, as train does without --validation), and for each the harness
// prints, per alert basis (dot_product, percentile, network: the model
// given the network history of its training pairs, as train gives it) and
// false-positive rate (0.001, 0.01, 0.05), the share of the attack test's
// normal rows flagged (also over the normal rows that are not validation
// rows) and the recall; per ranking (raw dot product, percentile, usual
// network first then dot product), the AUC and the precision at the
// threshold that reaches recall 0.995 on the attack test; and the model
// file's growth from the calibration sections.
//
// With several runs per size, each figure is the median over runs with
// seeds 1..runs.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/ipinsights/ipinsights-go/internal/stats"
	"github.com/ipinsights/ipinsights-go/internal/tutorial"
	"github.com/ipinsights/ipinsights-go/ipinsights"
)

func main() {
	usersFlag := flag.String("users", "2000,10000", "comma-separated user counts")
	runs := flag.Int("runs", 1, "runs (seeds 1..runs) per size; figures are medians")
	workers := flag.Int("workers", 0, "training goroutines (default: all CPUs)")
	var hps []string
	flag.Func("hp", "a hyperparameter key=value overriding the tutorial's (repeatable)", func(s string) error {
		hps = append(hps, s)
		return nil
	})
	calib := flag.Bool("calibration", false, "also calibrate each model and print the calibration figures")
	blendFlag := flag.Bool("blend", false, "also print the precision of rankings that blend the dot product with the percentile\nor the network history, for each run")
	var copts ipinsights.CalibrationOptions
	flag.IntVar(&copts.MinEntityPairs, "min-entity-pairs", 0, "with -calibration: CalibrationOptions.MinEntityPairs (0: default)")
	flag.IntVar(&copts.EntityQuantiles, "entity-quantiles", 0, "with -calibration: CalibrationOptions.EntityQuantiles (0: default)")
	warm := flag.Bool("warm-start", false, "measure day-by-day retraining instead: from scratch on days 1-8 against days 1-7 warm-started on day 8, with and without the optimizer state")
	warmEpochs := flag.Int("warm-epochs", 0, "with -warm-start: epochs of the warm starts (0: those of the hyperparameters)")
	flag.Parse()
	override := map[string]string{}
	for _, kv := range hps {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			log.Fatalf("-hp %q: want key=value", kv)
		}
		override[k] = v
	}
	var sizes []int
	for _, s := range strings.Split(*usersFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 10 {
			log.Fatalf("-users: %q is not a user count >= 10", s)
		}
		sizes = append(sizes, n)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *warm {
		if err := warmStart(ctx, os.Stdout, sizes, *runs, *workers, *warmEpochs, override); err != nil {
			log.Fatal(err)
		}
		return
	}

	fmt.Printf("quality benchmark: tutorial hyperparameters%s, GOMAXPROCS=%d, %d run(s) per size\n\n",
		overrideString(override), runtime.GOMAXPROCS(0), *runs)
	fmt.Printf("%7s %10s %8s %10s %8s %8s %9s %8s %8s %9s\n",
		"users", "train rows", "train s", "samples/s", "AUC", "ceiling", "precision", "recall", "FPR", "valid AUC")
	var calibs [][2][]*calibFigures // per size, per source (validation, train), per run
	for _, users := range sizes {
		var cf [2][]*calibFigures
		var rows, trainS, sps, auc, ceil, prec, rec, fpr, vauc []float64
		for run := 1; run <= *runs; run++ {
			res, err := tutorial.Run(ctx, tutorial.Options{Users: users, Seed: uint64(run), Workers: *workers, Override: override})
			if err != nil {
				log.Fatal(err)
			}
			rows = append(rows, float64(len(res.Data.Train)))
			trainS = append(trainS, res.TrainTime.Seconds())
			sps = append(sps, res.SamplesPerSecond())
			auc = append(auc, res.Eval.AUC)
			ceil = append(ceil, res.Data.Ceiling())
			prec = append(prec, res.Eval.Precision)
			rec = append(rec, res.Eval.Recall)
			fpr = append(fpr, res.Eval.FPR)
			vauc = append(vauc, res.LastEpoch.ValidationAUC)
			if *blendFlag {
				if err := blend(ctx, os.Stdout, res, &copts); err != nil {
					log.Fatal(err)
				}
			}
			if *calib {
				for src := range cf {
					f, err := calibrate(ctx, res, &copts, src == 1)
					if err != nil {
						log.Fatal(err)
					}
					cf[src] = append(cf[src], f)
				}
			}
		}
		calibs = append(calibs, cf)
		fmt.Printf("%7d %10.0f %8.1f %10.0f %8.4f %8.4f %9.4f %8.4f %8.4f %9.4f\n",
			users, stats.Median(rows), stats.Median(trainS), stats.Median(sps), stats.Median(auc), stats.Median(ceil), stats.Median(prec), stats.Median(rec), stats.Median(fpr), stats.Median(vauc))
	}
	fmt.Printf("\nSageMaker (tutorial, 10,000 users): precision %.4f, recall %.4f, validation AUC ~%.2f, %d samples/s on 8 vCPU\n",
		tutorial.SageMakerPrecision, tutorial.SageMakerRecall, tutorial.SageMakerValidAUC, tutorial.SageMakerThroughput)
	if *calib {
		for i, users := range sizes {
			printCalibration(os.Stdout, users, calibs[i][0], "the validation day (held out)")
			printCalibration(os.Stdout, users, calibs[i][1], "the training pairs (in sample)")
		}
	}
}

func overrideString(o map[string]string) string {
	if len(o) == 0 {
		return ""
	}
	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+"="+o[k])
	}
	return " with " + strings.Join(parts, " ")
}
