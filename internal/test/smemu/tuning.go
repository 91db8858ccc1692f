package smemu

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// Wire shapes of the hyperparameter tuning job operations (the fields the
// delegate uses; JSON names as on the wire).

type parameterRange struct {
	Name        string
	MinValue    string
	MaxValue    string
	ScalingType string `json:",omitempty"`
}

type parameterRanges struct {
	IntegerParameterRanges     []parameterRange `json:",omitempty"`
	ContinuousParameterRanges  []parameterRange `json:",omitempty"`
	CategoricalParameterRanges []struct {
		Name   string
		Values []string
	} `json:",omitempty"`
}

type tuningObjective struct {
	Type       string
	MetricName string
}

type resourceLimits struct {
	MaxNumberOfTrainingJobs int
	MaxParallelTrainingJobs int
	MaxRuntimeInSeconds     int `json:",omitempty"`
}

type hyperbandConfig struct {
	MinResource *int `json:",omitempty"`
	MaxResource *int `json:",omitempty"`
}

type tuningJobConfig struct {
	Strategy                         string
	HyperParameterTuningJobObjective *tuningObjective `json:",omitempty"`
	ResourceLimits                   *resourceLimits
	ParameterRanges                  *parameterRanges `json:",omitempty"`
	TrainingJobEarlyStoppingType     string           `json:",omitempty"`
	RandomSeed                       *int             `json:",omitempty"`
	StrategyConfig                   *struct {
		HyperbandStrategyConfig *hyperbandConfig `json:",omitempty"`
	} `json:",omitempty"`
}

type trainingJobDefinition struct {
	AlgorithmSpecification *algorithmSpecification
	RoleArn                string
	InputDataConfig        []channel
	OutputDataConfig       *struct{ S3OutputPath string }
	ResourceConfig         *resourceConfig
	StoppingCondition      *struct{ MaxRuntimeInSeconds int }
	StaticHyperParameters  map[string]string `json:",omitempty"`
}

type createTuningJobInput struct {
	HyperParameterTuningJobName   string
	HyperParameterTuningJobConfig *tuningJobConfig
	TrainingJobDefinition         *trainingJobDefinition
}

type objectiveMetric struct {
	MetricName string
	Value      float32
	Type       string `json:",omitempty"`
}

type trainingJobSummary struct {
	TrainingJobName                             string
	TrainingJobArn                              string
	TuningJobName                               string
	CreationTime                                epoch
	TrainingStartTime                           *epoch `json:",omitempty"`
	TrainingEndTime                             *epoch `json:",omitempty"`
	TrainingJobStatus                           string
	TunedHyperParameters                        map[string]string
	FinalHyperParameterTuningJobObjectiveMetric *objectiveMetric `json:",omitempty"`
	ObjectiveStatus                             string           `json:",omitempty"`
	FailureReason                               string           `json:",omitempty"`
}

type trainingJobCounters struct {
	Completed, InProgress, RetryableError, NonRetryableError, Stopped int
}

type objectiveCounters struct {
	Succeeded, Pending, Failed int
}

type describeTuningJobOutput struct {
	HyperParameterTuningJobName   string
	HyperParameterTuningJobArn    string
	HyperParameterTuningJobConfig *tuningJobConfig
	TrainingJobDefinition         *trainingJobDefinition
	HyperParameterTuningJobStatus string
	CreationTime                  epoch
	HyperParameterTuningEndTime   *epoch `json:",omitempty"`
	LastModifiedTime              epoch
	TrainingJobStatusCounters     trainingJobCounters
	ObjectiveStatusCounters       objectiveCounters
	BestTrainingJob               *trainingJobSummary `json:",omitempty"`
	FailureReason                 string              `json:",omitempty"`
}

// tuningJob is the state of one hyperparameter tuning job; the Server's
// mutex guards it.
type tuningJob struct {
	in       createTuningJobInput
	arn      string
	status   string
	failure  string
	created  time.Time
	modified time.Time
	ended    time.Time
	jobs     []string                     // its training jobs, in creation order
	tuned    map[string]map[string]string // training job -> tuned hyperparameters
	cancel   context.CancelFunc
}

