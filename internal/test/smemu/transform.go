package smemu

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/ipinsights/ipinsights-go/inference"

	"github.com/ipinsights/ipinsights-go/csvio"
	"github.com/ipinsights/ipinsights-go/internal/s3util"
	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/ipinsights/ipinsights-go/sagemaker"
)

// Wire shapes of the model and transform job operations.

type containerDefinition struct {
	Image        string
	ModelDataUrl string `json:",omitempty"`
}

type createModelInput struct {
	ModelName        string
	ExecutionRoleArn string
	PrimaryContainer *containerDefinition
}

type transformInput struct {
	DataSource struct {
		S3DataSource *s3DataSource `json:",omitempty"`
	}
	ContentType     string `json:",omitempty"`
	SplitType       string `json:",omitempty"`
	CompressionType string `json:",omitempty"`
}

type transformOutput struct {
	S3OutputPath string
	Accept       string `json:",omitempty"`
	AssembleWith string `json:",omitempty"`
}

type createTransformJobInput struct {
	TransformJobName   string
	ModelName          string
	BatchStrategy      string `json:",omitempty"`
	MaxPayloadInMB     int    `json:",omitempty"`
	TransformInput     *transformInput
	TransformOutput    *transformOutput
	TransformResources *resourceConfig
}

type describeTransformJobOutput struct {
	TransformJobName   string
	TransformJobArn    string
	TransformJobStatus string
	FailureReason      string `json:",omitempty"`
	ModelName          string
	BatchStrategy      string `json:",omitempty"`
	MaxPayloadInMB     int    `json:",omitempty"`
	TransformInput     *transformInput
	TransformOutput    *transformOutput
	TransformResources *resourceConfig
	CreationTime       epoch
	TransformStartTime *epoch `json:",omitempty"`
	TransformEndTime   *epoch `json:",omitempty"`
}

type model struct {
	in  createModelInput
	arn string
}

// transformJob is the state of one transform job; the Server's mutex
// guards it.
type transformJob struct {
	in      createTransformJobInput
	arn     string
	status  string
	failure string
	created time.Time
	started time.Time
	ended   time.Time
	model   createModelInput // copied at creation: deleting the model does not disturb the job
	cancel  context.CancelFunc
}

func (s *Server) createModel(in *createModelInput) (any, *apiError) {
	if err := s.checkCreate("modelName", in.ModelName, "executionRoleArn", in.ExecutionRoleArn); err != nil {
		return nil, err
	}
	if in.PrimaryContainer == nil || in.PrimaryContainer.Image != s.image {
		return nil, validation("this emulator serves only the IP Insights image of %s (%s)", s.opts.Region, s.image)
	}
	u, err := sagemaker.ParseS3URI(in.PrimaryContainer.ModelDataUrl)
	if err != nil {
		return nil, validation("Could not find model data at %s.", in.PrimaryContainer.ModelDataUrl)
	}
	if keys, err := s3util.List(s.ctx, s.opts.S3, u.Bucket, u.Key); err != nil || len(keys) == 0 || keys[0] != u.Key {
		return nil, validation("Could not find model data at %s.", in.PrimaryContainer.ModelDataUrl)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	arn := s.arn("model", in.ModelName)
	if _, dup := s.models[in.ModelName]; dup {
		return nil, validation("Cannot create already existing model \"%s\".", arn)
	}
	s.models[in.ModelName] = &model{in: *in, arn: arn}
	return map[string]string{"ModelArn": arn}, nil
}

func (s *Server) deleteModel(in *struct{ ModelName string }) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.models[in.ModelName]; !ok {
		return nil, validation("Could not find model \"%s\".", s.arn("model", in.ModelName))
	}
	delete(s.models, in.ModelName)
	return struct{}{}, nil
}

