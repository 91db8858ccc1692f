package awslogs

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newFakeS3 starts an in-process S3 server and returns a client of it.
func newFakeS3(t *testing.T) *s3.Client {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	return s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		UsePathStyle: true,
		// gofakes3 sends no checksums; do not log about it.
		DisableLogOutputChecksumValidationSkipped: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	})
}

func put(t *testing.T, c *s3.Client, bucket, key string, data []byte) {
	t.Helper()
	_, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data)})
	require.NoError(t, err)
}

func gz(t *testing.T, data []byte) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data)
	require.NoError(t, zw.Close())
	return b.Bytes()
}

func TestS3Inputs(t *testing.T) {
	c := newFakeS3(t)
	ctx := context.Background()
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("trail")})
	require.NoError(t, err)
	ids, err := os.ReadFile("testdata/cloudtrail_identities.json")
	require.NoError(t, err)
	base := "AWSLogs/123456789012/CloudTrail/us-east-1/2024/03/01/"
	put(t, c, "trail", base+"123456789012_CloudTrail_us-east-1_20240301T1000Z_a.json.gz", gz(t, ids))
	put(t, c, "trail", base+"123456789012_CloudTrail_us-east-1_20240301T1005Z_b.json.gz", gz(t, []byte(`{"Records":[`+ctRecord("x", "t", "s3", true, "192.0.2.99")+`]}`)))
	put(t, c, "trail", base+"123456789012_CloudTrail_us-east-1_20240301T1010Z_c.json.gz", gz(t, ids[:len(ids)/3])) // truncated
	put(t, c, "trail", "AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2024/03/01/d.json.gz", gz(t, []byte(`{}`)))
	put(t, c, "trail", "AWSLogs/123456789012/CloudTrail/notes.txt", []byte("x"))

	var col collect
	rep, err := ExtractCloudTrail(ctx, []string{"s3://trail/AWSLogs/"}, &col, &Options{S3: c, Workers: 2})
	require.NoError(t, err)
	assert.Equal(t, 3, rep.Inputs)
	assert.Len(t, rep.Ignored, 2, "the digest and the text file")
	require.Len(t, rep.Errors, 1)
	assert.Contains(t, rep.Errors[0].Error(), "s3://trail/"+base+"123456789012_CloudTrail_us-east-1_20240301T1010Z_c.json.gz: record ")
	assert.Contains(t, rep.Errors[0].Error(), "unexpected EOF")
	rows := col.rows()
	require.Greater(t, len(rows), 13)
	assert.Equal(t, "AIDAJ45Q7YFFAREXAMPLE,192.0.2.10", rows[0])
	assert.Equal(t, "AIDAS3,192.0.2.99", rows[12], "the second object follows the first's 12 tuples")

	// One object by its full key.
	col = collect{}
	rep, err = ExtractCloudTrail(ctx, []string{"s3://trail/" + base + "123456789012_CloudTrail_us-east-1_20240301T1005Z_b.json.gz"}, &col, &Options{S3: c})
	require.NoError(t, err)
	assert.Equal(t, []string{"AIDAS3,192.0.2.99"}, col.rows())

	// GuardDuty from S3 too.
	f, err := os.ReadFile("testdata/guardduty_eventbridge.jsonl")
	require.NoError(t, err)
	put(t, c, "trail", "AWSLogs/123456789012/GuardDuty/us-east-1/2024/03/05/x.jsonl.gz", gz(t, f))
	col = collect{}
	rep, err = ExtractGuardDuty(ctx, []string{"s3://trail/AWSLogs/123456789012/GuardDuty/"}, &col, &Options{S3: c})
	require.NoError(t, err)
	assert.False(t, rep.Failed(), rep.String())
	assert.Len(t, col.tuples, 3)

	// A missing bucket and a missing client are per-input errors.
	rep, err = ExtractCloudTrail(ctx, []string{"s3://nope/x", "testdata/cloudtrail_identities.json"}, &col, &Options{S3: c})
	require.NoError(t, err)
	require.Len(t, rep.Errors, 1)
	assert.Contains(t, rep.Errors[0].Error(), "s3://nope/x: list:")
	assert.Equal(t, 12, rep.Tuples)
	rep, err = ExtractCloudTrail(ctx, []string{"s3://trail/"}, &col, nil)
	require.NoError(t, err)
	require.Len(t, rep.Errors, 1)
	assert.Contains(t, rep.Errors[0].Error(), "no S3 client")
}
