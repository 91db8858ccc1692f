package sagemaker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Defaults of Options.
const (
	DefaultInstanceType  = "ml.m4.xlarge"
	DefaultInstanceCount = 1
	DefaultVolumeSizeGB  = 30
	DefaultMaxRuntime    = 24 * time.Hour
	DefaultPollInterval  = 15 * time.Second
	DefaultStopTimeout   = 10 * time.Minute
	DefaultPrefix        = "ipinsights"
	// DefaultPartBytes bounds the size of one uploaded CSV object, below
	// S3's 5 GiB limit for a single PUT; larger inputs are split into parts.
	DefaultPartBytes = 1 << 30
)

// Options configure a Client. Region, RoleARN and Bucket are required;
// zero values of the others mean their defaults.
type Options struct {
	// Region selects the IP Insights image (see ImageURI). It must be the
	// region of the SageMaker and S3 clients.
	Region string
	// RoleARN is the IAM role SageMaker assumes to read and write S3.
	RoleARN string
	// Bucket and Prefix locate everything the delegate writes to S3:
	// inputs under Prefix/input, training output under Prefix/output,
	// batch transform data under Prefix/transform.
	Bucket, Prefix string
	// InstanceType and InstanceCount apply to training and transform jobs.
	InstanceType  string
	InstanceCount int
	// VolumeSizeGB is the training instance's storage volume.
	VolumeSizeGB int
	// MaxRuntime is the training job's stopping condition.
	MaxRuntime time.Duration
	// PollInterval is the time between two DescribeTrainingJob or
	// DescribeTransformJob calls while waiting.
	PollInterval time.Duration
	// StopTimeout bounds the wait for a job to reach Stopped after the
	// context was cancelled, and the time given to cleanup calls.
	StopTimeout time.Duration
	// PartBytes bounds the size of one uploaded CSV object.
	PartBytes int64
	// Image is the IP Insights image URI; empty means that of Region (see
	// ImageURI).
	Image string
	// Progress receives events; nil discards them.
	Progress Reporter
}

// Client runs IP Insights jobs on SageMaker: training, and scoring by batch
// transform. It creates only jobs and models, never endpoints, and deletes
// every model it creates before returning.
type Client struct {
	sm   API
	s3   S3API
	opts Options // defaults filled in
}

var (
	// RoleARNPattern is SageMaker's pattern for IAM role ARNs.
	RoleARNPattern = regexp.MustCompile(`^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$`)
	// NamePattern is SageMaker's pattern for job and model names (at most 63
	// characters).
	NamePattern   = regexp.MustCompile(`^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`)
	bucketPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$`)
)

// New returns a Client over the given SageMaker and S3 clients. It checks
// the options without calling AWS.
func New(smc API, s3c S3API, opts Options) (*Client, error) {
	if opts.Region == "" {
		return nil, errors.New("sagemaker: no region")
	}
	if !RoleARNPattern.MatchString(opts.RoleARN) {
		return nil, fmt.Errorf("sagemaker: role ARN %q is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)", opts.RoleARN)
	}
	if !bucketPattern.MatchString(opts.Bucket) {
		return nil, fmt.Errorf("sagemaker: bucket %q is not a valid S3 bucket name", opts.Bucket)
	}
	opts.Prefix = strings.Trim(opts.Prefix, "/")
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.InstanceType == "" {
		opts.InstanceType = DefaultInstanceType
	}
	if !strings.HasPrefix(opts.InstanceType, "ml.") {
		return nil, fmt.Errorf("sagemaker: instance type %q does not start with \"ml.\"", opts.InstanceType)
	}
	if opts.InstanceCount == 0 {
		opts.InstanceCount = DefaultInstanceCount
	}
	if opts.InstanceCount < 1 || opts.InstanceCount > 100 {
		return nil, fmt.Errorf("sagemaker: instance count %d out of range 1..100", opts.InstanceCount)
	}
	if opts.VolumeSizeGB == 0 {
		opts.VolumeSizeGB = DefaultVolumeSizeGB
	}
	if opts.MaxRuntime == 0 {
		opts.MaxRuntime = DefaultMaxRuntime
	}
	if opts.MaxRuntime < time.Second {
		return nil, fmt.Errorf("sagemaker: max runtime %v is shorter than a second", opts.MaxRuntime)
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.StopTimeout <= 0 {
		opts.StopTimeout = DefaultStopTimeout
	}
	if opts.PartBytes <= 0 {
		opts.PartBytes = DefaultPartBytes
	}
	if opts.Image == "" {
		var err error
		if opts.Image, err = ImageURI(opts.Region); err != nil {
			return nil, err
		}
	}
	return &Client{sm: smc, s3: s3c, opts: opts}, nil
}

func (c *Client) report(e Event) {
	if c.opts.Progress == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	c.opts.Progress.Report(e)
}

func (c *Client) s3Root() S3URI { return S3URI{Bucket: c.opts.Bucket, Key: c.opts.Prefix} }

// NewJobName returns a fresh name for a job or model: "ipinsights-",
// kind, a UTC timestamp and a random suffix, within SageMaker's limits.
func NewJobName(kind string) string {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("ipinsights-%s-%s-%s", kind, time.Now().UTC().Format("20060102-150405"), hex.EncodeToString(b[:]))
}

func checkName(what, name string) error {
	if !NamePattern.MatchString(name) {
		return fmt.Errorf("sagemaker: %s name %q must be 1 to 63 letters, digits and hyphens, starting with a letter or digit", what, name)
	}
	return nil
}

// JobError reports a SageMaker job that ended Failed or Stopped.
type JobError struct {
	Kind   string // "training job" or "transform job"
	Name   string
	Status string // Failed or Stopped
	// Reason is SageMaker's FailureReason (empty for a stopped job).
	Reason string
}

func (e *JobError) Error() string {
	s := fmt.Sprintf("sagemaker: %s %s %s", e.Kind, e.Name, strings.ToLower(e.Status))
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

// cleanupContext returns a context for calls that must run even when ctx
// was cancelled: stopping jobs, deleting models.
func (c *Client) cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), c.opts.StopTimeout)
}

// Resource is one billable thing a delegate call will create.
type Resource struct {
	Kind          string // "training job", "model", "transform job", "S3 upload"
	Name          string // job or model name, or S3 URI
	InstanceType  string
	InstanceCount int
	Note          string
}

// Plan lists what a delegate call will create, for the user to confirm
// before anything is created.
type Plan struct {
	Region    string
	Resources []Resource
}

// Add appends the resources of other to p.
func (p *Plan) Add(other Plan) {
	if p.Region == "" {
		p.Region = other.Region
	}
	p.Resources = append(p.Resources, other.Resources...)
}

// String renders p for a confirmation prompt.
func (p Plan) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "This will create on AWS (region %s), billed to your account:\n", p.Region)
	for _, r := range p.Resources {
		fmt.Fprintf(&b, "  %-14s %s", r.Kind, r.Name)
		if r.InstanceType != "" {
			fmt.Fprintf(&b, "  on %d x %s", r.InstanceCount, r.InstanceType)
		}
		if r.Note != "" {
			fmt.Fprintf(&b, "  (%s)", r.Note)
		}
		b.WriteByte('\n')
	}
	return b.String()
}
