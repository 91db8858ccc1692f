package server

import (
	"fmt"
	"strconv"
	"strings"
)

// The environment variables SageMaker sets in a batch transform container.
const (
	EnvBatch                   = "SAGEMAKER_BATCH"                     // "true" in batch transform
	EnvMaxPayloadInMB          = "SAGEMAKER_MAX_PAYLOAD_IN_MB"         // largest request body, in MB
	EnvBatchStrategy           = "SAGEMAKER_BATCH_STRATEGY"            // SINGLE_RECORD or MULTI_RECORD
	EnvMaxConcurrentTransforms = "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS" // most /invocations at once
)

// FromEnv returns o with SageMaker's batch transform environment variables
// applied, read through getenv (os.Getenv, usually): SAGEMAKER_BATCH
// (true or false) sets Batch, SAGEMAKER_MAX_PAYLOAD_IN_MB (a positive
// number of MB) sets MaxPayloadBytes, SAGEMAKER_BATCH_STRATEGY
// (SINGLE_RECORD or MULTI_RECORD; SageMaker's API spellings SingleRecord
// and MultiRecord too) sets BatchStrategy, and
// SAGEMAKER_MAX_CONCURRENT_TRANSFORMS (0 or more) sets MaxConcurrent; 0,
// which is how SageMaker's API says "not set", means the default bound
// (DefaultMaxConcurrent). Unset or empty variables leave o as it is; a
// malformed one is an error naming it.
func (o Options) FromEnv(getenv func(string) string) (Options, error) {
	if v := strings.TrimSpace(getenv(EnvBatch)); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return o, fmt.Errorf("server: %s=%q: want true or false", EnvBatch, v)
		}
		o.Batch = b
	}
	if v := strings.TrimSpace(getenv(EnvMaxPayloadInMB)); v != "" {
		mb, err := strconv.ParseInt(v, 10, 64)
		if err != nil || mb < 1 || mb > MaxLimitMB {
			return o, fmt.Errorf("server: %s=%q: want a whole number of MB from 1 to %d (0, unbounded chunked payloads, is not supported)", EnvMaxPayloadInMB, v, MaxLimitMB)
		}
		o.MaxPayloadBytes = mb * MiB
	}
	if v := strings.TrimSpace(getenv(EnvBatchStrategy)); v != "" {
		switch strings.ToUpper(strings.ReplaceAll(v, "_", "")) {
		case "SINGLERECORD":
			o.BatchStrategy = SingleRecord
		case "MULTIRECORD":
			o.BatchStrategy = MultiRecord
		default:
			return o, fmt.Errorf("server: %s=%q: want %s or %s", EnvBatchStrategy, v, SingleRecord, MultiRecord)
		}
	}
	if v := strings.TrimSpace(getenv(EnvMaxConcurrentTransforms)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return o, fmt.Errorf("server: %s=%q: want a whole number, 0 or more", EnvMaxConcurrentTransforms, v)
		}
		o.MaxConcurrent = n
	}
	return o, nil
}
