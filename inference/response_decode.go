package inference

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// ResponseError is the error for a response body that can not be decoded.
type ResponseError struct {
	Format Format
	// Prediction is the index of the prediction at fault, counting from 0
	// over the whole input, or -1 when the error is not in one.
	Prediction int
	// Line is the line of the input, counting from 1 (JSONLines and CSV);
	// Offset is the byte offset of the input where decoding stopped (JSON):
	// at a syntax error, or after the value at fault.
	Line   int
	Offset int64
	Detail string
}

func (e *ResponseError) Error() string {
	var b strings.Builder
	b.WriteString(e.Format.MediaType())
	if e.Format == JSON {
		fmt.Fprintf(&b, ": offset %d", e.Offset)
	} else if e.Line > 0 {
		fmt.Fprintf(&b, ": line %d", e.Line)
	}
	if e.Prediction >= 0 {
		fmt.Fprintf(&b, ": prediction %d", e.Prediction)
	}
	b.WriteString(": ")
	b.WriteString(e.Detail)
	return b.String()
}

// ResponseReader reads the predictions of IP Insights inference responses,
// SageMaker's or ours, one at a time. It is meant for comparing our scores
// with SageMaker's: feed it the Body of sagemakerruntime.InvokeEndpoint, or
// the output file of a SageMaker batch transform job (the input file's name
// with ".out" added, in the job's S3OutputPath).
//
// With JSON and JSONLines the input is a sequence of JSON values, each one
// either a response envelope {"predictions": [...]} or a single prediction
// {"dot_product": ...}; predictions come out in input order across all of
// them. So both formats read a single response as well as a batch
// transform output of any Accept and AssembleWith: a job with Accept
// application/jsonlines writes one prediction a line, one with
// application/json one envelope per mini-batch, one after the other. JSON
// reads the values however they are laid out (several on a line or one
// across lines) and reports errors by byte offset; JSONLines wants one
// value a line and reports errors by line. CSV reads our text/csv
// responses: one dot_product a line, optionally followed by ",true" or
// ",false" (entity_seen).
//
// A prediction must have a numeric dot_product (null, which our JSON
// responses write for a non-finite score, reads as NaN); entity_embedding
// and ip_embedding (verbose responses) and entity_seen (ours, on request)
// are read when present, other members are ignored.
type ResponseReader struct {
	format  Format
	dec     *json.Decoder  // JSON
	in      *errReader     // JSON: the input, to tell read errors from decoding errors
	sc      *bufio.Scanner // JSONLines and CSV
	line    int
	pending []Prediction // the rest of the current envelope
	cur     Prediction
	n       int // predictions returned so far
	err     error
	done    bool
}

// maxResponseLine bounds a line of JSONLines or CSV input; a verbose
// envelope of a full 6 MB request fits many times over.
const maxResponseLine = 1 << 30

// NewResponseReader returns a ResponseReader of r in format f. It panics on
// an unknown format.
func NewResponseReader(r io.Reader, f Format) *ResponseReader {
	rr := &ResponseReader{format: f}
	switch f {
	case JSON:
		rr.in = &errReader{r: r}
		rr.dec = json.NewDecoder(rr.in)
	case JSONLines, CSV:
		rr.sc = bufio.NewScanner(r)
		rr.sc.Buffer(make([]byte, 0, 64<<10), maxResponseLine)
	default:
		panic(fmt.Sprintf("inference: NewResponseReader: unknown format %d", int(f)))
	}
	return rr
}

// Next advances to the next prediction. It returns false at the end of the
// input or at the first error (see Err).
func (r *ResponseReader) Next() bool {
	for !r.done && r.err == nil {
		if len(r.pending) > 0 {
			r.cur, r.pending = r.pending[0], r.pending[1:]
			r.n++
			return true
		}
		switch r.format {
		case JSON:
			r.nextJSON()
		default:
			r.nextLine()
		}
	}
	return false
}

// Prediction returns the current prediction. Its slices are not reused.
func (r *ResponseReader) Prediction() Prediction { return r.cur }

// Index returns the index of the current prediction, counting from 0.
func (r *ResponseReader) Index() int { return r.n - 1 }

// Err returns the error that stopped Next (a *ResponseError, or the read
// error of the input), or nil at the end of well-formed input.
func (r *ResponseReader) Err() error { return r.err }

func (r *ResponseReader) fail(pred int, detail string) {
	e := &ResponseError{Format: r.format, Prediction: pred, Line: r.line, Detail: detail}
	if r.dec != nil {
		e.Offset = r.dec.InputOffset()
	}
	r.err = e
}

func (r *ResponseReader) nextJSON() {
	var v wireValue
	err := r.dec.Decode(&v)
	if err == io.EOF {
		r.done = true
		return
	}
	if err != nil {
		var typ *json.UnmarshalTypeError
		switch {
		case r.in.err != nil && err == r.in.err:
			r.err = err
		case errors.As(err, &typ):
			r.fail(-1, typeDetail(typ))
		case errors.Is(err, io.ErrUnexpectedEOF):
			r.fail(-1, "malformed JSON: unexpected end of input")
		default:
			r.fail(-1, "malformed JSON: "+err.Error())
		}
		return
	}
	r.value(&v)
}

