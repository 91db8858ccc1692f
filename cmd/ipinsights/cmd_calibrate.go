package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/ipinsights/ipinsights-go/internal/plural"
	"github.com/ipinsights/ipinsights-go/ipinsights"
)

func init() {
	register(&command{
		name:    "calibrate",
		summary: "recalibrate a model on normal entity,ip rows, without retraining",
		usage:   "--model FILE --normal FILE [--out FILE] [--min-entity-pairs N] [--entity-quantiles N] [--keep-entities] [--lenient] [--quiet]",
		example: `ipinsights calibrate --model model.bin --normal yesterday.csv
# replaces model.bin's calibration with the score distribution of yesterday's logins,
# against which alert rates (score --alert-fpr, threshold --fpr) are stated; with the
# model's network history, also the share of logins outside each entity's usual networks
# and their scores, which the network alert basis (score's default) needs
ipinsights calibrate --model model.bin --normal today.csv --keep-entities
# the same, but a user with their own distribution in model.bin's calibration and no
# login today keeps it, rather than being ranked against everyone's`,
		run: runCalibrate,
	})
}

func runCalibrate(ctx context.Context, e *env, args []string) error {
	c := commands["calibrate"]
	fs := newFlagSet(c, e)
	modelPath := fs.String("model", "", "the model file")
	normalPath := fs.String("normal", "", "normal traffic: entity,ip rows, no header (.gz ok; - for stdin); pairs of entities unseen in training are left out")
	out := fs.String("out", "", "where to write the calibrated model (default: replace --model)")
	var copts ipinsights.CalibrationOptions
	fs.IntVar(&copts.MinEntityPairs, "min-entity-pairs", ipinsights.DefaultMinEntityPairs, "pairs an entity needs to be ranked against its own pairs rather than all of them")
	fs.IntVar(&copts.EntityQuantiles, "entity-quantiles", ipinsights.DefaultEntityQuantiles, "scores kept per such entity (4 bytes each): all up to this many, else quantiles")
	keep := fs.Bool("keep-entities", false, "an entity that the model's current calibration ranks against its own pairs and that has no pair in --normal keeps that distribution\n"+
		"(its values join the new calibration, as in a warm start); without it, every distribution comes from --normal alone. With a model that has no calibration: a no-op, with a note")
	lenient := fs.Bool("lenient", false, "skip malformed rows (counted on stderr) instead of failing")
	quiet := fs.Bool("quiet", false, "no summary on stderr")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *modelPath == "" || *normalPath == "" {
		return usagef("--model and --normal are required")
	}
	if copts.MinEntityPairs < 1 {
		return usagef("--min-entity-pairs %d: want at least 1", copts.MinEntityPairs)
	}
	if copts.EntityQuantiles < 2 || copts.EntityQuantiles > 65535 {
		return usagef("--entity-quantiles %d: want 2 to 65535", copts.EntityQuantiles)
	}
	ins := []file{{"--normal", *normalPath}}
	dst := file{"--model", *modelPath} // replaced in place, atomically
	if *out != "" {
		ins = append(ins, file{"--model", *modelPath})
		dst = file{"--out", *out}
	}
	if err := checkFiles(ins, dst); err != nil {
		return err
	}
	m, err := ipinsights.LoadFile(*modelPath)
	if err != nil {
		return err
	}
	normal, err := loadDataset(ctx, e, *normalPath, *lenient)
	if err != nil {
		return err
	}
	var notes []string
	if *keep {
		if prev := m.Calibration(); prev != nil {
			copts.Previous = prev
		} else {
			notes = append(notes, fmt.Sprintf("note: --keep-entities: %s has no calibration to keep entities from; calibrating on %s alone", *modelPath, inputName(*normalPath)))
		}
	}
	cal, err := m.Calibrate(ctx, normal, &copts)
	if err != nil {
		return fmt.Errorf("%s: %w", inputName(*normalPath), err)
	}
	if err := m.WithCalibration(cal).SaveFile(dst.path); err != nil {
		return err
	}
	if copts.Previous != nil {
		notes = append(notes, "note: entities of the earlier calibration absent from "+inputName(*normalPath)+" keep their own score distribution (the network calibration is of "+inputName(*normalPath)+"'s pairs alone)")
	}
	if !*quiet {
		for _, n := range notes {
			fmt.Fprintln(e.stderr, n)
		}
		fmt.Fprintf(e.stderr, "%s; wrote %s\n", describeCalibration(cal, "from "+inputName(*normalPath)), dst.path)
	}
	return nil
}

