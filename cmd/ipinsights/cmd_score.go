package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/ipinsights/ipinsights-go/alert"
	"github.com/ipinsights/ipinsights-go/asn"
	"github.com/ipinsights/ipinsights-go/csvio"
	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/internal/plural"
	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/ipinsights/ipinsights-go/sagemaker"
)

func init() {
	register(&command{
		name:    "score",
		summary: "score entity,ip CSV rows with a model",
		usage: "--model FILE [--input FILE|-] [--header] [--lenient] [--output FILE|-] [--format csv|jsonl|asff]\n" +
			"  [--alert-fpr RATE [--alert-basis B] [--alerts-only]] [--percentile] [--explain] [--asn-db FILE]\n" +
			"  [--account-id ID --region REGION (asff)]",
		example: `ipinsights score --model model.bin --input logins.csv --output scores.csv
# output: entity,ip,dot_product,entity_seen[,extra input columns]; higher dot_product = more normal
# every input row has as many columns as the first row (or the --header row)
ipinsights score --model model.bin --input logins.csv --alert-fpr 0.01 --alerts-only
# only the rows that alert at a 1% false-positive rate on the model's calibration pairs
ipinsights score --model model.bin --input logins.csv --explain --asn-db GeoLite2-ASN.mmdb --format jsonl
# one JSON object a row: percentile, entity_pairs, network_seen, usual_networks with their AS, ...
ipinsights score --model model.bin --input infer.csv --format asff --alert-fpr 0.01 --account-id 111122223333 --output findings.jsonl
while read -r b; do aws securityhub batch-import-findings --cli-input-json "$b"; done < findings.jsonl`,
		run: runScore,
	})
}

// scoreChunk is how many rows are parsed, scored and written at a time: the
// memory bound of streaming.
const scoreChunk = 8192

// Output formats of score.
const (
	formatCSV   = "csv"
	formatJSONL = "jsonl"
	formatASFF  = "asff"
)

