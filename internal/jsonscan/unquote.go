package jsonscan

import (
	"unicode/utf16"
	"unicode/utf8"
)

// AppendUnquote appends to dst the value of a string whose raw contents
// (between the quotes) are raw, as Str or Key returned them, and returns
// the extended slice. It decodes as encoding/json does: an escaped lone
// surrogate, or a byte of invalid UTF-8, becomes U+FFFD. Contents that no
// Scanner accepted give an unspecified result, but no panic.
func AppendUnquote(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		// Copy the run of bytes that stand for themselves.
		j := i
		for j < len(raw) && raw[j] != '\\' && raw[j] < utf8.RuneSelf {
			j++
		}
		dst = append(dst, raw[i:j]...)
		i = j
		if i == len(raw) {
			break
		}
		if c := raw[i]; c >= utf8.RuneSelf {
			r, n := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && n == 1 {
				dst = utf8.AppendRune(dst, utf8.RuneError)
			} else {
				dst = append(dst, raw[i:i+n]...)
			}
			i += n
			continue
		}
		if i+1 >= len(raw) { // a lone backslash: not from a Scanner
			dst = append(dst, '\\')
			break
		}
		e := raw[i+1]
		i += 2
		switch e {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(raw, i)
			if !ok {
				dst = append(dst, '\\', 'u')
				continue
			}
			i += 4
			if utf16.IsSurrogate(r) {
				// A pair decodes to one rune; a lone surrogate, or one
				// followed by an escape that does not pair with it, is
				// U+FFFD (and the escape after it is decoded on its own).
				if i+1 < len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					if r2, ok := hex4(raw, i+2); ok {
						if p := utf16.DecodeRune(r, r2); p != utf8.RuneError {
							dst = utf8.AppendRune(dst, p)
							i += 6
							continue
						}
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
		default: // '"', '\\', '/'
			dst = append(dst, e)
		}
	}
	return dst
}

// hex4 decodes the four hex digits at b[i:].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		v, ok := unhex(c)
		if !ok {
			return 0, false
		}
		r = r<<4 | v
	}
	return r, true
}
