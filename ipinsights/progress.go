package ipinsights

import "time"

// Metrics is one progress report of training.
type Metrics struct {
	Epoch    int  // 1-based epoch
	Batch    int  // batches done in this epoch
	Batches  int  // batches per epoch
	EpochEnd bool // the report closes the epoch

	// Samples counts the expanded samples (positives and negatives) trained
	// on since training started.
	Samples int64
	// CrossEntropy and Accuracy are the mean binary cross-entropy and the
	// share of samples classified right (score > 0 for positives, <= 0 for
	// negatives) over the batches since the previous report, or over the
	// whole epoch for an EpochEnd report.
	CrossEntropy float64
	Accuracy     float64
	// SamplesPerSecond is the training throughput in expanded samples per
	// second over the same span.
	SamplesPerSecond float64
	// ValidationAUC is the discriminator AUC on the validation data (each
	// real pair against one random address for the same entity, as SageMaker's
	// validation:discriminator_auc). It is set on EpochEnd reports when
	// validation data was given, and NaN otherwise.
	ValidationAUC float64
	// Elapsed is the time since training started.
	Elapsed time.Duration
	// FirstBatch is the time from the start of training to the start of
	// its first batch: making and initialising the tables and ordering the
	// pairs for the first epoch (and, for TrainStream, reading the first
	// window).
	FirstBatch time.Duration
}

// Progress receives training metrics every batch_metrics_publish_interval
// batches and at the end of every epoch. Record is called from the training
// goroutine; it should return quickly.
type Progress interface {
	Record(Metrics)
}

// ProgressFunc adapts a function to Progress.
type ProgressFunc func(Metrics)

// Record calls f(m).
func (f ProgressFunc) Record(m Metrics) { f(m) }
