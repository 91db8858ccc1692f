package sagemaker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/ipinsights/ipinsights-go/tune"
)

// TuningAPI is the part of the SageMaker API that hyperparameter tuning
// jobs call. A *sagemaker.Client from aws-sdk-go-v2 satisfies it; the API
// given to New must implement it for PrepareTuning.
type TuningAPI interface {
	CreateHyperParameterTuningJob(ctx context.Context, in *sm.CreateHyperParameterTuningJobInput, optFns ...func(*sm.Options)) (*sm.CreateHyperParameterTuningJobOutput, error)
	DescribeHyperParameterTuningJob(ctx context.Context, in *sm.DescribeHyperParameterTuningJobInput, optFns ...func(*sm.Options)) (*sm.DescribeHyperParameterTuningJobOutput, error)
	StopHyperParameterTuningJob(ctx context.Context, in *sm.StopHyperParameterTuningJobInput, optFns ...func(*sm.Options)) (*sm.StopHyperParameterTuningJobOutput, error)
	ListTrainingJobsForHyperParameterTuningJob(ctx context.Context, in *sm.ListTrainingJobsForHyperParameterTuningJobInput, optFns ...func(*sm.Options)) (*sm.ListTrainingJobsForHyperParameterTuningJobOutput, error)
}

var _ TuningAPI = (*sm.Client)(nil)

// MaxTuningNameLen is SageMaker's limit on the length of a tuning job's
// name.
const MaxTuningNameLen = 32

// TuningNamePattern is SageMaker's pattern for hyperparameter tuning job
// names, which also have at most MaxTuningNameLen characters.
var TuningNamePattern = regexp.MustCompile(`^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$`)

// NewTuningJobName returns a fresh name for a tuning job, within
// SageMaker's 32 characters: "ipinsights-tune-", the UTC month, day and
// time, and a random suffix.
func NewTuningJobName() string {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("ipinsights-tune-%s-%s", time.Now().UTC().Format("0102-150405"), hex.EncodeToString(b[:]))
}

// TuningSpec is the input of a SageMaker hyperparameter tuning job: the
// data, fixed hyperparameters and ranges of a local search (package tune),
// run as SageMaker's automatic model tuning. Its objective is
// validation:discriminator_auc, the only metric AMT can tune IP Insights
// on, so the validation channel is required.
type TuningSpec struct {
	// Train and Validation are local CSV files, checked and uploaded as for
	// a training job (TrainingSpec); TrainS3 and ValidationS3 name data
	// already on S3 instead.
	Train, Validation, TrainS3, ValidationS3 string
	// Static holds the fixed hyperparameters, and Ranges narrows the tuned
	// ones, as tune.Options (see tune.NewSpace). Only SageMaker's
	// hyperparameters are sent: this implementation's extras are reported
	// in TuningJob.NotSent.
	Static map[string]string
	Ranges []tune.Range
	// Strategy defaults to tune.Bayesian.
	Strategy tune.Strategy
	// MaxJobs is AMT's MaxNumberOfTrainingJobs (required);
	// MaxParallelJobs its MaxParallelTrainingJobs (default 1).
	MaxJobs, MaxParallelJobs int
	// EarlyStopping sets TrainingJobEarlyStoppingType to Auto (AMT's
	// median rule); it must be false with Hyperband.
	EarlyStopping bool
	// MinEpochs is Hyperband's MinResource (default 1); its MaxResource
	// is the static epochs.
	MinEpochs int
	// Seed is AMT's RandomSeed (taken modulo 2^31).
	Seed uint64
	// JobName is the tuning job's name; empty means NewTuningJobName.
	JobName string
}

// TuningJob is a checked TuningSpec, ready to run. Preparing one calls no
// AWS API.
type TuningJob struct {
	Name string
	// Space is the search space, as a local search would search it.
	Space *tune.Space
	// Static is what SageMaker receives as StaticHyperParameters:
	// SageMaker's hyperparameters that are not tuned, every one of them.
	Static map[string]string
	// NotSent lists the given hyperparameters that are this
	// implementation's extras and are not sent.
	NotSent []string

	spec  TuningSpec
	train *TrainingJob // the data and the training job definition
}

