// Package awstest starts, for tests, an in-process S3 (package s3test) and
// the SageMaker emulator (package smemu) on loopback, and real
// aws-sdk-go-v2 clients pointed at them. Only tests import it.
package awstest

import (
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/ipinsights/ipinsights-go/internal/test/s3test"
	"github.com/ipinsights/ipinsights-go/internal/test/smemu"
)

// Region, Bucket and Role are what Start sets up.
const (
	Region = "us-east-1"
	Bucket = "ipinsights-test"
	Role   = "arn:aws:iam::123456789012:role/SageMakerRole"
)

// Env is a running fake AWS.
type Env struct {
	S3URL, SageMakerURL string
	Config              aws.Config // region and static credentials
	S3                  *s3.Client
	SageMaker           *sm.Client
	Emulator            *smemu.Server
}

// Config returns an aws.Config with the test region and static
// credentials, for clients of test servers.
func Config() aws.Config {
	return aws.Config{
		Region:      Region,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "SECRETTEST", ""),
	}
}

// Start starts gofakes3 (package s3test) with the bucket Bucket and the
// emulator with opts (opts.S3 is set to the fake S3). Everything stops
// when the test ends.
func Start(t testing.TB, opts smemu.Options) *Env {
	t.Helper()
	fake := s3test.New(t)
	fake.Bucket(Bucket)
	e := &Env{S3URL: fake.URL, Config: Config(), S3: fake.Client}
	opts.S3 = e.S3
	if opts.Region == "" {
		opts.Region = Region
	}
	e.Emulator = smemu.New(opts)
	api := httptest.NewServer(e.Emulator)
	t.Cleanup(func() {
		api.Close()
		e.Emulator.Close()
	})
	e.SageMakerURL = api.URL
	e.SageMaker = sm.NewFromConfig(e.Config, func(o *sm.Options) { o.BaseEndpoint = aws.String(api.URL) })
	return e
}
