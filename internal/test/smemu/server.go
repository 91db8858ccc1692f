package smemu

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ipinsights/ipinsights-go/internal/s3util"
	"github.com/ipinsights/ipinsights-go/sagemaker"
)

// Options configure a Server.
type Options struct {
	// S3 is where the emulated SageMaker reads inputs and writes outputs.
	S3 s3util.API
	// Region and Account appear in ARNs and select the IP Insights image
	// the emulator accepts; defaults us-east-1 and 123456789012.
	Region, Account string
	// Roles, when not nil, lists the IAM roles that exist and that
	// SageMaker may assume; any other well-formed role ARN is refused as
	// SageMaker refuses a role it cannot assume. Nil accepts every
	// well-formed ARN.
	Roles []string
	// Extras are hyperparameters of this implementation (ipv4_hash_rows,
	// seed, ...) that the emulated container applies to every training
	// job, since SageMaker's requests cannot carry them. Tests use them to
	// keep models small; the local side of a comparison must use the same.
	Extras map[string]string
	// StepDelay is how long a job stays in each secondary status before the
	// work of the next one starts; zero means no delay.
	StepDelay time.Duration
	// BeforeTraining and BeforeTransform, when set, are called in the job's
	// goroutine when the job starts its real work (training, or scoring).
	// ctx is cancelled when the job is stopped. A hook may block, for
	// instance until ctx is done, to hold a job InProgress; a non-nil error
	// fails the job with the error's text as FailureReason.
	BeforeTraining, BeforeTransform func(ctx context.Context, job string) error
}

// Server is the emulator. It is an http.Handler; start it with
// httptest.NewServer and point the SDK's BaseEndpoint at it.
type Server struct {
	opts   Options
	image  string
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu         sync.Mutex
	training   map[string]*trainingJob
	models     map[string]*model
	transforms map[string]*transformJob
	tuning     map[string]*tuningJob // see tuningJobs
	calls      []string
}

// New returns an emulator. Close it to stop its running jobs.
func New(opts Options) *Server {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.Account == "" {
		opts.Account = "123456789012"
	}
	img, err := sagemaker.ImageURI(opts.Region)
	if err != nil {
		panic("smemu: " + err.Error())
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		opts: opts, image: img, ctx: ctx, cancel: cancel,
		training:   map[string]*trainingJob{},
		models:     map[string]*model{},
		transforms: map[string]*transformJob{},
	}
}

// Close stops every running job and waits for their goroutines.
func (s *Server) Close() {
	s.cancel()
	s.wg.Wait()
}

// Models returns the names of the models that exist, sorted.
func (s *Server) Models() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedKeys(s.models)
}

// TrainingJobs returns the names of all training jobs ever created, sorted.
func (s *Server) TrainingJobs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedKeys(s.training)
}

// TransformJobs returns the names of all transform jobs ever created, sorted.
func (s *Server) TransformJobs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedKeys(s.transforms)
}

// Calls returns the operations called so far, in order.
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

// Status returns the status of the training or transform job name, or ""
// when there is none.
func (s *Server) Status(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if j, ok := s.training[name]; ok {
		return j.status
	}
	if j, ok := s.transforms[name]; ok {
		return j.status
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// apiError is an error response in the AWS JSON protocol.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func validation(format string, a ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "ValidationException", msg: fmt.Sprintf(format, a...)}
}

func resourceInUse(format string, a ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "ResourceInUse", msg: fmt.Sprintf(format, a...)}
}

func checkName(field, v string) *apiError {
	if !sagemaker.NamePattern.MatchString(v) {
		return validation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", v, field)
	}
	return nil
}

// checkCreate validates the name and role of a create request as SageMaker
// does: both patterns, then whether the role can be assumed.
func (s *Server) checkCreate(nameField, n, roleField, role string) *apiError {
	if err := checkName(nameField, n); err != nil {
		return err
	}
	if !sagemaker.RoleARNPattern.MatchString(role) {
		return validation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: ^arn:aws[a-z\\-]*:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+$", role, roleField)
	}
	if s.opts.Roles != nil && !slices.Contains(s.opts.Roles, role) {
		return validation("Could not assume role %s. Please ensure that the role exists and allows principal 'sagemaker.amazonaws.com' to assume the role.", role)
	}
	return nil
}