// describeCalibration says what a calibration was made of; source names
// the pairs ("from FILE").
func describeCalibration(cal *ipinsights.Calibration, source string) string {
	s := fmt.Sprintf("calibrated on %s %s (%s with at least %d pairs ranked against their own)",
		plural.Count(cal.Pairs(), "pair", "pairs"), source,
		plural.Count(cal.Entities(), "entity", "entities"), cal.MinEntityPairs())
	if n := cal.Skipped(); n > 0 {
		s += fmt.Sprintf("; left out %s of entities unseen in training", plural.Count(int(n), "pair", "pairs"))
	}
	if share, _, ok := cal.UnseenNetworkShare(); ok {
		s += fmt.Sprintf("; %.2f%% in none of their entity's usual networks", 100*share)
	}
	return s
}

// noNetworkCalibration turns ipinsights.ErrNoNetworkCalibration, for the
// model m of the file modelPath, into the one-line advice of the CLI.
func noNetworkCalibration(err error, m *ipinsights.Model, modelPath string) error {
	if !errors.Is(err, ipinsights.ErrNoNetworkCalibration) {
		return err
	}
	if !m.HasNetworkHistory() {
		return fmt.Errorf("the network alert basis needs the entities' usual networks, and %s has no network history (trained with --no-network-history, with --stream, or saved before histories existed): retrain it without --no-network-history, or use --alert-basis dot_product", modelPath)
	}
	return fmt.Errorf("the network alert basis needs a calibration computed with the model's network history, and %s's was computed without it (saved before the basis existed, or calibrated before the history was added): recalibrate it with ipinsights calibrate --model %s --normal NORMAL.csv", modelPath, modelPath)
}

// defaultBasisNote says why the default alert basis fell back from network
// to dot_product for the model m of the file modelPath.
func defaultBasisNote(m *ipinsights.Model, modelPath string) string {
	why := "has no network history (retrain it without --no-network-history)"
	if m.HasNetworkHistory() {
		why = "was calibrated without its network history (recalibrate it with ipinsights calibrate)"
	}
	return fmt.Sprintf("note: alerting by dot_product: %s %s, which the default basis, network, needs", modelPath, why)
}

// notCalibrated turns ipinsights.ErrNotCalibrated, for the model file
// modelPath, into the one-line advice of the CLI; alt, when not empty, is
// another way out (a flag of the command).
func notCalibrated(err error, modelPath, alt string) error {
	if !errors.Is(err, ipinsights.ErrNotCalibrated) {
		return err
	}
	if alt != "" {
		alt = alt + ", or "
	}
	return fmt.Errorf("%s has no calibration (saved before calibration existed, or trained with --no-calibration): %sadd one with ipinsights calibrate --model %s --normal NORMAL.csv",
		modelPath, alt, modelPath)
}

// writeAlertSummary reports how many of the scored rows alert.
func writeAlertSummary(w io.Writer, alerts, rows int, rule ipinsights.AlertRule) {
	fmt.Fprintf(w, "%d of %s %s (false-positive rate %g of the calibration pairs, by %s)\n",
		alerts, plural.Count(rows, "row", "rows"), plural.Noun(alerts, "alerts", "alert"), rule.FPR(), rule.Basis())
}
