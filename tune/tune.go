package tune

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/ipinsights/ipinsights-go/rng"
)

// Objective is what a tuning job maximises.
type Objective string

// The objectives.
const (
	// DiscriminatorAUC is SageMaker's objective metric for IP Insights,
	// validation:discriminator_auc: how well a model tells the validation
	// pairs from random addresses for the same entities
	// (ipinsights.Model.DiscriminatorAUC). It needs validation data. It
	// measures separation from synthetic negatives, not from attacks.
	DiscriminatorAUC Objective = "validation:discriminator_auc"
	// AttackAUC is the ROC AUC of the dot products on labeled pairs
	// (Labeled.AttackAUC): tuning for the detection of real anomalies,
	// which needs labeled data. Tuned on the data a model is then judged
	// on, it overstates that model's quality.
	AttackAUC Objective = "attack_auc"
)

// Status is the outcome of a trial, in the words of SageMaker's training
// job status.
type Status string

// The statuses of a trial.
const (
	Completed Status = "Completed" // trained every epoch; it has a model
	Stopped   Status = "Stopped"   // stopped early (early stopping, Hyperband, run time limit)
	Failed    Status = "Failed"    // training failed
)

// Trial is one training run of a tuning job.
type Trial struct {
	// Number counts the trials from 1.
	Number int
	// Hyperparameters holds the tuned hyperparameters' values, as
	// SageMaker's strings; Space.Hyperparameters adds the static ones.
	Hyperparameters map[string]string
	Status          Status
	// Reason says why a trial stopped or failed.
	Reason string
	// Objective is the trial's objective value: for a completed trial,
	// the objective of its model; for a trial stopped early, with the
	// DiscriminatorAUC objective, its last per-epoch value (as AMT reports
	// the last metric of a stopped job); NaN otherwise.
	Objective float64
	// Epochs holds validation:discriminator_auc after each epoch done
	// (empty without validation data): the intermediate values that
	// early stopping and Hyperband judge.
	Epochs []float64
	// Bracket is the trial's Hyperband bracket (0 stops earliest); -1
	// for other strategies.
	Bracket int
	// Duration is the trial's wall time, evaluation included.
	Duration time.Duration
}

func (t Trial) clone() Trial {
	t.Hyperparameters = maps.Clone(t.Hyperparameters)
	t.Epochs = slices.Clone(t.Epochs)
	return t
}

// Data is the input of a tuning job.
type Data struct {
	// Train is the training data of every trial.
	Train *ipinsights.Dataset
	// Validation is scored after every epoch of every trial
	// (validation:discriminator_auc). It is required by the
	// DiscriminatorAUC objective, early stopping and Hyperband.
	Validation *ipinsights.Dataset
	// Labeled is required by the AttackAUC objective.
	Labeled *Labeled
}

// Options configure a tuning job. MaxJobs is required; the zero values of
// the others mean their defaults.
type Options struct {
	// Static holds the hyperparameters that every trial shares, with
	// SageMaker's names (and this implementation's extras, such as seed,
	// the training seed of every trial; default 1). Every hyperparameter of
	// Tunable that Static does not fix is tuned (see NewSpace).
	Static map[string]string
	// Ranges narrows the ranges of tuned hyperparameters; the others keep
	// AMT's recommended ranges (DefaultRanges).
	Ranges []Range
	// MaxJobs is the number of trials, as AMT's MaxNumberOfTrainingJobs.
	// Trials run one after the other, each on every CPU: the search is
	// then the same for a seed whatever the machine.
	MaxJobs int
	// Strategy defaults to Bayesian, AMT's default.
	Strategy Strategy
	// Seed seeds the search (which hyperparameters each trial gets); the
	// same seed, data and options give the same trials, except for trials
	// cut short by MaxTrialRuntime.
	Seed uint64
	// Objective defaults to DiscriminatorAUC.
	Objective Objective
	// EarlyStopping applies AMT's median stopping rule after every epoch
	// (AMT's TrainingJobEarlyStoppingType Auto; false is Off, AMT's
	// default): a trial whose validation:discriminator_auc at an epoch is
	// below the median of the running averages of the earlier trials up to
	// that epoch is stopped. The rule waits until 3 earlier trials reached
	// the epoch. It needs validation data, and does not apply to
	// Hyperband, which stops trials itself.
	EarlyStopping bool
	// MinEpochs is Hyperband's minimum resource: the first rung, in
	// epochs; zero means 1.
	MinEpochs int
	// RandomTrials is how many trials the Bayesian strategy draws at
	// random before it fits its model; zero means MaxJobs/4, at least 3
	// and at most 10.
	RandomTrials int
	// Start, when not nil, holds the hyperparameters of the first trial:
	// a known configuration (the one in use, say) that the search then
	// tries to improve on, as Ray Tune's points_to_evaluate or Optuna's
	// enqueued trials (AMT has no such option). See Space.Start.
	Start map[string]string
	// MaxTrialRuntime, when positive, stops a trial that trains longer,
	// as a training job's stopping condition MaxRuntimeInSeconds. It makes
	// the search depend on the machine's speed.
	MaxTrialRuntime time.Duration
	// Progress receives events; nil discards them.
	Progress Progress
}