func runScore(ctx context.Context, e *env, args []string) error {
	c := commands["score"]
	fs := newFlagSet(c, e)
	modelPath := fs.String("model", "", "the model file")
	in := fs.String("input", "-", "entity,ip[,more columns] rows (.gz ok; - for stdin)")
	out := fs.String("output", "-", "where to write the scores (- for stdout)")
	header := fs.Bool("header", false, "the input's first row is a header; its extra column names are kept")
	lenient := fs.Bool("lenient", false, "skip malformed rows (counted on stderr) instead of failing")
	format := fs.String("format", formatCSV, "csv (a scored CSV), jsonl (one JSON object a row) or asff (AWS Security Hub findings\nfor the rows that alert, one BatchImportFindings request of at most 100 findings a line;\nneeds --alert-fpr and --account-id, explains, and writes only the alerting rows)")
	alertFPR := fs.Float64("alert-fpr", 0, "add an alert column (true/false) that flags this share of normal pairs, between 0 and 1\n(0.01 = 1% of the model's calibration pairs; needs a calibrated model)")
	basisName := fs.String("alert-basis", ipinsights.AlertDefault.String(), "with --alert-fpr: network (pairs outside the entity's usual networks first, then by dot product;\nneeds a network history and a calibration computed with it, as train gives them),\ndot_product (one global threshold), percentile (each entity with enough calibration pairs\nheld to the rate on its own), or default: network when the model has what it needs, else\ndot_product (with a note)")
	alertsOnly := fs.Bool("alerts-only", false, "with --alert-fpr: write only the rows that alert")
	percentile := fs.Bool("percentile", false, "add a percentile column: the share of the model's calibration pairs scoring at or below the pair\n(low = unusual; needs a calibrated model)")
	explain := fs.Bool("explain", false, "add the percentile and the explanation: entity_pairs, network_seen, usual_networks, nearest_usual_network\n(needs a calibrated model with a network history, which train writes by default)")
	asnDB := fs.String("asn-db", "", "an ASN database (MaxMind/DB-IP .mmdb, ip2asn TSV or start,end,asn[,org] CSV): adds asn and as_org\nof the address, and with --explain the AS of each usual network")
	accountID := fs.String("account-id", "", "with --format asff: the 12-digit AWS account of the findings, which sends them (default $AWS_ACCOUNT_ID)")
	region := fs.String("region", "", "with --format asff: the AWS Region of Security Hub (default $AWS_REGION, then $AWS_DEFAULT_REGION)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *modelPath == "" {
		return usagef("--model is required")
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	basis, err := ipinsights.ParseAlertBasis(*basisName)
	switch {
	case set["alert-fpr"] && !(*alertFPR > 0 && *alertFPR < 1):
		return usagef("--alert-fpr %v: want a rate between 0 and 1, exclusive (0.01 flags 1%% of normal pairs)", *alertFPR)
	case !set["alert-fpr"] && (*alertsOnly || set["alert-basis"]):
		return usagef("--alerts-only and --alert-basis go with --alert-fpr")
	case err != nil:
		return usagef("--alert-basis %q: want default, network, dot_product or percentile", *basisName)
	case *format != formatCSV && *format != formatJSONL && *format != formatASFF:
		return usagef("--format %q: want csv, jsonl or asff", *format)
	case *format != formatASFF && (set["account-id"] || set["region"]):
		return usagef("--account-id and --region go with --format asff")
	}
	var asff *alert.ASFFOptions
	if *format == formatASFF {
		if asff, err = asffOptions(set["alert-fpr"], *accountID, *region); err != nil {
			return err
		}
		// Findings are alerts, explained.
		*alertsOnly, *explain = true, true
	}
	ins := []file{{"--model", *modelPath}, {"--input", *in}}
	if *asnDB != "" {
		ins = append(ins, file{"--asn-db", *asnDB})
	}
	if err := checkFiles(ins, file{"--output", *out}); err != nil {
		return err
	}

	s := scorer{alertsOnly: *alertsOnly, format: *format, asff: asff}
	if *asnDB != "" {
		db, err := asn.Open(*asnDB) // before the model: a wrong file fails at once
		if err != nil {
			return fmt.Errorf("--asn-db: %w", err)
		}
		defer db.Close()
		s.db = db
		s.fields.AS = true
	}
	m, err := ipinsights.LoadFile(*modelPath)
	if err != nil {
		return err
	}
	s.m = m
	if *percentile || *explain {
		if s.cal = m.Calibration(); s.cal == nil {
			return notCalibrated(ipinsights.ErrNotCalibrated, *modelPath, "")
		}
		s.fields.Percentile = true
	}
	if *explain {
		if !m.HasNetworkHistory() {
			return fmt.Errorf("%s has no network history (trained with --no-network-history, or saved before histories existed): retrain it without --no-network-history to explain its scores", *modelPath)
		}
		s.fields.Explain = true
	}
	if set["alert-fpr"] {
		rule, err := m.AlertRule(*alertFPR, basis)
		if err != nil {
			return noNetworkCalibration(notCalibrated(err, *modelPath, ""), m, *modelPath)
		}
		if basis == ipinsights.AlertDefault && rule.Basis() != ipinsights.AlertByNetwork {
			fmt.Fprintln(e.stderr, defaultBasisNote(m, *modelPath))
		}
		s.rule = &rule
		s.fields.Alert = true
		if asff != nil {
			asff.Rule = s.rule
		}
	}
	// Every row has as many columns as the header or the first row, so
	// that the output's header fits every output row.
	r, err := openCSV(e, *in, csvio.Options{MaxFields: -1, SameFields: true, Lenient: *lenient, Header: *header})
	if err != nil {
		return err
	}
	defer r.Close()
	w, err := createOutput(e, *out)
	if err != nil {
		return err
	}
	defer w.Abort() // a failure leaves a previous output as it was
	s.w = w
	for r.Next() {
		if !s.started {
			s.start(r.Header(), len(r.Fields()))
		}
		s.add(r)
		if len(s.tuples) == scoreChunk {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := s.flush(); err != nil {
				return fmt.Errorf("writing %s: %w", w.name, err)
			}
		}
	}
	if err := r.Err(); err != nil {
		if s.started && s.flush() == nil { // to standard output, the rows before the error
			s.finish()
		}
		return headerHint(err, inputName(*in), *header)
	}
	if !s.started { // no rows: the header alone
		s.start(r.Header(), len(r.Header()))
	}
	if err := s.flush(); err != nil {
		return fmt.Errorf("writing %s: %w", w.name, err)
	}
	if err := s.finish(); err != nil {
		return fmt.Errorf("writing %s: %w", w.name, err)
	}
	if err := w.Close(); err != nil {
		return err
	}
	if sk := r.Skipped(); sk.Total() > 0 {
		fmt.Fprintln(e.stderr, sk.String())
	}
	if s.rule != nil {
		writeAlertSummary(e.stderr, s.alerts, s.rows, *s.rule)
	}
	if s.fw != nil {
		msg := fmt.Sprintf("%s for Security Hub", plural.Count(s.fw.Findings(), "finding", "findings"))
		if d := s.fw.Duplicates(); d > 0 {
			msg += fmt.Sprintf(" (%s of a row seen before left out)", plural.Count(d, "alert", "alerts"))
		}
		if !(file{"--output", *out}).none() {
			msg += fmt.Sprintf(" in %s; send them with: while read -r b; do aws securityhub batch-import-findings --cli-input-json \"$b\"; done < %s", *out, *out)
		}
		fmt.Fprintln(e.stderr, msg)
	}
	return nil
}

// asffOptions returns the options of --format asff, from the flags and the
// environment, or the usage error that says what is missing.
func asffOptions(alertFPR bool, account, region string) (*alert.ASFFOptions, error) {
	if !alertFPR {
		return nil, usagef("--format asff writes a finding for each row that alerts: give --alert-fpr RATE (0.01 flags 1%% of normal pairs)")
	}
	if account == "" {
		account = os.Getenv("AWS_ACCOUNT_ID")
	}
	for _, v := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
		if region == "" {
			region = os.Getenv(v)
		}
	}
	o := &alert.ASFFOptions{AccountID: account, Region: region, Time: time.Now()}
	err := o.Check()
	switch {
	case err == nil:
		return o, nil
	case account == "":
		return nil, usagef("--format asff needs --account-id (the 12-digit AWS account of the findings; default $AWS_ACCOUNT_ID)")
	case errors.Is(err, alert.ErrAccountID):
		return nil, usagef("--account-id %q: want the 12-digit AWS account ID", account)
	case region == "":
		return nil, usagef("--format asff needs --region (the AWS Region of Security Hub; default $AWS_REGION or $AWS_DEFAULT_REGION)")
	default:
		return nil, usagef("--region %q: want an AWS Region such as us-east-1", region)
	}
}

