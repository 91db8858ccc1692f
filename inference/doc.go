// Package inference reads and writes the wire formats of SageMaker IP
// Insights inference: the bodies that a client POSTs to an endpoint's
// /invocations (or a batch transform job sends), the responses it gets back,
// and the Content-Type and Accept headers that choose them. Package server
// speaks them over HTTP; Go programs that score in-process or talk to
// SageMaker use them directly. Records convert to ipinsights.Pair.
//
//   - Requests: RequestDecoder (and DecodeRequest) reads text/csv,
//     application/json ({"instances": [...]} holding {"features": [entity,
//     ip]} and {"data": {"features": {"values": [entity, ip]}}} instances,
//     mixed) and application/jsonlines bodies without allocating per record;
//     text/csv lines follow exactly the rules of csvio.Reader, so the same
//     bytes mean the same in a file and in a request. Errors are
//     *RequestError values naming the record (JSON instance index or line)
//     and the Reason. AppendRequest writes request bodies.
//   - Responses: AppendResponse writes application/json
//     ({"predictions": [{"dot_product": x}, ...]}), application/jsonlines
//     and, as our extension, text/csv (one score a line). ResponseFormat
//     carries SageMaker's Accept parameter verbose=True (entity_embedding
//     and ip_embedding) and our opt-in seen=True (entity_seen),
//     percentile=True and explain=True (JSON and JSONLines; their members,
//     which package alert encodes, go in Prediction.Extra): without them a
//     response has exactly SageMaker's fields. ResponseAppender writes the
//     same bodies a few predictions at a time, for servers that bound the
//     size of a response while building it.
//   - Reading responses back: ResponseReader (and DecodeResponse) parses
//     SageMaker's responses, verbose or not, and batch transform output
//     (.out) files, to compare SageMaker's scores with ours.
//   - Headers: ParseContentType maps a Content-Type to a Format (else
//     ErrUnsupportedMediaType, HTTP 415); ParseAccept chooses the
//     ResponseFormat for an Accept header (else ErrNotAcceptable, HTTP 406).
package inference
