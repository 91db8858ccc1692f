package sagemaker

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/ipinsights/ipinsights-go/inference"

	"github.com/ipinsights/ipinsights-go/csvio"
)

// Scores are the scores of a list of rows, read from a file.
type Scores struct {
	// Dots are the dot products, in row order.
	Dots []float64
	// Seen tells whether each row's entity was seen in training; nil when
	// the file does not say (SageMaker's outputs never do).
	Seen []bool
	// Rows are "entity,ip" of each row when the file names them (our score
	// CSV does, SageMaker's outputs do not), to check that two files cover
	// the same rows; nil otherwise.
	Rows []string
}

// ReadOurs reads a score CSV as `ipinsights score` writes it: a header
// naming at least dot_product (entity, ip and entity_seen are used when
// present; other columns are ignored), then one row per scored pair.
func ReadOurs(path string) (*Scores, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := readScoreCSV(f, path)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, fmt.Errorf("%s:1: no header naming a dot_product column (want entity,ip,dot_product,entity_seen as ipinsights score writes)", path)
	}
	return s, nil
}

// readScoreCSV reads a CSV with a header naming dot_product; it returns
// nil, nil when the first line is not such a header.
func readScoreCSV(r io.Reader, path string) (*Scores, error) {
	cr := csv.NewReader(bufio.NewReader(r))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file", path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range head {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if _, dup := col[h]; !dup {
			col[h] = i
		}
	}
	dc, ok := col["dot_product"]
	if !ok {
		return nil, nil
	}
	sc, hasSeen := col["entity_seen"]
	ec, hasEntity := col["entity"]
	ic, hasIP := col["ip"]
	s := &Scores{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		line, _ := cr.FieldPos(0)
		field := func(c int, name string) (string, error) {
			if c >= len(rec) {
				return "", fmt.Errorf("%s:%d: no %s column (%d fields)", path, line, name, len(rec))
			}
			return strings.TrimSpace(rec[c]), nil
		}
		v, err := field(dc, "dot_product")
		if err != nil {
			return nil, err
		}
		d, perr := strconv.ParseFloat(v, 64)
		if perr != nil {
			return nil, fmt.Errorf("%s:%d: dot_product %q is not a number", path, line, v)
		}
		s.Dots = append(s.Dots, d)
		if hasSeen {
			v, err := field(sc, "entity_seen")
			if err != nil {
				return nil, err
			}
			b, perr := strconv.ParseBool(v)
			if perr != nil {
				return nil, fmt.Errorf("%s:%d: entity_seen %q is not true or false", path, line, v)
			}
			s.Seen = append(s.Seen, b)
		}
		if hasEntity && hasIP {
			e, err := field(ec, "entity")
			if err != nil {
				return nil, err
			}
			ip, err := field(ic, "ip")
			if err != nil {
				return nil, err
			}
			s.Rows = append(s.Rows, e+","+ip)
		}
	}
	if len(s.Dots) == 0 {
		return nil, fmt.Errorf("%s: no data rows", path)
	}
	return s, nil
}

// ReadSageMakerScores reads SageMaker's dot products from files, in order:
// batch transform .out files or saved endpoint responses, in
// application/jsonlines (one prediction or envelope a line) or
// application/json ({"predictions": [...]} envelopes, one after the other
// or pretty-printed), verbose or not; our CSV responses (one score a line);
// or a CSV with a dot_product column, as `ipinsights sagemaker transform`
// writes. The format is recognised from the content of each file.
func ReadSageMakerScores(paths ...string) (*Scores, error) {
	out := &Scores{}
	for i, p := range paths {
		s, err := readSageMakerFile(p)
		if err != nil {
			return nil, err
		}
		out.Dots = append(out.Dots, s.Dots...)
		switch {
		case s.Rows != nil && (i == 0 || out.Rows != nil):
			out.Rows = append(out.Rows, s.Rows...)
		default:
			out.Rows = nil
		}
	}
	if len(out.Dots) == 0 {
		return nil, fmt.Errorf("%s: no predictions", strings.Join(paths, ", "))
	}
	return out, nil
}