// TuningJobs returns the names of all tuning jobs ever created, sorted.
func (s *Server) TuningJobs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedKeys(s.tuningJobs())
}

// TuningStatus returns the status of the tuning job name, or "" when
// there is none.
func (s *Server) TuningStatus(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if j, ok := s.tuningJobs()[name]; ok {
		return j.status
	}
	return ""
}

// TuningTrainingJobs returns the training jobs of the tuning job name, in
// creation order.
func (s *Server) TuningTrainingJobs(name string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if j, ok := s.tuningJobs()[name]; ok {
		return slices.Clone(j.jobs)
	}
	return nil
}

// tuningJobs returns the tuning jobs; s.mu must be held.
func (s *Server) tuningJobs() map[string]*tuningJob {
	if s.tuning == nil {
		s.tuning = map[string]*tuningJob{}
	}
	return s.tuning
}

// maxTuningName is SageMaker's limit on tuning job names.
const maxTuningName = 32

func (s *Server) createTuningJob(in *createTuningJobInput) (any, *apiError) {
	name := in.HyperParameterTuningJobName
	def := in.TrainingJobDefinition
	if def == nil {
		return nil, validation("the emulator supports a TrainingJobDefinition only (not TrainingJobDefinitions)")
	}
	if err := s.checkCreate("hyperParameterTuningJobName", name, "trainingJobDefinition.roleArn", def.RoleArn); err != nil {
		return nil, err
	}
	if len(name) > maxTuningName {
		return nil, validation("1 validation error detected: Value '%s' at 'hyperParameterTuningJobName' failed to satisfy constraint: Member must have length less than or equal to %d", name, maxTuningName)
	}
	cfg := in.HyperParameterTuningJobConfig
	if cfg == nil || cfg.ResourceLimits == nil {
		return nil, validation("1 validation error detected: Value null at 'hyperParameterTuningJobConfig.resourceLimits' failed to satisfy constraint: Member must not be null")
	}
	if cfg.ResourceLimits.MaxNumberOfTrainingJobs < 1 || cfg.ResourceLimits.MaxParallelTrainingJobs < 1 {
		return nil, validation("MaxNumberOfTrainingJobs and MaxParallelTrainingJobs must be at least 1")
	}
	if o := cfg.HyperParameterTuningJobObjective; o == nil || o.MetricName != MetricValidation || o.Type != "Maximize" {
		return nil, validation("The objective metric for the IP Insights algorithm must be %s, to maximize", MetricValidation)
	}
	switch cfg.Strategy {
	case "Bayesian", "Random", "Grid":
	case "Hyperband":
		if cfg.TrainingJobEarlyStoppingType == "Auto" {
			return nil, validation("TrainingJobEarlyStoppingType must be Off when the Hyperband strategy is used")
		}
		var maxRes *int
		if sc := cfg.StrategyConfig; sc != nil && sc.HyperbandStrategyConfig != nil {
			maxRes = sc.HyperbandStrategyConfig.MaxResource
		}
		if _, err := strconv.Atoi(def.StaticHyperParameters["epochs"]); maxRes == nil && err != nil {
			return nil, validation("Hyperband could not infer MaxResource: set it, or a static epochs hyperparameter")
		}
	default:
		return nil, validation("1 validation error detected: Value '%s' at 'hyperParameterTuningJobConfig.strategy' failed to satisfy constraint: Member must satisfy enum value set: [Bayesian, Random, Hyperband, Grid]", cfg.Strategy)
	}
	if aerr := checkRanges(cfg.ParameterRanges, def.StaticHyperParameters); aerr != nil {
		return nil, aerr
	}
	if def.AlgorithmSpecification == nil || def.AlgorithmSpecification.TrainingImage != s.image {
		return nil, validation("this emulator runs only the IP Insights image of %s (%s)", s.opts.Region, s.image)
	}
	for _, ch := range def.InputDataConfig {
		if aerr := s.checkS3Input(ch.DataSource.S3DataSource, def.RoleArn); aerr != nil {
			return nil, aerr
		}
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, dup := s.tuningJobs()[name]; dup {
		return nil, resourceInUse("Hyperparameter tuning job names must be unique within an AWS account and region, and a tuning job with this name already exists (%s)", old.arn)
	}
	ctx, cancel := context.WithCancel(s.ctx)
	j := &tuningJob{in: *in, arn: s.arn("hyper-parameter-tuning-job", name), status: "InProgress",
		created: now, modified: now, tuned: map[string]map[string]string{}, cancel: cancel}
	s.tuningJobs()[name] = j
	s.wg.Add(1)
	go s.runTuning(ctx, j)
	return map[string]string{"HyperParameterTuningJobArn": j.arn}, nil
}

// checkRanges validates the parameter ranges as SageMaker does for IP
// Insights: known hyperparameters, not static, bounds in order.
func checkRanges(pr *parameterRanges, static map[string]string) *apiError {
	if pr == nil {
		return nil
	}
	if len(pr.CategoricalParameterRanges) > 0 {
		return validation("IP Insights has no categorical hyperparameters")
	}
	check := func(r parameterRange, integer bool) *apiError {
		if !slices.Contains(ipinsights.SageMakerNames(), r.Name) {
			return validation("The hyperparameter tuning job that you requested has the following untunable hyperparameters: [%s]", r.Name)
		}
		if _, dup := static[r.Name]; dup {
			return validation("Hyperparameter %s is both static and tunable", r.Name)
		}
		lo, err1 := strconv.ParseFloat(r.MinValue, 64)
		hi, err2 := strconv.ParseFloat(r.MaxValue, 64)
		if err1 != nil || err2 != nil || lo > hi || integer && (lo != math.Trunc(lo) || hi != math.Trunc(hi)) {
			return validation("Invalid range for hyperparameter %s: [%s, %s]", r.Name, r.MinValue, r.MaxValue)
		}
		if r.ScalingType == "Logarithmic" && lo <= 0 {
			return validation("Logarithmic scaling works only for ranges that have only values greater than 0 (%s)", r.Name)
		}
		return nil
	}
	for _, r := range pr.IntegerParameterRanges {
		if err := check(r, true); err != nil {
			return err
		}
	}
	for _, r := range pr.ContinuousParameterRanges {
		if err := check(r, false); err != nil {
			return err
		}
	}
	return nil
}

// sample draws the tuned hyperparameters of one training job, uniformly in
// each range's scale. The emulator draws every strategy's jobs at random:
// it does not emulate AMT's Bayesian model, Hyperband or early stopping.
func sample(r *rand.Rand, pr *parameterRanges) map[string]string {
	hp := map[string]string{}
	if pr == nil {
		return hp
	}
	draw := func(p parameterRange) float64 {
		lo, _ := strconv.ParseFloat(p.MinValue, 64)
		hi, _ := strconv.ParseFloat(p.MaxValue, 64)
		if p.ScalingType == "Logarithmic" {
			return math.Exp(math.Log(lo) + r.Float64()*(math.Log(hi)-math.Log(lo)))
		}
		return lo + r.Float64()*(hi-lo)
	}
	for _, p := range pr.IntegerParameterRanges {
		hp[p.Name] = strconv.FormatInt(int64(math.Round(draw(p))), 10)
	}
	for _, p := range pr.ContinuousParameterRanges {
		hp[p.Name] = strconv.FormatFloat(draw(p), 'g', 6, 64)
	}
	return hp
}

// tuningPoll is how often the tuning job looks at its training jobs.
const tuningPoll = 2 * time.Millisecond

func (s *Server) runTuning(ctx context.Context, j *tuningJob) {
	defer s.wg.Done()
	cfg, def := j.in.HyperParameterTuningJobConfig, j.in.TrainingJobDefinition
	seed := uint64(1)
	if cfg.RandomSeed != nil {
		seed = uint64(*cfg.RandomSeed)
	}
	r := rand.New(rand.NewPCG(seed, 0x74756e65)) // "tune"
	limits := cfg.ResourceLimits
	launched := 0
	for {
		running := s.runningJobs(j)
		if ctx.Err() != nil {
			s.stopTuningJobs(j)
			if len(s.runningJobs(j)) == 0 {
				s.finishTuning(j, "Stopped", "")
				return
			}
		} else if launched < limits.MaxNumberOfTrainingJobs && len(running) < limits.MaxParallelTrainingJobs {
			tuned := sample(r, cfg.ParameterRanges)
			hp := map[string]string{}
			for k, v := range def.StaticHyperParameters {
				hp[k] = v
			}
			for k, v := range tuned {
				hp[k] = v
			}
			name := fmt.Sprintf("%s-%03d-%08x", j.in.HyperParameterTuningJobName, launched+1, r.Uint32())
			launched++
			_, aerr := s.createTrainingJob(&createTrainingJobInput{
				TrainingJobName: name, RoleArn: def.RoleArn, AlgorithmSpecification: def.AlgorithmSpecification,
				HyperParameters: hp, InputDataConfig: def.InputDataConfig, OutputDataConfig: def.OutputDataConfig,
				ResourceConfig: def.ResourceConfig, StoppingCondition: def.StoppingCondition,
			})
			if aerr != nil {
				s.finishTuning(j, "Failed", "The training job definition was refused: "+aerr.msg)
				return
			}
			s.mu.Lock()
			j.jobs = append(j.jobs, name)
			j.tuned[name] = tuned
			s.mu.Unlock()
			continue
		} else if launched == limits.MaxNumberOfTrainingJobs && len(running) == 0 {
			if best := s.bestTrainingJob(j); best == nil {
				s.finishTuning(j, "Failed", "No training job succeeded in emitting the objective metric "+MetricValidation)
			} else {
				s.finishTuning(j, "Completed", "")
			}
			return
		}
		if ctx.Err() != nil {
			time.Sleep(tuningPoll) // until the stopped training jobs end
			continue
		}
		select {
		case <-time.After(tuningPoll):
		case <-ctx.Done():
		}
	}
}

// runningJobs returns the tuning job's training jobs that have not ended.
func (s *Server) runningJobs(j *tuningJob) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, n := range j.jobs {
		if st := s.training[n].status; st == "InProgress" || st == "Stopping" {
			out = append(out, n)
		}
	}
	return out
}