// PrepareTuning checks spec and the local data and fixes the tuning job's
// name and S3 locations. It creates nothing.
func (c *Client) PrepareTuning(ctx context.Context, spec TuningSpec) (*TuningJob, error) {
	if _, ok := c.sm.(TuningAPI); !ok {
		return nil, errors.New("sagemaker: the SageMaker client does not implement TuningAPI")
	}
	if spec.Strategy == "" {
		spec.Strategy = tune.Bayesian
	}
	if spec.MaxParallelJobs == 0 {
		spec.MaxParallelJobs = 1
	}
	if spec.MinEpochs == 0 {
		spec.MinEpochs = 1
	}
	switch {
	case spec.MaxJobs < 1:
		return nil, fmt.Errorf("sagemaker: a tuning job needs at least 1 training job, not %d", spec.MaxJobs)
	case spec.MaxParallelJobs < 1 || spec.MaxParallelJobs > spec.MaxJobs:
		return nil, fmt.Errorf("sagemaker: %d parallel training jobs: want 1 to the number of training jobs (%d)", spec.MaxParallelJobs, spec.MaxJobs)
	case spec.Strategy == tune.Hyperband && spec.EarlyStopping:
		return nil, errors.New("sagemaker: Hyperband stops training jobs itself: SageMaker requires early stopping off with it")
	case spec.Validation == "" && spec.ValidationS3 == "":
		return nil, fmt.Errorf("sagemaker: a tuning job needs validation data: its objective %s is measured on it", tune.DiscriminatorAUC)
	}
	space, err := tune.NewSpace(spec.Static, spec.Ranges, spec.Strategy)
	if err != nil {
		return nil, fmt.Errorf("sagemaker: %w", err)
	}
	j := &TuningJob{Name: spec.JobName, Space: space, spec: spec}
	if j.Name == "" {
		j.Name = NewTuningJobName()
	}
	if len(j.Name) > MaxTuningNameLen || !TuningNamePattern.MatchString(j.Name) {
		return nil, fmt.Errorf("sagemaker: tuning job name %q must be 1 to 32 letters, digits and hyphens, starting with a letter or digit", j.Name)
	}
	// The data and the static hyperparameters are those of a training job
	// of the same name (its input prefix input/NAME/).
	j.train, err = c.PrepareTraining(ctx, TrainingSpec{
		Train: spec.Train, Validation: spec.Validation, TrainS3: spec.TrainS3, ValidationS3: spec.ValidationS3,
		Hyperparameters: space.Static, JobName: j.Name,
	})
	if err != nil {
		return nil, err
	}
	j.NotSent = j.train.NotSent
	j.Static = maps.Clone(j.train.Hyperparameters)
	for _, n := range space.Names() {
		delete(j.Static, n)
	}
	return j, nil
}

// PlanTuning returns what running j creates.
func (c *Client) PlanTuning(j *TuningJob) Plan {
	p := c.PlanTraining(j.train)
	p.Resources = p.Resources[:len(p.Resources)-1] // the training job: replaced by the tuning job's
	p.Resources = append(p.Resources, Resource{
		Kind: "tuning job", Name: j.Name, InstanceType: c.opts.InstanceType, InstanceCount: c.opts.InstanceCount,
		Note: fmt.Sprintf("%d training jobs, %d at a time, each at most %s, %d GB volume", j.spec.MaxJobs, j.spec.MaxParallelJobs, c.opts.MaxRuntime, c.opts.VolumeSizeGB),
	})
	return p
}

// TuningTrial is one training job of a tuning job.
type TuningTrial struct {
	TrainingJob string
	Status      string // SageMaker's TrainingJobStatus
	// Hyperparameters holds the tuned hyperparameters' values.
	Hyperparameters map[string]string
	// Objective is the final validation:discriminator_auc; NaN when the
	// job reported none.
	Objective     float64
	FailureReason string
	// Duration is the time from TrainingStartTime to TrainingEndTime
	// (zero while unknown).
	Duration time.Duration
}

// TuningResult is the outcome of a completed tuning job.
type TuningResult struct {
	JobName, JobARN string
	// Trials lists the training jobs in the order they were created.
	Trials []TuningTrial
	// Best indexes the best training job in Trials, as SageMaker reports
	// it (BestTrainingJob); -1 when there is none.
	Best int
	// BestHyperparameters is the best job's complete map: the given static
	// hyperparameters (our extras included) with the tuned values on top,
	// as a local search's tune.Result.BestHyperparameters.
	BestHyperparameters map[string]string
	// ModelArtifacts is the S3 URI of the best job's model.tar.gz.
	ModelArtifacts string
}

