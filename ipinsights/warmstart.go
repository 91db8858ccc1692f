package ipinsights

import (
	"fmt"
	"strings"
)

// A warm start (TrainOptions.Init) continues training from a model: the
// new model starts with a copy of the initial model's parameter tables
// (the whole entity table, whose rows are hash buckets shared by every
// entity that falls in them, the IP prefix tables and the dense layers),
// so that entities and networks it knew keep their vectors and new ones
// join as the new data trains them. Its seen set is the initial model's
// with the new data's entities added, and it keeps the initial model's
// network history (counts of pairs that did happen, whatever the
// parameters); WithNetworkHistory with HistoryOptions.Merge adds the new
// data's counts. It has no calibration: a calibration is the distribution
// of one set of parameters' scores; Calibrate with
// CalibrationOptions.Previous computes the new one and keeps the entities
// the new sample lacks.

// ShapeNames returns the names of the hyperparameters that shape a model's
// tables: a warm start must keep them (see InitMismatchError). The others
// (epochs, learning_rate, mini_batch_size, the sampling rates,
// weight_decay, batch_metrics_publish_interval, seed, optimizer) may
// change from one training to the next.
func ShapeNames() []string {
	var names []string
	for _, p := range params {
		if p.shapes {
			names = append(names, p.name)
		}
	}
	return names
}

// InitMismatch is a hyperparameter that shapes the model and whose value
// in a warm start's configuration differs from the initial model's.
type InitMismatch struct {
	Name      string // as SageMaker spells it: vector_dim
	Init      string // the initial model's value
	Requested string // the configuration's value
}

// InitMismatchError is returned by Train and TrainStream when the
// configuration of a warm start does not keep the shape of the initial
// model (TrainOptions.Init): it lists every hyperparameter of ShapeNames
// that differs.
type InitMismatchError struct {
	Mismatches []InitMismatch
}

func (e *InitMismatchError) Error() string {
	parts := make([]string, len(e.Mismatches))
	for i, m := range e.Mismatches {
		parts[i] = fmt.Sprintf("%s is %s in the initial model, %s in the configuration", m.Name, m.Init, m.Requested)
	}
	return "ipinsights: a warm start keeps the shape of the initial model: " + strings.Join(parts, "; ")
}

// CheckWarmStart returns the error Train and TrainStream would return for
// a warm start from m with the configuration cfg, before any data is
// read: an *InitMismatchError when cfg does not keep m's shape, the
// validation error of an invalid cfg, or nil.
func (m *Model) CheckWarmStart(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	return checkInit(m.cfg, cfg)
}

// checkInit returns an *InitMismatchError when cfg does not have the shape
// of init, the configuration of the initial model.
func checkInit(init, cfg Config) error {
	a, b := init.Hyperparameters(), cfg.Hyperparameters()
	var ms []InitMismatch
	for _, p := range params {
		if p.shapes && a[p.name] != b[p.name] {
			ms = append(ms, InitMismatch{Name: p.name, Init: a[p.name], Requested: b[p.name]})
		}
	}
	if ms != nil {
		return &InitMismatchError{Mismatches: ms}
	}
	return nil
}

// startModel returns the model a training of cfg starts from: new
// parameters from the seed, or, for a warm start from init, a copy of
// init's parameters, its seen set and its network history; and, when
// init carries the state of the same optimiser, that state to continue
// (nil otherwise).
func startModel(cfg Config, init *Model) (*Model, *optState, error) {
	if init != nil {
		if err := init.CheckWarmStart(cfg); err != nil {
			return nil, nil, err
		}
	}
	m, err := newModel(cfg)
	if err != nil {
		return nil, nil, err
	}
	if init == nil {
		m.initParams()
		return m, nil, nil
	}
	copy(m.entity, init.entity)
	copy(m.ip, init.ip)
	for l := range m.layers {
		copy(m.layers[l].w, init.layers[l].w)
		copy(m.layers[l].b, init.layers[l].b)
	}
	m.seen = init.seen.clone()
	m.hist = init.hist
	var st *optState
	if init.opt != nil && init.opt.optimizer == m.cfg.Optimizer {
		st = init.opt
	}
	return m, st, nil
}
