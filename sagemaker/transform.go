package sagemaker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ipinsights/ipinsights-go/inference"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/ipinsights/ipinsights-go/internal/s3util"
)

// Batch transform settings. The input is text/csv split by line, the output
// application/jsonlines assembled by line, so that output line i is the
// score of input row i.
const (
	TransformContentType = "text/csv"
	TransformAccept      = "application/jsonlines"
	// TransformMaxPayloadMB is the mini-batch size limit, SageMaker's
	// default.
	TransformMaxPayloadMB = 6
)

// TransformSpec is the input of a batch transform: rows to score and the
// model to score them with.
type TransformSpec struct {
	// Input holds the rows to score. It is checked (IPv4 only,
	// well-formed) before anything is created.
	Input RowsFile
	// ModelData is the S3 URI of a model.tar.gz from an IP Insights
	// training job. TrainingJob names a completed training job whose
	// artifacts to use instead. One of them may also be set on the
	// TransformJob after PrepareTransform, for instance from a training
	// job run in the same session.
	ModelData, TrainingJob string
	// JobName and ModelName default to NewJobName("transform") and
	// NewJobName("model").
	JobName, ModelName string
}

// TransformJob is a checked TransformSpec, ready to run. Preparing one calls
// no AWS API.
type TransformJob struct {
	Name, ModelName string
	// ModelData and TrainingJob are as in TransformSpec.
	ModelData, TrainingJob string

	input     dataFile
	inputURI  S3URI // prefix holding the uploaded rows
	outputURI S3URI // prefix SageMaker writes the .out files to
}

// PrepareTransform checks spec and the local input and fixes the job's
// names and S3 locations. It creates nothing. Checking reads the input
// through; when ctx is done, it stops and returns ctx's error.
func (c *Client) PrepareTransform(ctx context.Context, spec TransformSpec) (*TransformJob, error) {
	j, err := c.newTransformJob(spec)
	if err != nil {
		return nil, err
	}
	if j.input, err = checkFile(ctx, rowsData(spec.Input)); err != nil {
		return nil, err
	}
	return j, nil
}

// newTransformJob checks spec and fixes the job's names and S3 locations;
// the caller checks the input.
func (c *Client) newTransformJob(spec TransformSpec) (*TransformJob, error) {
	j := &TransformJob{Name: spec.JobName, ModelName: spec.ModelName, ModelData: spec.ModelData, TrainingJob: spec.TrainingJob}
	if j.Name == "" {
		j.Name = NewJobName("transform")
	}
	if j.ModelName == "" {
		j.ModelName = NewJobName("model")
	}
	if err := checkName("transform job", j.Name); err != nil {
		return nil, err
	}
	if err := checkName("model", j.ModelName); err != nil {
		return nil, err
	}
	if j.ModelData != "" && j.TrainingJob != "" {
		return nil, errors.New("sagemaker: give the model as an S3 URI or a training job, not both")
	}
	if j.ModelData != "" {
		if _, err := ParseS3URI(j.ModelData); err != nil {
			return nil, err
		}
	}
	if spec.Input.Path == "" {
		return nil, errors.New("sagemaker: no input to score")
	}
	root := c.s3Root().Join("transform", j.Name)
	j.inputURI, j.outputURI = root.Join("input/"), root.Join("output/")
	return j, nil
}

// PlanTransform returns what running j creates.
func (c *Client) PlanTransform(j *TransformJob) Plan {
	return Plan{Region: c.opts.Region, Resources: []Resource{
		{Kind: "S3 upload", Name: j.inputURI.String(), Note: fmt.Sprintf("%d rows from %s", j.input.rows, j.input.path)},
		{Kind: "model", Name: j.ModelName, Note: "deleted when the transform ends"},
		{Kind: "transform job", Name: j.Name, InstanceType: c.opts.InstanceType, InstanceCount: c.opts.InstanceCount},
	}}
}

// TransformResult is the outcome of a completed batch transform.
type TransformResult struct {
	JobName, ModelName string
	// Output is the S3 prefix holding SageMaker's .out files.
	Output string
	// Scores are SageMaker's dot products, one per input row, in input
	// order.
	Scores []float64
}

