package csvio

// AppendField appends f as one CSV field: as it is when Reader reads it
// back the same, otherwise quoted, with its quotes doubled. That is when it
// holds a comma, a quote or a line break, starts or ends with a space or a
// tab (Reader trims those around unquoted fields), or starts with a UTF-8
// byte order mark (Reader drops one at the start of the input).
func AppendField[T ~string | ~[]byte](dst []byte, f T) []byte {
	if !fieldNeedsQuotes(f) {
		return append(dst, f...)
	}
	dst = append(dst, '"')
	for i := 0; i < len(f); i++ {
		if f[i] == '"' {
			dst = append(dst, '"')
		}
		dst = append(dst, f[i])
	}
	return append(dst, '"')
}

func fieldNeedsQuotes[T ~string | ~[]byte](f T) bool {
	n := len(f)
	if n == 0 {
		return false
	}
	if f[0] == ' ' || f[0] == '\t' || f[n-1] == ' ' || f[n-1] == '\t' {
		return true
	}
	if n >= 3 && f[0] == 0xef && f[1] == 0xbb && f[2] == 0xbf {
		return true
	}
	for i := 0; i < n; i++ {
		switch f[i] {
		case ',', '"', '\r', '\n':
			return true
		}
	}
	return false
}
