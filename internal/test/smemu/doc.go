// Package smemu is an in-process emulator of the parts of the Amazon
// SageMaker API that the delegate mode calls: CreateTrainingJob,
// DescribeTrainingJob, StopTrainingJob, CreateModel, DeleteModel,
// CreateTransformJob, DescribeTransformJob and StopTransformJob, and the
// hyperparameter tuning operations CreateHyperParameterTuningJob,
// DescribeHyperParameterTuningJob, StopHyperParameterTuningJob and
// ListTrainingJobsForHyperParameterTuningJob. It speaks
// SageMaker's wire protocol (AWS JSON 1.1 over HTTP, the operation in the
// X-Amz-Target header), so the real aws-sdk-go-v2 client reaches it through
// its BaseEndpoint, and it keeps its data in S3 (in tests, gofakes3).
//
// It behaves as SageMaker does where the delegate can tell: requests are
// validated as SageMaker validates them (role ARN and name patterns, input
// data present under the S3 prefix, unknown models), with SageMaker's error
// codes and messages; jobs move from InProgress to Completed, Failed (with a
// FailureReason) or, after a stop request, Stopping and Stopped; training
// jobs list SageMaker's secondary status transitions and metrics. Training
// really runs this project's trainer on the uploaded CSV with the
// hyperparameters of the request (SageMaker's names only, as the ipinsights
// container) and writes <output path>/<job>/output/model.tar.gz; transform
// jobs score every input object line by line and write <input>.out files in
// the SageMaker output format of the requested Accept type.
//
// A tuning job launches its training jobs as SageMaker does (named
// <tuning job>-NNN-<hex>, at most MaxParallelTrainingJobs at a time) with
// the static hyperparameters and values drawn from the ranges; it draws
// them at random whatever the strategy, and does not emulate AMT's Bayesian
// model, Hyperband or early stopping. Its best training job is the
// completed one of the highest validation:discriminator_auc.
//
// What it does not emulate: billing, instance start-up times (see
// Options.StepDelay), the MaxRuntimeInSeconds stopping condition, IAM (any
// well-formed role ARN is accepted), and endpoints.
package smemu
