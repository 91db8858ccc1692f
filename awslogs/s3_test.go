package awslogs

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/internal/test/s3test"
)

func gzipped(t *testing.T, data []byte) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data)
	require.NoError(t, zw.Close())
	return b.Bytes()
}

func TestS3Inputs(t *testing.T) {
	srv := s3test.New(t)
	c := srv.Client
	ctx := context.Background()
	srv.Bucket("trail")
	ids, err := os.ReadFile("testdata/cloudtrail_identities.json")
	require.NoError(t, err)
	base := "AWSLogs/123456789012/CloudTrail/us-east-1/2024/03/01/"
	srv.Put("trail", base+"123456789012_CloudTrail_us-east-1_20240301T1000Z_a.json.gz", gzipped(t, ids))
	srv.Put("trail", base+"123456789012_CloudTrail_us-east-1_20240301T1005Z_b.json.gz", gzipped(t, []byte(`{"Records":[`+ctRecord("x", "t", "s3", true, "192.0.2.99")+`]}`)))
	srv.Put("trail", base+"123456789012_CloudTrail_us-east-1_20240301T1010Z_c.json.gz", gzipped(t, ids[:len(ids)/3])) // truncated
	srv.Put("trail", "AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2024/03/01/d.json.gz", gzipped(t, []byte(`{}`)))
	srv.Put("trail", "AWSLogs/123456789012/CloudTrail/notes.txt", []byte("x"))

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
	srv.Put("trail", "AWSLogs/123456789012/GuardDuty/us-east-1/2024/03/05/x.jsonl.gz", gzipped(t, f))
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
