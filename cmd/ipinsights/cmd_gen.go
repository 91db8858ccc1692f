package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ipinsights/ipinsights-go/internal/plural"
	"github.com/ipinsights/ipinsights-go/synth"
)

func init() {
	register(&command{
		name:    "gen",
		summary: "generate synthetic data (the SageMaker tutorial's web logins, or an AWS account's CloudTrail logs and GuardDuty findings)",
		usage:   "logins|aws [--users N] [--seed S] --out DIR",
		example: `ipinsights gen logins --users 10000 --seed 1 --out data/
# writes data/train.csv (entity,ip) and data/test_labeled.csv (entity,ip,label,kind)
ipinsights gen aws --users 40 --days 7 --out logs/
ipinsights tuples cloudtrail --out train.csv logs/AWSLogs/111122223333/CloudTrail/
ipinsights tuples guardduty --out infer.csv logs/AWSLogs/111122223333/GuardDuty/`,
		run: runGen,
	})
}

// Bounds of gen's sizes, so that a typing slip fails at once instead of
// allocating until the machine gives out. The generator holds every event
// in memory, about 29 KB a user (peak resident set of gen logins --users
// 100000: 2.9 GB, for 22 million training rows), so the bound of 400,000
// users (88 million training rows) needs about 12 GB; larger data sets come
// from several runs with other seeds (as benchmarks/scale makes them).
// Past about 14 million ASN ranges, ranges get smaller than a /24 (3.7e9
// addresses in /24s of 256).
const (
	maxGenUsers = 400_000
	maxGenASNs  = 10_000_000
)

func runGen(ctx context.Context, e *env, args []string) error {
	c := commands["gen"]
	if len(args) > 0 && args[0] == "aws" {
		return runGenAWS(e, c, args[1:])
	}
	fs := newFlagSet(c, e)
	users := fs.Int("users", 10000, "users to simulate, at most 400,000, about 29 KB of memory each (the tutorial uses 10,000)")
	seed := fs.Uint64("seed", 1, "random seed; the same seed gives the same files")
	asns := fs.Int("asns", 800000, "ranges in the synthetic ASN table, at most 10,000,000")
	out := fs.String("out", "", "directory to write train.csv, validation.csv, test_labeled.csv and validation_labeled.csv to (created if needed)")
	if len(args) == 0 || args[0] != "logins" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			fs.Usage()
			return errHelp
		}
		return usagef("want a data set name: logins or aws")
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *out == "" {
		return usagef("--out is required")
	}
	switch {
	case *users < 1 || *users > maxGenUsers:
		return usagef("--users %d: want 1 to %s (%s users take about 12 GB of memory)", *users, commas(maxGenUsers), commas(maxGenUsers))
	case *asns < 2 || *asns > maxGenASNs:
		return usagef("--asns %d: want 2 to %s", *asns, commas(maxGenASNs))
	}
	if err := checkOutputDir(file{"--out", *out}); err != nil {
		return err
	}
	start := time.Now()
	l, err := synth.GenerateLogins(synth.LoginConfig{Users: *users, Seed: *seed, ASNs: *asns})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	for _, f := range []struct {
		name  string
		write func(*output) error
	}{
		{"train.csv", func(o *output) error { return l.WriteTrainCSV(o) }},
		{"validation.csv", func(o *output) error { return synth.WriteCSV(o, l.Validation) }},
		{"test_labeled.csv", func(o *output) error { return l.WriteTestCSV(o) }},
		{"validation_labeled.csv", func(o *output) error { return synth.WriteLabeledCSV(o, l.ValidationLabeled()) }},
	} {
		o, err := createOutput(e, filepath.Join(*out, f.name))
		if err != nil {
			return err
		}
		if err := f.write(o); err != nil {
			o.Close()
			return err
		}
		if err := o.Close(); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stdout, "generated %s events for %s users in %s\n", commas(l.Events), commas(*users), time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(e.stdout, "  %s  %s rows (first %d days, shuffled)\n", filepath.Join(*out, "train.csv"), commas(len(l.Train)), l.Config.TrainDays)
	fmt.Fprintf(e.stdout, "  %s  %s rows (day %d)\n", filepath.Join(*out, "validation.csv"), commas(len(l.Validation)), l.Config.TrainDays+1)
	fmt.Fprintf(e.stdout, "  %s  %s rows: entity,ip,label,kind (label 1 = attack)\n", filepath.Join(*out, "test_labeled.csv"), commas(len(l.Test)))
	fmt.Fprintf(e.stdout, "  %s  %s rows: the validation day's and as many other attacks, for tuning (tune --objective attack_auc)\n", filepath.Join(*out, "validation_labeled.csv"), commas(2*len(l.Validation)))
	fmt.Fprintf(e.stdout, "travel share of normal test rows %.4f: best possible attack-test AUC about %.4f\n", l.TravelShare(), l.Ceiling())
	return nil
}

// Bounds of gen aws's sizes: a year of a thousand users' calls is about
// 30 million records.
const (
	maxAWSUsers = 1000
	maxAWSDays  = 366
)

// runGenAWS writes a synthetic account's CloudTrail logs and GuardDuty
// findings.
func runGenAWS(e *env, c *command, args []string) error {
	fs := newFlagSet(c, e)
	users := fs.Int("users", 40, "IAM users in the account, at most 1,000")
	roles := fs.Int("roles", 6, "IAM roles, each used by one session, at most 1,000")
	days := fs.Int("days", 7, "days of CloudTrail logs, at most 366; the findings are on the last")
	events := fs.Int("events", 90, "API calls per user per day (roles make twice as many), at most 10,000")
	seed := fs.Uint64("seed", 1, "random seed; the same seed gives the same files")
	out := fs.String("out", "", "directory to write AWSLogs/<account>/CloudTrail/... and .../GuardDuty/... under (created if needed)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *out == "" {
		return usagef("--out is required")
	}
	for _, b := range []struct {
		flag     string
		v, limit int
	}{{"--users", *users, maxAWSUsers}, {"--roles", *roles, maxAWSUsers}, {"--days", *days, maxAWSDays}, {"--events", *events, 10000}} {
		if b.v < 1 || b.v > b.limit {
			return usagef("%s %d: want 1 to %s", b.flag, b.v, commas(b.limit))
		}
	}
	if err := checkOutputDir(file{"--out", *out}); err != nil {
		return err
	}
	start := time.Now()
	acct, err := synth.NewAccount(synth.AccountConfig{Users: *users, Roles: *roles, Days: *days, EventsPerDay: *events, Seed: *seed})
	if err != nil {
		return err
	}
	n, err := acct.WriteCloudTrail(*out)
	if err != nil {
		return err
	}
	findings, err := acct.WriteFindings(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "generated %s of account %s (%s, %s, %s) in %s\n", plural.Count(n, "CloudTrail record", "CloudTrail records"), acct.Config.ID,
		plural.Count(*users, "user", "users"), plural.Count(*roles, "role", "roles"), plural.Count(*days, "day", "days"), time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(e.stdout, "  %s  log files, one per region and hour\n", filepath.Join(*out, "AWSLogs", acct.Config.ID, "CloudTrail"))
	fmt.Fprintf(e.stdout, "  %s  %s as EventBridge events\n", findings, plural.Count(len(acct.Findings()), "GuardDuty finding", "GuardDuty findings"))
	return nil
}

// commas formats n with thousands separators.
func commas(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
