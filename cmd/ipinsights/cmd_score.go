package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
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
	format := fs.String("format", formatCSV, "csv (a scored CSV), jsonl (one JSON object a row) or asff (AWS Security Hub findings\nfor the rows that alert, one BatchImportFindings request of at most 100 findings a line)")
	alertFPR := fs.Float64("alert-fpr", 0, "add an alert column (true/false) that flags this share of normal pairs, between 0 and 1\n(0.01 = 1% of the model's calibration pairs; needs a calibrated model)")
	basisName := fs.String("alert-basis", ipinsights.AlertDefault.String(), "with --alert-fpr: dot_product (one global threshold, the better on the tutorial's data)\nor percentile (each entity with enough calibration pairs held to the rate on its own)")
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
		return usagef("--alert-basis %q: want dot_product or percentile", *basisName)
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
		s.ann = alert.NewAnnotator(db)
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
			return notCalibrated(err, *modelPath, "")
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
// and writes them in the output format.
type scorer struct {
	m      *ipinsights.Model
	format string
	w      *output
	// rule, when set, flags alerts; alertsOnly writes only the rows that
	// alert. rows and alerts count the rows scored and alerting.
	rule         *ipinsights.AlertRule
	alertsOnly   bool
	rows, alerts int
	// cal gives percentiles when fields.Percentile; ann the AS when
	// fields.AS; fields says what each row has.
	cal    *ipinsights.Calibration
	ann    *alert.Annotator
	fields alert.Fields
	asff   *alert.ASFFOptions

	started bool
	sw      *sagemaker.ScoreWriter // csv
	fw      *alert.ASFFWriter      // asff
	// columns is the number of columns of every row (csvio.Options.SameFields).
	columns int
	tuples  []embedding.Tuple
	addrs   []netip.Addr
	// arena holds the entity and the extra fields of every row, one after
	// the other; ends the end of each in arena, columns-1 per row.
	arena   []byte
	ends    []int
	results []ipinsights.Result
	// expls are the explanations of the rows written, in order; sub the
	// rows explained when only some are (the alerting ones).
	expls []ipinsights.Explanation
	sub   []embedding.Tuple
	rec   alert.Record
	extra [][]byte // the current row's extra fields, reused
	// ncols is the number of computed CSV columns; text and cols hold
	// the current row's.
	ncols int
	text  []byte
	cols  [][]byte
}

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
// score; with explanations, s.expls those of the rows that are written
// (all, or with alertsOnly the alerting ones).
func (s *scorer) score() {
	switch {
	case !s.fields.Explain:
		s.results = s.m.ScoreTuples(s.results, s.tuples)
	case s.alertsOnly:
		// Explain only what is written: the few rows that alert.
		s.results = s.m.ScoreTuples(s.results, s.tuples)
		s.sub = s.sub[:0]
		for i, res := range s.results {
			if s.rule.Alert(s.tuples[i].Entity, res.DotProduct) {
				s.sub = append(s.sub, s.tuples[i])
			}
		}
		s.expls = s.m.ExplainTuplesWorkers(s.expls, s.sub, 0)
	default:
		s.expls = s.m.ExplainTuplesWorkers(s.expls, s.tuples, 0)
		s.results = s.results[:0]
		for i := range s.expls {
			s.results = append(s.results, s.expls[i].Result)
		}
	}
}

// flush scores the buffered rows and writes them.
func (s *scorer) flush() error {
	if len(s.tuples) == 0 {
		return nil
	}
	s.score()
	per := s.columns - 1 // fields kept per row: the entity and the extras
	start, explained := 0, 0
	for i, res := range s.results {
		ends := s.ends[i*per : (i+1)*per]
		rec := &s.rec
		rec.Entity, rec.Addr, rec.Result, rec.Explanation = s.arena[start:ends[0]], s.addrs[i], res, nil
		start = ends[per-1]
		s.rows++
		if s.rule != nil {
			if rec.Alert = s.rule.Alert(s.tuples[i].Entity, res.DotProduct); rec.Alert {
				s.alerts++
			} else if s.alertsOnly {
				continue
			}
		}
		if s.fields.Explain { // the rows written are those explained, in order
			rec.Explanation = &s.expls[explained]
			explained++
		}
		if s.fields.Percentile {
			rec.Percentile = s.cal.Percentile(s.tuples[i].Entity, res.DotProduct)
		}
		if s.ann != nil {
			s.ann.Annotate(rec)
		}
		s.extra = s.extra[:0]
		for k := 1; k < per; k++ {
			s.extra = append(s.extra, s.arena[ends[k-1]:ends[k]])
		}
		rec.Extra = s.extra
		if err := s.write(rec); err != nil {
			return err
		}
	}
	s.tuples, s.addrs, s.arena, s.ends = s.tuples[:0], s.addrs[:0], s.arena[:0], s.ends[:0]
	return nil
}

// write writes one record in the output format.
func (s *scorer) write(rec *alert.Record) error {
	switch s.format {
	case formatJSONL:
		b := s.fields.AppendJSON(s.w.AvailableBuffer(), rec)
		_, err := s.w.Write(append(b, '\n'))
		return err
	case formatASFF:
		fd, err := alert.NewFinding(rec, &s.fields, s.asff)
		if err != nil {
			return err
		}
		return s.fw.Write(&fd)
	}
	row := sagemaker.ScoredRow{Entity: rec.Entity, Addr: rec.Addr, DotProduct: rec.Result.DotProduct, EntitySeen: rec.Result.EntitySeen,
		Percentile: rec.Percentile.Value, Alert: rec.Alert, Extra: rec.Extra}
	if s.ncols > 0 {
		s.text, s.cols = s.text[:0], s.cols[:0]
		var ends [8]int
		for k := range s.ncols {
			s.text = s.fields.AppendColumn(s.text, rec, k)
			ends[k] = len(s.text)
		}
		lo := 0
		for _, hi := range ends[:s.ncols] {
			s.cols = append(s.cols, s.text[lo:hi])
			lo = hi
		}
		row.Columns = s.cols
	}
	return s.sw.Write(row)
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
