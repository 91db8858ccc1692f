package sagemaker

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestImageURI(t *testing.T) {
	// Registries as in DESIGN.md and the SageMaker Python SDK's
	// image_uri_config/ipinsights.json.
	for region, want := range map[string]string{
		"us-east-1":      "382416733822.dkr.ecr.us-east-1.amazonaws.com/ipinsights:1",
		"us-west-2":      "174872318107.dkr.ecr.us-west-2.amazonaws.com/ipinsights:1",
		"eu-central-1":   "664544806723.dkr.ecr.eu-central-1.amazonaws.com/ipinsights:1",
		"ap-northeast-1": "351501993468.dkr.ecr.ap-northeast-1.amazonaws.com/ipinsights:1",
		"cn-north-1":     "390948362332.dkr.ecr.cn-north-1.amazonaws.com.cn/ipinsights:1",
		"us-iso-east-1":  "490574956308.dkr.ecr.us-iso-east-1.c2s.ic.gov/ipinsights:1",
	} {
		got, err := ImageURI(region)
		require.NoError(t, err, region)
		assert.Equal(t, want, got)
	}
	_, err := ImageURI("xx-nowhere-1")
	assert.ErrorContains(t, err, `region "xx-nowhere-1"`)
	assert.Len(t, Regions(), 37)
}

func TestS3URI(t *testing.T) {
	u, err := ParseS3URI("s3://bucket/a/b/")
	require.NoError(t, err)
	assert.Equal(t, S3URI{Bucket: "bucket", Key: "a/b/"}, u)
	assert.Equal(t, "s3://bucket/a/b/c/", u.Join("c/").String())
	assert.Equal(t, "s3://bucket/x.csv", S3URI{Bucket: "bucket"}.Join("x.csv").String())
	_, err = ParseS3URI("https://bucket/a")
	assert.Error(t, err)
	_, err = ParseS3URI("s3:///a")
	assert.Error(t, err)
}

func TestAppendRowQuotesWhatCSVNeeds(t *testing.T) {
	a := mustAddr("10.0.0.1")
	assert.Equal(t, "alice,10.0.0.1\n", string(appendRow(nil, []byte("alice"), a)))
	assert.Equal(t, "\"a,b\",10.0.0.1\n", string(appendRow(nil, []byte("a,b"), a)))
	assert.Equal(t, "\"say \"\"hi\"\"\",10.0.0.1\n", string(appendRow(nil, []byte(`say "hi"`), a)))
	assert.Equal(t, "\"\tx\",10.0.0.1\n", string(appendRow(nil, []byte("\tx"), a)), "a tab the reader would trim")
}

func TestNewJobNameIsValid(t *testing.T) {
	for _, k := range []string{"train", "model", "transform"} {
		n := NewJobName(k)
		assert.Regexp(t, NamePattern, n)
		assert.LessOrEqual(t, len(n), 63)
	}
	assert.NotEqual(t, NewJobName("x"), NewJobName("x"))
}
