package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"

	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/ipinsights/ipinsights-go/sagemaker"
)

func init() {
	register(&command{
		name:    "sagemaker",
		summary: "run the same job on Amazon SageMaker: train, transform (batch scoring), parity",
		usage: `train|transform|score|parity|tune [flags]

  train      train on SageMaker with the same data and hyperparameters as a local run
  transform  score rows on SageMaker by batch transform (no endpoint is created)
  score      score rows on an endpoint you already run (creates nothing)
  parity     train and score on SageMaker and locally, then compare the scores
  tune       search hyperparameters with a SageMaker hyperparameter tuning job

Every subcommand prints what it will create and asks for confirmation
unless --yes is given. Run "ipinsights sagemaker SUBCOMMAND --help" for its flags.`,
		example: `ipinsights sagemaker train --role-arn arn:aws:iam::123456789012:role/SageMaker --bucket my-bucket \
    --train train.csv --hp num_entity_vectors=20000 --hp vector_dim=128 --hp epochs=5
ipinsights sagemaker parity --role-arn arn:aws:iam::123456789012:role/SageMaker --bucket my-bucket \
    --train train.csv --labeled test_labeled.csv --hp epochs=5`,
		run: runSageMaker,
	})
}

type smSubcommand struct {
	cmd *command
	run func(ctx context.Context, e *env, c *command, args []string) error
}

var smSubcommands = map[string]smSubcommand{
	"train": {&command{
		name:    "sagemaker train",
		summary: "train an IP Insights model on SageMaker with the same data and hyperparameters as a local run",
		usage:   "--role-arn ARN --bucket NAME (--train FILE | --train-s3 URI) [--validation FILE | --validation-s3 URI] [--hp key=value ...] [--hyperparameters FILE.json] [flags]",
		example: `ipinsights sagemaker train --role-arn arn:aws:iam::123456789012:role/SageMaker --bucket my-bucket \
    --train train.csv --validation valid.csv --hp num_entity_vectors=20000 --hp epochs=5`,
	}, runSMTrain},
	"transform": {&command{
		name:    "sagemaker transform",
		summary: "score entity,ip rows on SageMaker by batch transform; writes entity,ip,dot_product CSV",
		usage:   "--role-arn ARN --bucket NAME --input FILE [--header] (--training-job NAME | --model-data S3URI) [--output FILE] [flags]",
		example: `ipinsights sagemaker transform --role-arn arn:aws:iam::123456789012:role/SageMaker --bucket my-bucket \
    --training-job ipinsights-train-20250101-120000-ab12 --input test.csv --output sagemaker_scores.csv`,
	}, runSMTransform},
	"score": {&command{
		name:    "sagemaker score",
		summary: "score entity,ip rows on an existing SageMaker endpoint (creates nothing; each request is an invocation)",
		usage:   "--endpoint NAME --input FILE [--header] [--output FILE] [--region REGION]",
		example: `ipinsights sagemaker score --endpoint my-ipinsights-endpoint --input test.csv --output sagemaker_scores.csv`,
	}, runSMScore},
	"parity": {&command{
		name:    "sagemaker parity",
		summary: "train and score on SageMaker and locally with the same inputs, then report how the scores agree",
		usage:   "--role-arn ARN --bucket NAME --train FILE (--test FILE | --labeled FILE) [--header] [--hp key=value ...] [--training-job NAME | --endpoint NAME] [--model FILE] [flags]",
		example: `ipinsights sagemaker parity --role-arn arn:aws:iam::123456789012:role/SageMaker --bucket my-bucket \
    --train train.csv --labeled test_labeled.csv --hp vector_dim=128 --hp epochs=5 --ours-out ours.csv --sagemaker-out sm.csv`,
	}, runSMParity},
}

func runSageMaker(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("want a subcommand: train, transform, score, parity or tune")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		c := commands["sagemaker"]
		fmt.Fprintf(e.stdout, "usage: ipinsights sagemaker %s\n\nexample:\n%s\n", c.usage, indent(c.example))
		return errHelp
	}
	sub, ok := smSubcommands[args[0]]
	if !ok {
		return usagef("unknown subcommand %q: want train, transform, score, parity or tune", args[0])
	}
	return sub.run(ctx, e, sub.cmd, args[1:])
}

// awsFlags are the flags every sagemaker subcommand shares.
type awsFlags struct {
	role, bucket, prefix, region, instanceType *string
	instanceCount                              *int
	yes                                        *bool
	poll, maxRuntime                           *time.Duration
}