func readSageMakerFile(path string) (*Scores, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	first, _, _ := bytes.Cut(bytes.TrimLeft(data, " \t\r\n"), []byte("\n"))
	first = bytes.TrimSpace(first)
	var format inference.Format
	switch {
	case len(first) == 0:
		return nil, fmt.Errorf("%s: empty file", path)
	case first[0] == '{' && json.Valid(first):
		format = inference.JSONLines
	case first[0] == '{' || first[0] == '[':
		format = inference.JSON
	default:
		s, err := readScoreCSV(bytes.NewReader(data), path)
		if err != nil || s != nil {
			return s, err
		}
		format = inference.CSV
	}
	rr := inference.NewResponseReader(bytes.NewReader(data), format)
	s := &Scores{}
	for rr.Next() {
		s.Dots = append(s.Dots, rr.Prediction().DotProduct)
	}
	if err := rr.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(s.Dots) == 0 {
		return nil, fmt.Errorf("%s: no predictions", path)
	}
	return s, nil
}

// Labels are the labels of a list of rows.
type Labels struct {
	Anomalous []bool   // label 1
	Rows      []string // "entity,ip" of each row
}

// ReadLabels reads a labeled file of entity,ip,label rows (label 1 for an
// anomaly, 0 for a normal pair); further columns (such as the kind column
// of generated test data) are ignored.
func ReadLabels(f RowsFile) (*Labels, error) {
	r, err := csvio.Open(f.Path, csvio.Options{Name: f.Path, MinFields: 3, MaxFields: -1, Header: f.Header})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	l := &Labels{}
	for r.Next() {
		a, err := parseLabel(r, f.Path)
		if err != nil {
			return nil, err
		}
		l.Anomalous = append(l.Anomalous, a)
		l.Rows = append(l.Rows, string(r.Entity())+","+r.Addr().String())
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	if len(l.Anomalous) == 0 {
		return nil, fmt.Errorf("%s: no data rows", f.Path)
	}
	return l, nil
}

// parseLabel parses the label column of the current row of r, a reader
// of the file at path.
func parseLabel(r *csvio.Reader, path string) (bool, error) {
	a, err := csvio.ParseLabel(r.Fields()[2])
	if err != nil {
		return false, fmt.Errorf("%s:%d: %w", path, r.Line(), err)
	}
	return a, nil
}

// sameRows checks that two row lists name the same rows, when both are
// known.
func sameRows(a, b []string, aName, bName string) error {
	if a == nil || b == nil {
		return nil
	}
	if len(a) != len(b) {
		return fmt.Errorf("%s has %d rows, %s %d: they must cover the same rows", aName, len(a), bName, len(b))
	}
	for i := range a {
		if normRow(a[i]) != normRow(b[i]) {
			return fmt.Errorf("row %d differs: %s has %s, %s has %s", i+1, aName, a[i], bName, b[i])
		}
	}
	return nil
}

// normRow canonicalises "entity,ip" (the address in canonical form).
func normRow(s string) string {
	i := strings.LastIndexByte(s, ',')
	if i < 0 {
		return s
	}
	if a, err := csvio.ParseAddr([]byte(strings.TrimSpace(s[i+1:]))); err == nil {
		return strings.TrimSpace(s[:i]) + "," + a.String()
	}
	return s
}

// CompareFiles is the offline parity report: our scores (ReadOurs), SageMaker's
// (ReadSageMakerScores) and optionally labels (ReadLabels; a zero
// RowsFile for none) for the same rows. opts.Anomalous and opts.Seen are
// filled from the files.
func CompareFiles(oursPath string, smPaths []string, labeled RowsFile, opts CompareOptions) (*Parity, error) {
	ours, err := ReadOurs(oursPath)
	if err != nil {
		return nil, err
	}
	sm, err := ReadSageMakerScores(smPaths...)
	if err != nil {
		return nil, err
	}
	smName := strings.Join(smPaths, ", ")
	if len(sm.Dots) != len(ours.Dots) {
		return nil, fmt.Errorf("%s has %d scores, %s %d: they must cover the same rows in the same order", oursPath, len(ours.Dots), smName, len(sm.Dots))
	}
	if err := sameRows(ours.Rows, sm.Rows, oursPath, smName); err != nil {
		return nil, err
	}
	opts.Seen = ours.Seen
	if labeledPath := labeled.Path; labeledPath != "" {
		l, err := ReadLabels(labeled)
		if err != nil {
			return nil, err
		}
		if len(l.Anomalous) != len(ours.Dots) {
			return nil, fmt.Errorf("%s has %d rows, %s %d: they must cover the same rows in the same order", labeledPath, len(l.Anomalous), oursPath, len(ours.Dots))
		}
		if err := sameRows(ours.Rows, l.Rows, oursPath, labeledPath); err != nil {
			return nil, err
		}
		opts.Anomalous = l.Anomalous
	}
	return Compare(ours.Dots, sm.Dots, opts)
}
