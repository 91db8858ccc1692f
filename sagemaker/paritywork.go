package sagemaker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/ipinsights/ipinsights-go/csvio"
	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// ParitySpec is the input of a parity run: the same rows scored by a model
// of ours and by SageMaker's, trained on the same data with the same
// hyperparameters, then compared.
type ParitySpec struct {
	// Rows are the rows scored on both sides. They are checked as for a
	// transform (well-formed, IPv4 only) before anything is created.
	Rows RowsFile
	// Labeled tells that the third column of Rows is a label, 1 for an
	// anomaly and 0 for a normal pair; the report then evaluates both
	// sides against the labels.
	Labeled bool
	// Training is the data and the hyperparameters of both sides.
	// SageMaker trains on it unless TrainingJob names a finished job or
	// an Endpoint scores SageMaker's side. We train on its local Train
	// and Validation files unless Model is set.
	Training TrainingSpec
	// TrainingJob names a completed SageMaker training job whose model
	// scores SageMaker's side, instead of a new training job.
	TrainingJob string
	// Model is our model; nil trains one locally.
	Model *ipinsights.Model
	// Compare configures the report. Its Seen is filled in from our model,
	// and its Anomalous from the labels when Labeled.
	Compare CompareOptions
	// Progress receives the events of our side (local training, as
	// EventMetrics of the resource "local training"); nil means the
	// Client's Options.Progress, or none for an Endpoint.
	Progress Reporter
}

// ParityJob is a checked ParitySpec, ready to run: the rows were read,
// SageMaker's jobs were named, nothing was created. A Client's ParityJob
// creates what its Plan lists; an Endpoint's creates nothing.
type ParityJob struct {
	// Training is SageMaker's training job; nil when a finished job is
	// reused or an endpoint scores SageMaker's side.
	Training *TrainingJob
	// Transform is SageMaker's batch transform; nil for an endpoint.
	Transform *TransformJob

	client   *Client   // SageMaker's side by jobs, or
	endpoint *Endpoint // by an existing endpoint
	progress Reporter
	spec     ParitySpec
	cfg      ipinsights.Config // of local training
	rows     dataFile
	// tuples and anomalous are the rows and their labels, read once when
	// preparing.
	tuples    []embedding.Tuple
	anomalous []bool
}

// ParityResult is the outcome of a parity run.
type ParityResult struct {
	// Report compares the two score lists.
	Report *Parity
	// Ours and SageMaker are the dot products of the rows, in row order;
	// Seen tells for each row whether our model saw its entity in
	// training.
	Ours, SageMaker []float64
	Seen            []bool
	// Model is our model, trained or given.
	Model *ipinsights.Model
	// Training is SageMaker's training job, when one ran; Transform its
	// batch transform, nil for an endpoint.
	Training  *TrainingResult
	Transform *TransformResult
}

// PrepareParity checks spec, reads its rows and prepares SageMaker's
// training (unless spec.TrainingJob is set) and transform jobs. It creates
// nothing: show the job's Plan for confirmation, then Run it. When ctx is
// done, reading stops and ctx's error is returned.
func (c *Client) PrepareParity(ctx context.Context, spec ParitySpec) (*ParityJob, error) {
	j, err := prepareParity(spec, c.opts.Progress)
	if err != nil {
		return nil, err
	}
	j.client = c
	if spec.TrainingJob == "" {
		if j.Training, err = c.PrepareTraining(ctx, spec.Training); err != nil {
			return nil, err
		}
	}
	if j.Transform, err = c.newTransformJob(TransformSpec{Input: spec.Rows, TrainingJob: spec.TrainingJob}); err != nil {
		return nil, err
	}
	if err := j.readRows(ctx); err != nil {
		return nil, err
	}
	j.Transform.input = j.rows
	return j, nil
}

// PrepareParity checks spec and reads its rows, for a parity run whose
// SageMaker side is this existing endpoint: it trains nothing on
// SageMaker and creates nothing (each request is billed as an invocation
// of the endpoint). spec.TrainingJob must be empty. When ctx is done,
// reading stops and ctx's error is returned.
func (e *Endpoint) PrepareParity(ctx context.Context, spec ParitySpec) (*ParityJob, error) {
	if spec.TrainingJob != "" {
		return nil, errors.New("sagemaker: parity: an endpoint and a training job cannot both score SageMaker's side")
	}
	if e.Name == "" {
		return nil, errors.New("sagemaker: no endpoint name")
	}
	j, err := prepareParity(spec, nil)
	if err != nil {
		return nil, err
	}
	j.endpoint = e
	if err := j.readRows(ctx); err != nil {
		return nil, err
	}
	return j, nil
}

// prepareParity checks what both sides need; def is the default Reporter.
func prepareParity(spec ParitySpec, def Reporter) (*ParityJob, error) {
	if spec.Rows.Path == "" {
		return nil, errors.New("sagemaker: parity: no rows to score")
	}
	j := &ParityJob{spec: spec, progress: spec.Progress, rows: rowsData(spec.Rows)}
	if j.progress == nil {
		j.progress = def
	}
	if spec.Model == nil {
		if spec.Training.Train == "" {
			return nil, errors.New("sagemaker: parity: local training needs a local training file (TrainingSpec.Train), or give a Model")
		}
		var err error
		if j.cfg, err = ipinsights.ParseHyperparameters(spec.Training.Hyperparameters); err != nil {
			return nil, fmt.Errorf("sagemaker: %w", err)
		}
	}
	return j, nil
}

