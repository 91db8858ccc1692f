package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/csvio"
	"github.com/ipinsights/ipinsights-go/internal/test/awstest"
	"github.com/ipinsights/ipinsights-go/internal/test/smemu"
	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/ipinsights/ipinsights-go/server"
	"github.com/ipinsights/ipinsights-go/synth"
)

// fakeAWS starts the emulator and gofakes3 and points the AWS SDK's
// configuration at them through the standard environment variables, as a
// user would point the CLI at LocalStack.
func fakeAWS(t *testing.T, opts smemu.Options) *awstest.Env {
	opts.Extras = map[string]string{"ipv4_hash_rows": "4096", "ipv6_hash_rows": "1024"} // as tinyFlags
	env := awstest.Start(t, opts)
	none := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_SAGEMAKER":    env.SageMakerURL,
		"AWS_ENDPOINT_URL_S3":           env.S3URL,
		"AWS_ACCESS_KEY_ID":             "AKIDTEST",
		"AWS_SECRET_ACCESS_KEY":         "SECRETTEST",
		"AWS_REGION":                    awstest.Region,
		"AWS_CONFIG_FILE":               none,
		"AWS_SHARED_CREDENTIALS_FILE":   none,
		"AWS_EC2_METADATA_DISABLED":     "true",
		"IPINSIGHTS_SAGEMAKER_ROLE_ARN": awstest.Role,
		"IPINSIGHTS_SAGEMAKER_BUCKET":   awstest.Bucket,
	} {
		t.Setenv(k, v)
	}
	return env
}

// loginFiles writes a small generated data set: train.csv (entity,ip) and
// test.csv (entity,ip,label,kind as `gen` writes it).
func loginFiles(t *testing.T) (dir, train, test string) {
	t.Helper()
	l, err := synth.GenerateLogins(synth.LoginConfig{Users: 30, Seed: 5, ASNs: 3000, MaxEvents: 40, TestNormal: 40, TestAttacks: 40})
	require.NoError(t, err)
	dir = t.TempDir()
	train, test = filepath.Join(dir, "train.csv"), filepath.Join(dir, "test.csv")
	for name, w := range map[string]func(*os.File) error{
		train: func(f *os.File) error { return l.WriteTrainCSV(f) },
		test:  func(f *os.File) error { return l.WriteTestCSV(f) },
	} {
		f, err := os.Create(name)
		require.NoError(t, err)
		require.NoError(t, w(f))
		require.NoError(t, f.Close())
	}
	return dir, train, test
}

var tinyFlags = []string{"--hp", "num_entity_vectors=100", "--hp", "vector_dim=8", "--hp", "epochs=3",
	"--hp", "mini_batch_size=256", "--hp", "learning_rate=0.02", "--hp", "random_negative_sampling_rate=3",
	"--hp", "ipv4_hash_rows=4096", "--hp", "ipv6_hash_rows=1024", "--poll", "2ms"}

