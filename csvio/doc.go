// Package csvio reads (entity, IP address) rows in SageMaker IP Insights'
// text/csv format, streaming, from files or any io.Reader, and writes CSV
// fields that it reads back the same (AppendField). The inference wire
// formats (request and response bodies, media types) are package inference.
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
package csvio