func addAWSFlags(fs *flag.FlagSet) *awsFlags {
	return &awsFlags{
		role:          fs.String("role-arn", os.Getenv("IPINSIGHTS_SAGEMAKER_ROLE_ARN"), "IAM role SageMaker assumes (default $IPINSIGHTS_SAGEMAKER_ROLE_ARN)"),
		bucket:        fs.String("bucket", os.Getenv("IPINSIGHTS_SAGEMAKER_BUCKET"), "S3 bucket for inputs and outputs, in the job's region (default $IPINSIGHTS_SAGEMAKER_BUCKET)"),
		prefix:        fs.String("prefix", sagemaker.DefaultPrefix, "S3 key prefix under which everything is written"),
		region:        fs.String("region", "", "AWS region (default: from the AWS configuration, e.g. AWS_REGION)"),
		instanceType:  fs.String("instance-type", sagemaker.DefaultInstanceType, "instance type of training and transform jobs"),
		instanceCount: fs.Int("instance-count", sagemaker.DefaultInstanceCount, "number of instances of training and transform jobs"),
		yes:           fs.Bool("yes", false, "do not ask for confirmation before creating billable resources"),
		poll:          fs.Duration("poll", sagemaker.DefaultPollInterval, "interval between job status checks"),
		maxRuntime:    fs.Duration("max-runtime", sagemaker.DefaultMaxRuntime, "stopping condition of the training job"),
	}
}

// check refuses values that the client would silently replace by defaults.
func (a *awsFlags) check() error {
	switch {
	case *a.instanceCount < 1:
		return usagef("--instance-count %d: want 1 or more", *a.instanceCount)
	case *a.poll <= 0:
		return usagef("--poll %s: want a positive duration", *a.poll)
	case *a.maxRuntime <= 0:
		return usagef("--max-runtime %s: want a positive duration", *a.maxRuntime)
	}
	return nil
}

// client loads the AWS configuration (credentials, region, endpoint
// overrides such as AWS_ENDPOINT_URL_SAGEMAKER and AWS_ENDPOINT_URL_S3) and
// returns a delegate client that reports progress on stderr.
func (a *awsFlags) client(ctx context.Context, e *env) (*sagemaker.Client, error) {
	if *a.role == "" || *a.bucket == "" {
		return nil, usagef("--role-arn and --bucket are required")
	}
	cfg, err := loadAWSConfig(ctx, *a.region, "")
	if err != nil {
		return nil, err
	}
	c, err := sagemaker.New(sm.NewFromConfig(cfg), newS3Client(cfg, ""), sagemaker.Options{
		Region: cfg.Region, RoleARN: *a.role, Bucket: *a.bucket, Prefix: *a.prefix,
		InstanceType: *a.instanceType, InstanceCount: *a.instanceCount,
		PollInterval: *a.poll, MaxRuntime: *a.maxRuntime,
		Progress: eventPrinter(e),
	})
	if err != nil {
		return nil, usagef("%v", err)
	}
	return c, nil
}

// eventPrinter prints delegate events on stderr, one line each.
func eventPrinter(e *env) sagemaker.Reporter {
	return sagemaker.ReporterFunc(func(ev sagemaker.Event) {
		fmt.Fprintf(e.stderr, "%s %s\n", ev.Time.Format("15:04:05"), ev)
	})
}

// loadAWSConfig loads the standard AWS configuration (environment, shared
// files, instance role), with region (a --region flag) when given. When
// neither sets a region, defaultRegion is used, or else it is a usage
// error.
func loadAWSConfig(ctx context.Context, region, defaultRegion string) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = defaultRegion
	}
	if cfg.Region == "" {
		return aws.Config{}, usagef("no AWS region: give --region or set AWS_REGION")
	}
	return cfg, nil
}

// newS3Client returns an S3 client of cfg; endpoint, when given, is the
// URL of an S3-compatible store, addressed path-style.
func newS3Client(cfg aws.Config, endpoint string) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		// SageMaker's outputs and S3-compatible stores may carry no
		// checksum; that is no news for the user.
		o.DisableLogOutputChecksumValidationSkipped = true
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
		}
	})
}

// endpointScorer returns a scorer of the existing endpoint name.
func endpointScorer(ctx context.Context, name, region string) (*sagemaker.Endpoint, error) {
	cfg, err := loadAWSConfig(ctx, region, "")
	if err != nil {
		return nil, err
	}
	return &sagemaker.Endpoint{API: sagemakerruntime.NewFromConfig(cfg), Name: name}, nil
}

