package main

import (
	"context"
	"flag"
	"fmt"
	"net/netip"

	"github.com/ipinsights/ipinsights-go/csvio"
	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/ipinsights/ipinsights-go/sagemaker"
)

func init() {
	register(&command{
		name:    "score",
		summary: "score entity,ip CSV rows with a model",
		usage:   "--model FILE [--input FILE|-] [--header] [--lenient] [--output FILE|-] [--alert-fpr RATE [--alert-basis B] [--alerts-only]]",
		example: `ipinsights score --model model.bin --input logins.csv --output scores.csv
# output: entity,ip,dot_product,entity_seen[,extra input columns]; higher dot_product = more normal
# every input row has as many columns as the first row (or the --header row)
ipinsights score --model model.bin --input logins.csv --alert-fpr 0.01 --alerts-only
# only the rows that alert at a 1% false-positive rate on the model's calibration pairs`,
		run: runScore,
	})
}

// scoreChunk is how many rows are parsed, scored and written at a time: the
// memory bound of streaming.
const scoreChunk = 8192

func runScore(ctx context.Context, e *env, args []string) error {
	c := commands["score"]
	fs := newFlagSet(c, e)
	modelPath := fs.String("model", "", "the model file")
	in := fs.String("input", "-", "entity,ip[,more columns] rows (.gz ok; - for stdin)")
	out := fs.String("output", "-", "where to write the scored CSV (- for stdout)")
	header := fs.Bool("header", false, "the input's first row is a header; its extra column names are kept")
	lenient := fs.Bool("lenient", false, "skip malformed rows (counted on stderr) instead of failing")
	alertFPR := fs.Float64("alert-fpr", 0, "add an alert column (true/false) that flags this share of normal pairs, between 0 and 1\n(0.01 = 1% of the model's calibration pairs; needs a calibrated model)")
	basisName := fs.String("alert-basis", ipinsights.AlertDefault.String(), "with --alert-fpr: dot_product (one global threshold, the better on the tutorial's data)\nor percentile (each entity with enough calibration pairs held to the rate on its own)")
	alertsOnly := fs.Bool("alerts-only", false, "with --alert-fpr: write only the rows that alert")
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
	}
	if err := checkFiles([]file{{"--model", *modelPath}, {"--input", *in}}, file{"--output", *out}); err != nil {
		return err
	}
	m, err := ipinsights.LoadFile(*modelPath)
	if err != nil {
		return err
	}
	s := scorer{m: m, alertsOnly: *alertsOnly}
	if set["alert-fpr"] {
		rule, err := m.AlertRule(*alertFPR, basis)
		if err != nil {
			return notCalibrated(err, *modelPath, "")
		}
		s.rule = &rule
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
	for r.Next() {
		if s.sw == nil {
			s.start(w, r.Header(), len(r.Fields()))
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
		if s.sw != nil && s.flush() == nil { // to standard output, the rows before the error
			s.sw.Flush()
		}
		return headerHint(err, inputName(*in), *header)
	}
	if s.sw == nil { // no rows: the header alone
		s.start(w, r.Header(), len(r.Header()))
	}
	if err := s.flush(); err != nil {
		return fmt.Errorf("writing %s: %w", w.name, err)
	}
	if err := s.sw.Flush(); err != nil {
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
	return nil
}

// scorer buffers a chunk of rows, scores them in one batch and writes them
// as a scored CSV.
type scorer struct {
	m  *ipinsights.Model
	sw *sagemaker.ScoreWriter
	// rule, when set, adds the alert column; alertsOnly writes only the
	// rows that alert. rows and alerts count the rows scored and alerting.
	rule         *ipinsights.AlertRule
	alertsOnly   bool
	rows, alerts int
	// columns is the number of columns of every row (csvio.Options.SameFields).
	columns int
	tuples  []embedding.Tuple
	addrs   []netip.Addr
	// arena holds the entity and the extra fields of every row, one after
	// the other; ends the end of each in arena, columns-1 per row.
	arena   []byte
	ends    []int
	results []ipinsights.Result
	extra   [][]byte // the current row's extra fields, reused
}

// start creates the writer. header is the input header, if any; columns
// is the number of columns of every row, to which the reader holds them.
// The extra columns keep the header's names.
func (s *scorer) start(w *output, header []string, columns int) {
	s.columns = max(columns, 2)
	names := make([]string, s.columns-2)
	if len(header) == columns && columns >= 2 {
		copy(names, header[2:])
	}
	s.sw = sagemaker.NewScoreWriter(w.Writer, sagemaker.ScoreWriterOptions{EntitySeen: true, Alert: s.rule != nil, Extra: names, BitSize: 32})
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

// flush scores the buffered rows and writes them.
func (s *scorer) flush() error {
	if len(s.tuples) == 0 {
		return nil
	}
	s.results = s.m.ScoreTuples(s.results, s.tuples)
	per := s.columns - 1 // fields kept per row: the entity and the extras
	start := 0
	for i, res := range s.results {
		ends := s.ends[i*per : (i+1)*per]
		row := sagemaker.ScoredRow{Entity: s.arena[start:ends[0]], Addr: s.addrs[i], DotProduct: res.DotProduct, EntitySeen: res.EntitySeen}
		s.rows++
		if s.rule != nil {
			if row.Alert = s.rule.Alert(s.tuples[i].Entity, res.DotProduct); row.Alert {
				s.alerts++
			} else if s.alertsOnly {
				start = ends[per-1]
				continue
			}
		}
		s.extra = s.extra[:0]
		for k := 1; k < per; k++ {
			s.extra = append(s.extra, s.arena[ends[k-1]:ends[k]])
		}
		row.Extra = s.extra
		if err := s.sw.Write(row); err != nil {
			return err
		}
		start = ends[per-1]
	}
	s.tuples, s.addrs, s.arena, s.ends = s.tuples[:0], s.addrs[:0], s.arena[:0], s.ends[:0]
	return nil
}
