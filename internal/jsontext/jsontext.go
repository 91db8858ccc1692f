// Package jsontext appends JSON text (strings, numbers) to byte slices
// without allocating: the writing half of hand-written JSON encoders.
package jsontext

import (
	"math"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

const hex = "0123456789abcdef"

// AppendString appends s as a JSON string, as encoding/json writes it but
// for <, > and &, which it leaves as they are: \n, \r and \t and the other
// control characters escaped, each byte of invalid UTF-8 written \ufffd,
// and U+2028 and U+2029 escaped, so that the text is also valid
// JavaScript.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			dst = append(dst, s[i:i+n]...)
		}
		i += n
	}
	return append(dst, '"')
}

// AppendBytes appends b as a JSON string, as AppendString does.
func AppendBytes(dst, b []byte) []byte {
	return AppendString(dst, unsafe.String(unsafe.SliceData(b), len(b))) // read only, during the call
}

// AppendFloat appends x as a JSON number: the shortest decimal that reads
// back as the same float of bitSize bits (32 or 64), or null when x is NaN
// or infinite, which JSON can not hold.
func AppendFloat(dst []byte, x float64, bitSize int) []byte {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return append(dst, "null"...)
	}
	if bitSize == 32 && (math.Abs(x) > math.MaxFloat32) {
		return append(dst, "null"...) // infinite as a float32
	}
	return strconv.AppendFloat(dst, x, 'g', -1, bitSize)
}
