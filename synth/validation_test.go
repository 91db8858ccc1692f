package synth_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/synth"
)

func TestValidationLabeled(t *testing.T) {
	l, err := synth.GenerateLogins(synth.LoginConfig{Users: 200, Seed: 4})
	require.NoError(t, err)
	v := l.ValidationLabeled()
	require.Len(t, v, 2*len(l.Validation))
	trainUsers := map[int32]bool{}
	for _, x := range l.Train {
		trainUsers[x.User] = true
	}
	test := map[synth.Login]bool{}
	for _, x := range l.Test {
		test[x] = true
	}
	attacks, inTest := 0, 0
	for _, x := range v {
		if x.Anomalous() {
			attacks++
			assert.True(t, trainUsers[x.User], "an attack on a training user")
			if test[x] {
				inTest++
			}
		}
	}
	assert.Equal(t, len(l.Validation), attacks)
	assert.LessOrEqual(t, inTest, 2, "the attacks are not the test's (a collision of user and address is possible but rare)")
	assert.Equal(t, v, l.ValidationLabeled(), "the same for a seed")

	var b bytes.Buffer
	require.NoError(t, synth.WriteLabeledCSV(&b, v[:2]))
	assert.Regexp(t, `^user_\d+,\d+\.\d+\.\d+\.\d+,[01],(home|work|travel|attack)\nuser_\d+,[^,]+,[01],\w+\n$`, b.String())
}