func TestSageMakerTrainTransformAndOfflineParity(t *testing.T) {
	env := fakeAWS(t, smemu.Options{})
	dir, train, test := loginFiles(t)

	// Without --yes the plan is shown and the answer read from stdin.
	args := append([]string{"sagemaker", "train", "--train", train, "--job-name", "cli-train", "--hp", "seed=4"}, tinyFlags...)
	code, stdout, stderr := runCLI(t, "n\n", args...)
	assert.Equal(t, exitData, code)
	assert.Contains(t, stderr, "training job   cli-train  on 1 x ml.m4.xlarge")
	assert.Contains(t, stderr, "Proceed? [y/N]")
	assert.Contains(t, stderr, "not confirmed: nothing was created")
	assert.Empty(t, stdout)
	assert.Empty(t, env.Emulator.Calls(), "nothing was created")

	code, stdout, stderr = runCLI(t, "y\n", args...)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "model          s3://ipinsights-test/ipinsights/output/cli-train/output/model.tar.gz")
	assert.Contains(t, stdout, "metric         train:binary_classification_accuracy = ")
	assert.Contains(t, stderr, "cli-train [InProgress/Training]: Training image download completed. Training in progress.")
	assert.Contains(t, stderr, "not sent to SageMaker (this implementation's own hyperparameters): [ipv4_hash_rows ipv6_hash_rows seed]")

	// An output that cannot be written fails before the billable job.
	code, _, stderr = runCLI(t, "", "sagemaker", "transform", "--yes", "--poll", "2ms", "--input", test, "--training-job", "cli-train", "--output", filepath.Join(dir, "missing", "sm.csv"))
	assert.Equal(t, exitData, code)
	assert.Contains(t, stderr, "missing does not exist")
	assert.Empty(t, env.Emulator.TransformJobs(), "no transform job was created")

	out := filepath.Join(dir, "sm.csv")
	code, _, stderr = runCLI(t, "", "sagemaker", "transform", "--yes", "--poll", "2ms", "--input", test, "--training-job", "cli-train", "--output", out)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "model deleted")
	assert.Empty(t, env.Emulator.Models())
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	assert.Equal(t, "entity,ip,dot_product,col3,col4", lines[0])
	assert.Len(t, lines, 81, "header and the 80 test rows")
	assert.Regexp(t, `^user_\d+,\d+\.\d+\.\d+\.\d+,-?\d.*,[01],(home|work|travel|attack)$`, lines[1])

	// The offline report reads SageMaker's transform output and the labels.
	// "Ours" is that output with every score negated: a perfect inverse
	// ranking, which the report must see as such, row for row.
	inverse := []string{lines[0]}
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		x, err := strconv.ParseFloat(f[2], 64)
		require.NoError(t, err)
		f[2] = strconv.FormatFloat(-x, 'g', -1, 64)
		inverse = append(inverse, strings.Join(f, ","))
	}
	ours := filepath.Join(dir, "ours.csv")
	require.NoError(t, os.WriteFile(ours, []byte(strings.Join(inverse, "\n")+"\n"), 0o644))
	code, stdout, stderr = runCLI(t, "", "parity", "--ours", ours, "--sagemaker", out, "--labeled", test, "--top-k", "10")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "parity of 80 rows")
	assert.Contains(t, stdout, "Spearman rank correlation  -1.0000")
	assert.Contains(t, stdout, "top-10 most anomalous      0 shared (0.0%)")
	assert.Contains(t, stdout, "with labels (40 anomalous of 80)")
}

func TestSageMakerParityEndToEnd(t *testing.T) {
	env := fakeAWS(t, smemu.Options{})
	dir, train, test := loginFiles(t)
	oursOut, smOut := filepath.Join(dir, "ours.csv"), filepath.Join(dir, "sm.csv")
	args := append([]string{"sagemaker", "parity", "--yes", "--train", train, "--labeled", test, "--json",
		"--ours-out", oursOut, "--sagemaker-out", smOut}, tinyFlags...)
	code, stdout, stderr := runCLI(t, "", args...)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "local training: epoch 3")
	assert.Contains(t, stderr, "transform job")
	// Same data, same hyperparameters, same (default) seed: the emulated
	// SageMaker ran our trainer, so the ranks agree exactly.
	assert.Contains(t, stdout, `"spearman": 1,`)
	assert.Contains(t, stdout, `"kendall_tau_b": 1,`)
	assert.Contains(t, stdout, `"auc": `)
	assert.Empty(t, env.Emulator.Models())
	assert.Len(t, env.Emulator.TrainingJobs(), 1)

	// The two score files feed the offline report.
	code, stdout, stderr = runCLI(t, "", "parity", "--ours", oursOut, "--sagemaker", smOut, "--labeled", test)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "Kendall tau-b              1.0000")

	// So does the output of `ipinsights train` and `ipinsights score` with
	// the same data and hyperparameters.
	model, scored := filepath.Join(dir, "model.bin"), filepath.Join(dir, "scored.csv")
	trainArgs := []string{"train", "--quiet", "--train", train, "--model", model}
	for i := 0; i+1 < len(tinyFlags); i += 2 {
		if tinyFlags[i] == "--hp" {
			trainArgs = append(trainArgs, tinyFlags[i:i+2]...)
		}
	}
	code, _, stderr = runCLI(t, "", trainArgs...)
	require.Equal(t, exitOK, code, stderr)
	code, _, stderr = runCLI(t, "", "score", "--model", model, "--input", test, "--output", scored)
	require.Equal(t, exitOK, code, stderr)
	code, stdout, stderr = runCLI(t, "", "parity", "--ours", scored, "--sagemaker", smOut, "--labeled", test)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "Spearman rank correlation  1.0000")
	// The same model: --ours-out writes each score as `score` does, in
	// the shortest digits of the float32.
	oursRows, scoredRows := readCSV(t, oursOut), readCSV(t, scored)
	require.Len(t, oursRows, len(scoredRows))
	for i := range oursRows {
		assert.Equal(t, scoredRows[i][:4], oursRows[i][:4], "row %d", i)
	}
	assert.Equal(t, "entity,ip,dot_product,entity_seen", strings.Join(oursRows[0][:4], ","))

	// A different local seed: still a parity report, no longer identical.
	args = append([]string{"sagemaker", "parity", "--yes", "--train", train, "--test", test, "--training-job", env.Emulator.TrainingJobs()[0],
		"--hp", "seed=99"}, tinyFlags...)
	code, stdout, stderr = runCLI(t, "", args...)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "Spearman rank correlation  0.")
	assert.Len(t, env.Emulator.TrainingJobs(), 1, "the SageMaker training job was reused")
}

