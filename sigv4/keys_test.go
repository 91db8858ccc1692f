package sigv4

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseKeys(t *testing.T) {
	keys, err := ParseKeys(strings.NewReader(`# keys of the local endpoint
AKIDEXAMPLE  wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY

	AKID2	secret2   # the batch job's key
  # indented comment
`))
	require.NoError(t, err)
	assert.Equal(t, []Key{
		{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"},
		{AccessKeyID: "AKID2", SecretAccessKey: "secret2"},
	}, keys)
	assert.Equal(t, "AKID2", keys[1].String(), "a Key prints as its ID, never its secret")
}

func TestParseKeysErrors(t *testing.T) {
	const secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	for _, tc := range []struct{ text, want string }{
		{"AKID1 s1\nAKID2\n", "sigv4: line 2: 1 fields: want ACCESS_KEY_ID SECRET_ACCESS_KEY"},
		{"AKID1 s1 extra\n", "sigv4: line 1: 3 fields"},
		{"AKID1 s1\n\nAKID1 s2\n", "sigv4: line 3: access key ID AKID1 already on line 1"},
		{secret + " AKIDEXAMPLE\n", "sigv4: line 1: the first field is not an access key ID"},
		{strings.Repeat("A", 129) + " s\n", "sigv4: line 1: the access key ID has 129 characters"},
		{"AKID=1 s\n", "sigv4: line 1: the first field is not an access key ID"},
	} {
		_, err := ParseKeys(strings.NewReader(tc.text))
		require.Error(t, err, tc.text)
		assert.Contains(t, err.Error(), tc.want)
		assert.NotContains(t, err.Error(), secret, "an error never quotes a secret")
		assert.NotContains(t, err.Error(), "\n", "one line")
	}
	for _, text := range []string{"", "\n\n", "# only a comment\n"} {
		_, err := ParseKeys(strings.NewReader(text))
		assert.True(t, errors.Is(err, ErrNoKeys), "%q: %v", text, err)
	}
}
