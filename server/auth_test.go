package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/inference"
	"github.com/ipinsights/ipinsights-go/sigv4"
)

// The key of sdkClient, which the servers of these tests know.
var sdkKey = sigv4.Key{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "fake-secret"}

func newVerifier(t testing.TB) *sigv4.Verifier {
	t.Helper()
	v, err := sigv4.NewVerifier([]sigv4.Key{sdkKey, {AccessKeyID: "AKIDBATCH", SecretAccessKey: "batch-secret"}},
		sigv4.Options{Region: "us-east-1", Service: "sagemaker"})
	require.NoError(t, err)
	return v
}

// sdkClientWith is sdkClient with other credentials.
func sdkClientWith(url, id, secret string) *sagemakerruntime.Client {
	return sagemakerruntime.New(sagemakerruntime.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, Source: "test"}, nil
		}),
		RetryMaxAttempts: 1,
	})
}

// signed returns a request signed with k at time at, as the SDK signs.
func signed(t *testing.T, method, url string, body []byte, k sigv4.Key, at time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "text/csv")
	}
	h := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey}
	require.NoError(t, v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(h[:]), "sagemaker", "us-east-1", at))
	return req
}

// The SDK's own client, with the server's keys, works unchanged; the
// request lines name the key.
func TestSigV4SDKClient(t *testing.T) {
	m, _, recs := models(t)
	var logs bytes.Buffer
	var mu sync.Mutex
	_, ts := newServer(t, m, Options{SigV4: newVerifier(t), Logger: slogTo(&mu, &logs)})
	c := sdkClient(ts.URL)
	for _, f := range []inference.Format{inference.CSV, inference.JSON, inference.JSONLines} {
		body, err := inference.AppendRequest(nil, f, recs)
		require.NoError(t, err)
		out, err := invoke(c, f.MediaType(), "application/json; verbose=True", body)
		require.NoError(t, err, f.MediaType())
		got, err := inference.DecodeResponse(inference.JSON, out.Body)
		require.NoError(t, err)
		assert.Equal(t, wantPredictions(m, recs, inference.ResponseFormat{Format: inference.JSON, Verbose: true}), got)
	}
	// The other key too.
	_, err := invoke(sdkClientWith(ts.URL, "AKIDBATCH", "batch-secret"), "text/csv", "", csvBody(t, recs))
	require.NoError(t, err)
	// A request's line is logged once its response is sent.
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(logs.String(), `"access_key_id":"AKIDEXAMPLE"`) && strings.Contains(logs.String(), `"access_key_id":"AKIDBATCH"`)
	}, 10*time.Second, time.Millisecond)
}

