package inference

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
)

// Prediction is one scored record of an inference response.
type Prediction struct {
	// DotProduct is SageMaker's dot_product.
	DotProduct float64
	// EntitySeen is our entity_seen: whether the entity occurred in
	// training. It is written only for ResponseFormat.Seen; decoded
	// responses without it (all of SageMaker's) leave it false.
	EntitySeen bool
	// EntityEmbedding and IPEmbedding are SageMaker's entity_embedding and
	// ip_embedding, written for ResponseFormat.Verbose; nil when a decoded
	// response is not verbose.
	EntityEmbedding, IPEmbedding []float32
	// Extra holds further members of the prediction's JSON object, each
	// led by a comma (`,"percentile":0.25`), written as they are after
	// the others: the members of ResponseFormat.Percentile and Explain,
	// which the writer of the response encodes (package alert's
	// Fields.AppendJSONMembers). JSON and JSONLines only; CSV ignores it.
	// Decoded responses leave it nil.
	Extra []byte
}

// AppendResponse appends to dst the body of a response in format rf holding
// preds, in SageMaker's field names and order:
//
//	application/json       {"predictions":[{"dot_product":1.5},{"dot_product":-0.25}]}
//	application/jsonlines  {"dot_product":1.5}
//	                       {"dot_product":-0.25}
//	text/csv               1.5
//	                       -0.25
//
// Verbose adds "entity_embedding" and "ip_embedding" after "dot_product"
// (JSON and JSONLines; ignored for CSV, which ParseAccept never pairs with
// Verbose); Seen adds "entity_seen" (a second CSV column, true or false);
// in JSON and JSONLines each prediction's Extra members come last.
// Numbers are written like Python's repr, as SageMaker's responses are:
// the shortest digits that read back to the same value, with ".0" on
// whole numbers and an exponent below 1e-4 and from 1e16. dot_product is a
// float64 and is written as one even when it holds a float32 score, on
// purpose: SageMaker's container sends its float32 scores as Python floats
// ("dot_product": 0.8731245994567871, which is exactly a float32, rather
// than 0.8731246), and DecodeResponse reads back exactly the value written.
// Embedding components are float32 and get the shortest float32 digits.
// Non-finite numbers, which
// JSON can not hold, are written null (NaN, +Inf, -Inf in CSV). It does not
// allocate when dst has room.
func AppendResponse(dst []byte, rf ResponseFormat, preds []Prediction) []byte {
	var a ResponseAppender
	a.Reset(rf)
	return a.Close(a.Append(dst, preds))
}

// ResponseAppender writes a response in pieces, for a server that bounds
// the size of its responses: it can append the predictions a few at a time
// and stop when the body grows too large, rather than first holding every
// prediction (with its embeddings) in memory. The pieces of one response,
// Append after Append and then Close, are what AppendResponse writes for
// all the predictions at once. The zero value must be Reset before use.
type ResponseAppender struct {
	rf ResponseFormat
	n  int // predictions appended so far
}

// Reset starts a response in format rf.
func (a *ResponseAppender) Reset(rf ResponseFormat) {
	switch rf.Format {
	case JSON, JSONLines, CSV:
	default:
		panic(fmt.Sprintf("inference: ResponseAppender: unknown format %d", int(rf.Format)))
	}
	a.rf, a.n = rf, 0
}

// Append appends to dst the next predictions of the response. It does not
// allocate when dst has room.
func (a *ResponseAppender) Append(dst []byte, preds []Prediction) []byte {
	rf := a.rf
	switch rf.Format {
	case JSON:
		for i := range preds {
			if a.n == 0 {
				dst = append(dst, `{"predictions":[`...)
			} else {
				dst = append(dst, ',')
			}
			a.n++
			dst = appendPrediction(dst, rf, &preds[i])
		}
	case JSONLines:
		for i := range preds {
			dst = appendPrediction(dst, rf, &preds[i])
			dst = append(dst, '\n')
		}
	case CSV:
		for i := range preds {
			dst = appendNumber(dst, preds[i].DotProduct, 64, false)
			if rf.Seen {
				dst = append(dst, ',')
				dst = strconv.AppendBool(dst, preds[i].EntitySeen)
			}
			dst = append(dst, '\n')
		}
	default:
		panic("inference: ResponseAppender used before Reset")
	}
	return dst
}

// Close appends to dst the end of the response: the closing of the JSON
// document (all of it when no prediction was appended), nothing in the
// other formats.
func (a *ResponseAppender) Close(dst []byte) []byte {
	if a.rf.Format != JSON {
		return dst
	}
	if a.n == 0 {
		dst = append(dst, `{"predictions":[`...)
	}
	return append(dst, "]}"...)
}

func appendPrediction(dst []byte, rf ResponseFormat, p *Prediction) []byte {
	dst = append(dst, `{"dot_product":`...)
	dst = appendNumber(dst, p.DotProduct, 64, true)
	if rf.Verbose {
		dst = append(dst, `,"entity_embedding":`...)
		dst = appendVector(dst, p.EntityEmbedding)
		dst = append(dst, `,"ip_embedding":`...)
		dst = appendVector(dst, p.IPEmbedding)
	}
	if rf.Seen {
		dst = append(dst, `,"entity_seen":`...)
		dst = strconv.AppendBool(dst, p.EntitySeen)
	}
	dst = append(dst, p.Extra...)
	return append(dst, '}')
}

func appendVector(dst []byte, v []float32) []byte {
	dst = append(dst, '[')
	for i, x := range v {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendNumber(dst, float64(x), 32, true)
	}
	return append(dst, ']')
}

// appendNumber appends x in the style of Python's repr (see
// AppendResponse), with the shortest digits that read back to the same
// float of the given bit size; json writes non-finite numbers as null.
func appendNumber(dst []byte, x float64, bits int, json bool) []byte {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		switch {
		case json:
			return append(dst, "null"...)
		case math.IsNaN(x):
			return append(dst, "NaN"...)
		case x > 0:
			return append(dst, "+Inf"...)
		}
		return append(dst, "-Inf"...)
	}
	if a := math.Abs(x); a != 0 && (a < 1e-4 || a >= 1e16) {
		return strconv.AppendFloat(dst, x, 'e', -1, bits)
	}
	n := len(dst)
	dst = strconv.AppendFloat(dst, x, 'f', -1, bits)
	if bytes.IndexByte(dst[n:], '.') < 0 {
		dst = append(dst, ".0"...)
	}
	return dst
}
