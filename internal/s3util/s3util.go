// Package s3util holds the few S3 calls that the SageMaker delegate and its
// emulator share: listing a prefix, reading and writing objects.
package s3util

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// API is the part of the S3 API used here; *s3.Client satisfies it.
type API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// URI renders s3://bucket/key.
func URI(bucket, key string) string { return "s3://" + bucket + "/" + key }

// List returns the keys under prefix in S3's (lexicographic) order,
// skipping "directory" placeholder keys that end in a slash.
func List(ctx context.Context, c API, bucket, prefix string) ([]string, error) {
	var keys []string
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", URI(bucket, prefix), err)
		}
		for _, o := range out.Contents {
			if k := aws.ToString(o.Key); !strings.HasSuffix(k, "/") {
				keys = append(keys, k)
			}
		}
	}
	return keys, nil
}

// Open opens an object for reading; the caller closes it.
func Open(ctx context.Context, c API, bucket, key string) (io.ReadCloser, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", URI(bucket, key), err)
	}
	return out.Body, nil
}

// PutFile uploads the file at name.
func PutFile(ctx context.Context, c API, name, bucket, key, contentType string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	return put(ctx, c, f, fi.Size(), bucket, key, contentType)
}

// PutBytes uploads b.
func PutBytes(ctx context.Context, c API, b []byte, bucket, key, contentType string) error {
	return put(ctx, c, bytes.NewReader(b), int64(len(b)), bucket, key, contentType)
}

func put(ctx context.Context, c API, body io.ReadSeeker, size int64, bucket, key, contentType string) error {
	_, err := c.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(bucket),
		Key:           aws.String(key),
		Body:          body,
		ContentLength: aws.Int64(size),
		ContentType:   aws.String(contentType),
	})
	if err != nil {
		return fmt.Errorf("upload %s: %w", URI(bucket, key), err)
	}
	return nil
}
