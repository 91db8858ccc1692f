package main

import (
	"flag"

	"github.com/ipinsights/ipinsights-go/tune"
)

// searchFlags are the flags of a hyperparameter search that tune (trials
// here) and sagemaker tune (a SageMaker tuning job's training jobs) share:
// the ranges, the number of trials, the strategy, hyperband's first rung
// and early stopping.
type searchFlags struct {
	trials  string // what the trials are called: "trials", "training jobs"
	service string // what requires early stopping off with hyperband: "AMT", "SageMaker"

	ranges    multiFlag
	maxJobs   *int
	strategy  *string
	minEpochs *int
	early     *string
}

// addSearchFlags declares the search flags on fs; earlyDefault says in
// --early-stopping's help when it is on by default.
func addSearchFlags(fs *flag.FlagSet, trials, service, earlyDefault string) *searchFlags {
	f := &searchFlags{trials: trials, service: service}
	fs.Var(&f.ranges, "range", "narrow a tuned range: key=min:max, or key=min:max:log for a logarithmic scale (repeatable); --hp fixes a hyperparameter")
	f.maxJobs = fs.Int("max-jobs", 0, "number of "+trials+" (AMT's MaxNumberOfTrainingJobs); required")
	f.strategy = fs.String("strategy", "bayesian", "bayesian, random or hyperband (epochs are hyperband's resource: fix the maximum with --hp epochs=N)")
	f.minEpochs = fs.Int("min-epochs", 1, "hyperband: the first rung, in epochs (AMT's MinResource)")
	f.early = fs.String("early-stopping", "", "auto or off: AMT's median stopping rule on the per-epoch validation AUC ("+earlyDefault+")")
	return f
}

// check checks --max-jobs and --min-epochs and returns the strategy.
func (f *searchFlags) check() (tune.Strategy, error) {
	switch {
	case *f.maxJobs < 1:
		return "", usagef("--max-jobs is required: the number of %s, 1 or more", f.trials)
	case *f.minEpochs < 1:
		return "", usagef("--min-epochs %d: want 1 or more", *f.minEpochs)
	}
	st, err := tune.ParseStrategy(*f.strategy)
	if err != nil {
		return "", usagef("--strategy %q: want bayesian, random or hyperband", *f.strategy)
	}
	return st, nil
}

// earlyStopping returns whether early stopping is on with strategy st:
// def unless --early-stopping says auto or off. Hyperband stops trials
// itself, and AMT requires early stopping off with it.
func (f *searchFlags) earlyStopping(st tune.Strategy, def bool) (bool, error) {
	switch *f.early {
	case "":
		return def, nil
	case "auto":
		if st == tune.Hyperband {
			return false, usagef("--early-stopping auto: hyperband stops %s itself (%s requires early stopping off with it)", f.trials, f.service)
		}
		return true, nil
	case "off":
		return false, nil
	}
	return false, usagef("--early-stopping %q: want auto or off", *f.early)
}

// parseRanges returns the --range flags' ranges.
func (f *searchFlags) parseRanges() ([]tune.Range, error) {
	var rs []tune.Range
	for _, r := range f.ranges {
		rg, err := tune.ParseRange(r)
		if err != nil {
			return nil, usagef("--%v", err)
		}
		rs = append(rs, rg)
	}
	return rs, nil
}