func TestSageMakerCancelStopsJob(t *testing.T) {
	started := make(chan string, 1)
	fake := fakeAWS(t, smemu.Options{BeforeTraining: func(ctx context.Context, job string) error {
		started <- job
		<-ctx.Done()
		return ctx.Err()
	}})
	_, train, _ := loginFiles(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-started
		// The emulator may start the job before the create call's answer
		// reaches the client: cancel once the client waits for the job.
		for !slices.Contains(fake.Emulator.Calls(), "DescribeTrainingJob") {
			time.Sleep(time.Millisecond)
		}
		cancel() // as Ctrl-C does through signal.NotifyContext
	}()
	var out, errb strings.Builder
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb}
	code := runMain(ctx, e, append([]string{"sagemaker", "train", "--yes", "--train", train, "--job-name", "cli-cancel"}, tinyFlags...))
	assert.Equal(t, exitData, code)
	assert.Contains(t, errb.String(), "stopping after cancellation")
	assert.Contains(t, errb.String(), "training job cli-cancel stopped: context canceled")
	assert.Equal(t, "Stopped", fake.Emulator.Status("cli-cancel"))
}

func TestSageMakerUsageAndDataErrors(t *testing.T) {
	env := fakeAWS(t, smemu.Options{})
	dir, train, _ := loginFiles(t)
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"sagemaker"}, exitUsage, "want a subcommand"},
		{[]string{"sagemaker", "deploy"}, exitUsage, `unknown subcommand "deploy"`},
		{[]string{"sagemaker", "train", "--yes"}, exitUsage, "--train or --train-s3 is required"},
		{[]string{"sagemaker", "train", "--yes", "--train", train, "--train-s3", "s3://b/t/"}, exitUsage, "give --train or --train-s3, not both"},
		{[]string{"sagemaker", "train", "--yes", "--train", train, "--validation", train, "--validation-s3", "s3://b/v/"}, exitUsage, "give --validation or --validation-s3, not both"},
		{[]string{"sagemaker", "train", "--yes", "--train", train, "--role-arn", "nope"}, exitUsage, "not an IAM role ARN"},
		{[]string{"sagemaker", "train", "--yes", "--train", train, "--region", "xx-nowhere-1"}, exitUsage, "no IP Insights image"},
		{[]string{"sagemaker", "train", "--yes", "--train", train, "--hp", "vector_dim"}, exitUsage, `--hp "vector_dim": want key=value`},
		{[]string{"sagemaker", "train", "--yes", "--train", train, "--hp", "vector_dim=1"}, exitUsage, "hyperparameter vector_dim=\"1\""},
		{[]string{"sagemaker", "train", "--yes", "--train", filepath.Join(dir, "missing.csv")}, exitData, "missing.csv"},
		{[]string{"sagemaker", "transform", "--yes", "--input", train}, exitUsage, "exactly one of --training-job and --model-data"},
		{[]string{"sagemaker", "parity", "--yes", "--train", train}, exitUsage, "--test or --labeled is required"},
		// Values the client would silently replace by its defaults.
		{[]string{"sagemaker", "train", "--yes", "--train", train, "--instance-count", "0"}, exitUsage, "--instance-count 0: want 1 or more"},
		{[]string{"sagemaker", "train", "--yes", "--train", train, "--instance-count", "-2"}, exitUsage, "--instance-count -2: want 1 or more"},
		{[]string{"sagemaker", "train", "--yes", "--train", train, "--poll", "0s"}, exitUsage, "--poll 0s: want a positive duration"},
		{[]string{"sagemaker", "train", "--yes", "--train", train, "--max-runtime", "-1h"}, exitUsage, "--max-runtime -1h0m0s: want a positive duration"},
		{[]string{"sagemaker", "transform", "--yes", "--input", train, "--training-job", "j", "--instance-count", "0"}, exitUsage, "--instance-count 0: want 1 or more"},
		{[]string{"sagemaker", "parity", "--yes", "--train", train, "--test", train, "--instance-count", "0"}, exitUsage, "--instance-count 0: want 1 or more"},
		{[]string{"sagemaker", "parity", "--yes", "--train", train, "--test", train, "--threshold", "NaN"}, exitUsage, "--threshold must be a finite number"},
		{[]string{"sagemaker", "parity", "--yes", "--train", train, "--test", train, "--top-k", "0"}, exitUsage, "--top-k 0: want 1 or more"},
		{[]string{"sagemaker", "train", "--help"}, exitOK, "usage: ipinsights sagemaker train"},
		{[]string{"sagemaker", "--help"}, exitOK, "parity     train and score on SageMaker and locally"},
		{[]string{"parity", "--ours", train}, exitUsage, "--ours and --sagemaker are required"},
		{[]string{"parity", "--ours", train, "--sagemaker", train}, exitData, "train.csv:1: no header naming a dot_product column"},
	} {
		code, stdout, stderr := runCLI(t, "", c.args...)
		assert.Equal(t, c.code, code, "%v: %s", c.args, stderr)
		if c.code == exitOK { // asked-for help
			assert.Contains(t, stdout, c.msg, "%v", c.args)
			assert.Empty(t, stderr, "%v", c.args)
		} else {
			assert.Contains(t, stderr, c.msg, "%v", c.args)
		}
	}
	bad := filepath.Join(dir, "bad.csv")
	require.NoError(t, os.WriteFile(bad, []byte("alice,10.0.0.1\nbob,10.0.0\n"), 0o644))
	code, _, stderr := runCLI(t, "", "sagemaker", "train", "--yes", "--train", bad)
	assert.Equal(t, exitData, code)
	assert.Contains(t, stderr, "bad.csv:2: unparsable IP address")
	assert.Empty(t, env.Emulator.Calls(), "no error above reached SageMaker")
}