// scorer buffers a chunk of rows, scores (and explains) them in one batch
// and writes them in the output format. The rows of a chunk are formatted
// on several goroutines (each with its formatter) and written in order.
type scorer struct {
	m      *ipinsights.Model
	format string
	w      *output
	// rule, when set, flags alerts; alertsOnly writes only the rows that
	// alert. rows and alerts count the rows scored and alerting.
	rule         *ipinsights.AlertRule
	alertsOnly   bool
	rows, alerts int
	// cal gives percentiles when fields.Percentile; db the AS when
	// fields.AS; fields says what each row has.
	cal    *ipinsights.Calibration
	db     alert.ASLookup
	fields alert.Fields
	asff   *alert.ASFFOptions

	started bool
	sw      *sagemaker.ScoreWriter // csv
	fw      *alert.ASFFWriter      // asff
	fmts    []*formatter
	// columns is the number of columns of every row (csvio.Options.SameFields).
	columns int
	tuples  []embedding.Tuple
	addrs   []netip.Addr
	// arena holds the entity and the extra fields of every row, one after
	// the other; ends the end of each in arena, columns-1 per row.
	arena   []byte
	ends    []int
	results []ipinsights.Result
	// alerting tells which rows alert (with a rule); expls are the
	// explanations of the rows written, in order, expl the index in
	// expls of each row's (-1 for a row not written); sub the rows
	// explained when only some are (the alerting ones).
	alerting []bool
	expls    []ipinsights.Explanation
	expl     []int32
	sub      []embedding.Tuple
	// ncols is the number of computed CSV columns.
	ncols int
}

