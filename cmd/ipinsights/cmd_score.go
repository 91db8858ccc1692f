package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/ipinsights/ipinsights-go/csvio"
	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/ipinsights"
)

func init() {
	register(&command{
		name:    "score",
		summary: "score entity,ip CSV rows with a model",
		usage:   "--model FILE [--input FILE|-] [--output FILE|-]",
		example: `ipinsights score --model model.bin --input logins.csv --output scores.csv
# output: entity,ip,dot_product,entity_seen[,extra input columns]; higher dot_product = more normal
# every input row has as many columns as the first row (or the --header row)`,
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
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *modelPath == "" {
		return usagef("--model is required")
	}
	if err := checkFiles([]file{{"--model", *modelPath}, {"--input", *in}}, file{"--output", *out}); err != nil {
		return err
	}
	m, err := ipinsights.LoadFile(*modelPath)
	if err != nil {
		return err
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
	s := scorer{m: m}
	for r.Next() {
		if !s.wroteHeader {
			s.writeHeader(w, r.Header(), len(r.Fields())-2)
		}
		s.add(r)
		if len(s.tuples) == scoreChunk {
			if err := ctx.Err(); err != nil {
				return err
			}
			s.flush(w)
		}
	}
	if err := r.Err(); err != nil {
		s.flush(w) // to standard output, the rows before the error
		return headerHint(err, inputName(*in), *header)
	}
	if !s.wroteHeader { // no rows
		s.writeHeader(w, r.Header(), max(0, len(r.Header())-2))
	}
	s.flush(w)
	if err := w.Close(); err != nil {
		return err
	}
	if sk := r.Skipped(); sk.Total() > 0 {
		fmt.Fprintln(e.stderr, sk.String())
	}
	return nil
}

// scorer buffers a chunk of rows, scores them in one batch and writes them.
type scorer struct {
	m           *ipinsights.Model
	tuples      []embedding.Tuple
	arena       []byte   // the rendered "entity,ip" and ",extra..." of every row
	offsets     [][3]int // per row: start, end of "entity,ip", end of the extras
	results     []ipinsights.Result
	wroteHeader bool
}

// writeHeader writes the output header; names is the input header (entity,
// ip, then the extra columns), if any, and extra the number of extra
// columns, which the reader holds every row to (csvio.Options.SameFields).
func (s *scorer) writeHeader(w *output, names []string, extra int) {
	s.wroteHeader = true
	b := []byte("entity,ip,dot_product,entity_seen")
	if len(names) >= 2 {
		names = names[2:]
	}
	for i := 0; i < extra; i++ {
		b = append(b, ',')
		if i < len(names) {
			b = csvio.AppendField(b, names[i])
		} else {
			b = append(b, "col"+strconv.Itoa(i+3)...)
		}
	}
	w.Write(append(b, '\n'))
}

func (s *scorer) add(r *csvio.Reader) {
	f := r.Fields()
	s.tuples = append(s.tuples, embedding.NewTupleBytes(f[0], r.Addr()))
	start := len(s.arena)
	s.arena = csvio.AppendField(s.arena, f[0])
	s.arena = append(s.arena, ',')
	s.arena = csvio.AppendField(s.arena, f[1])
	mid := len(s.arena)
	for _, x := range f[2:] {
		s.arena = append(s.arena, ',')
		s.arena = csvio.AppendField(s.arena, x)
	}
	// Offsets, not slices: the arena may move as it grows.
	s.offsets = append(s.offsets, [3]int{start, mid, len(s.arena)})
}

func (s *scorer) flush(w *output) {
	if len(s.tuples) == 0 {
		return
	}
	s.results = s.m.ScoreTuples(s.results, s.tuples)
	for i, res := range s.results {
		o := s.offsets[i]
		// Build the line in the writer's free space: one copy per row.
		b := append(w.AvailableBuffer(), s.arena[o[0]:o[1]]...)
		b = append(b, ',')
		b = strconv.AppendFloat(b, res.DotProduct, 'g', -1, 32)
		if res.EntitySeen {
			b = append(b, ",true"...)
		} else {
			b = append(b, ",false"...)
		}
		b = append(b, s.arena[o[1]:o[2]]...)
		b = append(b, '\n')
		w.Write(b)
	}
	s.tuples, s.offsets, s.arena = s.tuples[:0], s.offsets[:0], s.arena[:0]
}
