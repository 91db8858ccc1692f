package sagemaker

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
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

// ReadSageMakerScores reads SageMaker's dot products from files, in order:
// batch transform .out files or saved endpoint responses, in
// application/jsonlines (one prediction or envelope a line) or
// application/json ({"predictions": [...]} envelopes, one after the other
// or pretty-printed), verbose or not; our CSV responses (one score a line);
// or a scored CSV (see ScoreReader), as WriteScores writes SageMaker's
// scores. The format is recognised from the content of each file.
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
		s, err := readScores(bytes.NewReader(data), path)
		if !errors.Is(err, errNoScoreHeader) {
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