// RunTransform uploads j's rows, creates a model and a batch transform job,
// waits for the job, downloads and parses its output, and deletes the
// model, also when anything fails or ctx is cancelled (the job is then
// stopped first).
func (c *Client) RunTransform(ctx context.Context, j *TransformJob) (res *TransformResult, err error) {
	if j.ModelData == "" && j.TrainingJob == "" {
		return nil, errors.New("sagemaker: no model to score with (set ModelData or TrainingJob)")
	}
	if j.ModelData == "" {
		if j.ModelData, err = c.trainingArtifacts(ctx, j.TrainingJob); err != nil {
			return nil, err
		}
	}
	if _, err := c.uploadRows(ctx, j.input, j.inputURI); err != nil {
		return nil, err
	}

	_, err = c.sm.CreateModel(ctx, &sm.CreateModelInput{
		ModelName:        aws.String(j.ModelName),
		ExecutionRoleArn: aws.String(c.opts.RoleARN),
		PrimaryContainer: &types.ContainerDefinition{
			Image:        aws.String(c.opts.Image),
			ModelDataUrl: aws.String(j.ModelData),
		},
	})
	if err != nil {
		if outcomeUnknown(ctx, err) {
			c.deleteModel(ctx, j.ModelName, true)
		}
		return nil, fmt.Errorf("sagemaker: create model %s: %w", j.ModelName, err)
	}
	c.report(Event{Kind: EventCreate, Resource: j.ModelName, Message: "model from " + j.ModelData})
	defer func() {
		if derr := c.deleteModel(ctx, j.ModelName, false); derr != nil && err == nil {
			res, err = nil, derr
		}
	}()

	_, err = c.sm.CreateTransformJob(ctx, &sm.CreateTransformJobInput{
		TransformJobName: aws.String(j.Name),
		ModelName:        aws.String(j.ModelName),
		BatchStrategy:    types.BatchStrategyMultiRecord,
		MaxPayloadInMB:   aws.Int32(TransformMaxPayloadMB),
		TransformInput: &types.TransformInput{
			DataSource: &types.TransformDataSource{S3DataSource: &types.TransformS3DataSource{
				S3DataType: types.S3DataTypeS3Prefix,
				S3Uri:      aws.String(j.inputURI.String()),
			}},
			ContentType:     aws.String(TransformContentType),
			SplitType:       types.SplitTypeLine,
			CompressionType: types.CompressionTypeNone,
		},
		TransformOutput: &types.TransformOutput{
			S3OutputPath: aws.String(j.outputURI.String()),
			Accept:       aws.String(TransformAccept),
			AssembleWith: types.AssemblyTypeLine,
		},
		TransformResources: &types.TransformResources{
			InstanceType:  types.TransformInstanceType(c.opts.InstanceType),
			InstanceCount: aws.Int32(int32(c.opts.InstanceCount)),
		},
	})
	stop := func(ctx context.Context) error {
		_, err := c.sm.StopTransformJob(ctx, &sm.StopTransformJobInput{TransformJobName: aws.String(j.Name)})
		return err
	}
	if err != nil {
		return nil, c.createFailed(ctx, "transform job", j.Name, err, stop)
	}
	c.report(Event{Kind: EventCreate, Resource: j.Name, Message: fmt.Sprintf("transform job on %d x %s", c.opts.InstanceCount, c.opts.InstanceType)})

	last := ""
	describe := func(ctx context.Context) (jobState, error) {
		d, err := c.sm.DescribeTransformJob(ctx, &sm.DescribeTransformJobInput{TransformJobName: aws.String(j.Name)})
		if err != nil {
			return jobState{}, err
		}
		if s := string(d.TransformJobStatus); s != last {
			last = s
			c.report(Event{Kind: EventStatus, Resource: j.Name, Status: s})
		}
		return jobState{status: string(d.TransformJobStatus), reason: aws.ToString(d.FailureReason)}, nil
	}
	if err := c.wait(ctx, "transform job", j.Name, describe, stop); err != nil {
		return nil, err
	}

	scores, err := c.downloadScores(ctx, j)
	if err != nil {
		return nil, err
	}
	return &TransformResult{JobName: j.Name, ModelName: j.ModelName, Output: j.outputURI.String(), Scores: scores}, nil
}

// trainingArtifacts returns the model artifacts of a completed training job.
func (c *Client) trainingArtifacts(ctx context.Context, name string) (string, error) {
	d, err := c.sm.DescribeTrainingJob(ctx, &sm.DescribeTrainingJobInput{TrainingJobName: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("sagemaker: describe training job %s: %w", name, err)
	}
	if d.TrainingJobStatus != types.TrainingJobStatusCompleted || d.ModelArtifacts == nil {
		return "", fmt.Errorf("sagemaker: training job %s is %s, not Completed: it has no model", name, d.TrainingJobStatus)
	}
	return aws.ToString(d.ModelArtifacts.S3ModelArtifacts), nil
}

// deleteModel deletes a model with a context that survives cancellation of
// ctx. With mayNotExist, a model that does not exist is not an error.
func (c *Client) deleteModel(ctx context.Context, name string, mayNotExist bool) error {
	cctx, cancel := c.cleanupContext(ctx)
	defer cancel()
	_, err := c.sm.DeleteModel(cctx, &sm.DeleteModelInput{ModelName: aws.String(name)})
	if err != nil {
		if mayNotExist {
			return nil
		}
		return fmt.Errorf("sagemaker: delete model %s (delete it in the SageMaker console): %w", name, err)
	}
	c.report(Event{Kind: EventDelete, Resource: name, Message: "model deleted"})
	return nil
}

// downloadScores reads the .out files of a completed transform: one per
// uploaded part, named after it, holding one JSON line per input row.
func (c *Client) downloadScores(ctx context.Context, j *TransformJob) ([]float64, error) {
	keys, err := s3util.List(ctx, c.s3, j.inputURI.Bucket, j.inputURI.Key)
	if err != nil {
		return nil, fmt.Errorf("sagemaker: %w", err)
	}
	scores := make([]float64, 0, j.input.rows)
	for _, k := range keys {
		out := j.outputURI.Join(strings.TrimPrefix(k, j.inputURI.Key) + ".out")
		body, err := s3util.Open(ctx, c.s3, out.Bucket, out.Key)
		if err != nil {
			return nil, fmt.Errorf("sagemaker: %w", err)
		}
		scores, err = decodeTransformOutput(scores, body)
		body.Close()
		if err != nil {
			return nil, fmt.Errorf("sagemaker: %s: %w", out, err)
		}
		c.report(Event{Kind: EventDownload, Resource: out.String()})
	}
	if len(scores) != j.input.rows {
		return nil, fmt.Errorf("sagemaker: transform job %s returned %d scores for %d rows", j.Name, len(scores), j.input.rows)
	}
	return scores, nil
}

// decodeTransformOutput appends the dot products of a batch transform
// output file with Accept application/jsonlines to dst.
func decodeTransformOutput(dst []float64, r io.Reader) ([]float64, error) {
	rr := inference.NewResponseReader(r, inference.JSONLines)
	for rr.Next() {
		dst = append(dst, rr.Prediction().DotProduct)
	}
	return dst, rr.Err()
}