func (s *Server) createTransformJob(in *createTransformJobInput) (any, *apiError) {
	if err := checkName("transformJobName", in.TransformJobName); err != nil {
		return nil, err
	}
	if in.TransformInput == nil || in.TransformOutput == nil || in.TransformResources == nil {
		return nil, validation("TransformInput, TransformOutput and TransformResources are required")
	}
	if _, err := sagemaker.ParseS3URI(in.TransformOutput.S3OutputPath); err != nil {
		return nil, validation("%v", err)
	}
	s.mu.Lock()
	m, ok := s.models[in.ModelName]
	s.mu.Unlock()
	if !ok {
		return nil, validation("Could not find model \"%s\".", s.arn("model", in.ModelName))
	}
	if aerr := s.checkS3Input(in.TransformInput.DataSource.S3DataSource, m.in.ExecutionRoleArn); aerr != nil {
		return nil, aerr
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, dup := s.transforms[in.TransformJobName]; dup {
		return nil, resourceInUse("Job name must be unique within an AWS account and region, and a job with this name already exists (%s)", old.arn)
	}
	ctx, cancel := context.WithCancel(s.ctx)
	j := &transformJob{in: *in, arn: s.arn("transform-job", in.TransformJobName), status: "InProgress", created: now, model: m.in, cancel: cancel}
	s.transforms[in.TransformJobName] = j
	s.wg.Add(1)
	go s.runTransform(ctx, j)
	return map[string]string{"TransformJobArn": j.arn}, nil
}

func (s *Server) describeTransformJob(in *struct{ TransformJobName string }) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.transforms[in.TransformJobName]
	if !ok {
		return nil, validation("Could not find requested job with name %s", in.TransformJobName)
	}
	out := describeTransformJobOutput{
		TransformJobName: j.in.TransformJobName, TransformJobArn: j.arn, TransformJobStatus: j.status,
		FailureReason: j.failure, ModelName: j.in.ModelName, BatchStrategy: j.in.BatchStrategy,
		MaxPayloadInMB: j.in.MaxPayloadInMB, TransformInput: j.in.TransformInput, TransformOutput: j.in.TransformOutput,
		TransformResources: j.in.TransformResources, CreationTime: epoch(j.created),
	}
	if !j.started.IsZero() {
		t := epoch(j.started)
		out.TransformStartTime = &t
	}
	if !j.ended.IsZero() {
		t := epoch(j.ended)
		out.TransformEndTime = &t
	}
	return out, nil
}

func (s *Server) stopTransformJob(in *struct{ TransformJobName string }) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.transforms[in.TransformJobName]
	if !ok {
		return nil, validation("Could not find requested job with name %s", in.TransformJobName)
	}
	if j.status == "InProgress" {
		j.status = "Stopping"
		j.cancel()
	}
	return struct{}{}, nil
}

func (s *Server) runTransform(ctx context.Context, j *transformJob) {
	defer s.wg.Done()
	err := s.transform(ctx, j)
	s.mu.Lock()
	defer s.mu.Unlock()
	j.ended = time.Now()
	switch {
	case err == nil:
		j.status = "Completed"
	case ctx.Err() != nil || errors.Is(err, errStopped):
		j.status = "Stopped"
	default:
		j.status = "Failed"
		j.failure = err.Error()
	}
	j.cancel()
}

