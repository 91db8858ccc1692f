package sagemaker

import (
	"fmt"
	"path"
	"strings"
)

// S3URI is an S3 location, s3://Bucket/Key. Key may be a prefix.
type S3URI struct {
	Bucket, Key string
}

// ParseS3URI parses s3://bucket/key.
func ParseS3URI(s string) (S3URI, error) {
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		return S3URI{}, fmt.Errorf("sagemaker: %q is not an s3:// URI", s)
	}
	bucket, key, _ := strings.Cut(rest, "/")
	if bucket == "" {
		return S3URI{}, fmt.Errorf("sagemaker: %q has no bucket", s)
	}
	return S3URI{Bucket: bucket, Key: key}, nil
}

// String returns s3://Bucket/Key.
func (u S3URI) String() string { return "s3://" + u.Bucket + "/" + u.Key }

// Join returns u with elem appended to its key, separated by slashes.
func (u S3URI) Join(elem ...string) S3URI {
	if len(elem) == 0 {
		return u
	}
	parts := append([]string{u.Key}, elem...)
	k := path.Join(parts...)
	if strings.HasSuffix(elem[len(elem)-1], "/") {
		k += "/"
	}
	u.Key = strings.TrimPrefix(k, "/")
	return u
}
