package tune_test

import (
	"context"
	"errors"
	"maps"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/internal/test/testmodel"
	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/ipinsights/ipinsights-go/rng"
	"github.com/ipinsights/ipinsights-go/tune"
)

// data returns 3000 training pairs of 100 entities with planted networks
// (testmodel.Pairs), 600 validation pairs from the same entities and
// networks, and a labeled set: the validation pairs (normal) and as many
// pairs of the same entities with uniformly random addresses (attacks).
func data(t testing.TB) tune.Data {
	t.Helper()
	pairs := testmodel.Pairs(1, 100, 3600)
	train, valid := ipinsights.NewDataset(), ipinsights.NewDataset()
	lab := &tune.Labeled{Pairs: ipinsights.NewDataset()}
	r := rng.New(2, 3)
	for i, p := range pairs {
		if i < 3000 {
			train.Add(p.Entity, p.IP)
			continue
		}
		valid.Add(p.Entity, p.IP)
		lab.Pairs.Add(p.Entity, p.IP)
		v := r.Uint32()
		lab.Pairs.Add(p.Entity, netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}))
		lab.Anomalous = append(lab.Anomalous, false, true)
	}
	return tune.Data{Train: train, Validation: valid, Labeled: lab}
}

// quick keeps trials to a few milliseconds: small tables (our own
// hyperparameters, static) and narrow ranges.
func quick(jobs int, strategy tune.Strategy) tune.Options {
	return tune.Options{
		Static: map[string]string{"num_entity_vectors": "10000", "ipv4_hash_rows": "4096", "ipv6_hash_rows": "1024"},
		Ranges: []tune.Range{
			{Name: "epochs", Min: 1, Max: 4}, {Name: "vector_dim", Min: 8, Max: 16},
			{Name: "mini_batch_size", Min: 100, Max: 1000}, {Name: "num_ip_encoder_layers", Min: 1, Max: 2},
			{Name: "random_negative_sampling_rate", Min: 0, Max: 5}, {Name: "shuffled_negative_sampling_rate", Min: 0, Max: 3},
			{Name: "learning_rate", Min: 0.005, Max: 0.05}, {Name: "weight_decay", Min: 0, Max: 0.0001},
		},
		MaxJobs: jobs, Strategy: strategy, Seed: 1,
	}
}

func TestSameSeedSameTrials(t *testing.T) {
	d := data(t)
	jobs := 8
	if testing.Short() {
		jobs = 5 // two Bayesian steps still
	}
	opts := quick(jobs, tune.Bayesian)
	opts.RandomTrials = 3
	opts.EarlyStopping = true
	a, err := tune.Run(context.Background(), d, opts)
	require.NoError(t, err)
	b, err := tune.Run(context.Background(), d, opts)
	require.NoError(t, err)
	require.Len(t, a.Trials, jobs)
	for i := range a.Trials {
		x, y := a.Trials[i], b.Trials[i]
		x.Duration, y.Duration = 0, 0
		assert.Equal(t, x, y, "trial %d", i+1)
	}
	assert.Equal(t, a.Best, b.Best)
	assert.Equal(t, a.BestHyperparameters(), b.BestHyperparameters())

	opts.Seed = 2
	c, err := tune.Run(context.Background(), d, opts)
	require.NoError(t, err)
	assert.NotEqual(t, a.Trials[0].Hyperparameters, c.Trials[0].Hyperparameters, "another seed, other trials")
}

func TestBestModelAndHyperparameters(t *testing.T) {
	d := data(t)
	var events []tune.Event
	opts := quick(5, tune.Random)
	opts.Progress = tune.ProgressFunc(func(e tune.Event) { events = append(events, e) })
	res, err := tune.Run(context.Background(), d, opts)
	require.NoError(t, err)
	best := res.BestTrial()
	require.NotNil(t, best)
	for _, tr := range res.Trials {
		assert.Equal(t, tune.Completed, tr.Status, "no early stopping: %+v", tr)
		assert.LessOrEqual(t, tr.Objective, best.Objective)
		assert.Equal(t, tr.Epochs[len(tr.Epochs)-1], tr.Objective, "the objective is the last epoch's validation:discriminator_auc")
		assert.Equal(t, res.Space.Names(), keys(tr.Hyperparameters))
	}
	assert.Equal(t, best.Objective, res.Model.DiscriminatorAUC(d.Validation), "the model is the best trial's")

	// The best hyperparameters train the same model again.
	hp := res.BestHyperparameters()
	assert.Equal(t, "10000", hp["num_entity_vectors"])
	cfg, err := ipinsights.ParseHyperparameters(hp)
	require.NoError(t, err)
	assert.Equal(t, res.Model.Config(), cfg)
	m, err := ipinsights.Train(context.Background(), cfg, d.Train, nil)
	require.NoError(t, err)
	assert.Equal(t, best.Objective, m.DiscriminatorAUC(d.Validation))

	// Events: per trial a start, an epoch each, an end.
	var kinds []tune.EventKind
	for _, e := range events {
		if e.Trial.Number == 2 {
			kinds = append(kinds, e.Kind)
		}
		assert.Equal(t, 5, e.MaxJobs)
	}
	want := []tune.EventKind{tune.TrialStart}
	for range res.Trials[1].Epochs {
		want = append(want, tune.TrialEpoch)
	}
	assert.Equal(t, append(want, tune.TrialEnd), kinds)
	last := events[len(events)-1]
	assert.Equal(t, best.Objective, last.Best)
}

