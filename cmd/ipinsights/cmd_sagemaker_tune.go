package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/ipinsights/ipinsights-go/sagemaker"
	"github.com/ipinsights/ipinsights-go/tune"
)

func init() {
	smSubcommands["tune"] = smSubcommand{&command{
		name:    "sagemaker tune",
		summary: "run the search of `ipinsights tune` as a SageMaker hyperparameter tuning job (same ranges, objective validation:discriminator_auc)",
		usage:   "--role-arn ARN --bucket NAME (--train FILE | --train-s3 URI) (--validation FILE | --validation-s3 URI) --max-jobs N [--max-parallel-jobs N] [--hp key=value ...] [--range key=min:max[:log] ...] [--strategy bayesian|random|hyperband] [--out DIR] [flags]",
		example: `ipinsights sagemaker tune --role-arn arn:aws:iam::123456789012:role/SageMaker --bucket my-bucket \
    --train train.csv --validation valid.csv --max-jobs 20 --max-parallel-jobs 2 --range epochs=1:10 --out tuned
# tuned/hyperparameters.json: the best training job's hyperparameters, for train --hyperparameters`,
	}, runSMTune}
}

func runSMTune(ctx context.Context, e *env, c *command, args []string) error {
	fs := newFlagSet(c, e)
	awsf := addAWSFlags(fs)
	tf := addTrainFlags(fs)
	sf := addSearchFlags(fs, "training jobs", "SageMaker", "default auto, off with hyperband")
	maxParallel := fs.Int("max-parallel-jobs", 1, "training jobs at a time (MaxParallelTrainingJobs)")
	seed := fs.Uint64("seed", 1, "AMT's RandomSeed")
	objective := fs.String("objective", "discriminator_auc", "only discriminator_auc (validation:discriminator_auc): SageMaker tunes on the metrics the algorithm emits")
	out := fs.String("out", "", "directory for the best training job's hyperparameters.json (created if missing)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if err := awsf.check(); err != nil {
		return err
	}
	st, err := sf.check()
	if err != nil {
		return err
	}
	switch {
	case *maxParallel < 1 || *maxParallel > *sf.maxJobs:
		return usagef("--max-parallel-jobs %d: want 1 to --max-jobs (%d)", *maxParallel, *sf.maxJobs)
	case *objective != "discriminator_auc" && *objective != string(tune.DiscriminatorAUC):
		return usagef("--objective %q: sagemaker tune maximises validation:discriminator_auc only (SageMaker tunes on the metrics IP Insights emits); use ipinsights tune --objective attack_auc locally", *objective)
	case *tf.valid == "" && *tf.validS3 == "":
		return usagef("--validation or --validation-s3 is required: the objective validation:discriminator_auc is measured on it")
	}
	spec := sagemaker.TuningSpec{
		Train: *tf.train, TrainS3: *tf.trainS3, Validation: *tf.valid, ValidationS3: *tf.validS3,
		Strategy: st, MaxJobs: *sf.maxJobs, MaxParallelJobs: *maxParallel, MinEpochs: *sf.minEpochs, Seed: *seed, JobName: *tf.jobName,
	}
	if spec.EarlyStopping, err = sf.earlyStopping(st, st != tune.Hyperband); err != nil {
		return err
	}
	if *tf.train == "" && *tf.trainS3 == "" {
		return usagef("--train or --train-s3 is required")
	}
	if spec.Static, err = tf.hyperparameters(); err != nil {
		return err
	}
	if spec.Ranges, err = sf.parseRanges(); err != nil {
		return err
	}
	var hpOut string
	if *out != "" {
		if err := checkOutputDir(file{"--out", *out}); err != nil {
			return err
		}
		hpOut = filepath.Join(*out, "hyperparameters.json")
	}
	client, err := awsf.client(ctx, e)
	if err != nil {
		return err
	}
	job, err := client.PrepareTuning(ctx, spec)
	if err != nil {
		return asUsage(tuneUsage(err))
	}
	if err := confirm(e, *awsf.yes, client.PlanTuning(job)); err != nil {
		return err
	}
	res, err := client.RunTuning(ctx, job)
	if res != nil {
		printSMTrials(e.stdout, res, job.Space.Names())
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "best training job  %s\nmodel              %s\n", res.Trials[res.Best].TrainingJob, res.ModelArtifacts)
	if hpOut != "" {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return err
		}
		if err := writeHyperparameters(hpOut, res.BestHyperparameters); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "wrote %s\n", hpOut)
	}
	return nil
}

// tuneUsage turns the errors of a search space (bad ranges, fixed and
// tuned at once) into usage errors.
func tuneUsage(err error) error {
	var re *tune.RangeError
	if errors.As(err, &re) {
		return usagef("%s", strings.TrimPrefix(err.Error(), "sagemaker: "))
	}
	return err
}

// printSMTrials writes the table of a SageMaker tuning job's training
// jobs; the best is marked with *.
func printSMTrials(w io.Writer, res *sagemaker.TuningResult, names []string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{"trial", "training job", "status", "objective", "seconds"}
	for _, n := range names {
		head = append(head, shortNames[n])
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for i, t := range res.Trials {
		mark := ""
		if i == res.Best {
			mark = "*"
		}
		row := []string{strconv.Itoa(i+1) + mark, t.TrainingJob, t.Status, fmtObjective(t.Objective, 'f', 4), fmt.Sprintf("%.0f", t.Duration.Seconds())}
		for _, n := range names {
			row = append(row, t.Hyperparameters[n])
		}
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	tw.Flush()
	fmt.Fprintf(w, "objective: %s; * best training job (SageMaker's BestTrainingJob)\n", tune.DiscriminatorAUC)
	printColumnLegend(w, names)
}
