package sagemaker

import (
	"context"
	"errors"
	"fmt"

	"github.com/ipinsights/ipinsights-go/inference"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"

	"github.com/ipinsights/ipinsights-go/csvio"
)

// RuntimeAPI is the part of the SageMaker Runtime API that Endpoint calls;
// a *sagemakerruntime.Client satisfies it.
type RuntimeAPI interface {
	InvokeEndpoint(ctx context.Context, in *sagemakerruntime.InvokeEndpointInput, optFns ...func(*sagemakerruntime.Options)) (*sagemakerruntime.InvokeEndpointOutput, error)
}

var _ RuntimeAPI = (*sagemakerruntime.Client)(nil)

// Endpoint scores rows on an IP Insights endpoint that already exists, for
// users who run one: it creates nothing (each request is billed as an
// invocation of the endpoint).
type Endpoint struct {
	API  RuntimeAPI
	Name string
	// BatchRows bounds the rows of one request; zero means 1000. Requests
	// also stay under BatchBytes (zero: 5 MB, below the 6 MB payload limit
	// of InvokeEndpoint).
	BatchRows, BatchBytes int
}

// ScoreFile sends the entity,ip rows of a local CSV file (further columns
// are not sent) as text/csv requests with Accept application/jsonlines and
// returns the endpoint's dot products in row order. The file is checked as
// for a transform (well-formed, IPv4 only) while it is sent.
func (e *Endpoint) ScoreFile(ctx context.Context, in RowsFile) ([]float64, error) {
	if e.Name == "" {
		return nil, errors.New("sagemaker: no endpoint name")
	}
	maxRows, maxBytes := e.BatchRows, e.BatchBytes
	if maxRows <= 0 {
		maxRows = 1000
	}
	if maxBytes <= 0 {
		maxBytes = 5 << 20
	}
	var scores []float64
	var body []byte
	rows, first := 0, 1
	flush := func() error {
		if rows == 0 {
			return nil
		}
		out, err := e.API.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{
			EndpointName: aws.String(e.Name),
			ContentType:  aws.String("text/csv"),
			Accept:       aws.String(TransformAccept),
			Body:         body,
		})
		if err != nil {
			return fmt.Errorf("sagemaker: endpoint %s, rows %d-%d: %w", e.Name, first, first+rows-1, err)
		}
		preds, err := inference.DecodeResponse(inference.JSONLines, out.Body)
		if err != nil {
			return fmt.Errorf("sagemaker: endpoint %s, rows %d-%d: %w", e.Name, first, first+rows-1, err)
		}
		if len(preds) != rows {
			return fmt.Errorf("sagemaker: endpoint %s answered %d predictions for rows %d-%d", e.Name, len(preds), first, first+rows-1)
		}
		for _, p := range preds {
			scores = append(scores, p.DotProduct)
		}
		first += rows
		rows, body = 0, body[:0]
		return nil
	}
	var line []byte
	_, err := eachRow(ctx, rowsData(in), func(r *csvio.Reader) error {
		line = appendRow(line[:0], r.Entity(), r.Addr())
		if rows == maxRows || (rows > 0 && len(body)+len(line) > maxBytes) {
			if err := flush(); err != nil {
				return err
			}
		}
		body = append(body, line...)
		rows++
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return nil, err
	}
	return scores, nil
}