// EventKind classifies an Event.
type EventKind int

// The kinds of Event.
const (
	TrialStart EventKind = iota + 1 // a trial starts training
	TrialEpoch                      // a trial finished an epoch
	TrialEnd                        // a trial ended: Completed, Stopped or Failed
)

// Event is one step of a tuning job.
type Event struct {
	Kind EventKind
	// Trial is the trial as of the event (a copy).
	Trial Trial
	// MaxJobs is the number of trials of the job.
	MaxJobs int
	// Metrics are the trial's epoch metrics, for TrialEpoch.
	Metrics ipinsights.Metrics
	// Best is the best objective of the completed trials so far (NaN
	// when none has completed), for TrialEnd.
	Best float64
}

// Progress receives the events of a tuning job, from the goroutine that
// runs it; Record should return quickly.
type Progress interface {
	Record(Event)
}

// ProgressFunc adapts a function to Progress.
type ProgressFunc func(Event)

// Record calls f(e).
func (f ProgressFunc) Record(e Event) { f(e) }

// Result is the outcome of a tuning job.
type Result struct {
	// Space is the search space the job searched.
	Space *Space
	// Objective is the objective it maximised.
	Objective Objective
	// Trials holds every trial, in order.
	Trials []Trial
	// Best indexes the completed trial of the highest objective in
	// Trials (the first of equals); -1 when no trial completed.
	Best int
	// Model is the best trial's model; nil when no trial completed.
	Model *ipinsights.Model
}

// BestTrial returns the best completed trial, or nil.
func (r *Result) BestTrial() *Trial {
	if r.Best < 0 {
		return nil
	}
	return &r.Trials[r.Best]
}

// BestHyperparameters returns the complete hyperparameters of the best
// trial, static and tuned: the map that trains its model again (for
// instance as a hyperparameters.json file), or nil when no trial
// completed.
func (r *Result) BestHyperparameters() map[string]string {
	if r.Best < 0 {
		return nil
	}
	return r.Space.Hyperparameters(r.Trials[r.Best].Hyperparameters)
}

// Errors of Run for inputs that do not allow the search asked for.
var (
	ErrNoValidation    = errors.New("tune: no validation data: the validation:discriminator_auc objective, early stopping and Hyperband judge trials by it")
	ErrNoLabeled       = errors.New("tune: no labeled data: the attack_auc objective is measured on it")
	ErrNoTrialComplete = errors.New("tune: no trial completed")
)

// Random streams of the search (rng.Stream keys).
const (
	streamDraw  = 0x64726177 // "draw": the random point of trial i
	streamBayes = 0x62617973 // "bays": the acquisition candidates of trial i
)

// Run searches hyperparameters for the data. It returns the trials and
// the best model; when ctx is cancelled it stops the running trial and
// returns what was done so far with the context's error. A search in
// which no trial completed returns its trials with ErrNoTrialComplete.
func Run(ctx context.Context, data Data, opts Options) (*Result, error) {
	if opts.Strategy == "" {
		opts.Strategy = Bayesian
	}
	if opts.Objective == "" {
		opts.Objective = DiscriminatorAUC
	}
	if err := opts.check(data); err != nil {
		return nil, err
	}
	space, err := NewSpace(opts.Static, opts.Ranges, opts.Strategy)
	if err != nil {
		return nil, err
	}
	s := &search{opts: opts, data: data, space: space, res: &Result{Space: space, Objective: opts.Objective, Best: -1}}
	if opts.Start != nil {
		if s.start, s.startV, err = space.Start(opts.Start); err != nil {
			return nil, err
		}
	}
	if opts.Strategy == Hyperband {
		cfg, _ := space.config(nil)
		s.hb = newHyperband(max(opts.MinEpochs, 1), cfg.Epochs)
	}
	for i := range opts.MaxJobs {
		if err := ctx.Err(); err != nil {
			return s.res, err
		}
		if err := s.trial(ctx, i); err != nil {
			return s.res, err
		}
	}
	if s.res.Best < 0 {
		return s.res, ErrNoTrialComplete
	}
	return s.res, nil
}

