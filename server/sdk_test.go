package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/ipinsights/ipinsights-go/inference"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sdkClient returns the real SageMaker Runtime client of the AWS SDK for Go
// v2, pointed at url with fake static credentials, without retries.
func sdkClient(url string) *sagemakerruntime.Client {
	return sagemakerruntime.New(sagemakerruntime.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "fake-secret", Source: "test"}, nil
		}),
		RetryMaxAttempts: 1,
	})
}

func invoke(c *sagemakerruntime.Client, contentType, accept string, body []byte) (*sagemakerruntime.InvokeEndpointOutput, error) {
	in := &sagemakerruntime.InvokeEndpointInput{
		EndpointName: aws.String("ipinsights-local"),
		ContentType:  aws.String(contentType),
		Body:         body,
	}
	if accept != "" {
		in.Accept = aws.String(accept)
	}
	return c.InvokeEndpoint(context.Background(), in)
}

// keysOf returns the sorted member names of each prediction of a JSON or
// JSONLines response, read generically, to check that a response has
// exactly SageMaker's fields.
func keysOf(t *testing.T, f inference.Format, body []byte) []string {
	t.Helper()
	var preds []map[string]any
	if f == inference.JSON {
		var env map[string][]map[string]any
		require.NoError(t, json.Unmarshal(body, &env))
		require.Len(t, env, 1, "only a predictions member")
		preds = env["predictions"]
	} else {
		for _, line := range bytes.Split(bytes.TrimSpace(body), []byte("\n")) {
			var p map[string]any
			require.NoError(t, json.Unmarshal(line, &p))
			preds = append(preds, p)
		}
	}
	var keys []string
	for _, p := range preds {
		var k []string
		for name := range p {
			k = append(k, name)
		}
		sort.Strings(k)
		keys = append(keys, strings.Join(k, ","))
	}
	return slices.Compact(keys)
}

func TestSDKEveryContentTypeAndAccept(t *testing.T) {
	m, _, recs := models(t)
	_, ts := newServer(t, m, Options{})
	c := sdkClient(ts.URL)
	for _, reqFormat := range []inference.Format{inference.CSV, inference.JSON, inference.JSONLines} {
		body, err := inference.AppendRequest(nil, reqFormat, recs)
		require.NoError(t, err)
		for _, tc := range []struct {
			accept string
			want   inference.ResponseFormat
			keys   string // members of each prediction; "" for CSV
		}{
			{"", inference.ResponseFormat{Format: inference.JSON}, "dot_product"},
			{"*/*", inference.ResponseFormat{Format: inference.JSON}, "dot_product"},
			{"application/json", inference.ResponseFormat{Format: inference.JSON}, "dot_product"},
			{"application/jsonlines", inference.ResponseFormat{Format: inference.JSONLines}, "dot_product"},
			{"application/json; verbose=True", inference.ResponseFormat{Format: inference.JSON, Verbose: true}, "dot_product,entity_embedding,ip_embedding"},
			{"application/json;verbose=true", inference.ResponseFormat{Format: inference.JSON, Verbose: true}, "dot_product,entity_embedding,ip_embedding"},
			{"application/jsonlines;Verbose=TRUE", inference.ResponseFormat{Format: inference.JSONLines, Verbose: true}, "dot_product,entity_embedding,ip_embedding"},
			{"application/json;seen=True", inference.ResponseFormat{Format: inference.JSON, Seen: true}, "dot_product,entity_seen"},
			{"application/jsonlines; verbose=True; seen=True", inference.ResponseFormat{Format: inference.JSONLines, Verbose: true, Seen: true}, "dot_product,entity_embedding,entity_seen,ip_embedding"},
			{"text/csv", inference.ResponseFormat{Format: inference.CSV}, ""},
			{"text/csv;seen=True", inference.ResponseFormat{Format: inference.CSV, Seen: true}, ""},
			{"application/xml, application/jsonlines;q=0.9", inference.ResponseFormat{Format: inference.JSONLines}, "dot_product"},
		} {
			name := reqFormat.MediaType() + " -> " + tc.accept
			out, err := invoke(c, reqFormat.MediaType(), tc.accept, body)
			require.NoError(t, err, name)
			assert.Equal(t, tc.want.Format.MediaType(), aws.ToString(out.ContentType), name)
			got, err := inference.DecodeResponse(tc.want.Format, out.Body)
			require.NoError(t, err, name)
			want := wantPredictions(m, recs, tc.want)
			assert.Equal(t, want, got, name)
			if tc.keys != "" {
				assert.Equal(t, []string{tc.keys}, keysOf(t, tc.want.Format, out.Body), name)
			} else {
				assert.Equal(t, len(recs), bytes.Count(out.Body, []byte("\n")), name)
			}
		}
	}
	// The seen flag tells the trained entities from the stranger.
	out, err := invoke(c, "text/csv", "application/json;seen=True", csvBody(t, recs))
	require.NoError(t, err)
	got, err := inference.DecodeResponse(inference.JSON, out.Body)
	require.NoError(t, err)
	assert.True(t, got[0].EntitySeen)
	assert.False(t, got[3].EntitySeen, "the entity never seen in training")
}