// formatter formats rows into buf, with buffers of its own.
type formatter struct {
	rec   alert.Record
	ann   *alert.Annotator
	extra [][]byte
	text  []byte
	cols  [][]byte
	buf   []byte
	err   error
}

// formatParallelMin is the number of rows from which a chunk is formatted
// on several goroutines.
const formatParallelMin = 1024

// start creates the writer. header is the input header, if any; columns
// is the number of columns of every row, to which the reader holds them.
// The extra columns keep the header's names.
func (s *scorer) start(header []string, columns int) {
	s.started = true
	s.columns = max(columns, 2)
	names := make([]string, s.columns-2)
	if len(header) == columns && columns >= 2 {
		copy(names, header[2:])
	}
	workers := runtime.GOMAXPROCS(0)
	if s.format == formatASFF {
		workers = 1 // alerts only: few rows
	}
	for range workers {
		f := &formatter{}
		if s.db != nil {
			f.ann = alert.NewAnnotator(s.db)
		}
		s.fmts = append(s.fmts, f)
	}
	switch s.format {
	case formatCSV:
		cols := s.fields.Columns()
		s.ncols = len(cols)
		s.sw = sagemaker.NewScoreWriter(s.w.Writer, sagemaker.ScoreWriterOptions{
			EntitySeen: true, Percentile: s.fields.Percentile, Alert: s.rule != nil,
			Columns: cols, Extra: names, BitSize: 32,
		})
		return
	case formatASFF:
		s.fw = alert.NewASFFWriter(s.w.Writer)
	}
	for i, n := range names {
		names[i] = sagemaker.ExtraName(i, n)
	}
	s.fields.Extra = names
}

func (s *scorer) add(r *csvio.Reader) {
	f := r.Fields()
	s.tuples = append(s.tuples, embedding.NewTupleBytes(f[0], r.Addr()))
	s.addrs = append(s.addrs, r.Addr())
	s.arena = append(s.arena, f[0]...)
	s.ends = append(s.ends, len(s.arena))
	for _, x := range f[2:] {
		s.arena = append(s.arena, x...)
		s.ends = append(s.ends, len(s.arena))
	}
}

// score scores or explains the buffered rows: s.results holds every row's
// score, s.alerting whether it alerts, s.expl which rows are written and
// their explanations in s.expls: all rows, or with alertsOnly the
// alerting ones, which alone are explained.
func (s *scorer) score() {
	n := len(s.tuples)
	if !s.fields.Explain || s.alertsOnly {
		s.results = s.m.ScoreTuples(s.results, s.tuples)
	} else {
		s.expls = s.m.ExplainTuplesWorkers(s.expls, s.tuples, 0)
		s.results = s.results[:0]
		for i := range s.expls {
			s.results = append(s.results, s.expls[i].Result)
		}
	}
	s.alerting, s.expl = s.alerting[:0], s.expl[:0]
	written := int32(0)
	for i, res := range s.results {
		a := s.rule != nil && s.rule.AlertTuple(s.tuples[i], res.DotProduct)
		s.alerting = append(s.alerting, a)
		if a {
			s.alerts++
		}
		if s.alertsOnly && !a {
			s.expl = append(s.expl, -1)
			continue
		}
		s.expl = append(s.expl, written)
		written++
	}
	s.rows += n
	if s.fields.Explain && s.alertsOnly {
		// Explain only what is written: the few rows that alert.
		s.sub = s.sub[:0]
		for i, k := range s.expl {
			if k >= 0 {
				s.sub = append(s.sub, s.tuples[i])
			}
		}
		s.expls = s.m.ExplainTuplesWorkers(s.expls, s.sub, 0)
	}
}