func keys(m map[string]string) []string {
	var ks []string
	for _, n := range tune.Tunable() {
		if _, ok := m[n]; ok {
			ks = append(ks, n)
		}
	}
	return ks
}

func TestEarlyStoppingStopsHopelessTrials(t *testing.T) {
	d := data(t)
	opts := quick(12, tune.Random)
	opts.Ranges[len(opts.Ranges)-1] = tune.Range{Name: "weight_decay", Min: 0, Max: 1} // many hopeless trials
	opts.Ranges[0] = tune.Range{Name: "epochs", Min: 3, Max: 4}
	opts.EarlyStopping = true
	res, err := tune.Run(context.Background(), d, opts)
	require.NoError(t, err)
	stopped := 0
	for _, tr := range res.Trials {
		if tr.Status == tune.Stopped {
			stopped++
			assert.Contains(t, tr.Reason, "below the median")
			assert.Equal(t, tr.Epochs[len(tr.Epochs)-1], tr.Objective, "a stopped trial's objective is its last value")
			assert.Less(t, len(tr.Epochs), 4)
		}
	}
	assert.Positive(t, stopped, "%+v", res.Trials)
	assert.Equal(t, tune.Completed, res.BestTrial().Status)
}

func TestHyperband(t *testing.T) {
	d := data(t)
	opts := quick(9, tune.Hyperband)
	opts.Ranges = opts.Ranges[1:]                                                      // no range for epochs
	opts.Ranges[len(opts.Ranges)-1] = tune.Range{Name: "weight_decay", Min: 0, Max: 1} // many hopeless trials
	opts.Static["epochs"] = "9"
	res, err := tune.Run(context.Background(), d, opts)
	require.NoError(t, err)
	stopped := 0
	for i, tr := range res.Trials {
		assert.Equal(t, i%3, tr.Bracket)
		assert.NotContains(t, tr.Hyperparameters, "epochs")
		switch tr.Status {
		case tune.Completed:
			assert.Len(t, tr.Epochs, 9)
		case tune.Stopped:
			stopped++
			assert.Contains(t, tr.Reason, "Hyperband rung at epoch")
			assert.Contains(t, []int{1, 3}, len(tr.Epochs), "rungs at 1 and 3 epochs")
			assert.NotEqual(t, 2, tr.Bracket, "the last bracket has no rung")
		}
	}
	assert.Positive(t, stopped)
	assert.Equal(t, "9", res.BestHyperparameters()["epochs"])

	opts.EarlyStopping = true
	_, err = tune.Run(context.Background(), d, opts)
	assert.ErrorContains(t, err, "Hyperband stops trials itself")
}

func TestAttackObjective(t *testing.T) {
	d := data(t)
	opts := quick(3, tune.Random)
	opts.Objective = tune.AttackAUC
	res, err := tune.Run(context.Background(), tune.Data{Train: d.Train, Labeled: d.Labeled}, opts)
	require.NoError(t, err)
	for _, tr := range res.Trials {
		assert.Empty(t, tr.Epochs, "no validation data, no per-epoch values")
	}
	auc, err := d.Labeled.AttackAUC(res.Model)
	require.NoError(t, err)
	assert.Equal(t, res.BestTrial().Objective, auc)
	assert.Greater(t, auc, 0.9, "random addresses are told from the entities' networks")
}

