package awslogs

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// Tuple is one (principal, address) pair taken from a CloudTrail record or
// a GuardDuty finding.
type Tuple struct {
	Principal string
	Addr      netip.Addr
	// EventID is the CloudTrail record's eventID.
	EventID string
	// FindingID, FindingType and Severity describe the GuardDuty finding;
	// Severity is the number as the finding wrote it.
	FindingID, FindingType, Severity string
	// Source is where the record or finding was read.
	Source Location
}

// Pair returns the tuple's (entity, address) pair, the form that
// ipinsights.Model scores.
func (t *Tuple) Pair() ipinsights.Pair { return ipinsights.Pair{Entity: t.Principal, IP: t.Addr} }

// TupleWriter receives tuples. ExtractCloudTrail and ExtractGuardDuty
// call it from one goroutine, in input order.
type TupleWriter interface {
	WriteTuple(t *Tuple) error
}

// TupleWriterFunc adapts a function to TupleWriter.
type TupleWriterFunc func(t *Tuple) error

// WriteTuple calls f(t).
func (f TupleWriterFunc) WriteTuple(t *Tuple) error { return f(t) }

// ReadOnlyFilter selects CloudTrail records by their readOnly field.
type ReadOnlyFilter int

// The readOnly filters.
const (
	AnyEvent       ReadOnlyFilter = iota // every record
	ReadOnlyEvents                       // only records with "readOnly": true
	WriteEvents                          // only records with "readOnly": false
)

// Options configure an extraction. The zero value keys principals with
// KeyIdentity, keeps every record and reads inputs with GOMAXPROCS
// goroutines.
type Options struct {
	// Key is the principal key rule, the same for CloudTrail and GuardDuty.
	Key PrincipalKey

	// Since and Until bound eventTime to [Since, Until) when not zero
	// (CloudTrail only).
	Since, Until time.Time
	// EventNames keeps only records with one of these eventName values
	// when not empty (CloudTrail only).
	EventNames []string
	// ReadOnly selects records by readOnly (CloudTrail only).
	ReadOnly ReadOnlyFilter
	// Dedup drops records whose eventID was seen before, in input order
	// (CloudTrail only). It holds 16 bytes per distinct eventID.
	Dedup bool

	// Workers is the number of inputs decoded at once; zero means
	// GOMAXPROCS. Output order does not depend on it.
	Workers int
	// S3 reads s3://bucket/prefix inputs; without it they fail.
	S3 S3API
	// Stdin is read for the input "-".
	Stdin io.Reader
}

