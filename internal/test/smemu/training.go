package smemu

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ipinsights/ipinsights-go/csvio"
	"github.com/ipinsights/ipinsights-go/internal/s3util"
	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/ipinsights/ipinsights-go/sagemaker"
)

// Wire shapes of the training job operations (the fields the delegate
// uses; JSON names as on the wire).

type s3DataSource struct {
	S3DataType             string `json:",omitempty"`
	S3Uri                  string `json:",omitempty"`
	S3DataDistributionType string `json:",omitempty"`
}

type channel struct {
	ChannelName     string
	ContentType     string `json:",omitempty"`
	CompressionType string `json:",omitempty"`
	DataSource      struct {
		S3DataSource *s3DataSource `json:",omitempty"`
	}
}

type algorithmSpecification struct {
	TrainingImage     string
	TrainingInputMode string
}

type resourceConfig struct {
	InstanceType   string
	InstanceCount  int
	VolumeSizeInGB int `json:",omitempty"`
}

type createTrainingJobInput struct {
	TrainingJobName        string
	RoleArn                string
	AlgorithmSpecification *algorithmSpecification
	HyperParameters        map[string]string
	InputDataConfig        []channel
	OutputDataConfig       *struct{ S3OutputPath string }
	ResourceConfig         *resourceConfig
	StoppingCondition      *struct{ MaxRuntimeInSeconds int }
}

type statusTransition struct {
	Status        string
	StartTime     epoch
	EndTime       *epoch `json:",omitempty"`
	StatusMessage string `json:",omitempty"`
}

type metricData struct {
	MetricName string
	Value      float32
	Timestamp  epoch
}

type describeTrainingJobOutput struct {
	TrainingJobName            string
	TrainingJobArn             string
	TrainingJobStatus          string
	SecondaryStatus            string
	FailureReason              string `json:",omitempty"`
	HyperParameters            map[string]string
	AlgorithmSpecification     *algorithmSpecification
	RoleArn                    string
	InputDataConfig            []channel
	OutputDataConfig           *struct{ S3OutputPath string }
	ResourceConfig             *resourceConfig
	StoppingCondition          *struct{ MaxRuntimeInSeconds int }
	ModelArtifacts             *struct{ S3ModelArtifacts string } `json:",omitempty"`
	CreationTime               epoch
	TrainingStartTime          *epoch `json:",omitempty"`
	TrainingEndTime            *epoch `json:",omitempty"`
	LastModifiedTime           epoch
	SecondaryStatusTransitions []statusTransition
	FinalMetricDataList        []metricData `json:",omitempty"`
	BillableTimeInSeconds      int          `json:",omitempty"`
}

// trainingJob is the state of one training job; the Server's mutex guards
// it.
type trainingJob struct {
	in       createTrainingJobInput
	arn      string
	status   string
	failure  string
	created  time.Time
	modified time.Time
	started  time.Time // start of the Training secondary status
	ended    time.Time
	trans    []statusTransition
	metrics  map[string]metricData
	artifact string
	cancel   context.CancelFunc
}