// tuningConfig returns the HyperParameterTuningJobConfig of j.
func (j *TuningJob) tuningConfig() *types.HyperParameterTuningJobConfig {
	ranges := &types.ParameterRanges{}
	for _, r := range j.Space.Ranges {
		scale := types.HyperParameterScalingTypeLinear
		if r.Scale == tune.Log {
			scale = types.HyperParameterScalingTypeLogarithmic
		}
		lo, hi := rangeBound(r.Min, r.Integer()), rangeBound(r.Max, r.Integer())
		if r.Integer() {
			ranges.IntegerParameterRanges = append(ranges.IntegerParameterRanges, types.IntegerParameterRange{
				Name: aws.String(r.Name), MinValue: aws.String(lo), MaxValue: aws.String(hi), ScalingType: scale})
		} else {
			ranges.ContinuousParameterRanges = append(ranges.ContinuousParameterRanges, types.ContinuousParameterRange{
				Name: aws.String(r.Name), MinValue: aws.String(lo), MaxValue: aws.String(hi), ScalingType: scale})
		}
	}
	cfg := &types.HyperParameterTuningJobConfig{
		Strategy: types.HyperParameterTuningJobStrategyType(j.spec.Strategy),
		HyperParameterTuningJobObjective: &types.HyperParameterTuningJobObjective{
			Type: types.HyperParameterTuningJobObjectiveTypeMaximize, MetricName: aws.String(string(tune.DiscriminatorAUC)),
		},
		ResourceLimits: &types.ResourceLimits{
			MaxNumberOfTrainingJobs: aws.Int32(int32(j.spec.MaxJobs)),
			MaxParallelTrainingJobs: aws.Int32(int32(j.spec.MaxParallelJobs)),
		},
		ParameterRanges:              ranges,
		TrainingJobEarlyStoppingType: types.TrainingJobEarlyStoppingTypeOff,
		RandomSeed:                   aws.Int32(int32(j.spec.Seed % (1 << 31))),
	}
	if j.spec.EarlyStopping {
		cfg.TrainingJobEarlyStoppingType = types.TrainingJobEarlyStoppingTypeAuto
	}
	if j.spec.Strategy == tune.Hyperband {
		epochs, _ := strconv.Atoi(j.Static["epochs"])
		cfg.StrategyConfig = &types.HyperParameterTuningJobStrategyConfig{HyperbandStrategyConfig: &types.HyperbandStrategyConfig{
			MinResource: aws.Int32(int32(j.spec.MinEpochs)), MaxResource: aws.Int32(int32(epochs)),
		}}
	}
	return cfg
}

func rangeBound(v float64, integer bool) string {
	if integer {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// RunTuning uploads j's data, creates the hyperparameter tuning job and
// waits for it, reporting its progress. When ctx is cancelled the tuning
// job is stopped (which stops its training jobs), and RunTuning returns
// after it reached Stopped (or after StopTimeout).
func (c *Client) RunTuning(ctx context.Context, j *TuningJob) (*TuningResult, error) {
	api := c.sm.(TuningAPI) // checked by PrepareTuning
	tj := j.train
	if err := c.uploadData(ctx, tj); err != nil {
		return nil, err
	}
	c.noteNotSent(j.Name, j.NotSent)
	channels := []types.Channel{channel("train", tj.trainURI), channel("validation", tj.validationURI)}
	out, err := api.CreateHyperParameterTuningJob(ctx, &sm.CreateHyperParameterTuningJobInput{
		HyperParameterTuningJobName:   aws.String(j.Name),
		HyperParameterTuningJobConfig: j.tuningConfig(),
		TrainingJobDefinition: &types.HyperParameterTrainingJobDefinition{
			AlgorithmSpecification: &types.HyperParameterAlgorithmSpecification{
				TrainingImage:     aws.String(c.opts.Image),
				TrainingInputMode: types.TrainingInputModeFile,
			},
			RoleArn:               aws.String(c.opts.RoleARN),
			InputDataConfig:       channels,
			OutputDataConfig:      c.outputDataConfig(),
			ResourceConfig:        c.resourceConfig(),
			StoppingCondition:     c.stoppingCondition(),
			StaticHyperParameters: j.Static,
		},
	})
	if err != nil {
		return nil, c.createFailed(ctx, "tuning job", j.Name, err, stopTuning(api, j.Name))
	}
	c.report(Event{Kind: EventCreate, Resource: j.Name, Message: fmt.Sprintf("tuning job: %d training jobs on %d x %s, %d at a time", j.spec.MaxJobs, c.opts.InstanceCount, c.opts.InstanceType, j.spec.MaxParallelJobs)})
	d, err := c.waitTuning(ctx, api, j.Name)
	if err != nil {
		return nil, err
	}
	res := &TuningResult{JobName: j.Name, JobARN: aws.ToString(out.HyperParameterTuningJobArn), Best: -1}
	if res.Trials, err = c.listTrials(ctx, api, j.Name); err != nil {
		return nil, err
	}
	if b := d.BestTrainingJob; b != nil {
		best := aws.ToString(b.TrainingJobName)
		for i, t := range res.Trials {
			if t.TrainingJob == best {
				res.Best = i
			}
		}
		res.BestHyperparameters = j.Space.Hyperparameters(tunedOnly(b.TunedHyperParameters, j.Space))
		td, err := c.sm.DescribeTrainingJob(ctx, &sm.DescribeTrainingJobInput{TrainingJobName: aws.String(best)})
		if err != nil {
			return nil, fmt.Errorf("sagemaker: describe the best training job %s: %w", best, err)
		}
		if td.ModelArtifacts != nil {
			res.ModelArtifacts = aws.ToString(td.ModelArtifacts.S3ModelArtifacts)
		}
	}
	if res.Best < 0 {
		return res, fmt.Errorf("sagemaker: tuning job %s completed without a best training job", j.Name)
	}
	return res, nil
}

// tunedOnly keeps the tuned hyperparameters of hp.
func tunedOnly(hp map[string]string, s *tune.Space) map[string]string {
	out := map[string]string{}
	for _, n := range s.Names() {
		if v, ok := hp[n]; ok {
			out[n] = v
		}
	}
	return out
}

// waitTuning polls the tuning job until it ends, reporting its status and
// its training jobs' counts as they change.
func (c *Client) waitTuning(ctx context.Context, api TuningAPI, name string) (*sm.DescribeHyperParameterTuningJobOutput, error) {
	var last *sm.DescribeHyperParameterTuningJobOutput
	lastMsg := ""
	describe := func(ctx context.Context) (jobState, error) {
		d, err := api.DescribeHyperParameterTuningJob(ctx, &sm.DescribeHyperParameterTuningJobInput{HyperParameterTuningJobName: aws.String(name)})
		if err != nil {
			return jobState{}, err
		}
		last = d
		msg := countsMessage(d)
		if now := string(d.HyperParameterTuningJobStatus) + msg; now != lastMsg {
			lastMsg = now
			c.report(Event{Kind: EventStatus, Resource: name, Status: string(d.HyperParameterTuningJobStatus), Message: msg})
		}
		return jobState{status: string(d.HyperParameterTuningJobStatus), reason: aws.ToString(d.FailureReason)}, nil
	}
	if err := c.wait(ctx, "tuning job", name, describe, stopTuning(api, name)); err != nil {
		return nil, err
	}
	return last, nil
}

// stopTuning returns the call that stops the tuning job name (and its
// training jobs).
func stopTuning(api TuningAPI, name string) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := api.StopHyperParameterTuningJob(ctx, &sm.StopHyperParameterTuningJobInput{HyperParameterTuningJobName: aws.String(name)})
		return err
	}
}