func runSMScore(ctx context.Context, e *env, c *command, args []string) error {
	fs := newFlagSet(c, e)
	endpoint := fs.String("endpoint", "", "name of an existing IP Insights endpoint")
	region := fs.String("region", "", "AWS region (default: from the AWS configuration, e.g. AWS_REGION)")
	input := fs.String("input", "", "rows to score: CSV of entity,ip[,more columns]; only entity,ip are sent")
	header := fs.Bool("header", false, "the input's first line is a header; its extra column names are kept")
	output := fs.String("output", "-", "where to write entity,ip,dot_product (and the extra input columns) as CSV; - for stdout")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if *endpoint == "" || *input == "" {
		return usagef("--endpoint and --input are required")
	}
	if err := checkFiles([]file{{"--input", *input}}, file{"--output", *output}); err != nil {
		return err
	}
	ep, err := endpointScorer(ctx, *endpoint, *region)
	if err != nil {
		return err
	}
	w, err := createOutput(e, *output) // before the endpoint calls: a bad path fails first
	if err != nil {
		return err
	}
	defer w.Abort() // a failure leaves a previous output as it was
	in := sagemaker.RowsFile{Path: *input, Header: *header}
	scores, err := ep.ScoreFile(ctx, in)
	if err != nil {
		return headerHint(err, in.Path, in.Header)
	}
	return writeScores(w, in, scores, nil, 64)
}

// confirm shows the plan on stderr and, unless yes, asks on stdin.
func confirm(e *env, yes bool, plan sagemaker.Plan) error {
	fmt.Fprint(e.stderr, plan.String())
	if yes {
		return nil
	}
	fmt.Fprint(e.stderr, "Proceed? [y/N] ")
	line, _ := bufio.NewReader(e.stdin).ReadString('\n')
	fmt.Fprintln(e.stderr)
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return errors.New("not confirmed: nothing was created (pass --yes to skip the question)")
}

// trainFlags are the training inputs of train and parity.
type trainFlags struct {
	train, trainS3, valid, validS3, hpFile, jobName *string
	hp                                              multiFlag
}

func addTrainFlags(fs *flag.FlagSet) *trainFlags {
	t := &trainFlags{
		train:   fs.String("train", "", "training data: local CSV of entity,ip rows (gzip too), checked and uploaded"),
		trainS3: fs.String("train-s3", "", "training data already on S3 (s3:// object or prefix), used as is"),
		valid:   fs.String("validation", "", "optional validation data: local CSV of entity,ip rows"),
		validS3: fs.String("validation-s3", "", "optional validation data already on S3"),
		hpFile:  fs.String("hyperparameters", "", "hyperparameters.json: a JSON object of SageMaker-style string values"),
		jobName: fs.String("job-name", "", "training job name (default ipinsights-train-<time>-<random>)"),
	}
	fs.Var(&t.hp, "hp", "hyperparameter key=value with SageMaker's names (repeatable; overrides --hyperparameters)")
	return t
}

func (t *trainFlags) hyperparameters() (map[string]string, error) {
	return hyperparameterFlags(*t.hpFile, t.hp)
}

// hyperparameterFlags merges a hyperparameters.json file (hpFile, may be
// empty) and --hp key=value flags, which override it.
func hyperparameterFlags(hpFile string, kvs []string) (map[string]string, error) {
	hp := map[string]string{}
	if hpFile != "" {
		m, err := ipinsights.ReadHyperparametersFile(hpFile)
		if err != nil {
			return nil, err
		}
		hp = m
	}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, usagef("--hp %q: want key=value", kv)
		}
		hp[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return hp, nil
}

func (t *trainFlags) spec() (sagemaker.TrainingSpec, error) {
	hp, err := t.hyperparameters()
	if err != nil {
		return sagemaker.TrainingSpec{}, err
	}
	switch {
	case *t.train == "" && *t.trainS3 == "":
		return sagemaker.TrainingSpec{}, usagef("--train or --train-s3 is required")
	case *t.train != "" && *t.trainS3 != "":
		return sagemaker.TrainingSpec{}, usagef("give --train or --train-s3, not both")
	case *t.valid != "" && *t.validS3 != "":
		return sagemaker.TrainingSpec{}, usagef("give --validation or --validation-s3, not both")
	}
	return sagemaker.TrainingSpec{
		Train: *t.train, TrainS3: *t.trainS3, Validation: *t.valid, ValidationS3: *t.validS3,
		Hyperparameters: hp, JobName: *t.jobName,
	}, nil
}