func TestSDKSageMakerDocumentBody(t *testing.T) {
	// The JSON example of SageMaker's documentation, both instance forms
	// mixed, with Python's json.dumps spacing.
	m, _, _ := models(t)
	_, ts := newServer(t, m, Options{})
	body := `{"instances": [{"data": {"features": {"values": ["user-001", "10.1.2.3"]}}}, {"features": ["user-002", "10.10.1.2"]}]}`
	out, err := invoke(sdkClient(ts.URL), "application/json", "application/json", []byte(body))
	require.NoError(t, err)
	recs, err := inference.DecodeRequest(inference.JSON, []byte(body))
	require.NoError(t, err)
	got, err := inference.DecodeResponse(inference.JSON, out.Body)
	require.NoError(t, err)
	assert.Equal(t, wantPredictions(m, recs, inference.ResponseFormat{}), got)
}

func TestSDKErrors(t *testing.T) {
	m, _, recs := models(t)
	_, ts := newServer(t, m, Options{MaxPayloadBytes: 1 << 16})
	c := sdkClient(ts.URL)
	big := bytes.Repeat([]byte("user-001,10.0.0.1\n"), (1<<16)/18+1)
	require.Greater(t, len(big), 1<<16)
	for _, tc := range []struct {
		name, contentType, accept string
		body                      []byte
		status                    int
		code, msg                 string
	}{
		{"unsupported content type", "application/xml", "", []byte("<x/>"), 415, "UnsupportedMediaType", `unsupported Content-Type "application/xml"`},
		{"recordio", "application/x-recordio-protobuf", "", []byte{1, 2, 3}, 415, "UnsupportedMediaType", "supported are text/csv, application/json and application/jsonlines"},
		{"unsupported accept", "text/csv", "application/xml", csvBody(t, recs), 406, "NotAcceptable", `no acceptable response type in Accept "application/xml"`},
		{"verbose csv", "text/csv", "text/csv;verbose=True", csvBody(t, recs), 406, "NotAcceptable", "verbose=True needs application/json or application/jsonlines"},
		{"bad verbose value", "text/csv", "application/json;verbose=yes", csvBody(t, recs), 406, "NotAcceptable", `verbose must be True or False, got "yes"`},
		{"csv bad address", "text/csv", "", []byte("a,10.0.0.1\nb,10.0.0\n"), 400, "ValidationError", `text/csv: line 2: unparsable IP address: "10.0.0"`},
		{"csv header", "text/csv", "", []byte("entity,ip\na,10.0.0.1\n"), 400, "ValidationError", "a header row?"},
		{"json bad shape", "application/json", "", []byte(`{"instances":[{"features":["a","10.0.0.1"]},{"features":["b"]}]}`), 400, "ValidationError", "application/json: instances[1] (line 1): wrong number of fields: features: got 1 values, want 2 (entity, ip)"},
		{"json malformed", "application/json", "", []byte(`{"instances":[`), 400, "ValidationError", "malformed JSON"},
		{"jsonlines bad line", "application/jsonlines", "", []byte("{\"features\":[\"a\",\"10.0.0.1\"]}\n{\"features\":[\"a\",\"x\"]}\n"), 400, "ValidationError", `application/jsonlines: line 2: unparsable IP address: features[1]: "x"`},
		{"empty body", "text/csv", "", []byte("  \n"), 400, "ValidationError", "empty request body"},
		{"too large", "text/csv", "", big, 413, "PayloadTooLarge", "larger than the 65536-byte limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := invoke(c, tc.contentType, tc.accept, tc.body)
			require.Error(t, err)
			var re *awshttp.ResponseError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, tc.status, re.HTTPStatusCode())
			var ae smithy.APIError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tc.code, ae.ErrorCode())
			assert.Contains(t, ae.ErrorMessage(), tc.msg)
			if tc.status == 400 {
				var ve *types.ValidationError
				assert.ErrorAs(t, err, &ve, "a 400 is SageMaker's ValidationError")
			}
		})
	}

	// No model yet: 503, the SDK's ServiceUnavailable.
	_, ts = newServer(t, nil, Options{})
	_, err := invoke(sdkClient(ts.URL), "text/csv", "", csvBody(t, recs))
	var re *awshttp.ResponseError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 503, re.HTTPStatusCode())
	var su *types.ServiceUnavailable
	assert.True(t, errors.As(err, &su), "got %T: %v", err, err)
}