// stopTuningJobs stops the tuning job's training jobs in progress.
func (s *Server) stopTuningJobs(j *tuningJob) {
	for _, n := range s.runningJobs(j) {
		_, _ = s.stopTrainingJob(&struct{ TrainingJobName string }{n})
	}
}

func (s *Server) finishTuning(j *tuningJob, status, failure string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j.status, j.failure = status, failure
	j.ended = time.Now()
	j.modified = j.ended
	j.cancel()
}

func (s *Server) stopTuningJob(in *struct{ HyperParameterTuningJobName string }) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.tuningJobs()[in.HyperParameterTuningJobName]
	if !ok {
		return nil, validation("Requested resource not found.")
	}
	if j.status != "InProgress" {
		return nil, validation("The request was rejected because the tuning job is in status %s.", j.status)
	}
	j.status = "Stopping"
	j.modified = time.Now()
	j.cancel()
	return struct{}{}, nil
}

// summary describes a training job of a tuning job; s.mu must be held.
func (s *Server) summaryLocked(j *tuningJob, name string) trainingJobSummary {
	tj := s.training[name]
	sum := trainingJobSummary{
		TrainingJobName: name, TrainingJobArn: tj.arn, TuningJobName: j.in.HyperParameterTuningJobName,
		CreationTime: epoch(tj.created), TrainingJobStatus: tj.status, TunedHyperParameters: j.tuned[name],
		FailureReason: tj.failure, ObjectiveStatus: "Pending",
	}
	if !tj.started.IsZero() {
		t := epoch(tj.started)
		sum.TrainingStartTime = &t
	}
	if !tj.ended.IsZero() {
		t := epoch(tj.ended)
		sum.TrainingEndTime = &t
	}
	if m, ok := tj.metrics[MetricValidation]; ok && (tj.status == "Completed" || tj.status == "Stopped") {
		sum.FinalHyperParameterTuningJobObjectiveMetric = &objectiveMetric{MetricName: MetricValidation, Value: m.Value, Type: "Maximize"}
		sum.ObjectiveStatus = "Succeeded"
	} else if tj.status != "InProgress" && tj.status != "Stopping" {
		sum.ObjectiveStatus = "Failed"
	}
	return sum
}