func (s *Server) createTrainingJob(in *createTrainingJobInput) (any, *apiError) {
	if err := s.checkCreate("trainingJobName", in.TrainingJobName, "roleArn", in.RoleArn); err != nil {
		return nil, err
	}
	if in.AlgorithmSpecification == nil || in.AlgorithmSpecification.TrainingImage != s.image {
		return nil, validation("this emulator runs only the IP Insights image of %s (%s)", s.opts.Region, s.image)
	}
	if m := in.AlgorithmSpecification.TrainingInputMode; m != "File" {
		return nil, validation("1 validation error detected: Value '%s' at 'algorithmSpecification.trainingInputMode' failed to satisfy constraint: Member must satisfy enum value set: [Pipe, File, FastFile]", m)
	}
	if in.ResourceConfig == nil || !strings.HasPrefix(in.ResourceConfig.InstanceType, "ml.") || in.ResourceConfig.InstanceCount < 1 {
		return nil, validation("ResourceConfig needs an ml.* InstanceType and an InstanceCount of at least 1")
	}
	if in.OutputDataConfig == nil {
		return nil, validation("1 validation error detected: Value null at 'outputDataConfig' failed to satisfy constraint: Member must not be null")
	}
	if _, err := sagemaker.ParseS3URI(in.OutputDataConfig.S3OutputPath); err != nil {
		return nil, validation("%v", err)
	}
	for _, ch := range in.InputDataConfig {
		if aerr := s.checkS3Input(ch.DataSource.S3DataSource, in.RoleArn); aerr != nil {
			return nil, aerr
		}
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, dup := s.training[in.TrainingJobName]; dup {
		return nil, resourceInUse("Training job names must be unique within an AWS account and region, and a training job with this name already exists (%s)", old.arn)
	}
	ctx, cancel := context.WithCancel(s.ctx)
	j := &trainingJob{
		in: *in, arn: s.arn("training-job", in.TrainingJobName),
		status: "InProgress", created: now, modified: now,
		metrics: map[string]metricData{}, cancel: cancel,
	}
	j.trans = []statusTransition{{Status: "Starting", StartTime: epoch(now), StatusMessage: "Preparing the instances for training"}}
	s.training[in.TrainingJobName] = j
	s.wg.Add(1)
	go s.runTraining(ctx, j)
	return map[string]string{"TrainingJobArn": j.arn}, nil
}

// checkS3Input answers as CreateTrainingJob and CreateTransformJob do when
// an S3 input prefix holds no object (or its bucket does not exist).
func (s *Server) checkS3Input(src *s3DataSource, role string) *apiError {
	if src == nil {
		return validation("the emulator supports S3 data sources only")
	}
	u, err := sagemaker.ParseS3URI(src.S3Uri)
	if err != nil {
		return validation("%v", err)
	}
	keys, err := s3util.List(s.ctx, s.opts.S3, u.Bucket, u.Key)
	if err != nil || len(keys) == 0 {
		return validation("No S3 objects found under S3 URL \"%s\" given in input data source. Please ensure that the bucket exists in the selected region (%s), that objects exist under that S3 prefix, and that the role \"%s\" has \"s3:ListBucket\" permissions on bucket \"%s\".",
			src.S3Uri, s.opts.Region, role, u.Bucket)
	}
	return nil
}

func (s *Server) describeTrainingJob(in *struct{ TrainingJobName string }) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.training[in.TrainingJobName]
	if !ok {
		return nil, validation("Requested resource not found.")
	}
	out := describeTrainingJobOutput{
		TrainingJobName: j.in.TrainingJobName, TrainingJobArn: j.arn,
		TrainingJobStatus: j.status, SecondaryStatus: j.trans[len(j.trans)-1].Status,
		FailureReason:   j.failure,
		HyperParameters: j.in.HyperParameters, AlgorithmSpecification: j.in.AlgorithmSpecification,
		RoleArn: j.in.RoleArn, InputDataConfig: j.in.InputDataConfig, OutputDataConfig: j.in.OutputDataConfig,
		ResourceConfig: j.in.ResourceConfig, StoppingCondition: j.in.StoppingCondition,
		CreationTime: epoch(j.created), LastModifiedTime: epoch(j.modified),
		SecondaryStatusTransitions: slices.Clone(j.trans),
	}
	if j.artifact != "" {
		out.ModelArtifacts = &struct{ S3ModelArtifacts string }{j.artifact}
	}
	if !j.started.IsZero() {
		t := epoch(j.started)
		out.TrainingStartTime = &t
	}
	if !j.ended.IsZero() {
		t := epoch(j.ended)
		out.TrainingEndTime = &t
		if !j.started.IsZero() {
			out.BillableTimeInSeconds = max(1, int(math.Ceil(j.ended.Sub(j.started).Seconds())))
		}
	}
	for _, k := range sortedKeys(j.metrics) {
		out.FinalMetricDataList = append(out.FinalMetricDataList, j.metrics[k])
	}
	return out, nil
}

func (s *Server) stopTrainingJob(in *struct{ TrainingJobName string }) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.training[in.TrainingJobName]
	if !ok {
		return nil, validation("Requested resource not found.")
	}
	if j.status != "InProgress" {
		return nil, validation("The request was rejected because the training job is in status %s.", j.status)
	}
	j.status = "Stopping"
	s.transitionLocked(j, "Stopping", "Stopping the training job")
	j.cancel()
	return struct{}{}, nil
}