// flush scores the buffered rows and writes them.
func (s *scorer) flush() error {
	n := len(s.tuples)
	if n == 0 {
		return nil
	}
	s.score()
	if s.format == formatASFF {
		f := s.fmts[0]
		for i := range n {
			if s.expl[i] < 0 {
				continue
			}
			fd, err := alert.NewFinding(s.record(f, i), &s.fields, s.asff)
			if err != nil {
				return err
			}
			if err := s.fw.Write(&fd); err != nil {
				return err
			}
		}
	} else {
		workers := max(1, min(len(s.fmts), n/formatParallelMin))
		per := (n + workers - 1) / workers
		var wg sync.WaitGroup
		for k := 1; k < workers; k++ {
			wg.Go(func() { s.formatRows(s.fmts[k], k*per, min(n, (k+1)*per)) })
		}
		s.formatRows(s.fmts[0], 0, min(n, per))
		wg.Wait()
		for _, f := range s.fmts[:workers] {
			if f.err != nil {
				return f.err
			}
			var err error
			if s.sw != nil {
				err = s.sw.WriteLines(f.buf)
			} else {
				_, err = s.w.Write(f.buf)
			}
			if err != nil {
				return err
			}
		}
	}
	s.tuples, s.addrs, s.arena, s.ends = s.tuples[:0], s.addrs[:0], s.arena[:0], s.ends[:0]
	return nil
}

// record fills f's record with row i.
func (s *scorer) record(f *formatter, i int) *alert.Record {
	per := s.columns - 1 // fields kept per row: the entity and the extras
	ends := s.ends[i*per : (i+1)*per]
	start := 0
	if i > 0 {
		start = s.ends[i*per-1]
	}
	rec := &f.rec
	rec.Entity, rec.Addr, rec.Result, rec.Explanation = s.arena[start:ends[0]], s.addrs[i], s.results[i], nil
	if s.rule != nil {
		rec.Alert = s.alerting[i]
	}
	if s.fields.Explain {
		rec.Explanation = &s.expls[s.expl[i]]
	}
	if s.fields.Percentile {
		rec.Percentile = s.cal.Percentile(s.tuples[i].Entity, rec.Result.DotProduct)
	}
	if f.ann != nil {
		f.ann.Annotate(rec)
	}
	f.extra = f.extra[:0]
	for k := 1; k < per; k++ {
		f.extra = append(f.extra, s.arena[ends[k-1]:ends[k]])
	}
	rec.Extra = f.extra
	return rec
}

// formatRows formats the rows [lo, hi) that are written into f.buf, as
// CSV or JSON lines.
func (s *scorer) formatRows(f *formatter, lo, hi int) {
	f.buf, f.err = f.buf[:0], nil
	for i := lo; i < hi; i++ {
		if s.expl[i] < 0 {
			continue
		}
		rec := s.record(f, i)
		if s.format == formatJSONL {
			f.buf = append(s.fields.AppendJSON(f.buf, rec), '\n')
			continue
		}
		row := sagemaker.ScoredRow{Entity: rec.Entity, Addr: rec.Addr, DotProduct: rec.Result.DotProduct, EntitySeen: rec.Result.EntitySeen,
			Percentile: rec.Percentile.Value, Alert: rec.Alert, Extra: rec.Extra}
		if s.ncols > 0 {
			f.text, f.cols = f.text[:0], f.cols[:0]
			var ends [8]int
			for k := range s.ncols {
				f.text = s.fields.AppendColumn(f.text, rec, k)
				ends[k] = len(f.text)
			}
			lo := 0
			for _, hi := range ends[:s.ncols] {
				f.cols = append(f.cols, f.text[lo:hi])
				lo = hi
			}
			row.Columns = f.cols
		}
		if f.buf, f.err = s.sw.AppendRow(f.buf, row); f.err != nil {
			return
		}
	}
}

// finish writes what the writer holds back (the CSV header when no row
// was written, the last batch of findings).
func (s *scorer) finish() error {
	switch {
	case s.sw != nil:
		return s.sw.Flush()
	case s.fw != nil:
		return s.fw.Flush()
	}
	return nil
}
