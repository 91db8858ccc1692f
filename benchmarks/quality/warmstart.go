package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"runtime"
	"strconv"
	"time"

	"github.com/ipinsights/ipinsights-go/internal/bench/host"

	"github.com/ipinsights/ipinsights-go/internal/bench/cputime"
	"github.com/ipinsights/ipinsights-go/internal/stats"
	"github.com/ipinsights/ipinsights-go/internal/tutorial"
	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/ipinsights/ipinsights-go/synth"
)

// The -warm-start mode measures day-by-day retraining (issue 14): the
// tutorial's data generated with 8 training days instead of 7 (the attack
// test and the validation day are then days 9 and 10, of users seen in
// days 1 to 8), its training rows split by their timestamps into days 1-7
// and day 8. It trains, on the same hyperparameters:
//
//   - from scratch on days 1 to 8;
//   - on days 1 to 7 (the model of yesterday, kept with its optimiser
//     state);
//   - warm-started from it on day 8 alone, continuing Adam from the saved
//     state;
//   - the same with Adam restarted (the model without its state);
//
// and prints, per model, the training rows, epochs, wall and CPU seconds
// of training (the process's CPU time: on a machine shared with other
// work it measures the work better than the wall clock), and the
// attack-test AUC. Figures are medians over runs with seeds 1..runs.

// warmRow is the figures of one model of one run.
type warmRow struct {
	rows, epochs  int
	wall, cpu     time.Duration
	auc, ceilingT float64
}

const warmModels = 4

var warmNames = [warmModels]string{
	"from scratch, days 1-8",
	"days 1-7 only (the initial model)",
	"warm start on day 8, optimizer state",
	"warm start on day 8, Adam restarted",
}

// warmRun runs the four trainings on the data of one seed.
func warmRun(ctx context.Context, users int, seed uint64, workers, warmEpochs int, override map[string]string) ([warmModels]warmRow, error) {
	var out [warmModels]warmRow
	data, err := synth.GenerateLogins(synth.LoginConfig{Users: users, Seed: seed, TrainDays: 8})
	if err != nil {
		return out, err
	}
	const day = 86400
	var days17, day8 []synth.Login
	for _, x := range data.Train {
		if x.Time < 7*day {
			days17 = append(days17, x)
		} else {
			day8 = append(day8, x)
		}
	}
	over := map[string]string{"seed": strconv.FormatUint(seed, 10)}
	maps.Copy(over, override)
	cfg, _, err := tutorial.Config(over)
	if err != nil {
		return out, err
	}
	test := data.Test
	pairs := make([]ipinsights.Pair, len(test))
	anomalous := make([]bool, len(test))
	for i, x := range test {
		pairs[i] = ipinsights.Pair{Entity: x.Entity(), IP: x.Addr()}
		anomalous[i] = x.Anomalous()
	}
	train := func(i int, c ipinsights.Config, rows []synth.Login, opts ipinsights.TrainOptions) (*ipinsights.Model, error) {
		d := tutorial.Dataset(rows)
		opts.Workers = workers
		w0, c0 := time.Now(), cputime.Process()
		m, err := ipinsights.Train(ctx, c, d, &opts)
		if err != nil {
			return nil, err
		}
		out[i].wall, out[i].cpu = time.Since(w0), cputime.Process()-c0
		out[i].rows, out[i].epochs = len(rows), c.Epochs
		scores := m.ScoreBatch(nil, pairs)
		dots := make([]float64, len(scores))
		for j, s := range scores {
			dots[j] = s.DotProduct
		}
		ev, err := ipinsights.Evaluate(dots, anomalous, 0)
		if err != nil {
			return nil, err
		}
		out[i].auc, out[i].ceilingT = ev.AUC, data.Ceiling()
		return m, nil
	}
	if _, err := train(0, cfg, data.Train, ipinsights.TrainOptions{}); err != nil {
		return out, err
	}
	init, err := train(1, cfg, days17, ipinsights.TrainOptions{SaveOptimizerState: true})
	if err != nil {
		return out, err
	}
	wcfg := cfg
	if warmEpochs > 0 {
		wcfg.Epochs = warmEpochs
	}
	if _, err := train(2, wcfg, day8, ipinsights.TrainOptions{Init: init}); err != nil {
		return out, err
	}
	if _, err := train(3, wcfg, day8, ipinsights.TrainOptions{Init: init.WithoutOptimizerState()}); err != nil {
		return out, err
	}
	return out, nil
}

// warmStart runs the -warm-start mode and prints its table to w.
func warmStart(ctx context.Context, w io.Writer, sizes []int, runs, workers, warmEpochs int, override map[string]string) error {
	fmt.Fprintf(w, "warm-start benchmark: tutorial hyperparameters%s, GOMAXPROCS=%d, %d run(s) per size; CPU: %s\n",
		overrideString(override), runtime.GOMAXPROCS(0), runs, host.CPUModel())
	fmt.Fprintln(w, "days 1-7 and day 8 are the training rows of the tutorial's generator with 8 training days, split by timestamp;")
	fmt.Fprintln(w, "the attack test is days 9-10 (users seen in days 1-8). Time and CPU are of training alone; ratios are to from scratch.")
	for _, users := range sizes {
		var all [warmModels][]warmRow
		for run := 1; run <= runs; run++ {
			r, err := warmRun(ctx, users, uint64(run), workers, warmEpochs, override)
			if err != nil {
				return err
			}
			for i := range r {
				all[i] = append(all[i], r[i])
			}
		}
		fmt.Fprintf(w, "\n%d users:\n", users)
		fmt.Fprintf(w, "%-38s %10s %6s %8s %7s %8s %7s %8s %9s\n", "model", "train rows", "epochs", "wall s", "wall x", "CPU s", "CPU x", "AUC", "AUC diff")
		med := func(rs []warmRow, f func(warmRow) float64) float64 {
			v := make([]float64, len(rs))
			for i, r := range rs {
				v[i] = f(r)
			}
			return stats.Median(v)
		}
		wall0 := med(all[0], func(r warmRow) float64 { return r.wall.Seconds() })
		cpu0 := med(all[0], func(r warmRow) float64 { return r.cpu.Seconds() })
		auc0 := med(all[0], func(r warmRow) float64 { return r.auc })
		for i, rs := range all {
			wall := med(rs, func(r warmRow) float64 { return r.wall.Seconds() })
			cpu := med(rs, func(r warmRow) float64 { return r.cpu.Seconds() })
			auc := med(rs, func(r warmRow) float64 { return r.auc })
			fmt.Fprintf(w, "%-38s %10.0f %6.0f %8.1f %7.3f %8.1f %7.3f %8.4f %+9.4f\n", warmNames[i],
				med(rs, func(r warmRow) float64 { return float64(r.rows) }), med(rs, func(r warmRow) float64 { return float64(r.epochs) }),
				wall, wall/wall0, cpu, cpu/cpu0, auc, auc-auc0)
		}
		fmt.Fprintf(w, "attack-test AUC ceiling (travel rows tie with attacks): %.4f\n", med(all[0], func(r warmRow) float64 { return r.ceilingT }))
	}
	return nil
}