// bestTrainingJob returns the completed training job of the highest
// objective, or nil.
func (s *Server) bestTrainingJob(j *tuningJob) *trainingJobSummary {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bestLocked(j)
}

func (s *Server) bestLocked(j *tuningJob) *trainingJobSummary {
	var best *trainingJobSummary
	for _, n := range j.jobs {
		sum := s.summaryLocked(j, n)
		m := sum.FinalHyperParameterTuningJobObjectiveMetric
		if sum.TrainingJobStatus != "Completed" || m == nil {
			continue
		}
		if best == nil || m.Value > best.FinalHyperParameterTuningJobObjectiveMetric.Value {
			best = &sum
		}
	}
	return best
}

func (s *Server) describeTuningJob(in *struct{ HyperParameterTuningJobName string }) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.tuningJobs()[in.HyperParameterTuningJobName]
	if !ok {
		return nil, validation("Requested resource not found.")
	}
	out := describeTuningJobOutput{
		HyperParameterTuningJobName: j.in.HyperParameterTuningJobName, HyperParameterTuningJobArn: j.arn,
		HyperParameterTuningJobConfig: j.in.HyperParameterTuningJobConfig, TrainingJobDefinition: j.in.TrainingJobDefinition,
		HyperParameterTuningJobStatus: j.status, CreationTime: epoch(j.created), LastModifiedTime: epoch(j.modified),
		FailureReason: j.failure, BestTrainingJob: s.bestLocked(j),
	}
	if !j.ended.IsZero() {
		t := epoch(j.ended)
		out.HyperParameterTuningEndTime = &t
	}
	for _, n := range j.jobs {
		sum := s.summaryLocked(j, n)
		switch sum.TrainingJobStatus {
		case "Completed":
			out.TrainingJobStatusCounters.Completed++
		case "InProgress", "Stopping":
			out.TrainingJobStatusCounters.InProgress++
		case "Stopped":
			out.TrainingJobStatusCounters.Stopped++
		case "Failed":
			out.TrainingJobStatusCounters.NonRetryableError++
		}
		switch sum.ObjectiveStatus {
		case "Succeeded":
			out.ObjectiveStatusCounters.Succeeded++
		case "Pending":
			out.ObjectiveStatusCounters.Pending++
		default:
			out.ObjectiveStatusCounters.Failed++
		}
	}
	return out, nil
}

