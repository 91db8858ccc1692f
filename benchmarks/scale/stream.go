//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ipinsights/ipinsights-go/internal/tutorial"
	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/ipinsights/ipinsights-go/synth"
)

// streamQuality trains the tutorial (users simulated users, its
// hyperparameters) in memory and with ipinsights.TrainStream at each window,
// on the training file in three orders: as synth writes it (shuffled), in
// time order, as logs are written, and by entity (each user's rows
// together, in time order), the worst case for a window. It prints the attack-test AUC,
// precision and recall at threshold 0 and the last validation AUC of each.
func streamQuality(dir string, users int, windows []int, workers int) error {
	l, err := synth.GenerateLogins(synth.LoginConfig{Users: users, Seed: 1})
	if err != nil {
		return err
	}
	cfg, _, err := tutorial.Config(nil)
	if err != nil {
		return err
	}
	byTime := slices.Clone(l.Train)
	slices.SortStableFunc(byTime, func(a, b synth.Login) int { return int(a.Time) - int(b.Time) })
	byEntity := slices.Clone(byTime)
	slices.SortStableFunc(byEntity, func(a, b synth.Login) int { return int(a.User) - int(b.User) })
	valid := tutorial.Dataset(l.Validation)
	pairs := make([]ipinsights.Pair, len(l.Test))
	anomalous := make([]bool, len(l.Test))
	for i, x := range l.Test {
		pairs[i] = ipinsights.Pair{Entity: x.Entity(), IP: x.Addr()}
		anomalous[i] = x.Anomalous()
	}
	fmt.Printf("# stream quality: %d users, %d training rows, tutorial hyperparameters, attack test of %d rows (ceiling AUC %.4f)\n",
		users, len(l.Train), len(l.Test), l.Ceiling())
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "file order\ttraining\tAUC\tprecision\trecall\tvalid AUC\ttrain s\t")
	for _, o := range []struct {
		name string
		rows []synth.Login
	}{{"shuffled", l.Train}, {"time", byTime}, {"entity", byEntity}} {
		path := filepath.Join(dir, fmt.Sprintf("stream-quality-%d-%s.csv", users, o.name))
		if err := writeLogins(path, o.rows); err != nil {
			return err
		}
		runs := []int{0} // 0: in memory
		runs = append(runs, windows...)
		for _, w := range runs {
			var last ipinsights.Metrics
			opts := &ipinsights.TrainOptions{Workers: workers, Validation: valid, Progress: ipinsights.ProgressFunc(func(m ipinsights.Metrics) {
				if m.EpochEnd {
					last = m
				}
			})}
			t := time.Now()
			var m *ipinsights.Model
			how := "in memory"
			if w == 0 {
				data := tutorial.Dataset(o.rows)
				m, err = ipinsights.Train(context.Background(), cfg, data, opts)
			} else {
				how = fmt.Sprintf("stream, window %d", w)
				m, _, err = ipinsights.TrainStream(context.Background(), cfg, ipinsights.Stream{Files: []string{path}, Window: w}, opts)
			}
			if err != nil {
				os.Remove(path)
				return err
			}
			el := time.Since(t)
			res := m.ScoreBatch(nil, pairs)
			dots := make([]float64, len(res))
			for i, r := range res {
				dots[i] = r.DotProduct
			}
			ev, err := ipinsights.Evaluate(dots, anomalous, 0)
			if err != nil {
				os.Remove(path)
				return err
			}
			fmt.Fprintf(tw, "%s\t%s\t%.4f\t%.4f\t%.4f\t%.4f\t%.0f\t\n", o.name, how, ev.AUC, ev.Precision, ev.Recall, last.ValidationAUC, el.Seconds())
			tw.Flush()
		}
		os.Remove(path)
	}
	return nil
}

func writeLogins(path string, rows []synth.Login) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := synth.WriteCSV(w, rows); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// parseInts parses a comma-separated list of counts such as "2e4,100000".
func parseInts(s string) ([]int, error) {
	var ns []int
	for _, f := range strings.Split(s, ",") {
		var v float64
		if _, err := fmt.Sscan(strings.TrimSpace(f), &v); err != nil || v < 1 {
			return nil, fmt.Errorf("%q is not a count", f)
		}
		ns = append(ns, int(v))
	}
	return ns, nil
}
