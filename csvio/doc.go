// Package csvio reads (entity, IP address) rows in SageMaker IP Insights'
// text/csv format, and reads and writes the wire formats of SageMaker IP
// Insights inference.
//
// # Training and scoring files
//
// A Reader reads rows with no header, the entity in the first column and an
// IPv4 or IPv6 address in the second, optionally followed by more columns.
// It streams from any io.Reader, or from a file by name (gzip compressed
// files are recognised by their content, not their name). It tolerates a
// space after the comma, CRLF line ends, a UTF-8 byte order mark and RFC
// 4180 quoted fields, and it never allocates per row. A malformed row is an
// error of type *ParseError naming the file, the line and the reason; in
// lenient mode such rows are skipped instead and counted per reason.
//
// # Inference formats
//
// The formats of SageMaker's IP Insights endpoints and batch transform jobs
// are usable without a server, for Go programs that score in-process or
// talk to SageMaker:
//
//   - Requests: RequestDecoder (and DecodeRequest) reads text/csv,
//     application/json ({"instances": [...]} holding {"features": [entity,
//     ip]} and {"data": {"features": {"values": [entity, ip]}}} instances,
//     mixed) and application/jsonlines bodies without allocating per record;
//     errors are *RequestError values naming the record (JSON instance index
//     or line) and the reason. AppendRequest writes request bodies.
//   - Responses: AppendResponse writes application/json
//     ({"predictions": [{"dot_product": x}, ...]}), application/jsonlines
//     and, as our extension, text/csv (one score a line). ResponseFormat
//     carries SageMaker's Accept parameter verbose=True (entity_embedding
//     and ip_embedding) and our opt-in seen=True (entity_seen): without it a
//     response has exactly SageMaker's fields. ResponseAppender writes the
//     same bodies a few predictions at a time, for servers that bound the
//     size of a response while building it.
//   - Reading responses back: ResponseReader (and DecodeResponse) parses
//     SageMaker's responses, verbose or not, and batch transform output
//     (.out) files, to compare SageMaker's scores with ours.
//   - Headers: ParseContentType maps a Content-Type to a Format (else
//     ErrUnsupportedMediaType, HTTP 415); ParseAccept chooses the
//     ResponseFormat for an Accept header (else ErrNotAcceptable, HTTP 406).
package csvio