// asUsage turns a hyperparameter error into a usage error (exit 2), as
// `ipinsights train` reports it.
func asUsage(err error) error {
	var he *ipinsights.HyperparameterError
	if errors.As(err, &he) {
		return usagef("%v", he)
	}
	return err
}

func noArgs(fs *flag.FlagSet) error {
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

func runSMTrain(ctx context.Context, e *env, c *command, args []string) error {
	fs := newFlagSet(c, e)
	awsf := addAWSFlags(fs)
	tf := addTrainFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if err := awsf.check(); err != nil {
		return err
	}
	spec, err := tf.spec()
	if err != nil {
		return err
	}
	client, err := awsf.client(ctx, e)
	if err != nil {
		return err
	}
	job, err := client.PrepareTraining(ctx, spec)
	if err != nil {
		return asUsage(err)
	}
	if err := confirm(e, *awsf.yes, client.PlanTraining(job)); err != nil {
		return err
	}
	res, err := client.RunTraining(ctx, job)
	if err != nil {
		return err
	}
	printTraining(e.stdout, res)
	return nil
}

func printTraining(w io.Writer, res *sagemaker.TrainingResult) {
	fmt.Fprintf(w, "training job   %s\nmodel          %s\nbillable time  %d s\n", res.JobName, res.ModelArtifacts, res.BillableSeconds)
	for _, m := range res.Metrics {
		fmt.Fprintf(w, "metric         %s = %.6g\n", m.Name, m.Value)
	}
}

func runSMTransform(ctx context.Context, e *env, c *command, args []string) error {
	fs := newFlagSet(c, e)
	awsf := addAWSFlags(fs)
	input := fs.String("input", "", "rows to score: CSV of entity,ip[,more columns]; only entity,ip are sent")
	header := fs.Bool("header", false, "the input's first line is a header; its extra column names are kept")
	output := fs.String("output", "-", "where to write entity,ip,dot_product (and the extra input columns) as CSV; - for stdout")
	trainingJob := fs.String("training-job", "", "completed SageMaker training job whose model to use")
	modelData := fs.String("model-data", "", "S3 URI of a model.tar.gz from an IP Insights training job")
	jobName := fs.String("job-name", "", "transform job name (default ipinsights-transform-<time>-<random>)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if *input == "" {
		return usagef("--input is required")
	}
	if (*trainingJob == "") == (*modelData == "") {
		return usagef("give exactly one of --training-job and --model-data")
	}
	if err := awsf.check(); err != nil {
		return err
	}
	if err := checkFiles([]file{{"--input", *input}}, file{"--output", *output}); err != nil {
		return err
	}
	client, err := awsf.client(ctx, e)
	if err != nil {
		return err
	}
	in := sagemaker.RowsFile{Path: *input, Header: *header}
	job, err := client.PrepareTransform(ctx, sagemaker.TransformSpec{Input: in, TrainingJob: *trainingJob, ModelData: *modelData, JobName: *jobName})
	if err != nil {
		return headerHint(err, in.Path, in.Header)
	}
	if err := confirm(e, *awsf.yes, client.PlanTransform(job)); err != nil {
		return err
	}
	w, err := createOutput(e, *output) // before the billable job: a bad path fails first
	if err != nil {
		return err
	}
	defer w.Abort() // a failed job leaves a previous output as it was
	res, err := client.RunTransform(ctx, job)
	if err != nil {
		return err
	}
	return writeScores(w, in, res.Scores, nil, 64)
}

// writeScores writes the rows of in with their scores to w as a scored
// CSV (sagemaker.WriteScores), then closes w, which puts a file in place,
// or discards it on error. Callers create w before any billable work, so
// that an output that cannot be written fails first. bitSize is 32 for
// our scores, float32 values written as score writes them, and 64 for
// SageMaker's, numbers we read from its responses and write back unchanged.
func writeScores(w *output, in sagemaker.RowsFile, dots []float64, seen []bool, bitSize int) error {
	if err := sagemaker.WriteScores(w.Writer, in, dots, seen, bitSize); err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}

func runSMParity(ctx context.Context, e *env, c *command, args []string) error {
	fs := newFlagSet(c, e)
	awsf := addAWSFlags(fs)
	tf := addTrainFlags(fs)
	test := fs.String("test", "", "rows to score on both sides: CSV of entity,ip[,more columns]")
	labeled := fs.String("labeled", "", "labeled rows to score on both sides: entity,ip,label (1 = anomaly); adds AUCs and precision/recall")
	header := fs.Bool("header", false, "the first line of the --test or --labeled file is a header")
	trainingJob := fs.String("training-job", "", "reuse this completed SageMaker training job instead of training on SageMaker")
	endpoint := fs.String("endpoint", "", "score SageMaker's side on this existing endpoint instead of training and transforming (creates nothing)")
	localModel := fs.String("model", "", "reuse this local model file instead of training locally")
	oursOut := fs.String("ours-out", "", "also write our scores to this CSV (input of the parity command)")
	smOut := fs.String("sagemaker-out", "", "also write SageMaker's scores to this CSV")
	cmp := compareFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	rows := sagemaker.RowsFile{Path: *test, Header: *header}
	switch {
	case *test != "" && *labeled != "":
		return usagef("give --test or --labeled, not both")
	case *labeled != "":
		rows.Path = *labeled
	case *test == "":
		return usagef("--test or --labeled is required")
	}
	if *endpoint != "" && *trainingJob != "" {
		return usagef("give --training-job or --endpoint, not both")
	}
	if err := awsf.check(); err != nil {
		return err
	}
	if err := cmp.check(); err != nil {
		return err
	}
	ins := []file{{"--train", *tf.train}, {"--validation", *tf.valid}, {"--hyperparameters", *tf.hpFile},
		{"--test", *test}, {"--labeled", *labeled}, {"--model", *localModel}}
	if err := checkFiles(ins, file{"--ours-out", *oursOut}, file{"--sagemaker-out", *smOut}); err != nil {
		return err
	}
	hp, err := tf.hyperparameters()
	if err != nil {
		return err
	}
	if *localModel == "" && *tf.train == "" {
		return usagef("local training needs --train FILE (or give --model)")
	}
	spec := sagemaker.ParitySpec{
		Rows: rows, Labeled: *labeled != "", TrainingJob: *trainingJob, Compare: cmp.options(),
		Training: sagemaker.TrainingSpec{Train: *tf.train, Validation: *tf.valid, Hyperparameters: hp},
	}
	if *endpoint == "" && *trainingJob == "" { // SageMaker trains too
		if spec.Training, err = tf.spec(); err != nil {
			return err
		}
	}
	if *localModel != "" {
		if spec.Model, err = ipinsights.LoadFile(*localModel); err != nil {
			return err
		}
	}

	// SageMaker's side: an existing endpoint, or training and transform
	// jobs, prepared and confirmed before anything runs.
	var job *sagemaker.ParityJob
	if *endpoint != "" {
		ep, err := endpointScorer(ctx, *endpoint, *awsf.region)
		if err != nil {
			return err
		}
		spec.Progress = eventPrinter(e)
		job, err = ep.PrepareParity(ctx, spec)
		if err != nil {
			return headerHint(asUsage(err), rows.Path, rows.Header)
		}
	} else {
		client, err := awsf.client(ctx, e)
		if err != nil {
			return err
		}
		if job, err = client.PrepareParity(ctx, spec); err != nil {
			return headerHint(asUsage(err), rows.Path, rows.Header)
		}
		if err := confirm(e, *awsf.yes, job.Plan()); err != nil {
			return err
		}
	}

	// The score files are created before any billable work, so that a bad
	// path fails first, and put in place only when everything succeeded.
	var oursW, smW *output
	if *oursOut != "" {
		if oursW, err = createOutput(e, *oursOut); err != nil {
			return err
		}
		defer oursW.Abort()
	}
	if *smOut != "" {
		if smW, err = createOutput(e, *smOut); err != nil {
			return err
		}
		defer smW.Abort()
	}
	res, err := job.Run(ctx)
	if err != nil {
		return err
	}
	if res.Training != nil {
		printTraining(e.stderr, res.Training)
	}
	if oursW != nil {
		if err := writeScores(oursW, rows, res.Ours, res.Seen, 32); err != nil {
			return err
		}
	}
	if smW != nil {
		if err := writeScores(smW, rows, res.SageMaker, nil, 64); err != nil {
			return err
		}
	}
	return writeParity(e, res.Report, *cmp.json)
}