type listTuningTrainingJobsInput struct {
	HyperParameterTuningJobName string
	MaxResults                  int    `json:",omitempty"`
	NextToken                   string `json:",omitempty"`
}

// listTuningTrainingJobs lists the training jobs in creation order, at
// most MaxResults (default 10, SageMaker's) a page.
func (s *Server) listTuningTrainingJobs(in *listTuningTrainingJobsInput) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.tuningJobs()[in.HyperParameterTuningJobName]
	if !ok {
		return nil, validation("Requested resource not found.")
	}
	page := in.MaxResults
	if page <= 0 {
		page = 10
	}
	from := 0
	if in.NextToken != "" {
		var err error
		if from, err = strconv.Atoi(in.NextToken); err != nil || from < 0 || from > len(j.jobs) {
			return nil, validation("Invalid pagination token")
		}
	}
	to := min(from+page, len(j.jobs))
	out := struct {
		TrainingJobSummaries []trainingJobSummary
		NextToken            string `json:",omitempty"`
	}{TrainingJobSummaries: []trainingJobSummary{}}
	for _, n := range j.jobs[from:to] {
		out.TrainingJobSummaries = append(out.TrainingJobSummaries, s.summaryLocked(j, n))
	}
	if to < len(j.jobs) {
		out.NextToken = strconv.Itoa(to)
	}
	return out, nil
}