func (r *ResponseReader) nextLine() {
	for r.sc.Scan() {
		r.line++
		line := bytes.TrimSpace(r.sc.Bytes())
		if r.line == 1 {
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
		}
		if len(line) == 0 {
			continue
		}
		if r.format == CSV {
			r.csvLine(line)
			return
		}
		var v wireValue
		if err := json.Unmarshal(line, &v); err != nil {
			var typ *json.UnmarshalTypeError
			if errors.As(err, &typ) {
				r.fail(-1, typeDetail(typ))
			} else {
				r.fail(-1, "malformed JSON: "+err.Error())
			}
			return
		}
		r.value(&v)
		return
	}
	if err := r.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			r.line++
			r.fail(-1, fmt.Sprintf("line longer than %d bytes", maxResponseLine))
			return
		}
		r.err = err
		return
	}
	r.done = true
}

func (r *ResponseReader) csvLine(line []byte) {
	score, seen, hasSeen := bytes.Cut(line, []byte(","))
	x, err := strconv.ParseFloat(string(bytes.TrimSpace(score)), 64)
	if err != nil {
		r.fail(r.n, fmt.Sprintf("dot_product: not a number: %q", score))
		return
	}
	p := Prediction{DotProduct: x}
	if hasSeen {
		b, ok := parseTrueFalse(string(bytes.TrimSpace(seen)))
		if !ok {
			r.fail(r.n, fmt.Sprintf("entity_seen: want true or false, got %q", seen))
			return
		}
		p.EntitySeen = b
	}
	r.pending = append(r.pending[:0], p)
}

// typeDetail describes a JSON value of the wrong type.
func typeDetail(e *json.UnmarshalTypeError) string {
	want := "a number"
	switch e.Type.Kind() {
	case reflect.Struct:
		want = "an object"
	case reflect.Slice:
		want = "an array"
	case reflect.Pointer, reflect.Bool:
		want = "true or false"
	}
	if e.Field == "" {
		return fmt.Sprintf("want %s, got a JSON %s", want, e.Value)
	}
	return fmt.Sprintf("%s: want %s, got a JSON %s", e.Field, want, e.Value)
}

// errReader remembers the last read error other than io.EOF.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// wireValue is a top-level JSON value of a response: an envelope or a
// prediction (the fields of both; which one it is shows in Predictions).
type wireValue struct {
	Predictions []wirePrediction `json:"predictions"`
	wirePrediction
}

type wirePrediction struct {
	DotProduct      json.RawMessage   `json:"dot_product"`
	EntityEmbedding []json.RawMessage `json:"entity_embedding"`
	IPEmbedding     []json.RawMessage `json:"ip_embedding"`
	EntitySeen      *bool             `json:"entity_seen"`
}

// value queues the predictions of one top-level value.
func (r *ResponseReader) value(v *wireValue) {
	r.pending = r.pending[:0]
	if v.Predictions == nil {
		if v.DotProduct == nil {
			r.fail(-1, `want a response {"predictions": [...]} or a prediction {"dot_product": ...}`)
			return
		}
		v.Predictions = []wirePrediction{v.wirePrediction}
	}
	for i := range v.Predictions {
		p, detail := v.Predictions[i].prediction()
		if detail != "" {
			r.fail(r.n+i, detail)
			r.pending = r.pending[:0]
			return
		}
		r.pending = append(r.pending, p)
	}
}

func (w *wirePrediction) prediction() (Prediction, string) {
	var p Prediction
	switch s := string(w.DotProduct); {
	case s == "":
		return p, `no "dot_product"`
	case s == "null":
		p.DotProduct = math.NaN()
	default:
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return p, fmt.Sprintf("dot_product: want a number, got %.40s", s)
		}
		p.DotProduct = x
	}
	var detail string
	if p.EntityEmbedding, detail = floats("entity_embedding", w.EntityEmbedding); detail != "" {
		return p, detail
	}
	if p.IPEmbedding, detail = floats("ip_embedding", w.IPEmbedding); detail != "" {
		return p, detail
	}
	if w.EntitySeen != nil {
		p.EntitySeen = *w.EntitySeen
	}
	return p, ""
}

// floats converts a decoded vector; null components (our encoding of
// non-finite numbers) read as NaN. A component too small for a float32
// reads as 0; one too large is an error, as in encoding/json (it would
// read as an infinity, which no response writes as a number).
func floats(name string, raw []json.RawMessage) ([]float32, string) {
	if raw == nil {
		return nil, ""
	}
	out := make([]float32, len(raw))
	for i, m := range raw {
		if string(m) == "null" {
			out[i] = float32(math.NaN())
			continue
		}
		x, err := strconv.ParseFloat(string(m), 32)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, fmt.Sprintf("%s[%d]: want a number, got %.40s", name, i, m)
		}
		if math.IsInf(x, 0) {
			return nil, fmt.Sprintf("%s[%d]: %.40s is out of a float32's range", name, i, m)
		}
		out[i] = float32(x)
	}
	return out, ""
}

// DecodeResponse decodes all the predictions of a response body (see
// ResponseReader).
func DecodeResponse(f Format, body []byte) ([]Prediction, error) {
	var out []Prediction
	r := NewResponseReader(bytes.NewReader(body), f)
	for r.Next() {
		out = append(out, r.Prediction())
	}
	return out, r.Err()
}