func (o *Options) workers() int {
	if o.Workers > 0 {
		return o.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// ExtractCloudTrail reads CloudTrail logs and writes one tuple per usable
// record to dst. Inputs are files (.json, .json.gz, JSON lines),
// directories (walked recursively: CloudTrail's S3 layout
// AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/ or any other), "-"
// for opts.Stdin, and s3://bucket/prefix. An input that fails (missing,
// malformed, truncated) is reported in Report.Errors and the others are
// still read; the returned error is for failures that stop everything: a
// write error from dst or a cancelled context.
func ExtractCloudTrail(ctx context.Context, inputs []string, dst TupleWriter, opts *Options) (*Report, error) {
	if opts == nil {
		opts = &Options{}
	}
	x := &extractor{opts: opts, cloudTrail: true}
	if len(opts.EventNames) > 0 {
		x.names = make(map[string]struct{}, len(opts.EventNames))
		for _, n := range opts.EventNames {
			x.names[n] = struct{}{}
		}
	}
	return x.run(ctx, inputs, dst)
}

// ExtractGuardDuty reads GuardDuty findings and writes one tuple per
// remote address of each finding that has access key details. Inputs are
// as for ExtractCloudTrail; the filter options do not apply.
func ExtractGuardDuty(ctx context.Context, inputs []string, dst TupleWriter, opts *Options) (*Report, error) {
	if opts == nil {
		opts = &Options{}
	}
	x := &extractor{opts: opts}
	return x.run(ctx, inputs, dst)
}

type extractor struct {
	opts       *Options
	cloudTrail bool
	names      map[string]struct{}
}

// chunkLen is the number of tuples a worker hands to the writer at once.
// An input's first chunk starts at firstChunkCap tuples and grows as
// needed: CloudTrail delivers many small files (one per account, region
// and five minutes), and a full chunk is over half a megabyte.
const (
	chunkLen      = 4096
	firstChunkCap = 64
)

// job is one input: its worker sends chunks of tuples on out, in order,
// then fills rep and closes out.
type job struct {
	src source
	out chan []Tuple
	rep *Report
}

func (x *extractor) run(ctx context.Context, inputs []string, dst TupleWriter) (*Report, error) {
	srcs, rep := expand(ctx, inputs, x.opts)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	jobs := make([]*job, len(srcs))
	for i, s := range srcs {
		jobs[i] = &job{src: s, out: make(chan []Tuple, 4), rep: newReport()}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := min(x.opts.workers(), len(jobs)); w > 0; w-- {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) {
					return
				}
				x.runJob(ctx, jobs[i])
			}
		}()
	}

	// The writer takes the inputs in order: the earliest unfinished one
	// always has a worker, because workers take inputs in order too.
	var seen *eventIDSet
	if x.cloudTrail && x.opts.Dedup {
		seen = newEventIDSet()
	}
	var werr error
	for _, j := range jobs {
		for chunk := range j.out {
			if werr != nil {
				continue // drain so that the worker can finish
			}
			for k := range chunk {
				t := &chunk[k]
				if seen != nil && t.EventID != "" && !seen.add(t.EventID) {
					rep.skip(Duplicate, t.Source)
					continue
				}
				if err := dst.WriteTuple(t); err != nil {
					werr = fmt.Errorf("awslogs: write: %w", err)
					cancel()
					break
				}
				rep.Tuples++
			}
		}
		rep.merge(j.rep)
	}
	wg.Wait()
	if werr != nil {
		return rep, werr
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	return rep, nil
}

// runJob decodes one input and sends its tuples.
func (x *extractor) runJob(ctx context.Context, j *job) {
	defer close(j.out)
	rep := j.rep
	name := j.src.name
	if ctx.Err() != nil {
		return
	}
	rc, err := j.src.open(ctx)
	rep.Inputs = 1
	if err != nil {
		rep.Errors = append(rep.Errors, &FileError{File: name, Err: err})
		return
	}
	defer rc.Close()

	// buf is made when it gets its first tuple: an input's last chunk is
	// not followed by an empty one, and an input without tuples has none.
	// Once a chunk has filled, the next ones are made full size.
	var buf []Tuple
	bufCap := firstChunkCap
	send := func() bool {
		select {
		case j.out <- buf:
			buf, bufCap = nil, chunkLen
			return true
		case <-ctx.Done():
			return false
		}
	}
	var derr error
	if x.cloudTrail {
		d := NewCloudTrailDecoder(rc, name)
		for d.Next() {
			rep.Records++
			loc := Location{File: name, Record: d.Index()}
			if m := d.Malformed(); m != nil {
				loc.Detail = m.Error()
				rep.skip(Malformed, loc)
				continue
			}
			if buf == nil {
				buf = make([]Tuple, 0, bufCap)
			}
			buf = append(buf, Tuple{Source: loc})
			if reason := x.cloudTrailTuple(d.view(), &buf[len(buf)-1]); reason != 0 {
				buf = buf[:len(buf)-1]
				rep.skip(reason, loc)
				continue
			}
			if len(buf) == chunkLen && !send() {
				return
			}
		}
		derr = d.Err()
	} else {
		d := NewGuardDutyDecoder(rc, name)
		for d.Next() {
			rep.Records++
			loc := Location{File: name, Record: d.Index()}
			switch {
			case d.Malformed() != nil:
				loc.Detail = d.Malformed().Error()
				rep.skip(Malformed, loc)
				continue
			case d.Skip() != 0:
				rep.skip(d.Skip(), loc)
				continue
			}
			buf = x.findingTuples(d.Finding(), loc, buf, rep)
			if len(buf) >= chunkLen && !send() {
				return
			}
		}
		derr = d.Err()
	}
	if derr != nil {
		rep.Errors = append(rep.Errors, derr)
	}
	if len(buf) > 0 {
		send()
	}
}

// cloudTrailTuple fills t from rec, or returns why rec gives no tuple: the
// filters of the options, then the rule of CloudTrailPair. rec may be a
// CloudTrailDecoder's view: the strings t keeps are copies.
func (x *extractor) cloudTrailTuple(rec *Record, t *Tuple) Reason {
	o := x.opts
	if !o.Since.IsZero() || !o.Until.IsZero() {
		tm, err := time.Parse(time.RFC3339, rec.EventTime)
		switch {
		case err != nil:
			return BadEventTime
		case !o.Since.IsZero() && tm.Before(o.Since), !o.Until.IsZero() && !tm.Before(o.Until):
			return OutsideWindow
		}
	}
	if x.names != nil {
		if _, ok := x.names[rec.EventName]; !ok {
			return EventNameFiltered
		}
	}
	switch o.ReadOnly {
	case ReadOnlyEvents:
		if !rec.ReadOnly.Set || !rec.ReadOnly.Value {
			return ReadOnlyFiltered
		}
	case WriteEvents:
		if !rec.ReadOnly.Set || rec.ReadOnly.Value {
			return ReadOnlyFiltered
		}
	}
	pair, reason := o.Key.CloudTrailPair(rec)
	if reason != 0 {
		return reason
	}
	t.Principal, t.Addr, t.EventID = strings.Clone(pair.Entity), pair.IP, strings.Clone(rec.EventID)
	return 0
}

// findingTuples appends f's tuples to dst and counts what it skips.
func (x *extractor) findingTuples(f *Finding, loc Location, dst []Tuple, rep *Report) []Tuple {
	for pair, reason := range x.opts.Key.FindingPairs(f) {
		if reason != 0 {
			rep.skip(reason, loc)
			continue
		}
		dst = append(dst, Tuple{Principal: pair.Entity, Addr: pair.IP, FindingID: f.ID, FindingType: f.Type, Severity: f.Severity.String(), Source: loc})
	}
	return dst
}

// eventIDSet remembers eventIDs: as 16 bytes when they are UUIDs, as
// they always are in CloudTrail, and as strings otherwise.
type eventIDSet struct {
	uuids map[[16]byte]struct{}
	other map[string]struct{}
}

func newEventIDSet() *eventIDSet {
	return &eventIDSet{uuids: map[[16]byte]struct{}{}, other: map[string]struct{}{}}
}

// add records id and reports whether it is new.
func (s *eventIDSet) add(id string) bool {
	if u, ok := parseUUID(id); ok {
		if _, dup := s.uuids[u]; dup {
			return false
		}
		s.uuids[u] = struct{}{}
		return true
	}
	if _, dup := s.other[id]; dup {
		return false
	}
	s.other[id] = struct{}{}
	return true
}

// parseUUID parses the canonical 8-4-4-4-12 hexadecimal form, lower or
// upper case.
func parseUUID(s string) ([16]byte, bool) {
	var u [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	j := 0
	for i := 0; i < 36; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i++
			continue
		}
		hi, ok1 := unhex(s[i])
		lo, ok2 := unhex(s[i+1])
		if !ok1 || !ok2 {
			return u, false
		}
		u[j] = hi<<4 | lo
		j++
		i += 2
	}
	return u, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