func TestSageMakerScoreAndParityOnExistingEndpoint(t *testing.T) {
	fake := fakeAWS(t, smemu.Options{})
	dir, train, test := loginFiles(t)
	// The user's endpoint serves a model trained with another seed.
	data, _, err := ipinsights.LoadDataset(context.Background(), train, csvio.Options{})
	require.NoError(t, err)
	hp := map[string]string{"seed": "123"}
	for i := 0; i+1 < len(tinyFlags); i += 2 {
		if k, v, ok := strings.Cut(tinyFlags[i+1], "="); ok && tinyFlags[i] == "--hp" {
			hp[k] = v
		}
	}
	cfg, err := ipinsights.ParseHyperparameters(hp)
	require.NoError(t, err)
	m, err := ipinsights.Train(context.Background(), cfg, data, nil)
	require.NoError(t, err)
	h, err := server.New(m, server.Options{}) // what `ipinsights serve` runs
	require.NoError(t, err)
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	t.Setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", srv.URL)

	out := filepath.Join(dir, "ep.csv")
	code, _, stderr := runCLI(t, "", "sagemaker", "score", "--endpoint", "users-endpoint", "--input", test, "--output", out)
	require.Equal(t, exitOK, code, stderr)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, 81, strings.Count(string(b), "\n"))
	assert.Equal(t, int64(1), requests.Load(), "80 rows fit one request")

	code, stdout, stderr := runCLI(t, "", append([]string{"sagemaker", "parity", "--train", train, "--labeled", test, "--endpoint", "users-endpoint"}, tinyFlags...)...)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "parity of 80 rows")
	assert.NotContains(t, stderr, "Proceed?", "nothing is created, nothing to confirm")
	assert.Empty(t, fake.Emulator.Calls())

	// A labeled file with a header line: never guessed, a header is
	// declared with --header, as for eval and score. It is then skipped on
	// both sides, and the report is the same.
	withHeader := filepath.Join(dir, "test_header.csv")
	rows, err := os.ReadFile(test)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(withHeader, append([]byte("entity,ip,label,kind\n"), rows...), 0o644))
	oursOut := filepath.Join(dir, "ours_header.csv")
	parityArgs := append([]string{"sagemaker", "parity", "--train", train, "--labeled", withHeader, "--endpoint", "users-endpoint", "--ours-out", oursOut}, tinyFlags...)
	code, _, stderr = runCLI(t, "", parityArgs...)
	assert.Equal(t, exitData, code)
	assert.Contains(t, stderr, withHeader+`:1: unparsable IP address: "ip" (a header row? the data has no header); if the first line names the columns, give --header`)
	code, stdoutH, stderr := runCLI(t, "", append(parityArgs, "--header")...)
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, stdout, stdoutH)
	ours := readCSV(t, oursOut)
	require.Len(t, ours, 81, "a header and 80 rows")
	assert.Equal(t, []string{"entity", "ip", "dot_product", "entity_seen"}, ours[0][:4])
	assert.NotEqual(t, "entity", ours[1][0], "the input's header is not scored")
	// A declared header that is a row is refused, naming the flag.
	code, _, stderr = runCLI(t, "", "sagemaker", "score", "--endpoint", "users-endpoint", "--input", test, "--header")
	assert.Equal(t, exitData, code)
	assert.Contains(t, stderr, test+":1: header line is a data row")
	assert.Contains(t, stderr, "drop --header if the file has none")

	h.SetModel(nil) // an endpoint with no model answers 503
	code, _, stderr = runCLI(t, "", "sagemaker", "score", "--endpoint", "users-endpoint", "--input", test)
	assert.Equal(t, exitData, code)
	assert.Contains(t, stderr, "endpoint users-endpoint, rows 1-80")
}