// readRows reads the rows once, as a transform reads them: our side's
// tuples, the labels, and the count that SageMaker's side checks.
func (j *ParityJob) readRows(ctx context.Context) error {
	n, err := eachRow(ctx, j.rows, func(r *csvio.Reader) error {
		j.tuples = append(j.tuples, embedding.NewTupleBytes(r.Entity(), r.Addr()))
		if !j.spec.Labeled {
			return nil
		}
		if len(r.Fields()) < 3 {
			return fmt.Errorf("%s:%d: no label column: want entity,ip,label rows", j.rows.path, r.Line())
		}
		a, err := parseLabel(r, j.rows.path)
		if err != nil {
			return err
		}
		j.anomalous = append(j.anomalous, a)
		return nil
	})
	j.rows.rows = n
	return err
}

// Plan returns what running j creates: nothing for an endpoint.
func (j *ParityJob) Plan() Plan {
	if j.client == nil {
		return Plan{}
	}
	var p Plan
	if j.Training != nil {
		p.Add(j.client.PlanTraining(j.Training))
	}
	p.Add(j.client.PlanTransform(j.Transform))
	return p
}

// Run trains our model (unless the spec gave one), then runs SageMaker's
// side (training and transform jobs, or requests to the endpoint), scores
// the rows with our model and compares. Our side runs first, so that a
// local failure stops the run before anything billable. The jobs are
// stopped and the model deleted as RunTraining and RunTransform do, also
// when ctx is cancelled. A ParityJob runs once.
func (j *ParityJob) Run(ctx context.Context) (*ParityResult, error) {
	res := &ParityResult{Model: j.spec.Model}
	if res.Model == nil {
		var err error
		if res.Model, err = j.trainLocally(ctx); err != nil {
			return nil, err
		}
	}
	var err error
	if j.endpoint != nil {
		res.SageMaker, err = j.endpoint.ScoreFile(ctx, j.spec.Rows)
	} else {
		res.SageMaker, err = j.runSageMaker(ctx, res)
	}
	if err != nil {
		return nil, err
	}
	results := res.Model.ScoreTuples(nil, j.tuples)
	res.Ours, res.Seen = make([]float64, len(results)), make([]bool, len(results))
	for i, x := range results {
		res.Ours[i], res.Seen[i] = x.DotProduct, x.EntitySeen
	}
	opts := j.spec.Compare
	opts.Seen = res.Seen
	if j.spec.Labeled {
		opts.Anomalous = j.anomalous
	}
	if res.Report, err = Compare(res.Ours, res.SageMaker, opts); err != nil {
		return nil, err
	}
	return res, nil
}

// runSageMaker runs the training job, if any, and the transform.
func (j *ParityJob) runSageMaker(ctx context.Context, res *ParityResult) ([]float64, error) {
	c := j.client
	if j.Training != nil {
		tr, err := c.RunTraining(ctx, j.Training)
		if err != nil {
			return nil, err
		}
		res.Training = tr
		// Told now, so that the model stays known if the transform fails.
		c.report(Event{Kind: EventNote, Resource: tr.JobName, Message: fmt.Sprintf("model %s, %d billable seconds", tr.ModelArtifacts, tr.BillableSeconds)})
		j.Transform.ModelData = tr.ModelArtifacts
	}
	out, err := c.RunTransform(ctx, j.Transform)
	if err != nil {
		return nil, err
	}
	res.Transform = out
	return out.Scores, nil
}

// localTraining is the resource of our side's events.
const localTraining = "local training"

// trainLocally trains our model on the spec's local files, reporting the
// metrics of every epoch under SageMaker's metric names.
func (j *ParityJob) trainLocally(ctx context.Context) (*ipinsights.Model, error) {
	ts := j.spec.Training
	data, _, err := ipinsights.LoadDataset(ctx, ts.Train, csvio.Options{Name: ts.Train})
	if err != nil {
		return nil, err
	}
	opts := &ipinsights.TrainOptions{Progress: ipinsights.ProgressFunc(func(m ipinsights.Metrics) {
		if !m.EpochEnd || j.progress == nil {
			return
		}
		ms := []Metric{
			{Name: "train:binary_classification_accuracy", Value: m.Accuracy},
			{Name: "train:binary_classification_cross_entropy", Value: m.CrossEntropy},
		}
		if !math.IsNaN(m.ValidationAUC) {
			ms = append(ms, Metric{Name: "validation:discriminator_auc", Value: m.ValidationAUC})
		}
		j.progress.Report(Event{Time: time.Now(), Kind: EventMetrics, Resource: localTraining, Message: fmt.Sprintf("epoch %d", m.Epoch), Metrics: sortMetrics(ms)})
	})}
	if ts.Validation != "" {
		if opts.Validation, _, err = ipinsights.LoadDataset(ctx, ts.Validation, csvio.Options{Name: ts.Validation}); err != nil {
			return nil, err
		}
	}
	m, err := ipinsights.Train(ctx, j.cfg, data, opts)
	if err != nil {
		return nil, fmt.Errorf("sagemaker: parity: %s: %w", localTraining, err)
	}
	return m, nil
}
