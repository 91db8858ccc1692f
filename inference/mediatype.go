package inference

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Format is a wire format of SageMaker IP Insights inference requests and
// responses.
type Format uint8

// The formats. SageMaker accepts all three in requests and answers in JSON
// or JSONLines; CSV responses (one score a line) are our extension.
const (
	CSV       Format = iota + 1 // text/csv
	JSON                        // application/json
	JSONLines                   // application/jsonlines
)

// MediaType returns the media type of f, for example "application/json".
func (f Format) MediaType() string {
	switch f {
	case CSV:
		return "text/csv"
	case JSON:
		return "application/json"
	case JSONLines:
		return "application/jsonlines"
	}
	return fmt.Sprintf("csvio.Format(%d)", int(f))
}

// String returns the media type of f.
func (f Format) String() string { return f.MediaType() }

// ErrUnsupportedMediaType is wrapped by ParseContentType errors: the request
// format is not one of CSV, JSON and JSONLines (HTTP 415).
var ErrUnsupportedMediaType = errors.New("unsupported media type")

// ErrNotAcceptable is wrapped by ParseAccept errors: no response format in
// the Accept header can be produced (HTTP 406).
var ErrNotAcceptable = errors.New("not acceptable")

// MediaTypeError is the error of ParseContentType and ParseAccept. It wraps
// ErrUnsupportedMediaType (Content-Type) or ErrNotAcceptable (Accept).
type MediaTypeError struct {
	Header string // "Content-Type" or "Accept"
	Value  string // the header value
	Detail string // why, when there is more to say than "unsupported"
}

func (e *MediaTypeError) Error() string {
	var msg string
	if e.Header == "Content-Type" {
		if strings.TrimSpace(e.Value) == "" {
			msg = "missing Content-Type: supported are text/csv, application/json and application/jsonlines"
		} else {
			msg = fmt.Sprintf("unsupported Content-Type %q: supported are text/csv, application/json and application/jsonlines", e.Value)
		}
	} else {
		msg = fmt.Sprintf("no acceptable response type in Accept %q: available are application/json, application/jsonlines and text/csv", e.Value)
	}
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	return msg
}

// Unwrap returns ErrUnsupportedMediaType or ErrNotAcceptable.
func (e *MediaTypeError) Unwrap() error {
	if e.Header == "Content-Type" {
		return ErrUnsupportedMediaType
	}
	return ErrNotAcceptable
}

// ParseContentType returns the request format named by a Content-Type header
// value: text/csv, application/json or application/jsonlines, in any case,
// with any parameters (a charset, for example), which are ignored. Anything
// else, an empty value included, is a *MediaTypeError wrapping
// ErrUnsupportedMediaType. It does not allocate unless it fails.
func ParseContentType(v string) (Format, error) {
	typ, _, _ := cutUnquoted(v, ';')
	if f, ok := exactFormat(strings.TrimSpace(typ)); ok {
		return f, nil
	}
	return 0, &MediaTypeError{Header: "Content-Type", Value: v}
}

func exactFormat(typ string) (Format, bool) {
	switch {
	case strings.EqualFold(typ, "text/csv"):
		return CSV, true
	case strings.EqualFold(typ, "application/json"):
		return JSON, true
	case strings.EqualFold(typ, "application/jsonlines"):
		return JSONLines, true
	}
	return 0, false
}

// ResponseFormat is a response format with SageMaker's Accept parameter
// verbose and our own parameters seen, percentile and explain.
type ResponseFormat struct {
	Format Format
	// Verbose adds each record's entity_embedding and ip_embedding, as
	// SageMaker does for "application/json; verbose=True". JSON and
	// JSONLines only.
	Verbose bool
	// Seen adds entity_seen (true when the entity occurred in training), our
	// extension, asked for with ";seen=True". Without it a response has
	// exactly SageMaker's fields.
	Seen bool
	// Percentile asks for each record's percentile among the model's
	// calibration pairs, our extension (";percentile=True"). JSON and
	// JSONLines only. Package inference does not compute it: the writer of
	// the response puts it in Prediction.Extra.
	Percentile bool
	// Explain asks for each record's percentile and explanation (the
	// entity's pair count and usual networks, whether the address's
	// network is one of them, the nearest of them), our extension
	// (";explain=True"). JSON and JSONLines only; it implies Percentile's
	// member but not the field. Like Percentile, its members are written
	// through Prediction.Extra.
	Explain bool
}