func (o *Options) check(data Data) error {
	switch {
	case o.MaxJobs < 1:
		return fmt.Errorf("tune: MaxJobs %d: want at least 1 trial", o.MaxJobs)
	case o.Objective != DiscriminatorAUC && o.Objective != AttackAUC:
		return fmt.Errorf("tune: unknown objective %q: want %s or %s", o.Objective, DiscriminatorAUC, AttackAUC)
	case o.Strategy != Bayesian && o.Strategy != Random && o.Strategy != Hyperband:
		return fmt.Errorf("tune: unknown strategy %q", o.Strategy)
	case o.Strategy == Hyperband && o.EarlyStopping:
		return errors.New("tune: Hyperband stops trials itself: early stopping must be off with it, as in AMT")
	case o.MinEpochs < 0 || o.RandomTrials < 0:
		return errors.New("tune: MinEpochs and RandomTrials must not be negative")
	case data.Train == nil || data.Train.Len() == 0:
		return ipinsights.ErrNoData
	}
	needValid := o.Objective == DiscriminatorAUC || o.EarlyStopping || o.Strategy == Hyperband
	if needValid && (data.Validation == nil || data.Validation.Len() == 0) {
		return ErrNoValidation
	}
	if o.Objective == AttackAUC {
		if data.Labeled == nil {
			return ErrNoLabeled
		}
		if err := data.Labeled.check(); err != nil {
			return err
		}
	}
	return nil
}

// search is the state of a running tuning job.
type search struct {
	opts  Options
	data  Data
	space *Space
	hb    *hyperband
	res   *Result
	// start and startV are the tuned hyperparameters of the first trial
	// (Options.Start), as strings and values; nil without a start.
	start  map[string]string
	startV []float64
	x      [][]float64 // per finished trial: its point in the unit cube
	tried  map[string]bool
}

// point returns the point in the unit cube of trial i, its tuned
// hyperparameters and its configuration.
func (s *search) point(i int) ([]float64, map[string]string, ipinsights.Config, error) {
	if s.tried == nil {
		s.tried = map[string]bool{}
	}
	if i == 0 && s.start != nil {
		cfg, err := s.space.config(s.start)
		return s.space.encode(s.startV), s.start, cfg, err
	}
	if s.opts.Strategy == Bayesian && i >= s.randomTrials() {
		if u := s.bayes(i); u != nil {
			hp := s.space.values(s.space.decode(u))
			if cfg, err := s.space.config(hp); err == nil {
				return u, hp, cfg, nil
			}
		}
	}
	r := rng.New(s.opts.Seed, rng.Stream(streamDraw, uint64(i)))
	var err error
	// A draw can break the joint constraint 1 <= random + shuffled rate
	// (NewSpace made sure that some draws keep it): draw again.
	for range 1000 {
		u := make([]float64, s.space.Dims())
		for j := range u {
			u[j] = r.Float64()
		}
		u = s.space.encode(s.space.decode(u))
		hp := s.space.values(s.space.decode(u))
		var cfg ipinsights.Config
		if cfg, err = s.space.config(hp); err == nil {
			return u, hp, cfg, nil
		}
	}
	return nil, nil, ipinsights.Config{}, fmt.Errorf("tune: no valid hyperparameters in 1000 draws: %w", err)
}

func (s *search) randomTrials() int {
	if s.opts.RandomTrials > 0 {
		return s.opts.RandomTrials
	}
	return min(max(s.opts.MaxJobs/4, 3), 10)
}

// bayes returns the next point of the Bayesian strategy, or nil when its
// model cannot be fitted yet.
func (s *search) bayes(i int) []float64 {
	var x [][]float64
	var y []float64
	worst := math.Inf(1)
	// The objective of a trial stopped early is its last per-epoch value
	// (DiscriminatorAUC): lower than it would have reached, as it should.
	for k, t := range s.res.Trials {
		if v := t.Objective; !math.IsNaN(v) {
			v = aucScale(v)
			worst = min(worst, v)
			x, y = append(x, s.x[k]), append(y, v)
		}
	}
	if len(y) < 2 {
		return nil
	}
	// Failed trials count as the worst seen: their region is no place to
	// look. Trials stopped early under AttackAUC have no value (they were
	// judged by another metric) and are left out.
	for k, t := range s.res.Trials {
		if t.Status == Failed {
			x, y = append(x, s.x[k]), append(y, worst)
		}
	}
	g := fitGP(x, y)
	if g == nil {
		return nil
	}
	return g.suggest(rng.New(s.opts.Seed, rng.Stream(streamBayes, uint64(i))), s.space, x, y, s.tried)
}