// Every other caller gets 403 with the error type AWS sends, which the
// SDK reads; nothing is scored.
func TestSigV4Refusals(t *testing.T) {
	m, _, recs := models(t)
	s, ts := newServer(t, m, Options{SigV4: newVerifier(t)})
	body := csvBody(t, recs)
	url := ts.URL + "/endpoints/local/invocations"
	for _, tc := range []struct {
		name string
		err  error // of the SDK client, when it sends the request
		req  *http.Request
		code string
		msg  string
	}{
		{name: "SDK, wrong secret", code: sigv4.InvalidSignature, msg: "does not match the signature you provided",
			err: func() error {
				_, err := invoke(sdkClientWith(ts.URL, "AKIDEXAMPLE", "guess"), "text/csv", "", body)
				return err
			}()},
		{name: "SDK, unknown key", code: sigv4.UnrecognizedClient, msg: "The security token included in the request is invalid.",
			err: func() error {
				_, err := invoke(sdkClientWith(ts.URL, "AKIDSTRANGER", "x"), "text/csv", "", body)
				return err
			}()},
		{name: "unsigned", req: func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
			r.Header.Set("Content-Type", "text/csv")
			return r
		}(), code: sigv4.MissingAuthenticationToken, msg: "Missing Authentication Token"},
		{name: "expired", req: signed(t, http.MethodPost, url, body, sdkKey, time.Now().Add(-16*time.Minute)), code: sigv4.InvalidSignature, msg: "Signature expired"},
		{name: "replayed an hour later", req: signed(t, http.MethodPost, url, body, sdkKey, time.Now().Add(-time.Hour)), code: sigv4.InvalidSignature, msg: "Signature expired"},
		{name: "from the future", req: signed(t, http.MethodPost, url, body, sdkKey, time.Now().Add(16*time.Minute)), code: sigv4.InvalidSignature, msg: "Signature not yet current"},
		{name: "body not the signed one", req: func() *http.Request {
			r := signed(t, http.MethodPost, url, body, sdkKey, time.Now())
			other := csvBody(t, recs[:1])
			r.Body, r.ContentLength = ioNopCloser(other), int64(len(other))
			return r
		}(), code: sigv4.InvalidSignature, msg: "does not match"},
		{name: "metrics, unsigned", req: func() *http.Request { r, _ := http.NewRequest(http.MethodGet, ts.URL+"/metrics", nil); return r }(), code: sigv4.MissingAuthenticationToken},
		{name: "unknown path, unsigned", req: func() *http.Request { r, _ := http.NewRequest(http.MethodGet, ts.URL+"/admin", nil); return r }(), code: sigv4.MissingAuthenticationToken},
		{name: "malformed", req: func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
			r.Header.Set("Authorization", "Basic dXNlcjpwYXNz")
			return r
		}(), code: sigv4.IncompleteSignature, msg: "algorithm 'Basic'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.req != nil {
				status, _, out := do(t, tc.req)
				assert.Equal(t, http.StatusForbidden, status)
				code, msg := errorBody(t, out)
				assert.Equal(t, tc.code, code)
				assert.Contains(t, msg, tc.msg)
				return
			}
			require.Error(t, tc.err)
			var re *awshttp.ResponseError
			require.ErrorAs(t, tc.err, &re)
			assert.Equal(t, http.StatusForbidden, re.HTTPStatusCode())
			var ae smithy.APIError
			require.ErrorAs(t, tc.err, &ae)
			assert.Equal(t, tc.code, ae.ErrorCode())
			assert.Contains(t, ae.ErrorMessage(), tc.msg)
		})
	}
	assert.Equal(t, uint64(0), s.metrics.rows.Load(), "nothing was scored")

	// /ping stays open; /metrics answers a signed request and counts the
	// refusals by code.
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/ping", nil)
	status, _, _ := do(t, req)
	assert.Equal(t, 200, status)
	status, _, out := do(t, signed(t, http.MethodGet, ts.URL+"/metrics", nil, sdkKey, time.Now()))
	require.Equal(t, 200, status, "%s", out)
	for code, want := range map[string]string{
		sigv4.InvalidSignature: "5", sigv4.UnrecognizedClient: "1", sigv4.MissingAuthenticationToken: "3", sigv4.IncompleteSignature: "1",
	} {
		v, _ := metricValue(string(out), `ipinsights_errors_total{code="`+code+`"}`)
		assert.Equal(t, want, v, code)
	}
}

// A stranger is refused on its headers, before its body is read: a
// stalled body from an unknown key is answered at once and takes no room.
func TestSigV4RefusesStrangersBeforeTheirBody(t *testing.T) {
	m, _, _ := models(t)
	s, err := New(m, Options{SigV4: newVerifier(t), TransferTimeout: time.Minute})
	require.NoError(t, err)
	addr := serveLoopback(t, s)
	for _, auth := range []string{"", "AWS4-HMAC-SHA256 Credential=AKIDSTRANGER/20261201/us-east-1/sagemaker/aws4_request, SignedHeaders=host, Signature=" + strings.Repeat("0", 64)} {
		c := stallWith(t, addr, 100000, "user-001,10.0.0", auth)
		status, msg, err := statusOf(c, 10*time.Second)
		require.NoError(t, err)
		assert.Equal(t, http.StatusForbidden, status, msg)
		assert.Equal(t, int64(0), s.metrics.buffered.Load())
	}
}

func ioNopCloser(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }

// signInto signs req, whose body is body, with sdkKey now.
func signInto(t testing.TB, req *http.Request, body []byte) {
	t.Helper()
	h := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: sdkKey.AccessKeyID, SecretAccessKey: sdkKey.SecretAccessKey}
	require.NoError(t, v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(h[:]), "sagemaker", "us-east-1", time.Now()))
}