// String returns the Accept header value that asks for rf, for example
// "application/json;verbose=True".
func (rf ResponseFormat) String() string {
	s := rf.Format.MediaType()
	if rf.Verbose {
		s += ";verbose=True"
	}
	if rf.Seen {
		s += ";seen=True"
	}
	if rf.Percentile {
		s += ";percentile=True"
	}
	if rf.Explain {
		s += ";explain=True"
	}
	return s
}

// ParseAccept chooses the response format for an Accept header value.
//
// An empty value, */* and application/* give JSON, as SageMaker does;
// text/* gives CSV. Several media ranges may be listed with q-values
// ("application/jsonlines, application/json;q=0.5"): the highest q wins,
// the first listed among equals. The parameters verbose, seen, percentile
// and explain take True or False in any case (quoted or not, with or
// without spaces around ';'); other parameters are ignored. verbose=True,
// percentile=True and explain=True with text/csv are not acceptable, since
// a CSV response holds one score a line (and entity_seen).
//
// When no listed range can be produced the error is a *MediaTypeError
// wrapping ErrNotAcceptable, with the reason when a parameter was at
// fault. It does not allocate unless it fails.
func ParseAccept(v string) (ResponseFormat, error) {
	if strings.TrimSpace(v) == "" {
		return ResponseFormat{Format: JSON}, nil
	}
	var best ResponseFormat
	bestQ := -1
	detail := ""
	for rest := v; rest != ""; {
		var elem string
		elem, rest, _ = cutUnquoted(rest, ',')
		rf, q, why := parseMediaRange(elem)
		if why != "" && detail == "" {
			detail = why
		}
		if rf.Format != 0 && q > bestQ {
			best, bestQ = rf, q
		}
	}
	if bestQ <= 0 {
		return ResponseFormat{}, &MediaTypeError{Header: "Accept", Value: v, Detail: detail}
	}
	return best, nil
}

// parseMediaRange parses one element of an Accept header. It returns a zero
// Format for a range that can not be produced, with the reason when a
// parameter is at fault, and q in thousandths.
func parseMediaRange(elem string) (rf ResponseFormat, q int, why string) {
	typ, params, _ := cutUnquoted(elem, ';')
	typ = strings.TrimSpace(typ)
	if typ == "" {
		return ResponseFormat{}, 0, ""
	}
	f, ok := exactFormat(typ)
	switch {
	case ok:
	case typ == "*/*" || strings.EqualFold(typ, "application/*"):
		f = JSON
	case strings.EqualFold(typ, "text/*"):
		f = CSV
	default:
		return ResponseFormat{}, 0, ""
	}
	rf.Format = f
	q = 1000
	for params != "" {
		var p string
		p, params, _ = cutUnquoted(params, ';')
		name, val, _ := strings.Cut(p, "=")
		name, val = strings.TrimSpace(name), unquote(strings.TrimSpace(val))
		switch {
		case strings.EqualFold(name, "q"):
			x, err := strconv.ParseFloat(val, 64)
			if err != nil || x < 0 || x > 1 {
				return ResponseFormat{}, 0, fmt.Sprintf("q must be a number from 0 to 1, got %q", val)
			}
			q = int(x*1000 + 0.5)
		default:
			for i, flag := range [...]string{"verbose", "seen", "percentile", "explain"} {
				if !strings.EqualFold(name, flag) {
					continue
				}
				b, ok := parseTrueFalse(val)
				if !ok {
					return ResponseFormat{}, 0, fmt.Sprintf("%s must be True or False, got %q", flag, val)
				}
				switch i {
				case 0:
					rf.Verbose = b
				case 1:
					rf.Seen = b
				case 2:
					rf.Percentile = b
				case 3:
					rf.Explain = b
				}
			}
		}
	}
	if f == CSV {
		switch {
		case rf.Verbose:
			return ResponseFormat{}, 0, "verbose=True needs application/json or application/jsonlines: a text/csv response holds scores only"
		case rf.Percentile:
			return ResponseFormat{}, 0, "percentile=True needs application/json or application/jsonlines: a text/csv response holds scores only"
		case rf.Explain:
			return ResponseFormat{}, 0, "explain=True needs application/json or application/jsonlines: a text/csv response holds scores only"
		}
	}
	return rf, q, ""
}

func parseTrueFalse(s string) (value, ok bool) {
	switch {
	case strings.EqualFold(s, "true"):
		return true, true
	case strings.EqualFold(s, "false"):
		return false, true
	}
	return false, false
}

// cutUnquoted is strings.Cut that ignores sep inside double-quoted strings
// (with backslash escapes), as media type parameters may quote values.
func cutUnquoted(s string, sep byte) (before, after string, found bool) {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == sep:
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// unquote removes the double quotes around a parameter value. Escapes are
// left as they are: the values we read (true, false, numbers) have none.
func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}
