package sagemaker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// TrainingSpec is the input of a SageMaker training job: the same inputs
// and hyperparameter map as a local run.
type TrainingSpec struct {
	// Train and Validation are local CSV files of entity,ip rows (gzip
	// compressed or not); Validation is optional. They are checked (IPv4
	// only, well-formed) before anything is created, then uploaded as
	// normalised CSV.
	Train, Validation string
	// TrainS3 and ValidationS3 name data already on S3 (an s3:// object or
	// prefix), used instead of Train and Validation without upload or
	// check.
	TrainS3, ValidationS3 string
	// Hyperparameters uses SageMaker's names. This implementation's extras
	// (seed, optimizer, ...) are accepted, since the same map drives a local
	// run, but never sent to SageMaker.
	Hyperparameters map[string]string
	// JobName is the training job's name; empty means NewJobName("train").
	JobName string
}

// TrainingJob is a checked TrainingSpec, ready to run. Preparing one calls
// no AWS API.
type TrainingJob struct {
	Name string
	// Config is the full configuration of the equivalent local run.
	Config ipinsights.Config
	// Hyperparameters is what SageMaker receives: SageMaker's
	// hyperparameters only, every one of them, as strings.
	Hyperparameters map[string]string
	// NotSent lists the given hyperparameters that are this
	// implementation's extras and are not sent.
	NotSent []string

	// train and validation are the checked local files to upload; zero
	// when the data is already on S3 (or, for validation, absent).
	train, validation dataFile
	// validationURI is zero when the job has no validation channel.
	trainURI, validationURI S3URI
}

// PrepareTraining checks spec and the local data and fixes the job's name
// and S3 locations. It creates nothing. Checking reads the local files
// through; when ctx is done, it stops and returns ctx's error.
func (c *Client) PrepareTraining(ctx context.Context, spec TrainingSpec) (*TrainingJob, error) {
	cfg, err := ipinsights.ParseHyperparameters(spec.Hyperparameters)
	if err != nil {
		return nil, fmt.Errorf("sagemaker: %w", err)
	}
	j := &TrainingJob{Name: spec.JobName, Config: cfg, Hyperparameters: cfg.SageMakerHyperparameters()}
	if j.Name == "" {
		j.Name = NewJobName("train")
	}
	if err := checkName("training job", j.Name); err != nil {
		return nil, err
	}
	for k := range spec.Hyperparameters {
		if _, ok := j.Hyperparameters[k]; !ok {
			j.NotSent = append(j.NotSent, k)
		}
	}
	sort.Strings(j.NotSent)
	input := c.s3Root().Join("input", j.Name)

	switch {
	case spec.Train != "" && spec.TrainS3 != "":
		return nil, errors.New("sagemaker: give the training data as a local file or an S3 URI, not both")
	case spec.TrainS3 != "":
		if j.trainURI, err = ParseS3URI(spec.TrainS3); err != nil {
			return nil, err
		}
	case spec.Train != "":
		if j.train, err = checkFile(ctx, dataFile{path: spec.Train}); err != nil {
			return nil, err
		}
		j.trainURI = input.Join("train/")
	default:
		return nil, errors.New("sagemaker: no training data")
	}
	switch {
	case spec.Validation != "" && spec.ValidationS3 != "":
		return nil, errors.New("sagemaker: give the validation data as a local file or an S3 URI, not both")
	case spec.ValidationS3 != "":
		if j.validationURI, err = ParseS3URI(spec.ValidationS3); err != nil {
			return nil, err
		}
	case spec.Validation != "":
		if j.validation, err = checkFile(ctx, dataFile{path: spec.Validation}); err != nil {
			return nil, err
		}
		j.validationURI = input.Join("validation/")
	}
	return j, nil
}