// TestLoadAWSConfigRegion pins where the region comes from: the flag, else
// the configuration, else the caller's default (tuples: us-east-1), else a
// usage error (the sagemaker commands).
func TestLoadAWSConfigRegion(t *testing.T) {
	none := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{
		"AWS_REGION": "", "AWS_DEFAULT_REGION": "", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": none, "AWS_SHARED_CREDENTIALS_FILE": none,
	} {
		t.Setenv(k, v)
	}
	ctx := context.Background()
	_, err := loadAWSConfig(ctx, "", "")
	var ue *usageError
	require.ErrorAs(t, err, &ue)
	assert.Contains(t, err.Error(), "no AWS region")

	cfg, err := loadAWSConfig(ctx, "", "us-east-1")
	require.NoError(t, err)
	assert.Equal(t, "us-east-1", cfg.Region)

	cfg, err = loadAWSConfig(ctx, "eu-west-1", "us-east-1")
	require.NoError(t, err)
	assert.Equal(t, "eu-west-1", cfg.Region)

	t.Setenv("AWS_REGION", "ap-south-1")
	cfg, err = loadAWSConfig(ctx, "", "us-east-1")
	require.NoError(t, err)
	assert.Equal(t, "ap-south-1", cfg.Region, "the configuration's region comes before the default")
}

// A job that fails leaves the outputs of a previous run as they were: they
// are written to temporary files, put in place only when everything
// succeeded.
func TestSageMakerFailedJobKeepsPreviousOutputs(t *testing.T) {
	env := fakeAWS(t, smemu.Options{})
	dir, train, test := loginFiles(t)
	_, err := env.S3.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(awstest.Bucket), Key: aws.String("models/model.tar.gz"), Body: strings.NewReader("not a tarball"),
	})
	require.NoError(t, err)
	out, oursOut, smOut := filepath.Join(dir, "sm.csv"), filepath.Join(dir, "ours.csv"), filepath.Join(dir, "sm2.csv")
	for _, p := range []string{out, oursOut, smOut} {
		require.NoError(t, os.WriteFile(p, []byte("previous\n"), 0o644))
	}
	entries := func() []string {
		es, err := os.ReadDir(dir)
		require.NoError(t, err)
		var names []string
		for _, e := range es {
			names = append(names, e.Name())
		}
		return names
	}
	before := entries()

	code, _, stderr := runCLI(t, "", "sagemaker", "transform", "--yes", "--poll", "2ms", "--input", test,
		"--model-data", "s3://ipinsights-test/models/model.tar.gz", "--output", out)
	assert.Equal(t, exitData, code)
	assert.Contains(t, stderr, "Unable to load the model")

	args := append([]string{"sagemaker", "parity", "--yes", "--train", train, "--labeled", test, "--training-job", "never-ran",
		"--ours-out", oursOut, "--sagemaker-out", smOut}, tinyFlags...)
	code, _, stderr = runCLI(t, "", args...)
	assert.Equal(t, exitData, code)
	assert.Contains(t, stderr, "never-ran")

	for _, p := range []string{out, oursOut, smOut} {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		assert.Equal(t, "previous\n", string(b), p)
	}
	assert.Equal(t, before, entries(), "no temporary file is left behind")
}
