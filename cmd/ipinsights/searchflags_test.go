package main

import (
	"flag"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/tune"
)

// TestSearchFlags checks the search flags that tune and sagemaker tune
// share: what each gives, and the usage errors, which name the command's
// trials and the service that requires early stopping off with hyperband.
func TestSearchFlags(t *testing.T) {
	parse := func(t *testing.T, args ...string) *searchFlags {
		t.Helper()
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		f := addSearchFlags(fs, "training jobs", "SageMaker", "default auto")
		require.NoError(t, fs.Parse(args))
		return f
	}
	usage := func(t *testing.T, err error, msg string) {
		t.Helper()
		var ue *usageError
		require.ErrorAs(t, err, &ue)
		assert.Equal(t, msg, ue.msg)
	}

	f := parse(t, "--max-jobs", "3", "--strategy", "random", "--range", "epochs=1:3", "--range", "learning_rate=0.001:0.01:log")
	st, err := f.check()
	require.NoError(t, err)
	assert.Equal(t, tune.Random, st)
	rs, err := f.parseRanges()
	require.NoError(t, err)
	require.Len(t, rs, 2)
	assert.Equal(t, tune.Range{Name: "epochs", Min: 1, Max: 3}, rs[0])
	assert.Equal(t, "learning_rate", rs[1].Name)
	assert.Equal(t, tune.Log, rs[1].Scale)

	_, err = parse(t).check()
	usage(t, err, "--max-jobs is required: the number of training jobs, 1 or more")
	_, err = parse(t, "--max-jobs", "1", "--min-epochs", "0").check()
	usage(t, err, "--min-epochs 0: want 1 or more")
	_, err = parse(t, "--max-jobs", "1", "--strategy", "grid").check()
	usage(t, err, `--strategy "grid": want bayesian, random or hyperband`)
	_, err = parse(t, "--range", "epochs").parseRanges()
	var ue *usageError
	require.ErrorAs(t, err, &ue)
	assert.Contains(t, ue.msg, "--range epochs")

	for _, tc := range []struct {
		early string
		st    tune.Strategy
		def   bool
		want  bool
		err   string
	}{
		{"", tune.Bayesian, true, true, ""},
		{"", tune.Bayesian, false, false, ""},
		{"auto", tune.Bayesian, false, true, ""},
		{"off", tune.Bayesian, true, false, ""},
		{"auto", tune.Hyperband, false, false, "--early-stopping auto: hyperband stops training jobs itself (SageMaker requires early stopping off with it)"},
		{"off", tune.Hyperband, false, false, ""},
		{"median", tune.Bayesian, true, false, `--early-stopping "median": want auto or off`},
	} {
		got, err := parse(t, "--early-stopping", tc.early).earlyStopping(tc.st, tc.def)
		if tc.err != "" {
			usage(t, err, tc.err)
			continue
		}
		require.NoError(t, err, "%+v", tc)
		assert.Equal(t, tc.want, got, "%+v", tc)
	}
}
