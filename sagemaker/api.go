package sagemaker

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"
)

// API is the part of the SageMaker API that the delegate calls. A
// *sagemaker.Client from aws-sdk-go-v2 satisfies it; tests point one at an
// emulator through its BaseEndpoint.
type API interface {
	CreateTrainingJob(ctx context.Context, in *sm.CreateTrainingJobInput, optFns ...func(*sm.Options)) (*sm.CreateTrainingJobOutput, error)
	DescribeTrainingJob(ctx context.Context, in *sm.DescribeTrainingJobInput, optFns ...func(*sm.Options)) (*sm.DescribeTrainingJobOutput, error)
	StopTrainingJob(ctx context.Context, in *sm.StopTrainingJobInput, optFns ...func(*sm.Options)) (*sm.StopTrainingJobOutput, error)
	CreateModel(ctx context.Context, in *sm.CreateModelInput, optFns ...func(*sm.Options)) (*sm.CreateModelOutput, error)
	DeleteModel(ctx context.Context, in *sm.DeleteModelInput, optFns ...func(*sm.Options)) (*sm.DeleteModelOutput, error)
	CreateTransformJob(ctx context.Context, in *sm.CreateTransformJobInput, optFns ...func(*sm.Options)) (*sm.CreateTransformJobOutput, error)
	DescribeTransformJob(ctx context.Context, in *sm.DescribeTransformJobInput, optFns ...func(*sm.Options)) (*sm.DescribeTransformJobOutput, error)
	StopTransformJob(ctx context.Context, in *sm.StopTransformJobInput, optFns ...func(*sm.Options)) (*sm.StopTransformJobOutput, error)
}

// S3API is the part of the S3 API that the delegate calls: uploads of the
// input data and downloads of the results. A *s3.Client satisfies it.
type S3API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

var (
	_ API   = (*sm.Client)(nil)
	_ S3API = (*s3.Client)(nil)
)