func (s *Server) arn(kind, n string) string {
	return fmt.Sprintf("arn:aws:sagemaker:%s:%s:%s/%s", s.opts.Region, s.opts.Account, kind, strings.ToLower(n))
}

// maxRequestBytes bounds a request body; SageMaker's requests are small.
const maxRequestBytes = 1 << 20

// ServeHTTP answers one AWS JSON 1.1 request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := newRequestID()
	w.Header().Set("x-amzn-RequestId", reqID)
	if r.Method != http.MethodPost {
		writeError(w, &apiError{status: http.StatusMethodNotAllowed, code: "UnknownOperationException", msg: "only POST is supported"})
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		writeError(w, &apiError{status: http.StatusForbidden, code: "MissingAuthenticationTokenException", msg: "Missing Authentication Token"})
		return
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "SageMaker.")
	h, known := s.handlers()[op]
	if !ok || !known {
		writeError(w, &apiError{status: http.StatusBadRequest, code: "UnknownOperationException", msg: fmt.Sprintf("unknown operation %q", r.Header.Get("X-Amz-Target"))})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if err != nil {
		writeError(w, &apiError{status: http.StatusRequestEntityTooLarge, code: "SerializationException", msg: err.Error()})
		return
	}
	s.mu.Lock()
	s.calls = append(s.calls, op)
	s.mu.Unlock()
	out, aerr := h(body)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

type handler func(body []byte) (any, *apiError)

func (s *Server) handlers() map[string]handler {
	return map[string]handler{
		"CreateTrainingJob":    decodeInto(s.createTrainingJob),
		"DescribeTrainingJob":  decodeInto(s.describeTrainingJob),
		"StopTrainingJob":      decodeInto(s.stopTrainingJob),
		"CreateModel":          decodeInto(s.createModel),
		"DeleteModel":          decodeInto(s.deleteModel),
		"CreateTransformJob":   decodeInto(s.createTransformJob),
		"DescribeTransformJob": decodeInto(s.describeTransformJob),
		"StopTransformJob":     decodeInto(s.stopTransformJob),

		"CreateHyperParameterTuningJob":              decodeInto(s.createTuningJob),
		"DescribeHyperParameterTuningJob":            decodeInto(s.describeTuningJob),
		"StopHyperParameterTuningJob":                decodeInto(s.stopTuningJob),
		"ListTrainingJobsForHyperParameterTuningJob": decodeInto(s.listTuningTrainingJobs),
	}
}

func decodeInto[In any](f func(*In) (any, *apiError)) handler {
	return func(body []byte) (any, *apiError) {
		in := new(In)
		if err := json.Unmarshal(body, in); err != nil {
			return nil, &apiError{status: http.StatusBadRequest, code: "SerializationException", msg: err.Error()}
		}
		return f(in)
	}
}

func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", e.code)
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.code, "message": e.msg})
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// epoch is a timestamp as the AWS JSON protocol writes it: seconds since
// 1970 as a number. The zero time is written as null.
type epoch time.Time

func (t epoch) MarshalJSON() ([]byte, error) {
	tt := time.Time(t)
	if tt.IsZero() {
		return []byte("null"), nil
	}
	return []byte(fmt.Sprintf("%.3f", float64(tt.UnixMilli())/1000)), nil
}

func (t *epoch) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	sec, frac := math.Modf(f)
	*t = epoch(time.Unix(int64(sec), int64(frac*1e9)))
	return nil
}

// pause waits for the step delay; it reports false when ctx ended first.
func (s *Server) pause(ctx context.Context) bool {
	if s.opts.StepDelay <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(s.opts.StepDelay)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

var errStopped = errors.New("stopped")
