// Package tutorial runs the SageMaker IP Insights tutorial end to end on
// generated data: generate the logins, train with the tutorial's
// hyperparameters, score the attack test. The demo command and the quality
// benchmark share it.
package tutorial

import (
	"context"
	"maps"
	"strconv"
	"time"

	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/ipinsights/ipinsights-go/synth"
)

// Hyperparameters are the tutorial's settings (others take SageMaker's
// defaults). Config turns them into an ipinsights.Config.
var Hyperparameters = map[string]string{
	"num_entity_vectors":            "20000",
	"vector_dim":                    "128",
	"random_negative_sampling_rate": "5",
	"mini_batch_size":               "1000",
	"epochs":                        "5",
	"learning_rate":                 "0.01",
}

// Published figures of the SageMaker tutorial (DESIGN.md section 1).
const (
	SageMakerPrecision  = 0.9513
	SageMakerRecall     = 0.9845
	SageMakerTrainAcc   = 0.987
	SageMakerTrainCE    = 0.054
	SageMakerValidAUC   = 0.99
	SageMakerThroughput = 142000 // expanded samples/s on ml.m5.2xlarge (8 vCPU)
)

// Config returns the configuration of the tutorial's hyperparameters with
// override applied on top (names as ipinsights.ParseHyperparameters takes
// them, ours included), and the merged map.
func Config(override map[string]string) (ipinsights.Config, map[string]string, error) {
	hp := maps.Clone(Hyperparameters)
	maps.Copy(hp, override)
	cfg, err := ipinsights.ParseHyperparameters(hp)
	if err != nil {
		return ipinsights.Config{}, nil, err
	}
	return cfg, hp, nil
}

// Options configure a run.
type Options struct {
	Users    int               // users to simulate; 10,000 is the tutorial's scale
	Seed     uint64            // seed of the data and the training
	Workers  int               // training goroutines; 0 means GOMAXPROCS
	Override map[string]string // hyperparameters that replace the tutorial's
	Progress ipinsights.Progress
}

// Result is what a run measured.
type Result struct {
	Data            *synth.Logins
	Model           *ipinsights.Model
	Hyperparameters map[string]string
	Eval            ipinsights.Evaluation // on the attack test, threshold 0
	LastEpoch       ipinsights.Metrics    // metrics of the last epoch
	GenTime         time.Duration
	TrainTime       time.Duration
	ScoreTime       time.Duration
}

// SamplesPerSecond returns the training throughput in expanded samples per
// second over the whole training time (validation scoring included).
func (r *Result) SamplesPerSecond() float64 {
	return float64(r.LastEpoch.Samples) / r.TrainTime.Seconds()
}

// Run generates the data, trains and evaluates.
func Run(ctx context.Context, o Options) (*Result, error) {
	over := map[string]string{"seed": strconv.FormatUint(o.Seed, 10)}
	maps.Copy(over, o.Override)
	cfg, hp, err := Config(over)
	if err != nil {
		return nil, err
	}
	res := &Result{Hyperparameters: hp}
	start := time.Now()
	res.Data, err = synth.GenerateLogins(synth.LoginConfig{Users: o.Users, Seed: o.Seed})
	if err != nil {
		return nil, err
	}
	res.GenTime = time.Since(start)
	train, valid := Dataset(res.Data.Train), Dataset(res.Data.Validation)

	prog := ipinsights.ProgressFunc(func(m ipinsights.Metrics) {
		if m.EpochEnd {
			res.LastEpoch = m
		}
		if o.Progress != nil {
			o.Progress.Record(m)
		}
	})
	start = time.Now()
	res.Model, err = ipinsights.Train(ctx, cfg, train, &ipinsights.TrainOptions{Validation: valid, Progress: prog, Workers: o.Workers})
	if err != nil {
		return nil, err
	}
	res.TrainTime = time.Since(start)

	test := res.Data.Test
	pairs := make([]ipinsights.Pair, len(test))
	anomalous := make([]bool, len(test))
	for i, x := range test {
		pairs[i] = ipinsights.Pair{Entity: x.Entity(), IP: x.Addr()}
		anomalous[i] = x.Anomalous()
	}
	start = time.Now()
	scores := res.Model.ScoreBatch(nil, pairs)
	res.ScoreTime = time.Since(start)
	dots := make([]float64, len(scores))
	for i, s := range scores {
		dots[i] = s.DotProduct
	}
	res.Eval, err = ipinsights.Evaluate(dots, anomalous, 0)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Dataset encodes logins for training.
func Dataset(ls []synth.Login) *ipinsights.Dataset {
	d := ipinsights.NewDataset()
	var b []byte
	for _, x := range ls {
		b = x.AppendEntity(b[:0])
		d.AddBytes(b, x.Addr())
	}
	return d
}