// PlanTraining returns what running j creates.
func (c *Client) PlanTraining(j *TrainingJob) Plan {
	p := Plan{Region: c.opts.Region}
	if j.train.uploads() {
		p.Resources = append(p.Resources, Resource{Kind: "S3 upload", Name: j.trainURI.String(), Note: fmt.Sprintf("%d rows from %s", j.train.rows, j.train.path)})
	}
	if j.validation.uploads() {
		p.Resources = append(p.Resources, Resource{Kind: "S3 upload", Name: j.validationURI.String(), Note: fmt.Sprintf("%d rows from %s", j.validation.rows, j.validation.path)})
	}
	p.Resources = append(p.Resources, Resource{
		Kind: "training job", Name: j.Name, InstanceType: c.opts.InstanceType, InstanceCount: c.opts.InstanceCount,
		Note: fmt.Sprintf("at most %s, %d GB volume", c.opts.MaxRuntime, c.opts.VolumeSizeGB),
	})
	return p
}

// TrainingResult is the outcome of a completed training job.
type TrainingResult struct {
	JobName string
	JobARN  string
	// ModelArtifacts is the S3 URI of the model.tar.gz SageMaker wrote.
	ModelArtifacts string
	// BillableSeconds is SageMaker's BillableTimeInSeconds.
	BillableSeconds int64
	// Metrics are the job's final metrics, sorted by name.
	Metrics []Metric
}

// outputURI is where SageMaker writes training output: the model is at
// <output>/<job name>/output/model.tar.gz.
func (c *Client) outputURI() S3URI { return c.s3Root().Join("output") }

// uploadData uploads the data files of j that are sent from here (not
// those already in S3) to their channels' S3 prefixes: the training job
// and the training jobs of a tuning job.
func (c *Client) uploadData(ctx context.Context, j *TrainingJob) error {
	if j.train.uploads() {
		if _, err := c.uploadRows(ctx, j.train, j.trainURI); err != nil {
			return err
		}
	}
	if j.validation.uploads() {
		if _, err := c.uploadRows(ctx, j.validation, j.validationURI); err != nil {
			return err
		}
	}
	return nil
}

// noteNotSent reports the hyperparameters, if any, that the job resource
// does not send to SageMaker.
func (c *Client) noteNotSent(resource string, notSent []string) {
	if len(notSent) > 0 {
		c.report(Event{Kind: EventNote, Resource: resource, Message: fmt.Sprintf("not sent to SageMaker (this implementation's own hyperparameters): %v", notSent)})
	}
}

// outputDataConfig, resourceConfig and stoppingCondition are the parts of
// a training job's definition that come from the client's options, the
// same for a training job and for the training jobs of a tuning job.
func (c *Client) outputDataConfig() *types.OutputDataConfig {
	return &types.OutputDataConfig{S3OutputPath: aws.String(c.outputURI().String())}
}

func (c *Client) resourceConfig() *types.ResourceConfig {
	return &types.ResourceConfig{
		InstanceType:   types.TrainingInstanceType(c.opts.InstanceType),
		InstanceCount:  aws.Int32(int32(c.opts.InstanceCount)),
		VolumeSizeInGB: aws.Int32(int32(c.opts.VolumeSizeGB)),
	}
}

func (c *Client) stoppingCondition() *types.StoppingCondition {
	return &types.StoppingCondition{MaxRuntimeInSeconds: aws.Int32(int32(math.Ceil(c.opts.MaxRuntime.Seconds())))}
}

// RunTraining uploads j's data, creates the training job and waits for it,
// reporting status transitions and metrics. When ctx is cancelled the job
// is stopped, and RunTraining returns after it reached Stopped (or after
// StopTimeout).
func (c *Client) RunTraining(ctx context.Context, j *TrainingJob) (*TrainingResult, error) {
	if err := c.uploadData(ctx, j); err != nil {
		return nil, err
	}
	c.noteNotSent(j.Name, j.NotSent)
	channels := []types.Channel{channel("train", j.trainURI)}
	if j.validationURI != (S3URI{}) {
		channels = append(channels, channel("validation", j.validationURI))
	}
	out, err := c.sm.CreateTrainingJob(ctx, &sm.CreateTrainingJobInput{
		TrainingJobName: aws.String(j.Name),
		RoleArn:         aws.String(c.opts.RoleARN),
		AlgorithmSpecification: &types.AlgorithmSpecification{
			TrainingImage:     aws.String(c.opts.Image),
			TrainingInputMode: types.TrainingInputModeFile,
		},
		HyperParameters:   j.Hyperparameters,
		InputDataConfig:   channels,
		OutputDataConfig:  c.outputDataConfig(),
		ResourceConfig:    c.resourceConfig(),
		StoppingCondition: c.stoppingCondition(),
	})
	if err != nil {
		return nil, c.createFailed(ctx, "training job", j.Name, err, c.stopTraining(j.Name))
	}
	c.report(Event{Kind: EventCreate, Resource: j.Name, Message: fmt.Sprintf("training job on %d x %s", c.opts.InstanceCount, c.opts.InstanceType)})
	d, err := c.waitTraining(ctx, j.Name)
	if err != nil {
		return nil, err
	}
	res := &TrainingResult{
		JobName:         j.Name,
		JobARN:          aws.ToString(out.TrainingJobArn),
		BillableSeconds: int64(aws.ToInt32(d.BillableTimeInSeconds)),
		Metrics:         metricsOf(d.FinalMetricDataList),
	}
	if d.ModelArtifacts != nil {
		res.ModelArtifacts = aws.ToString(d.ModelArtifacts.S3ModelArtifacts)
	}
	if res.ModelArtifacts == "" {
		return nil, fmt.Errorf("sagemaker: training job %s completed without model artifacts", j.Name)
	}
	return res, nil
}

