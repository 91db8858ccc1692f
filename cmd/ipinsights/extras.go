package main

import (
	"context"
	"errors"

	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// extrasOptions say which optional parts train and tune give a trained
// model, and from what.
type extrasOptions struct {
	data      *ipinsights.Dataset // the training pairs; nil when they were streamed
	valid     *ipinsights.Dataset // the validation pairs; nil without
	init      *ipinsights.Model   // the model a warm start continued; nil for none
	workers   int
	noHistory bool
	noCalib   bool
}

// addExtras gives m, just trained, its network history (merged with the
// one a warm start kept) and its calibration (on the validation pairs, else
// on the training pairs; a warm start keeps the entities of the initial
// model's calibration that the sample lacks), as train does. It returns
// the model, the notes to print, and why the model is not calibrated
// (nil when it is, or when that was asked): a failed calibration keeps the
// trained model.
func addExtras(ctx context.Context, m *ipinsights.Model, o extrasOptions) (*ipinsights.Model, []string, error, error) {
	var notes []string
	var err error
	switch {
	case o.noHistory:
		m = m.WithoutNetworkHistory()
	case o.data == nil && m.HasNetworkHistory(): // --stream holds no training pairs to count
		notes = append(notes, "note: the network history of --init is kept as it was: with --stream the new pairs are not counted (explanations need the training pairs in memory)")
	case o.data == nil:
		notes = append(notes, "note: no network history with --stream (explanations need the training pairs in memory)")
	default:
		// A summary of where each entity logs in from, for explanations;
		// a warm start adds to the initial model's.
		if m, err = m.WithNetworkHistory(ctx, o.data, &ipinsights.HistoryOptions{Workers: o.workers, Merge: true}); err != nil {
			return nil, nil, nil, err
		}
	}
	if o.noCalib {
		return m, notes, nil, nil
	}
	if o.valid == nil && o.data == nil {
		return m, notes, errors.New("with --stream, calibration needs --validation (or run ipinsights calibrate)"), nil
	}
	source, normal := "from the validation data", o.valid
	if o.valid == nil {
		source, normal = "from the training data", o.data
	}
	copts := &ipinsights.CalibrationOptions{}
	if o.init != nil {
		copts.Previous = o.init.Calibration()
	}
	cal, err := m.Calibrate(ctx, normal, copts)
	switch {
	case ctx.Err() != nil:
		return nil, nil, nil, ctx.Err()
	case err != nil: // keep the trained model
		return m, notes, err, nil
	}
	m = m.WithCalibration(cal)
	notes = append(notes, describeCalibration(cal, source))
	if copts.Previous != nil {
		notes = append(notes, "note: entities of the --init model's calibration absent from this sample keep their own score distribution")
	}
	if o.valid == nil {
		notes = append(notes, "note: calibrated in sample (no --validation): new traffic scores lower than the training pairs, so it alerts "+
			"more often than the rates asked (several times on the tutorial's data); ipinsights calibrate recalibrates the model on held-out traffic")
	}
	return m, notes, nil, nil
}
