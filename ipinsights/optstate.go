package ipinsights

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// optState is the state of the optimiser at the end of a training, which a
// warm start continues (TrainOptions.SaveOptimizerState): the step count
// of Adam's bias correction and its moments, and the number of epochs
// trained, from which the next training numbers its epochs so that its
// shuffles and negatives come from the random streams the same longer
// training would have used. It is immutable once made.
type optState struct {
	optimizer string // "adam" or "sgd"
	steps     int    // optimiser steps taken
	epochs    int    // epochs trained
	// Adam's moments (nil for sgd), laid out as in optimizer.
	entMV, ipMV []float32
	lyM, lyV    []layer
}

// checkStateEpochs returns an error when a training of cfg that continues
// st (nil for none) and saves its state would record more epochs than a
// model file may.
func checkStateEpochs(st *optState, cfg Config, save bool) error {
	ep0 := 0
	if st != nil {
		ep0 = st.epochs
	}
	if save && ep0+cfg.Epochs > maxStateEpochs {
		return fmt.Errorf("ipinsights: the optimizer state would record %d epochs, more than the %d a model file holds", ep0+cfg.Epochs, maxStateEpochs)
	}
	return nil
}

// snapshot returns the state of o after epochs epochs. It takes o's
// moments: o must not be used afterwards.
func (o *optimizer) snapshot(optimizer string, epochs int) *optState {
	return &optState{optimizer: optimizer, steps: o.step, epochs: epochs,
		entMV: o.entMV, ipMV: o.ipMV, lyM: o.lyM, lyV: o.lyV}
}

// restore continues o from st, of the same optimiser and model shape.
func (o *optimizer) restore(st *optState) {
	o.step = st.steps
	if o.entMV == nil {
		return
	}
	copy(o.entMV, st.entMV)
	copy(o.ipMV, st.ipMV)
	for l := range o.lyM {
		copy(o.lyM[l].w, st.lyM[l].w)
		copy(o.lyM[l].b, st.lyM[l].b)
		copy(o.lyV[l].w, st.lyV[l].w)
		copy(o.lyV[l].b, st.lyV[l].b)
	}
}

// HasOptimizerState reports whether the model carries the state of the
// optimiser that trained it (see TrainOptions.SaveOptimizerState).
func (m *Model) HasOptimizerState() bool { return m.opt != nil }

// WithoutOptimizerState returns a model with m's parameters and optional
// sections but no optimiser state: a smaller file to score with, or the
// start of a warm start whose optimiser restarts. m itself does not
// change.
func (m *Model) WithoutOptimizerState() *Model {
	c := m.clone()
	c.opt = nil
	return c
}

// The model file's "optimizer_state" section, all integers and floats
// little endian:
//
//	format     uint32   1
//	optimizer  uint32   1 adam, 2 sgd (the model's optimizer hyperparameter)
//	steps      uint64   optimiser steps taken, >= epochs
//	epochs     uint64   epochs trained, 1 to 2^20 (maxStateEpochs)
//	(adam only, the first and second moments of every parameter:)
//	entity     NumEntityVectors rows of 2*VectorDim float32: the row's m, then its v
//	ip         IPRows rows of 2*VectorDim float32, as entity
//	layers     per layer: m of W (VectorDim*VectorDim), m of b (VectorDim),
//	           v of W, v of b
//
// Moments are finite and second moments not negative. With Adam the
// section is twice the size of the parameter tables.
const (
	// maxStateEpochs bounds the epochs a state records: a continuation
	// replays the shuffle of every earlier epoch (see trainer.loop), so a
	// damaged or hostile file must not ask for billions.
	maxStateEpochs = 1 << 20
	optStateFormat = 1
	optAdam        = 1
	optSGD         = 2
)

func init() {
	registerSection(sectionCodec{
		name: "optimizer_state",
		size: func(m *Model) int64 {
			if m.opt == nil {
				return 0
			}
			return optStateSize(m, m.opt.entMV != nil)
		},
		write: func(m *Model, w io.Writer) error { return m.opt.encode(w) },
		read: func(m *Model, r *bufio.Reader, n int64) error {
			st, err := decodeOptState(m, r, n)
			if err != nil {
				return err
			}
			m.opt = st
			return nil
		},
	})
}

// optStateSize returns the size of the section for m's shape, with or
// without Adam's moments.
func optStateSize(m *Model, adam bool) int64 {
	n := int64(24)
	if adam {
		d := int64(m.dim)
		n += 4 * (2*int64(len(m.entity)) + 2*int64(len(m.ip)) + int64(len(m.layers))*2*(d*d+d))
	}
	return n
}

