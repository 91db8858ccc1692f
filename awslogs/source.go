package awslogs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3API is the part of the S3 client that reading s3:// inputs needs;
// *s3.Client implements it.
type S3API interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// source is one input to decode.
type source struct {
	name string
	open func(ctx context.Context) (io.ReadCloser, error)
}

// digestDir is the folder of CloudTrail's digest files (log file integrity
// validation), which hold no records.
const digestDir = "CloudTrail-Digest"

// wanted reports whether a file met while walking a directory or an S3
// prefix is to be read: JSON or JSON lines, gzip compressed or not, and not
// a CloudTrail digest file.
func wanted(path string) bool {
	if strings.Contains(path, digestDir) {
		return false
	}
	name := strings.ToLower(path)
	name = strings.TrimSuffix(name, ".gz")
	return strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".jsonl") || strings.HasSuffix(name, ".ndjson")
}

// expand turns the inputs into sources, in order: a directory becomes its
// wanted files in lexical order, an S3 prefix its wanted objects in key
// order. Inputs that do not exist or cannot be listed are reported.
func expand(ctx context.Context, inputs []string, opts *Options) ([]source, *Report) {
	rep := newReport()
	var srcs []source
	for _, in := range inputs {
		switch {
		case in == "-":
			srcs = append(srcs, stdinSource(opts.Stdin))
		case strings.HasPrefix(in, "s3://"):
			s, err := listS3(ctx, in, opts.S3, rep)
			if err != nil {
				rep.Inputs++
				rep.Errors = append(rep.Errors, &FileError{File: in, Err: err})
			}
			srcs = append(srcs, s...)
		default:
			s, err := walk(in, rep)
			if err != nil {
				rep.Inputs++
				rep.Errors = append(rep.Errors, &FileError{File: in, Err: err})
			}
			srcs = append(srcs, s...)
		}
	}
	return srcs, rep
}

func stdinSource(r io.Reader) source {
	return source{name: "-", open: func(context.Context) (io.ReadCloser, error) {
		if r == nil {
			return nil, errors.New("no standard input")
		}
		return io.NopCloser(r), nil
	}}
}

func fileSource(path string) source {
	return source{name: path, open: func(context.Context) (io.ReadCloser, error) { return os.Open(path) }}
}

// walk returns path itself when it is a file (whatever its name), or the
// wanted files under it when it is a directory.
func walk(path string, rep *Report) ([]source, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return []source{fileSource(path)}, nil
	}
	var srcs []source
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == digestDir {
				rep.Ignored = append(rep.Ignored, p+string(filepath.Separator))
				return filepath.SkipDir
			}
			return nil
		}
		if wanted(p) {
			srcs = append(srcs, fileSource(p))
		} else {
			rep.Ignored = append(rep.Ignored, p)
		}
		return nil
	})
	return srcs, err
}

// listS3 lists s3://bucket/prefix and returns its wanted objects.
func listS3(ctx context.Context, uri string, client S3API, rep *Report) ([]source, error) {
	bucket, prefix, _ := strings.Cut(strings.TrimPrefix(uri, "s3://"), "/")
	if bucket == "" {
		return nil, errors.New("no bucket name")
	}
	if client == nil {
		return nil, errors.New("no S3 client configured")
	}
	var srcs []source
	p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return srcs, fmt.Errorf("list: %w", err)
		}
		for _, obj := range page.Contents {
			key := aws.ToString(obj.Key)
			name := "s3://" + bucket + "/" + key
			if strings.HasSuffix(key, "/") {
				continue // a folder marker
			}
			if key != prefix && !wanted(key) {
				rep.Ignored = append(rep.Ignored, name)
				continue
			}
			srcs = append(srcs, source{name: name, open: func(ctx context.Context) (io.ReadCloser, error) {
				out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
				if err != nil {
					return nil, err
				}
				return out.Body, nil
			}})
		}
	}
	return srcs, nil
}
