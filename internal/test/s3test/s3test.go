// Package s3test starts an in-process S3 server (gofakes3) for tests and
// returns a client of it. Only tests import it.
package s3test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Server is an in-memory S3 server on the loopback interface.
type Server struct {
	URL    string
	Client *s3.Client
	t      testing.TB
}

// New starts a server, stopped when the test ends, and makes a path-style
// client of it with static credentials.
func New(t testing.TB) *Server {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	c := s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		UsePathStyle: true,
		// gofakes3 sends no checksums; do not log about it.
		DisableLogOutputChecksumValidationSkipped: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	})
	return &Server{URL: srv.URL, Client: c, t: t}
}

// Bucket creates a bucket.
func (s *Server) Bucket(name string) {
	s.t.Helper()
	if _, err := s.Client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		s.t.Fatal(err)
	}
}

// Put stores an object.
func (s *Server) Put(bucket, key string, data []byte) {
	s.t.Helper()
	_, err := s.Client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data)})
	if err != nil {
		s.t.Fatal(err)
	}
}
