package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ipinsights/ipinsights-go/awslogs"
	"github.com/ipinsights/ipinsights-go/internal/plural"
)

var tuplesCmd = &command{
	name:    "tuples",
	summary: "extract principal,ip tuples from CloudTrail logs or GuardDuty findings",
	usage:   "cloudtrail|guardduty [flags] PATH...",
	example: `ipinsights tuples cloudtrail --out train.csv AWSLogs/
ipinsights tuples cloudtrail --since 2024-03-01 --read-only false s3://my-trail/AWSLogs/
ipinsights tuples guardduty --out infer.csv findings.jsonl.gz
aws guardduty get-findings --detector-id D --finding-ids F | ipinsights tuples guardduty -`,
}

func init() {
	tuplesCmd.run = runTuples // set here: runTuples refers to tuplesCmd
	register(tuplesCmd)
}

// tuplesSub are the two forms of the command, for their own --help.
var tuplesSub = map[string]*command{
	"cloudtrail": {
		name:    "tuples cloudtrail",
		summary: "write a principal,ip row (training format) for each usable CloudTrail record",
		usage:   "[flags] PATH...   (files, .json.gz, JSON lines, directories, s3://bucket/prefix, - for stdin)",
		example: `ipinsights tuples cloudtrail --out train.csv AWSLogs/123456789012/CloudTrail/
ipinsights tuples cloudtrail --since 2024-03-01 --until 2024-03-08 --dedup s3://my-trail/AWSLogs/`,
	},
	"guardduty": {
		name:    "tuples guardduty",
		summary: "write principal,ip,finding_id,finding_type,severity rows for GuardDuty findings",
		usage:   "[flags] PATH...   (JSON, GetFindings output, EventBridge events, JSON lines, .gz, directories, s3://, -)",
		example: `ipinsights tuples guardduty --out infer.csv findings.json
ipinsights tuples guardduty --header s3://my-findings/AWSLogs/123456789012/GuardDuty/`,
	},
}

type tuplesFlags struct {
	principal, out, since, until, readOnly, region, endpoint string
	eventNames                                               []string
	dedup, header                                            bool
	workers                                                  int
}