// transitionLocked closes the current secondary status and opens the next.
func (s *Server) transitionLocked(j *trainingJob, status, msg string) {
	now := time.Now()
	end := epoch(now)
	j.trans[len(j.trans)-1].EndTime = &end
	j.trans = append(j.trans, statusTransition{Status: status, StartTime: epoch(now), StatusMessage: msg})
	j.modified = now
	if status == "Training" {
		j.started = now
	}
}

func (s *Server) transition(j *trainingJob, status, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if j.status == "InProgress" {
		s.transitionLocked(j, status, msg)
	}
}

// finish ends a job: Completed when err is nil, Stopped when the job was
// stopped, Failed with err's text otherwise.
func (s *Server) finishTraining(ctx context.Context, j *trainingJob, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j.ended = time.Now()
	switch {
	case err == nil:
		j.status = "Completed"
		s.transitionLocked(j, "Completed", "Training job completed")
	case ctx.Err() != nil || errors.Is(err, errStopped):
		j.status = "Stopped"
		s.transitionLocked(j, "Stopped", "Training job stopped")
	default:
		j.status = "Failed"
		j.failure = err.Error()
		s.transitionLocked(j, "Failed", "Training job failed. Reason: "+j.failure)
	}
	j.cancel()
}

func (s *Server) runTraining(ctx context.Context, j *trainingJob) {
	defer s.wg.Done()
	s.finishTraining(ctx, j, s.train(ctx, j))
}

// train does the work of a training job.
func (s *Server) train(ctx context.Context, j *trainingJob) error {
	if !s.pause(ctx) {
		return errStopped
	}
	s.transition(j, "Downloading", "Downloading input data")
	cfg, err := containerConfig(j.in.HyperParameters, s.opts.Extras)
	if err != nil {
		return err
	}
	var train, valid *ipinsights.Dataset
	for _, ch := range j.in.InputDataConfig {
		if ct := ch.ContentType; ct != "" && ct != "text/csv" {
			return fmt.Errorf("ClientError: channel %s: content type %q is not supported; IP Insights reads text/csv", ch.ChannelName, ct)
		}
		d, err := s.readChannel(ctx, ch.DataSource.S3DataSource.S3Uri)
		if err != nil {
			return err
		}
		switch ch.ChannelName {
		case "train":
			train = d
		case "validation":
			valid = d
		default:
			return fmt.Errorf("ClientError: Unable to initialize the algorithm. Failed to validate input data configuration: channel %q is not one of train, validation", ch.ChannelName)
		}
	}
	if train == nil {
		return errors.New("ClientError: Unable to initialize the algorithm. Failed to validate input data configuration: the train channel is required")
	}
	if !s.pause(ctx) {
		return errStopped
	}
	s.transition(j, "Training", "Training image download completed. Training in progress.")
	if h := s.opts.BeforeTraining; h != nil {
		if err := h(ctx, j.in.TrainingJobName); err != nil {
			if ctx.Err() != nil {
				return errStopped
			}
			return err
		}
	}
	model, err := ipinsights.Train(ctx, cfg, train, &ipinsights.TrainOptions{
		Validation: valid,
		Progress:   ipinsights.ProgressFunc(func(m ipinsights.Metrics) { s.recordMetrics(j, m) }),
	})
	if err != nil {
		if ctx.Err() != nil {
			return errStopped
		}
		return fmt.Errorf("AlgorithmError: %v", err)
	}
	s.transition(j, "Uploading", "Uploading generated training model")
	if !s.pause(ctx) {
		return errStopped
	}
	art, err := modelTarGz(model)
	if err != nil {
		return fmt.Errorf("AlgorithmError: %v", err)
	}
	out, _ := sagemaker.ParseS3URI(j.in.OutputDataConfig.S3OutputPath)
	dst := out.Join(j.in.TrainingJobName, "output", "model.tar.gz")
	if err := s3util.PutBytes(ctx, s.opts.S3, art, dst.Bucket, dst.Key, "application/x-tar"); err != nil {
		if ctx.Err() != nil {
			return errStopped
		}
		return fmt.Errorf("ClientError: Artifact upload failed: %v", err)
	}
	s.mu.Lock()
	j.artifact = dst.String()
	s.mu.Unlock()
	return nil
}

