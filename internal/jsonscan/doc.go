// Package jsonscan reads JSON text (RFC 8259) from a byte slice one value
// at a time, without allocating, for decoders that know the shape they
// want (the inference request decoder, the CloudTrail decoder): they walk
// objects and arrays with Open, More and Key, read the values they use with
// Str, Number, Bool and Null, and Skip the rest, which is still checked.
//
// A Scanner accepts exactly what encoding/json's Valid accepts, nesting
// included (MaxDepth is encoding/json's limit), unless RequireUTF8 is set,
// when it also rejects strings that are not UTF-8. Str returns a string's
// contents as a view of the data; AppendUnquote resolves escapes as
// encoding/json does.
//
// Errors are sticky, as for bufio.Scanner: the first one stops the scanner
// (every later call does nothing and More reports false) and Err returns
// it. It is a *SyntaxError for malformed JSON, with the offset at which it
// was found, or ErrNeedMore when the data ran out before the end of what
// was being read and the caller said that more may follow (Reset's final):
// a streaming caller then reads more input and scans again from a point it
// kept, such as the start of a record.
package jsonscan