// countsMessage summarises a tuning job's training jobs and best objective.
func countsMessage(d *sm.DescribeHyperParameterTuningJobOutput) string {
	var done, running, stopped, failed int32
	if n := d.TrainingJobStatusCounters; n != nil {
		done, running, stopped = aws.ToInt32(n.Completed), aws.ToInt32(n.InProgress), aws.ToInt32(n.Stopped)
		failed = aws.ToInt32(n.NonRetryableError) + aws.ToInt32(n.RetryableError)
	}
	msg := fmt.Sprintf("training jobs: %d completed, %d in progress, %d stopped, %d failed", done, running, stopped, failed)
	if b := d.BestTrainingJob; b != nil && b.FinalHyperParameterTuningJobObjectiveMetric != nil {
		m := b.FinalHyperParameterTuningJobObjectiveMetric
		msg += fmt.Sprintf("; best %s %s=%.4f", aws.ToString(b.TrainingJobName), aws.ToString(m.MetricName), aws.ToFloat32(m.Value))
	}
	return msg
}

// listTrials lists the tuning job's training jobs, oldest first.
func (c *Client) listTrials(ctx context.Context, api TuningAPI, name string) ([]TuningTrial, error) {
	var trials []TuningTrial
	var created []time.Time
	in := &sm.ListTrainingJobsForHyperParameterTuningJobInput{HyperParameterTuningJobName: aws.String(name), MaxResults: aws.Int32(100)}
	for {
		out, err := api.ListTrainingJobsForHyperParameterTuningJob(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("sagemaker: list the training jobs of tuning job %s: %w", name, err)
		}
		for _, s := range out.TrainingJobSummaries {
			t := TuningTrial{
				TrainingJob: aws.ToString(s.TrainingJobName), Status: string(s.TrainingJobStatus),
				Hyperparameters: s.TunedHyperParameters, Objective: math.NaN(), FailureReason: aws.ToString(s.FailureReason),
			}
			if m := s.FinalHyperParameterTuningJobObjectiveMetric; m != nil && m.Value != nil {
				t.Objective = float64(*m.Value)
			}
			if s.TrainingStartTime != nil && s.TrainingEndTime != nil {
				t.Duration = s.TrainingEndTime.Sub(*s.TrainingStartTime)
			}
			trials = append(trials, t)
			created = append(created, aws.ToTime(s.CreationTime))
		}
		if out.NextToken == nil || aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	idx := make([]int, len(trials))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		if c := created[a].Compare(created[b]); c != 0 {
			return c
		}
		return compareStrings(trials[a].TrainingJob, trials[b].TrainingJob)
	})
	sorted := make([]TuningTrial, len(trials))
	for i, k := range idx {
		sorted[i] = trials[k]
	}
	return sorted, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