// containerConfig reads hyperparameters as the ipinsights container does:
// SageMaker's names only; an extra name fails the job. Then it applies the
// emulator's own extras.
func containerConfig(hp, extras map[string]string) (ipinsights.Config, error) {
	known := ipinsights.SageMakerNames()
	for _, k := range sortedKeys(hp) {
		if !slices.Contains(known, k) {
			return ipinsights.Config{}, fmt.Errorf("ClientError: Additional hyperparameters are not allowed (u'%s' was unexpected)", k)
		}
	}
	cfg, err := ipinsights.ParseHyperparameters(hp)
	if err != nil {
		return ipinsights.Config{}, fmt.Errorf("ClientError: Unable to initialize the algorithm: %v", err)
	}
	if err := cfg.Set(extras); err != nil {
		return ipinsights.Config{}, fmt.Errorf("emulator extras: %v", err)
	}
	return cfg, nil
}

// readChannel reads every object under an S3 prefix, in key order, as
// entity,ip CSV (IPv4 only, like SageMaker).
func (s *Server) readChannel(ctx context.Context, uri string) (*ipinsights.Dataset, error) {
	u, _ := sagemaker.ParseS3URI(uri)
	keys, err := s3util.List(ctx, s.opts.S3, u.Bucket, u.Key)
	if err != nil {
		return nil, fmt.Errorf("ClientError: Data download failed: %v", err)
	}
	d := ipinsights.NewDataset()
	for _, k := range keys {
		if err := s.readObject(ctx, u.Bucket, k, 2, func(r *csvio.Reader) { d.AddBytes(r.Entity(), r.Addr()) }); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// readObject parses one CSV object of entity,ip rows with at most
// maxFields fields (negative: any), calling fn for each row.
func (s *Server) readObject(ctx context.Context, bucket, key string, maxFields int, fn func(*csvio.Reader)) error {
	body, err := s3util.Open(ctx, s.opts.S3, bucket, key)
	if err != nil {
		return fmt.Errorf("ClientError: Data download failed: %v", err)
	}
	defer body.Close()
	name := s3util.URI(bucket, key)
	r, err := csvio.NewReaderMaybeGzip(body, csvio.Options{Name: name, MaxFields: maxFields})
	if err != nil {
		return fmt.Errorf("ClientError: %s: %v", name, err)
	}
	for r.Next() {
		if !r.Addr().Is4() {
			return fmt.Errorf("ClientError: Unable to parse entity or IP address correctly: %s:%d: %s is not an IPv4 address", name, r.Line(), r.Addr())
		}
		fn(r)
	}
	if err := r.Err(); err != nil {
		return fmt.Errorf("ClientError: Unable to parse entity or IP address correctly: %v", err)
	}
	return nil
}

// Metric names of the emulated training job.
const (
	MetricCrossEntropy = "train:binary_classification_cross_entropy"
	MetricAccuracy     = "train:binary_classification_accuracy"
	MetricValidation   = "validation:discriminator_auc"
)

func (s *Server) recordMetrics(j *trainingJob, m ipinsights.Metrics) {
	if !m.EpochEnd {
		return
	}
	now := epoch(time.Now())
	s.mu.Lock()
	defer s.mu.Unlock()
	j.metrics[MetricCrossEntropy] = metricData{MetricName: MetricCrossEntropy, Value: float32(m.CrossEntropy), Timestamp: now}
	j.metrics[MetricAccuracy] = metricData{MetricName: MetricAccuracy, Value: float32(m.Accuracy), Timestamp: now}
	if !math.IsNaN(m.ValidationAUC) {
		j.metrics[MetricValidation] = metricData{MetricName: MetricValidation, Value: float32(m.ValidationAUC), Timestamp: now}
	}
}

// ModelMember is the name of the model file inside model.tar.gz, as in
// SageMaker's IP Insights artifacts. Here it holds this project's model
// file format.
const ModelMember = "model_algo-1"

func modelTarGz(m *ipinsights.Model) ([]byte, error) {
	var model bytes.Buffer
	if err := m.Save(&model); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: ModelMember, Mode: 0o644, Size: int64(model.Len()), ModTime: time.Now(), Typeflag: tar.TypeReg}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(model.Bytes()); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