func runTuples(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("name the input kind: cloudtrail or guardduty")
	}
	kind := args[0]
	if kind == "-h" || kind == "--help" || kind == "-help" {
		newFlagSet(tuplesCmd, e).Usage()
		return errHelp
	}
	sub, ok := tuplesSub[kind]
	if !ok {
		return usagef("unknown input kind %q: want cloudtrail or guardduty", kind)
	}
	var f tuplesFlags
	fs := newFlagSet(sub, e)
	fs.StringVar(&f.principal, "principal", "identity", "principal key: "+strings.Join(awslogs.PrincipalKeyNames(), ", "))
	fs.StringVar(&f.out, "out", "-", "write rows to `FILE` (- for standard output)")
	fs.StringVar(&f.out, "output", "-", "same as --out")
	fs.IntVar(&f.workers, "workers", 0, "inputs decoded at once (0: one per CPU)")
	fs.StringVar(&f.region, "region", "", "AWS region of the S3 client for s3:// inputs (default: the SDK's configuration)")
	fs.StringVar(&f.endpoint, "s3-endpoint", "", "S3 endpoint `URL` (path-style), for S3-compatible stores")
	if kind == "cloudtrail" {
		fs.StringVar(&f.since, "since", "", "keep records at or after `TIME` (RFC 3339 or YYYY-MM-DD, UTC)")
		fs.StringVar(&f.until, "until", "", "keep records before `TIME`")
		fs.Func("event-names", "keep only these comma-separated `NAMES` (repeatable)", func(s string) error {
			for _, n := range strings.Split(s, ",") {
				if n = strings.TrimSpace(n); n != "" {
					f.eventNames = append(f.eventNames, n)
				}
			}
			return nil
		})
		fs.StringVar(&f.readOnly, "read-only", "any", "keep records whose readOnly is `true`, false, or any")
		fs.BoolVar(&f.dedup, "dedup", false, "drop records whose eventID was seen before")
	} else {
		fs.BoolVar(&f.header, "header", false, "write the header line "+awslogs.FindingHeader)
	}
	paths, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		return usagef("no input PATH given")
	}
	opts, err := f.options()
	if err != nil {
		return err
	}
	opts.Stdin = e.stdin
	if err := checkFiles(inputs(paths), file{"--out", f.out}); err != nil {
		return err
	}
	if hasS3(paths) {
		if opts.S3, err = f.s3Client(ctx); err != nil {
			return err
		}
	}

	w, err := createOutput(e, f.out)
	if err != nil {
		return err
	}
	defer w.Close()
	var csv *awslogs.CSVWriter
	var rep *awslogs.Report
	if kind == "cloudtrail" {
		csv = awslogs.NewCSVWriter(w)
		rep, err = awslogs.ExtractCloudTrail(ctx, paths, csv, opts)
	} else {
		csv = awslogs.NewFindingCSVWriter(w, f.header)
		rep, err = awslogs.ExtractGuardDuty(ctx, paths, csv, opts)
	}
	if err == nil {
		err = csv.Flush()
	}
	if err == nil {
		err = w.Close()
	}
	for _, line := range strings.Split(strings.TrimSpace(rep.String()), "\n") {
		fmt.Fprintf(e.stderr, "tuples %s: %s\n", kind, line)
	}
	switch {
	case err != nil:
		return err
	case rep.Failed():
		return fmt.Errorf("%d of %s failed (see above)", len(rep.Errors), plural.Count(rep.Inputs, "input", "inputs"))
	case rep.Inputs == 0:
		return fmt.Errorf("no %s input files found", kind)
	}
	// Inputs of the right kind that give nothing are not an error (a
	// quiet hour's {"Records":[]}, a time window after the last event),
	// but an empty output should not pass unnoticed.
	if rep.Tuples == 0 {
		records := "records"
		if kind == "guardduty" {
			records = "findings"
		}
		if rep.Records == 0 {
			fmt.Fprintf(e.stderr, "tuples %s: warning: wrote no tuples: the %s no %s\n", kind, plural.Noun(rep.Inputs, "input holds", "inputs hold"), records)
		} else {
			fmt.Fprintf(e.stderr, "tuples %s: warning: wrote no tuples: every one of the %s was skipped or filtered out (see above)\n", kind, plural.Count(rep.Records, records[:len(records)-1], records))
		}
	}
	return nil
}

// parseInterleaved parses flags that may come before, between or after
// the positional arguments, which it returns.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			// The flag package consumed a "--": all that follows is a path.
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func (f *tuplesFlags) options() (*awslogs.Options, error) {
	key, err := awslogs.ParsePrincipalKey(f.principal)
	if err != nil {
		return nil, usagef("--principal: %q is not one of %s", f.principal, strings.Join(awslogs.PrincipalKeyNames(), ", "))
	}
	if f.workers < 0 {
		return nil, usagef("--workers: %d is negative", f.workers)
	}
	o := &awslogs.Options{Key: key, EventNames: f.eventNames, Dedup: f.dedup, Workers: f.workers}
	if o.Since, err = parseTime(f.since); err != nil {
		return nil, usagef("--since: %v", err)
	}
	if o.Until, err = parseTime(f.until); err != nil {
		return nil, usagef("--until: %v", err)
	}
	if !o.Since.IsZero() && !o.Until.IsZero() && !o.Since.Before(o.Until) {
		return nil, usagef("--since %s is not before --until %s", f.since, f.until)
	}
	switch f.readOnly {
	case "", "any":
	case "true":
		o.ReadOnly = awslogs.ReadOnlyEvents
	case "false":
		o.ReadOnly = awslogs.WriteEvents
	default:
		return nil, usagef("--read-only: %q is not true, false or any", f.readOnly)
	}
	return o, nil
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time or a YYYY-MM-DD date", s)
}

func hasS3(paths []string) bool {
	for _, p := range paths {
		if strings.HasPrefix(p, "s3://") {
			return true
		}
	}
	return false
}

// s3Client makes an S3 client from the SDK's usual configuration
// (environment, shared files, instance role).
func (f *tuplesFlags) s3Client(ctx context.Context) (*s3.Client, error) {
	// Without a configured region, us-east-1: S3 redirects listing of
	// buckets elsewhere.
	cfg, err := loadAWSConfig(ctx, f.region, "us-east-1")
	if err != nil {
		return nil, err
	}
	return newS3Client(cfg, f.endpoint), nil
}