func TestRunErrors(t *testing.T) {
	d := data(t)
	ctx := context.Background()
	oneClass := &tune.Labeled{Pairs: d.Validation, Anomalous: make([]bool, d.Validation.Len())}
	for _, tc := range []struct {
		name string
		data tune.Data
		edit func(*tune.Options)
		want error
		msg  string
	}{
		{"no jobs", d, func(o *tune.Options) { o.MaxJobs = 0 }, nil, "want at least 1 trial"},
		{"no validation", tune.Data{Train: d.Train}, nil, tune.ErrNoValidation, ""},
		{"empty validation", tune.Data{Train: d.Train, Validation: ipinsights.NewDataset()}, nil, tune.ErrNoValidation, ""},
		{"no training data", tune.Data{Validation: d.Validation}, nil, ipinsights.ErrNoData, ""},
		{"attack without labels", tune.Data{Train: d.Train}, func(o *tune.Options) { o.Objective = tune.AttackAUC }, tune.ErrNoLabeled, ""},
		{"one class", tune.Data{Train: d.Train, Labeled: oneClass}, func(o *tune.Options) { o.Objective = tune.AttackAUC }, tune.ErrOneClass, ""},
		{"early stopping without validation", tune.Data{Train: d.Train, Labeled: d.Labeled}, func(o *tune.Options) { o.Objective, o.EarlyStopping = tune.AttackAUC, true }, tune.ErrNoValidation, ""},
		{"unknown objective", d, func(o *tune.Options) { o.Objective = "accuracy" }, nil, `unknown objective "accuracy"`},
		{"bad range", d, func(o *tune.Options) { o.Ranges = []tune.Range{{Name: "epochs", Min: 0, Max: 5}} }, nil, "outside AMT's allowed values"},
	} {
		opts := quick(2, tune.Random)
		if tc.edit != nil {
			tc.edit(&opts)
		}
		_, err := tune.Run(ctx, tc.data, opts)
		require.Error(t, err, tc.name)
		if tc.want != nil {
			assert.ErrorIs(t, err, tc.want, tc.name)
		}
		assert.Contains(t, err.Error(), tc.msg, tc.name)
		assert.False(t, strings.Contains(err.Error(), "--"), "%s: a library error names no flag: %v", tc.name, err)
	}
	var re *tune.RangeError
	_, err := tune.Run(ctx, d, tune.Options{MaxJobs: 1, Ranges: []tune.Range{{Name: "seed", Min: 1, Max: 2}}})
	assert.ErrorAs(t, err, &re)
}

func TestCancelAndRuntimeLimit(t *testing.T) {
	d := data(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := quick(5, tune.Random)
	opts.Progress = tune.ProgressFunc(func(e tune.Event) {
		if e.Kind == tune.TrialEnd && e.Trial.Number == 2 {
			cancel()
		}
	})
	res, err := tune.Run(ctx, d, opts)
	assert.ErrorIs(t, err, context.Canceled)
	require.NotNil(t, res)
	assert.Len(t, res.Trials, 2, "the search stops after the trial under way")
	assert.NotNil(t, res.Model, "the best model so far is kept")

	opts = quick(2, tune.Random)
	opts.MaxTrialRuntime = time.Nanosecond
	res, err = tune.Run(context.Background(), d, opts)
	assert.True(t, errors.Is(err, tune.ErrNoTrialComplete), "%v", err)
	for _, tr := range res.Trials {
		assert.Equal(t, tune.Stopped, tr.Status)
		assert.Equal(t, "ran longer than 1ns", tr.Reason)
		assert.True(t, math.IsNaN(tr.Objective) || len(tr.Epochs) > 0)
	}
	assert.Nil(t, res.BestTrial())
	assert.Nil(t, res.BestHyperparameters())
}

func TestStartPoint(t *testing.T) {
	d := data(t)
	opts := quick(2, tune.Bayesian)
	opts.Start = map[string]string{"epochs": "2", "vector_dim": "12", "learning_rate": "0.0123456", "mini_batch_size": "500",
		"random_negative_sampling_rate": "4", "num_entity_vectors": "10000"} // fixed, and equal: fine
	res, err := tune.Run(context.Background(), d, opts)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"epochs": "2", "vector_dim": "12", "learning_rate": "0.0123456", "mini_batch_size": "500",
		"num_ip_encoder_layers": "1", "random_negative_sampling_rate": "4", "shuffled_negative_sampling_rate": "1", "weight_decay": "1e-05"},
		res.Trials[0].Hyperparameters, "the start as given, and DefaultConfig's values for the tuned ones it lacks")
	assert.NotEqual(t, res.Trials[0].Hyperparameters, res.Trials[1].Hyperparameters)

	good := maps.Clone(opts.Start)
	for msg, edit := range map[string]map[string]string{
		"tune: start: epochs=9 is outside the range epochs=1:4:linear":                                     {"epochs": "9"},
		"tune: start: num_entity_vectors=20000, but num_entity_vectors is not tuned and is fixed at 10000": {"num_entity_vectors": "20000"},
		"tune: start: bogus=1, but bogus is not tuned and is not a hyperparameter of the model":            {"bogus": "1"},
	} {
		opts.Start = maps.Clone(good)
		maps.Copy(opts.Start, edit)
		_, err := tune.Run(context.Background(), d, opts)
		assert.EqualError(t, err, msg)
	}
	opts.Start = map[string]string{}
	_, err = tune.Run(context.Background(), d, opts)
	assert.EqualError(t, err, "tune: start: no value for vector_dim, and its default 128 is outside the range vector_dim=8:16:log")
}
