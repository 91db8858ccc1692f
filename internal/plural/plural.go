// Package plural writes counts with their noun in the right number, so
// that messages say "1 row" and "2 rows", not "1 rows".
package plural

import "strconv"

// Count returns n followed by one when n is 1 (or -1) and by many
// otherwise: Count(1, "row", "rows") is "1 row", Count(0, "row", "rows")
// "0 rows".
func Count(n int, one, many string) string {
	return strconv.Itoa(n) + " " + Noun(n, one, many)
}

// Noun returns one when n is 1 (or -1) and many otherwise, for messages
// that put words between the count and its noun.
func Noun(n int, one, many string) string {
	if n == 1 || n == -1 {
		return one
	}
	return many
}