func channel(name string, u S3URI) types.Channel {
	return types.Channel{
		ChannelName: aws.String(name),
		ContentType: aws.String("text/csv"),
		DataSource: &types.DataSource{S3DataSource: &types.S3DataSource{
			S3DataType:             types.S3DataTypeS3Prefix,
			S3Uri:                  aws.String(u.String()),
			S3DataDistributionType: types.S3DataDistributionFullyReplicated,
		}},
	}
}

func metricsOf(ds []types.MetricData) []Metric {
	ms := make([]Metric, 0, len(ds))
	for _, d := range ds {
		ms = append(ms, Metric{Name: aws.ToString(d.MetricName), Value: float64(aws.ToFloat32(d.Value))})
	}
	return sortMetrics(ms)
}

// primaryAt returns the primary status the job had during secondary
// transition i. Only the newest transition is still current; an earlier
// one (say Uploading, seen for the first time in the same poll as
// Completed, because the job moved on between two polls) was superseded
// while the job was running: InProgress, or Stopping while it stopped.
func primaryAt(current string, trans []types.SecondaryStatusTransition, i int) string {
	switch {
	case i == len(trans)-1:
		return current
	case trans[i].Status == types.SecondaryStatusStopping:
		return "Stopping"
	}
	return "InProgress"
}

// waitTraining polls the training job until it ends, reporting new status
// transitions and metric values.
func (c *Client) waitTraining(ctx context.Context, name string) (*sm.DescribeTrainingJobOutput, error) {
	seen := 0
	var lastMetrics []Metric
	var last *sm.DescribeTrainingJobOutput
	describe := func(ctx context.Context) (jobState, error) {
		d, err := c.sm.DescribeTrainingJob(ctx, &sm.DescribeTrainingJobInput{TrainingJobName: aws.String(name)})
		if err != nil {
			return jobState{}, err
		}
		last = d
		trans := d.SecondaryStatusTransitions
		for i := min(seen, len(trans)); i < len(trans); i++ {
			c.report(Event{
				Kind: EventStatus, Resource: name,
				Status:  primaryAt(string(d.TrainingJobStatus), trans, i) + "/" + string(trans[i].Status),
				Message: aws.ToString(trans[i].StatusMessage),
			})
		}
		seen = max(seen, len(d.SecondaryStatusTransitions))
		if ms := metricsOf(d.FinalMetricDataList); len(ms) > 0 && !slices.Equal(ms, lastMetrics) {
			lastMetrics = ms
			c.report(Event{Kind: EventMetrics, Resource: name, Metrics: ms})
		}
		return jobState{status: string(d.TrainingJobStatus), reason: aws.ToString(d.FailureReason)}, nil
	}
	if err := c.wait(ctx, "training job", name, describe, c.stopTraining(name)); err != nil {
		return nil, err
	}
	return last, nil
}

// stopTraining returns the call that stops the training job name.
func (c *Client) stopTraining(name string) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := c.sm.StopTrainingJob(ctx, &sm.StopTrainingJobInput{TrainingJobName: aws.String(name)})
		return err
	}
}
