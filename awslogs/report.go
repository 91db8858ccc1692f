package awslogs

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/ipinsights/ipinsights-go/internal/plural"
)

// Reason says why a record or finding gave no tuple (no pair, for
// CloudTrailPair and FindingPairs). The zero Reason means it gave one.
type Reason int

// The reasons. Those up to Duplicate are CloudTrail's; the filter reasons
// (OutsideWindow to Duplicate) count records the options left out on
// purpose; the rest are GuardDuty's.
const (
	ServiceSource     Reason = iota + 1 // sourceIPAddress is an AWS service's DNS name
	AWSInternal                         // sourceIPAddress is "AWS Internal"
	NoSourceAddress                     // the record has no sourceIPAddress
	BadAddress                          // the address does not parse (e.g. "redacted", a comma-separated list)
	NoUserIdentity                      // the record has no userIdentity (Insights events)
	NoPrincipal                         // the identity has nothing the principal key can use
	Malformed                           // valid JSON, but not a record or finding of the expected shape
	OutsideWindow                       // filtered: eventTime outside the time window
	BadEventTime                        // filtered: eventTime missing or unparsable while a window is set
	EventNameFiltered                   // filtered: eventName not among those asked for
	ReadOnlyFiltered                    // filtered: readOnly does not match (or is missing)
	Duplicate                           // filtered: an eventID seen before
	NoAccessKey                         // finding without resource.accessKeyDetails
	NoRemoteAddress                     // finding action without a remote IPv4 or IPv6 address
	OtherAction                         // finding action other than AWS_API_CALL, NETWORK_CONNECTION, PORT_PROBE
	NotAFinding                         // an EventBridge event whose detail-type is not "GuardDuty Finding"
	BadPrincipal                        // the principal has control characters (a line break), which CSV rows cannot carry
	numReasons
)

var reasonNames = [numReasons]string{
	ServiceSource:     "service DNS name as source",
	AWSInternal:       "AWS Internal as source",
	NoSourceAddress:   "no sourceIPAddress",
	BadAddress:        "unparsable address",
	NoUserIdentity:    "no userIdentity",
	NoPrincipal:       "no principal for the key",
	Malformed:         "malformed record",
	OutsideWindow:     "outside the time window",
	BadEventTime:      "no usable eventTime",
	EventNameFiltered: "event name not selected",
	ReadOnlyFiltered:  "readOnly not selected",
	Duplicate:         "duplicate eventID",
	NoAccessKey:       "no access key details",
	NoRemoteAddress:   "no remote address",
	OtherAction:       "action type without a remote address",
	NotAFinding:       "not a GuardDuty finding event",
	BadPrincipal:      "principal with control characters",
}

// String describes the reason in a few words.
func (r Reason) String() string {
	if r > 0 && r < numReasons {
		return reasonNames[r]
	}
	return fmt.Sprintf("Reason(%d)", int(r))
}

// Filtered reports whether r counts records left out by a filter option
// rather than records that cannot give a tuple.
func (r Reason) Filtered() bool { return r >= OutsideWindow && r <= Duplicate }

// Location names a record: the input and the record's 1-based index in
// it (for GuardDuty, the finding's).
type Location struct {
	File   string
	Record int
	// Detail says what is wrong with a malformed record.
	Detail string
}

func (l Location) String() string {
	if l.Detail != "" {
		return fmt.Sprintf("%s record %d: %s", l.File, l.Record, l.Detail)
	}
	return fmt.Sprintf("%s record %d", l.File, l.Record)
}

// maxLocations is how many locations Skips keeps per reason.
const maxLocations = 3

// Skips counts the records skipped for one reason and keeps the first
// few locations.
type Skips struct {
	Count int
	First []Location
}

func (s *Skips) add(l Location) {
	s.Count++
	if len(s.First) < maxLocations {
		s.First = append(s.First, l)
	}
}

// Report summarises one extraction: what was read, what came out, what
// was skipped and why, and which inputs failed.
type Report struct {
	Inputs  int // files or objects read (failed ones included)
	Records int // records (CloudTrail) or findings (GuardDuty) decoded
	Tuples  int // tuples written
	// Skipped counts records (and, for GuardDuty, addresses) that gave no
	// tuple, by reason.
	Skipped map[Reason]*Skips
	// Ignored lists files passed over while walking directories and S3
	// prefixes: CloudTrail digest files and files that are not JSON.
	Ignored []string
	// Errors holds one error per input that could not be read to its end,
	// a *FileError where the input was opened. The other inputs were
	// still processed.
	Errors []error
}

func newReport() *Report { return &Report{Skipped: map[Reason]*Skips{}} }

