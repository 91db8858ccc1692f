package sagemaker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/smithy-go"
)

// jobState is what the wait loop needs of a job description. SageMaker's
// training and transform jobs share their primary statuses: InProgress,
// Completed, Failed, Stopping, Stopped.
type jobState struct {
	status string
	reason string // FailureReason
}

func (s jobState) ended() bool {
	return s.status == "Completed" || s.status == "Failed" || s.status == "Stopped"
}

// outcomeUnknown reports whether a create call that failed may still have
// created its resource, which must then be stopped or deleted: the call
// was cancelled, or it failed without an answer from SageMaker (a network
// error after the SDK's retries). An API error means SageMaker refused it.
func outcomeUnknown(ctx context.Context, err error) bool {
	var apiErr smithy.APIError
	return ctx.Err() != nil || !errors.As(err, &apiErr)
}

// createFailed returns the error of a create call of the kind job name
// that failed with err. When the call may still have created the job
// (outcomeUnknown), it first stops the job with stop, in case it exists,
// on a context that outlives a cancelled ctx.
func (c *Client) createFailed(ctx context.Context, kind, name string, err error, stop func(context.Context) error) error {
	if outcomeUnknown(ctx, err) {
		cctx, cancel := c.cleanupContext(ctx)
		_ = stop(cctx)
		cancel()
	}
	return fmt.Errorf("sagemaker: create %s %s: %w", kind, name, err)
}

// maxDescribeErrors is how many describe calls in a row may fail (after the
// SDK's own retries) before the delegate stops the job rather than leave it
// running unwatched.
const maxDescribeErrors = 5

// wait polls a job with describe until it ends. It returns nil when the job
// completed and a *JobError when it failed or was stopped. When ctx is
// cancelled, or when describe keeps failing, it stops the job with stop and
// waits (at most StopTimeout) until the job has ended.
func (c *Client) wait(ctx context.Context, kind, name string, describe func(context.Context) (jobState, error), stop func(context.Context) error) error {
	stopAndWait := func(why string) error {
		cctx, cancel := c.cleanupContext(ctx)
		defer cancel()
		c.report(Event{Kind: EventStop, Resource: name, Message: why})
		if err := stop(cctx); err != nil {
			// The job may have ended meanwhile; describe tells.
			c.report(Event{Kind: EventNote, Resource: name, Message: "stop: " + err.Error()})
		}
		for {
			if s, err := describe(cctx); err == nil && s.ended() {
				return nil
			}
			if !sleep(cctx, c.opts.PollInterval) {
				return fmt.Errorf("sagemaker: %s %s did not reach Stopped within %s; check it in the SageMaker console", kind, name, c.opts.StopTimeout)
			}
		}
	}
	failures := 0
	for {
		s, err := describe(ctx)
		switch {
		case ctx.Err() != nil:
			if serr := stopAndWait("stopping after cancellation"); serr != nil {
				return errors.Join(ctx.Err(), serr)
			}
			return fmt.Errorf("sagemaker: %s %s stopped: %w", kind, name, ctx.Err())
		case err != nil:
			failures++
			if failures >= maxDescribeErrors {
				serr := stopAndWait("stopping: lost contact with the job")
				return errors.Join(fmt.Errorf("sagemaker: describe %s %s: %w", kind, name, err), serr)
			}
		case s.status == "Completed":
			return nil
		case s.status == "Failed" || s.status == "Stopped":
			return &JobError{Kind: kind, Name: name, Status: s.status, Reason: s.reason}
		default:
			failures = 0
		}
		sleep(ctx, c.opts.PollInterval)
	}
}

// sleep waits for d or until ctx is done; it reports whether ctx is still
// live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
