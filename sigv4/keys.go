package sigv4

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Key is an AWS access key: the ID that a request names in its
// Authorization header and the secret that signs it.
type Key struct {
	AccessKeyID     string
	SecretAccessKey string
}

// String returns the access key ID; the secret is never printed.
func (k Key) String() string { return k.AccessKeyID }

// ErrNoKeys is returned by ParseKeys for a text that holds no key.
var ErrNoKeys = errors.New("sigv4: no access keys")

// ParseKeys reads access keys from text of one key a line: the access key
// ID and the secret access key, separated by spaces or tabs. Blank lines
// are skipped, and a field that starts with '#' starts a comment that runs
// to the end of the line. A line of another shape, an access key ID that
// can not appear in an Authorization header, or the same ID twice is an
// error that names the line (but never a secret); so is a text without a
// key (ErrNoKeys).
func ParseKeys(r io.Reader) ([]Key, error) {
	var keys []Key
	seen := map[string]int{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		fields := strings.Fields(sc.Text())
		for i, f := range fields {
			if strings.HasPrefix(f, "#") {
				fields = fields[:i]
				break
			}
		}
		switch len(fields) {
		case 0:
			continue
		case 2:
		default:
			return nil, fmt.Errorf("sigv4: line %d: %d fields: want ACCESS_KEY_ID SECRET_ACCESS_KEY", n, len(fields))
		}
		id := fields[0]
		if err := checkKeyID(id); err != nil {
			return nil, fmt.Errorf("sigv4: line %d: %w", n, err)
		}
		if first, dup := seen[id]; dup {
			return nil, fmt.Errorf("sigv4: line %d: access key ID %s already on line %d", n, id, first)
		}
		seen[id] = n
		keys = append(keys, Key{AccessKeyID: id, SecretAccessKey: fields[1]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("sigv4: %w", err)
	}
	if len(keys) == 0 {
		return nil, ErrNoKeys
	}
	return keys, nil
}

// checkKeyID reports whether id can be named in a credential scope:
// printable ASCII without '/', ',' or '=' (the separators of the
// Authorization header), at most 128 characters (AWS's own bound).
func checkKeyID(id string) error {
	// The field is not quoted in the error: with the columns swapped it
	// would be a secret.
	if len(id) > 128 {
		return fmt.Errorf("the access key ID has %d characters: want at most 128", len(id))
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f || c == '/' || c == ',' || c == '=' {
			return errors.New("the first field is not an access key ID (it has a character other than letters and digits): ACCESS_KEY_ID comes first")
		}
	}
	return nil
}