func (r *Report) skip(reason Reason, l Location) {
	s := r.Skipped[reason]
	if s == nil {
		s = &Skips{}
		r.Skipped[reason] = s
	}
	s.add(l)
}

// merge adds o's counts to r; o's locations come after r's.
func (r *Report) merge(o *Report) {
	r.Inputs += o.Inputs
	r.Records += o.Records
	r.Tuples += o.Tuples
	for reason, s := range o.Skipped {
		dst := r.Skipped[reason]
		if dst == nil {
			dst = &Skips{}
			r.Skipped[reason] = dst
		}
		dst.Count += s.Count
		for _, l := range s.First {
			if len(dst.First) < maxLocations {
				dst.First = append(dst.First, l)
			}
		}
	}
	r.Ignored = append(r.Ignored, o.Ignored...)
	r.Errors = append(r.Errors, o.Errors...)
}

// SkippedCount returns the number of records skipped for reason.
func (r *Report) SkippedCount(reason Reason) int {
	if s := r.Skipped[reason]; s != nil {
		return s.Count
	}
	return 0
}

// Failed reports whether any input failed.
func (r *Report) Failed() bool { return len(r.Errors) > 0 }

// Summary is a one-line summary of the report: counts, and skips by
// reason without locations.
func (r *Report) Summary() string {
	var b strings.Builder
	b.WriteString(r.counts())
	for _, reason := range r.reasons() {
		fmt.Fprintf(&b, "; %d %s", r.Skipped[reason].Count, reason)
	}
	if len(r.Ignored) > 0 {
		fmt.Fprintf(&b, "; %s ignored", plural.Count(len(r.Ignored), "file", "files"))
	}
	if len(r.Errors) > 0 {
		fmt.Fprintf(&b, "; %s failed", plural.Count(len(r.Errors), "input", "inputs"))
	}
	return b.String()
}

// counts is "2 inputs, 1 record, 0 tuples".
func (r *Report) counts() string {
	return plural.Count(r.Inputs, "input", "inputs") + ", " + plural.Count(r.Records, "record", "records") + ", " +
		plural.Count(r.Tuples, "tuple", "tuples")
}

func (r *Report) reasons() []Reason {
	reasons := make([]Reason, 0, len(r.Skipped))
	for reason := range r.Skipped {
		reasons = append(reasons, reason)
	}
	sort.Slice(reasons, func(i, j int) bool { return reasons[i] < reasons[j] })
	return reasons
}

// String summarises the report in a few lines: counts, skips by reason
// with their first locations, ignored files and errors.
func (r *Report) String() string {
	var b strings.Builder
	b.WriteString(r.counts() + "\n")
	for _, reason := range r.reasons() {
		s := r.Skipped[reason]
		kind := "skipped"
		if reason.Filtered() {
			kind = "filtered"
		}
		locs := make([]string, len(s.First))
		for i, l := range s.First {
			locs[i] = l.String()
		}
		more := ""
		if s.Count > len(s.First) {
			more = ", ..."
		}
		fmt.Fprintf(&b, "%s %d: %s (%s%s)\n", kind, s.Count, reason, strings.Join(locs, ", "), more)
	}
	if n := len(r.Ignored); n > 0 {
		show := r.Ignored
		if n > 3 {
			show = show[:3]
		}
		fmt.Fprintf(&b, "ignored %s not CloudTrail or GuardDuty JSON: %s", plural.Count(n, "file", "files"), strings.Join(show, ", "))
		if n > 3 {
			b.WriteString(", ...")
		}
		b.WriteString("\n")
	}
	for _, err := range r.Errors {
		fmt.Fprintf(&b, "error: %v\n", err)
	}
	return b.String()
}

// FileError is the error for an input that could not be read to its end:
// a file that is not JSON, is truncated, or is malformed at some record.
// Record is the 1-based index of the record being read when the error
// happened (0 when it happened before the first record) and Offset the
// byte offset in the decompressed stream.
type FileError struct {
	File   string
	Record int
	Offset int64
	Err    error
}

func (e *FileError) Error() string {
	switch {
	case e.Record == 0 && e.Offset == 0:
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	case e.Record == 0:
		return fmt.Sprintf("%s: byte offset %d: %v", e.File, e.Offset, e.Err)
	}
	return fmt.Sprintf("%s: record %d (byte offset %d): %v", e.File, e.Record, e.Offset, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }

// ErrNotCloudTrail and ErrNotGuardDuty are wrapped by the FileError of an
// input that is JSON but not of the expected kind.
var (
	ErrNotCloudTrail = errors.New("not a CloudTrail log")
	ErrNotGuardDuty  = errors.New("not GuardDuty findings")
)