func (st *optState) encode(w io.Writer) error {
	var b [24]byte
	binary.LittleEndian.PutUint32(b[0:], optStateFormat)
	kind := optKind(st.optimizer)
	binary.LittleEndian.PutUint32(b[4:], kind)
	binary.LittleEndian.PutUint64(b[8:], uint64(st.steps))
	binary.LittleEndian.PutUint64(b[16:], uint64(st.epochs))
	if _, err := w.Write(b[:]); err != nil {
		return err
	}
	if st.entMV == nil {
		return nil
	}
	writeFloats(w, st.entMV)
	writeFloats(w, st.ipMV)
	for l := range st.lyM {
		writeFloats(w, st.lyM[l].w)
		writeFloats(w, st.lyM[l].b)
		writeFloats(w, st.lyV[l].w)
		writeFloats(w, st.lyV[l].b)
	}
	return nil
}

// decodeOptState reads an "optimizer_state" payload of n bytes for the
// model m, whose tables are read.
func decodeOptState(m *Model, r *bufio.Reader, n int64) (*optState, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: optimizer state: %s", ErrCorrupt, fmt.Sprintf(format, a...))
	}
	var b [24]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return nil, readErr(err, ErrCorrupt, "optimizer state cut short")
	}
	if f := binary.LittleEndian.Uint32(b[0:]); f != optStateFormat {
		return nil, bad("format %d, this build reads %d", f, optStateFormat)
	}
	kind := binary.LittleEndian.Uint32(b[4:])
	steps, epochs := binary.LittleEndian.Uint64(b[8:]), binary.LittleEndian.Uint64(b[16:])
	want := optKind(m.cfg.Optimizer)
	switch {
	case kind != optAdam && kind != optSGD:
		return nil, bad("unknown optimizer %d", kind)
	case kind != want:
		return nil, bad("state of optimizer %d for a model trained with %s", kind, m.cfg.Optimizer)
	case epochs < 1 || epochs > maxStateEpochs:
		return nil, bad("%d epochs", epochs)
	case steps < epochs || steps > 1<<53:
		return nil, bad("%d steps in %d epochs", steps, epochs)
	}
	if size := optStateSize(m, kind == optAdam); n != size {
		return nil, bad("%d bytes, the model's shape takes %d", n, size)
	}
	st := &optState{optimizer: m.cfg.Optimizer, steps: int(steps), epochs: int(epochs)}
	if kind == optSGD {
		return st, nil
	}
	d := m.dim
	// read reads k moments of what; v says which of them are second
	// moments, which are not negative.
	read := func(k int, what string, v func(i int) bool) ([]float32, error) {
		x, err := readFloatsGrow(r, k)
		if errors.Is(err, ErrCorrupt) {
			return nil, fmt.Errorf("%w: optimizer state cut short", ErrCorrupt)
		} else if err != nil {
			return nil, err
		}
		for i, e := range x {
			if math.IsNaN(float64(e)) || math.IsInf(float64(e), 0) || e < 0 && v(i) {
				return nil, bad("%s: moment %d is %v", what, i, e)
			}
		}
		return x, nil
	}
	rowV := func(i int) bool { return i%(2*d) >= d } // a row holds m, then v
	never := func(int) bool { return false }
	always := func(int) bool { return true }
	var err error
	if st.entMV, err = read(2*len(m.entity), "entity table", rowV); err != nil {
		return nil, err
	}
	if st.ipMV, err = read(2*len(m.ip), "IP table", rowV); err != nil {
		return nil, err
	}
	for l := range m.layers {
		what := fmt.Sprintf("layer %d", l+1)
		var ly [4][]float32 // m of W, m of b, v of W, v of b
		for i := range ly {
			k, v := d*d, never
			if i%2 == 1 {
				k = d
			}
			if i >= 2 {
				v = always
			}
			if ly[i], err = read(k, what, v); err != nil {
				return nil, err
			}
		}
		st.lyM = append(st.lyM, layer{w: ly[0], b: ly[1]})
		st.lyV = append(st.lyV, layer{w: ly[2], b: ly[3]})
	}
	return st, nil
}

// optKind returns the number that a state section gives optimizer name,
// 0 for a name it does not know.
func optKind(name string) uint32 {
	switch name {
	case "adam":
		return optAdam
	case "sgd":
		return optSGD
	}
	return 0
}