// aucScale maps an AUC to -log(1 - AUC), the scale the Bayesian strategy
// models: it spreads the good values (0.98 and 0.99 are 3.9 and 4.6) and
// draws in the useless ones (0.5 is 0.69), which would otherwise dominate
// the objective's variance and flatten the differences that matter.
func aucScale(v float64) float64 {
	return -math.Log(max(1-v, 1e-9))
}

// trial runs trial i. It returns an error only when ctx is done.
func (s *search) trial(ctx context.Context, i int) error {
	began := time.Now()
	u, hp, cfg, err := s.point(i)
	if err != nil {
		return err
	}
	s.tried[key(s.space.decode(u))] = true
	t := Trial{Number: i + 1, Hyperparameters: hp, Objective: math.NaN(), Bracket: -1}
	if s.hb != nil {
		t.Bracket = s.hb.bracket(i)
	}
	s.report(Event{Kind: TrialStart, Trial: t.clone()})

	tctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if s.opts.MaxTrialRuntime > 0 {
		var c2 context.CancelFunc
		tctx, c2 = context.WithTimeout(tctx, s.opts.MaxTrialRuntime)
		defer c2()
	}
	var prev [][]float64
	for _, p := range s.res.Trials {
		prev = append(prev, p.Epochs)
	}
	var stopWhy string
	progress := ipinsights.ProgressFunc(func(m ipinsights.Metrics) {
		if !m.EpochEnd || stopWhy != "" {
			return
		}
		if !math.IsNaN(m.ValidationAUC) {
			t.Epochs = append(t.Epochs, m.ValidationAUC)
		}
		t.Duration = time.Since(began)
		s.report(Event{Kind: TrialEpoch, Trial: t.clone(), Metrics: m})
		if m.Epoch >= cfg.Epochs || len(t.Epochs) != m.Epoch {
			return
		}
		switch {
		case s.hb != nil:
			stopWhy = s.hb.judge(t.Bracket, m.Epoch, m.ValidationAUC)
		case s.opts.EarlyStopping:
			stopWhy = medianStop(t.Epochs, prev)
		}
		if stopWhy != "" {
			cancel()
		}
	})
	topts := &ipinsights.TrainOptions{Validation: s.data.Validation, Progress: progress}
	m, err := ipinsights.Train(tctx, cfg, s.data.Train, topts)
	if err == nil && s.opts.Objective == AttackAUC {
		t.Objective, err = s.data.Labeled.AttackAUC(m)
	} else if err == nil {
		t.Objective = t.Epochs[len(t.Epochs)-1]
	}
	t.Duration = time.Since(began)
	lastEpoch := math.NaN()
	if n := len(t.Epochs); n > 0 && s.opts.Objective == DiscriminatorAUC {
		lastEpoch = t.Epochs[n-1]
	}
	switch {
	case err == nil:
		t.Status = Completed
	case ctx.Err() != nil:
		t.Status, t.Reason, t.Objective = Stopped, "the tuning job was cancelled", lastEpoch
	case stopWhy != "":
		t.Status, t.Reason, t.Objective = Stopped, stopWhy, lastEpoch
	case errors.Is(tctx.Err(), context.DeadlineExceeded):
		t.Status, t.Reason, t.Objective = Stopped, fmt.Sprintf("ran longer than %s", s.opts.MaxTrialRuntime), lastEpoch
	default:
		t.Status, t.Reason, t.Objective = Failed, err.Error(), math.NaN()
	}
	if t.Status == Completed && math.IsNaN(t.Objective) {
		t.Status, t.Reason = Failed, "the objective is not a number"
	}
	s.res.Trials = append(s.res.Trials, t)
	s.x = append(s.x, u)
	if t.Status == Completed && (s.res.Best < 0 || t.Objective > s.res.Trials[s.res.Best].Objective) {
		s.res.Best = len(s.res.Trials) - 1
		s.res.Model = m
	}
	best := math.NaN()
	if s.res.Best >= 0 {
		best = s.res.Trials[s.res.Best].Objective
	}
	s.report(Event{Kind: TrialEnd, Trial: t.clone(), Best: best})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return nil
}

func (s *search) report(e Event) {
	if s.opts.Progress == nil {
		return
	}
	e.MaxJobs = s.opts.MaxJobs
	if e.Kind != TrialEnd {
		e.Best = math.NaN()
	}
	s.opts.Progress.Record(e)
}
