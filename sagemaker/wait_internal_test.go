package sagemaker

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/stretchr/testify/assert"
)

// A poll can see several new transitions at once (the job moved on between
// two polls): only the newest carries the current primary status.
func TestPrimaryStatusOfEachTransition(t *testing.T) {
	trans := []types.SecondaryStatusTransition{
		{Status: types.SecondaryStatusStarting},
		{Status: types.SecondaryStatusTraining},
		{Status: types.SecondaryStatusUploading},
		{Status: types.SecondaryStatusCompleted},
	}
	var got []string
	for i := range trans {
		got = append(got, primaryAt("Completed", trans, i)+"/"+string(trans[i].Status))
	}
	assert.Equal(t, []string{"InProgress/Starting", "InProgress/Training", "InProgress/Uploading", "Completed/Completed"}, got)

	stopped := []types.SecondaryStatusTransition{{Status: types.SecondaryStatusTraining}, {Status: types.SecondaryStatusStopping}, {Status: types.SecondaryStatusStopped}}
	assert.Equal(t, "Stopping", primaryAt("Stopped", stopped, 1))
	assert.Equal(t, "Stopped", primaryAt("Stopped", stopped, 2))
	assert.Equal(t, "InProgress", primaryAt("InProgress", stopped[:1], 0), "the newest transition is current")
}

// A create call that got SageMaker's answer created nothing; one that was
// cancelled or lost its connection may have.
func TestOutcomeUnknown(t *testing.T) {
	live := context.Background()
	refused := fmt.Errorf("create: %w", &smithy.GenericAPIError{Code: "ValidationException", Message: "bad"})
	assert.False(t, outcomeUnknown(live, refused))
	assert.True(t, outcomeUnknown(live, errors.New("dial tcp: connection reset")))
	cancelled, cancel := context.WithCancel(live)
	cancel()
	assert.True(t, outcomeUnknown(cancelled, refused))
}

// A failed create call stops the job it may have created, on a context that
// is live even when the caller's was cancelled, and not one that SageMaker
// refused; its error names the job and wraps the call's.
func TestCreateFailed(t *testing.T) {
	c := &Client{opts: Options{StopTimeout: time.Minute}}
	refused := &smithy.GenericAPIError{Code: "ValidationException", Message: "bad"}
	lost := errors.New("dial tcp: connection reset")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		ctx      context.Context
		err      error
		wantStop bool
	}{
		{context.Background(), refused, false},
		{context.Background(), lost, true},
		{cancelled, refused, true},
	} {
		stops := 0
		stop := func(ctx context.Context) error {
			stops++
			assert.NoError(t, ctx.Err(), "the stop call's context is live")
			_, ok := ctx.Deadline()
			assert.True(t, ok, "bounded by StopTimeout")
			return errors.New("no such job") // ignored
		}
		err := c.createFailed(tc.ctx, "training job", "j1", tc.err, stop)
		assert.ErrorIs(t, err, tc.err)
		assert.Equal(t, "sagemaker: create training job j1: "+tc.err.Error(), err.Error())
		assert.Equal(t, tc.wantStop, stops == 1, "%v", tc.err)
	}
}
