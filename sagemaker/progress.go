package sagemaker

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// EventKind classifies an Event.
type EventKind int

// The kinds of Event.
const (
	EventUpload   EventKind = iota + 1 // an input file was uploaded to S3
	EventCreate                        // a job or model was created on SageMaker
	EventStatus                        // a job entered a new (secondary) status
	EventMetrics                       // a training job, or the local training of a parity run, published new metric values
	EventStop                          // a job is being stopped (cancellation or lost contact)
	EventDelete                        // a model was deleted
	EventDownload                      // results were downloaded from S3
	EventNote                          // anything else worth telling the user
)

var kindNames = map[EventKind]string{
	EventUpload: "upload", EventCreate: "create", EventStatus: "status", EventMetrics: "metrics",
	EventStop: "stop", EventDelete: "delete", EventDownload: "download", EventNote: "note",
}

func (k EventKind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Metric is one value of a training metric, as SageMaker lists it in
// DescribeTrainingJob's FinalMetricDataList.
type Metric struct {
	Name  string
	Value float64
}

// Event is one step of delegate work, for progress display.
type Event struct {
	Time     time.Time
	Kind     EventKind
	Resource string // job or model name, or S3 URI
	// Status is the job status for EventStatus: the primary status, a
	// slash, and the secondary status when there is one
	// ("InProgress/Training").
	Status  string
	Message string
	Metrics []Metric // for EventMetrics, sorted by name
}

// String renders e as one line for a terminal or a log.
func (e Event) String() string {
	var b strings.Builder
	b.WriteString(e.Resource)
	if e.Status != "" {
		b.WriteString(" [" + e.Status + "]")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	for i, m := range e.Metrics {
		sep := ", "
		if i == 0 {
			sep = ": "
			if e.Message != "" {
				sep = " "
			}
		}
		fmt.Fprintf(&b, "%s%s=%.6g", sep, m.Name, m.Value)
	}
	return b.String()
}

// Reporter receives progress events. Report is called from the goroutine
// that runs the delegate call and should return quickly.
type Reporter interface {
	Report(Event)
}

// ReporterFunc adapts a function to Reporter.
type ReporterFunc func(Event)

// Report calls f(e).
func (f ReporterFunc) Report(e Event) { f(e) }

func sortMetrics(ms []Metric) []Metric {
	sort.Slice(ms, func(i, j int) bool { return ms[i].Name < ms[j].Name })
	return ms
}