// transform does the work of a transform job: score every line of every
// input object and write <key>.out files.
func (s *Server) transform(ctx context.Context, j *transformJob) error {
	if !s.pause(ctx) {
		return errStopped
	}
	s.mu.Lock()
	j.started = time.Now()
	s.mu.Unlock()
	in, out := j.in.TransformInput, j.in.TransformOutput
	if in.ContentType != "text/csv" {
		return fmt.Errorf("ClientError: content type %q is not supported by this emulator (text/csv only)", in.ContentType)
	}
	if in.SplitType != "Line" {
		return fmt.Errorf("ClientError: SplitType %q is not supported by this emulator (Line only)", in.SplitType)
	}
	if in.CompressionType != "" && in.CompressionType != "None" {
		return fmt.Errorf("ClientError: CompressionType %q is not supported by this emulator", in.CompressionType)
	}
	rf, err := inference.ParseAccept(out.Accept)
	if err == nil && rf.Format == inference.CSV {
		err = fmt.Errorf("Accept %q: IP Insights answers application/json or application/jsonlines", out.Accept)
	}
	if err != nil {
		return fmt.Errorf("ClientError: %v", err)
	}
	rf.Seen = false // our extension; SageMaker's responses never carry entity_seen
	m, lerr := s.loadModel(ctx, j.model.PrimaryContainer.ModelDataUrl)
	if lerr != nil {
		return lerr
	}
	if h := s.opts.BeforeTransform; h != nil {
		if err := h(ctx, j.in.TransformJobName); err != nil {
			if ctx.Err() != nil {
				return errStopped
			}
			return err
		}
	}
	src, _ := sagemaker.ParseS3URI(in.DataSource.S3DataSource.S3Uri)
	dst, _ := sagemaker.ParseS3URI(out.S3OutputPath)
	keys, err := s3util.List(ctx, s.opts.S3, src.Bucket, src.Key)
	if err != nil {
		return fmt.Errorf("ClientError: %v", err)
	}
	dir := src.Key[:strings.LastIndex(src.Key, "/")+1]
	maxPayload := j.in.MaxPayloadInMB
	if maxPayload <= 0 {
		maxPayload = 6
	}
	single := j.in.BatchStrategy != "MultiRecord"
	for _, k := range keys {
		if ctx.Err() != nil {
			return errStopped
		}
		var body []byte
		var batch []ipinsights.Pair
		size := 0
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			body = inference.AppendResponse(body, rf, predictions(m, batch, rf.Verbose))
			if out.AssembleWith == "Line" && (len(body) == 0 || body[len(body)-1] != '\n') {
				body = append(body, '\n')
			}
			batch, size = batch[:0], 0
			return nil
		}
		var ferr error
		err := s.readObject(ctx, src.Bucket, k, 2, func(r *csvio.Reader) {
			if ferr != nil {
				return
			}
			n := len(r.Entity()) + 17 // entity, comma, address, newline
			if len(batch) > 0 && (single || size+n > maxPayload<<20) {
				ferr = flush()
			}
			batch = append(batch, ipinsights.Pair{Entity: string(r.Entity()), IP: r.Addr()})
			size += n
		})
		if err == nil {
			err = ferr
		}
		if err == nil {
			err = flush()
		}
		if err != nil {
			return err
		}
		outKey := path.Join(dst.Key, strings.TrimPrefix(k, dir)) + ".out"
		if err := s3util.PutBytes(ctx, s.opts.S3, body, dst.Bucket, outKey, rf.Format.MediaType()); err != nil {
			if ctx.Err() != nil {
				return errStopped
			}
			return fmt.Errorf("ClientError: %v", err)
		}
	}
	return nil
}

// loadModel reads a model.tar.gz written by an emulated training job.
func (s *Server) loadModel(ctx context.Context, uri string) (*ipinsights.Model, error) {
	u, err := sagemaker.ParseS3URI(uri)
	if err != nil {
		return nil, fmt.Errorf("ClientError: %v", err)
	}
	body, err := s3util.Open(ctx, s.opts.S3, u.Bucket, u.Key)
	if err != nil {
		return nil, fmt.Errorf("ClientError: Failed to download model data: %v", err)
	}
	defer body.Close()
	bad := func(err error) error {
		return fmt.Errorf("ClientError: Unable to load the model from %s: %v", uri, err)
	}
	zr, err := gzip.NewReader(body)
	if err != nil {
		return nil, bad(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, bad(fmt.Errorf("no %s in the archive", ModelMember))
		}
		if err != nil {
			return nil, bad(err)
		}
		if h.Name == ModelMember {
			m, err := ipinsights.Load(tr)
			if err != nil {
				return nil, bad(err)
			}
			return m, nil
		}
	}
}

// predictions scores a mini-batch as the IP Insights container does, with
// the embeddings when verbose.
func predictions(m *ipinsights.Model, batch []ipinsights.Pair, verbose bool) []inference.Prediction {
	preds := make([]inference.Prediction, len(batch))
	if verbose {
		for i, p := range batch {
			r, e, v := m.ScoreVerbose(p.Entity, p.IP)
			preds[i] = inference.Prediction{DotProduct: r.DotProduct, EntityEmbedding: e, IPEmbedding: v}
		}
		return preds
	}
	for i, r := range m.ScoreBatch(nil, batch) {
		preds[i].DotProduct = r.DotProduct
	}
	return preds
}
