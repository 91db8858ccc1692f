package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	testKey   = Key{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	otherKey  = Key{AccessKeyID: "AKIDOTHER", SecretAccessKey: "other-secret"}
	testOpts  = Options{Region: "us-east-1", Service: "sagemaker"}
	testBody  = []byte("user-001,10.1.2.3\nuser-002,198.51.100.7\n")
	emptyHash = sha256.Sum256(nil)
)

func newVerifier(t testing.TB) *Verifier {
	t.Helper()
	v, err := NewVerifier([]Key{testKey, otherKey}, testOpts)
	require.NoError(t, err)
	return v
}

// sign signs req, whose body is body, as the AWS SDK for Go does, with k
// at time at for region and service.
func sign(t testing.TB, req *http.Request, body []byte, k Key, service, region string, at time.Time) {
	t.Helper()
	h := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey}
	require.NoError(t, v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(h[:]), service, region, at))
}

// verified is what the test server saw: the verifier's answer.
type verified struct {
	keyID string
	err   error
}

// verifyServer starts a server that verifies every request it receives,
// as the server package does, at the time now() returns, and returns
// the answers on a channel.
func verifyServer(t *testing.T, v *Verifier, now func() time.Time) (*httptest.Server, <-chan verified) {
	t.Helper()
	out := make(chan verified, 1)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		h := sha256.Sum256(body)
		id, err := v.Verify(r, h[:], now())
		out <- verified{id, err}
	}))
	t.Cleanup(ts.Close)
	return ts, out
}

// errorCode returns the Code of a *Error, or "" for nil.
func errorCode(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var e *Error
	require.True(t, errors.As(err, &e), "%T %v", err, err)
	return e.Code
}

func TestVerifySignaturesOfTheSDK(t *testing.T) {
	v := newVerifier(t)
	signedAt := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	now := signedAt.Add(time.Minute)
	ts, got := verifyServer(t, v, func() time.Time { return now })
	for _, tc := range []struct {
		name   string
		path   string
		header http.Header
		body   []byte
		length bool // the client signs Content-Length
	}{
		{name: "invocation", path: "/endpoints/local/invocations", header: http.Header{"Content-Type": {"text/csv"}, "Accept": {"application/json"}}, body: testBody},
		{name: "Content-Length signed", path: "/endpoints/local/invocations", header: http.Header{"Content-Type": {"text/csv"}}, body: testBody, length: true},
		{name: "X-Amz-Content-Sha256", path: "/invocations", header: http.Header{"Content-Type": {"text/csv"}, "X-Amz-Content-Sha256": {hexHash(testBody)}}, body: testBody},
		{name: "no body", path: "/metrics", header: http.Header{}},
		{name: "query and escaped path", path: "/endpoints/a%20b/invocations?x=1&a=%2F", header: http.Header{"Content-Type": {"text/csv"}}, body: testBody},
		{name: "spaces and repeated headers", path: "/invocations", header: http.Header{"Content-Type": {"text/csv"}, "X-Amz-Meta-A": {"  two  spaces ", "second"}}, body: testBody},
		{name: "the other key", path: "/invocations", header: http.Header{"Content-Type": {"text/csv"}}, body: testBody},
	} {
		k := testKey
		if tc.name == "the other key" {
			k = otherKey
		}
		req, err := http.NewRequest(http.MethodPost, ts.URL+tc.path, bytes.NewReader(tc.body))
		require.NoError(t, err)
		if tc.body == nil {
			req.Method = http.MethodGet
			req.Body = nil
		}
		req.Header = tc.header
		if !tc.length {
			// The SDK signs Content-Length when the request has one; botocore
			// signs the headers it has at the time, which do not include it.
			n := req.ContentLength
			req.ContentLength = 0
			sign(t, req, tc.body, k, "sagemaker", "us-east-1", signedAt)
			req.ContentLength = n
		} else {
			sign(t, req, tc.body, k, "sagemaker", "us-east-1", signedAt)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err, tc.name)
		resp.Body.Close()
		r := <-got
		assert.NoError(t, r.err, tc.name)
		assert.Equal(t, k.AccessKeyID, r.keyID, tc.name)
	}
}

func hexHash(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func TestVerifyRefuses(t *testing.T) {
	v := newVerifier(t)
	signedAt := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	var now time.Time
	var mu sync.Mutex
	ts, got := verifyServer(t, v, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	for _, tc := range []struct {
		name   string
		after  time.Duration           // between signing and verifying
		edit   func(req *http.Request) // before signing
		tamper func(req *http.Request) // after signing
		body   []byte                  // sent instead of the signed body
		key    Key
		code   string
		msg    string
	}{
		{name: "signed", code: ""},
		{name: "replayed within the skew", after: 14 * time.Minute, code: ""},
		{name: "clock behind within the skew", after: -14 * time.Minute, code: ""},
		{name: "unsigned", tamper: func(r *http.Request) { r.Header.Del("Authorization") }, code: MissingAuthenticationToken, msg: "Missing Authentication Token"},
		{name: "wrong secret", key: Key{AccessKeyID: testKey.AccessKeyID, SecretAccessKey: "guess"}, code: InvalidSignature, msg: "does not match the signature you provided"},
		{name: "unknown key", key: Key{AccessKeyID: "AKIDSTRANGER", SecretAccessKey: "stranger-secret"}, code: UnrecognizedClient, msg: "The security token included in the request is invalid."},
		{name: "body changed", body: []byte("user-001,10.9.9.9\n"), code: InvalidSignature, msg: "does not match"},
		{name: "signed header changed", tamper: func(r *http.Request) { r.Header.Set("Accept", "application/jsonlines") }, code: InvalidSignature},
		{name: "path changed", tamper: func(r *http.Request) { r.URL.Path = "/endpoints/other/invocations" }, code: InvalidSignature},
		{name: "date changed", tamper: func(r *http.Request) { r.Header.Set("X-Amz-Date", "20261201T120001Z") }, code: InvalidSignature},
		{name: "unsigned header added", tamper: func(r *http.Request) { r.Header.Set("X-Forwarded-For", "10.0.0.1") }, code: ""},
		{name: "expired", after: 15*time.Minute + time.Second, code: InvalidSignature, msg: "Signature expired: 20261201T120000Z is now earlier than 20261201T120001Z (20261201T121501Z - 15 min.)"},
		{name: "replayed an hour later", after: time.Hour, code: InvalidSignature, msg: "Signature expired"},
		{name: "from the future", after: -16 * time.Minute, code: InvalidSignature, msg: "Signature not yet current: 20261201T120000Z is still later than 20261201T115900Z (20261201T114400Z + 15 min.)"},
		{name: "other region", edit: func(r *http.Request) { r.Header.Set("X-Test-Region", "eu-west-1") }, code: InvalidSignature, msg: "Credential should be scoped to a valid region, not 'eu-west-1'."},
		{name: "other service", edit: func(r *http.Request) { r.Header.Set("X-Test-Service", "s3") }, code: InvalidSignature, msg: "Credential should be scoped to correct service: 'sagemaker'."},
		{name: "session token", edit: func(r *http.Request) { r.Header.Set("X-Amz-Security-Token", "FwoGZX") }, code: UnrecognizedClient},
		{name: "unsigned payload", edit: func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD") }, code: InvalidSignature, msg: "UNSIGNED-PAYLOAD is not accepted"},
		{name: "User-Agent signed", tamper: func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "SignedHeaders=", "SignedHeaders=user-agent;", 1))
		}, code: InvalidSignature, msg: "'user-agent', which this server can not verify"},
		{name: "Host not signed", tamper: func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "host;", "", 1))
		}, code: InvalidSignature, msg: "'Host' must be a 'SignedHeader'"},
		{name: "other algorithm", tamper: func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256", 1))
		}, code: IncompleteSignature, msg: "algorithm 'AWS4-ECDSA-P256-SHA256'"},
		{name: "bearer token", tamper: func(r *http.Request) { r.Header.Set("Authorization", "Bearer abc") }, code: IncompleteSignature},
		{name: "no signature", tamper: func(r *http.Request) {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:strings.Index(a, ", Signature=")])
		}, code: IncompleteSignature, msg: "Authorization header requires 'Signature' parameter."},
		{name: "short signature", tamper: func(r *http.Request) {
			r.Header.Set("Authorization", r.Header.Get("Authorization")[:len(r.Header.Get("Authorization"))-1])
		}, code: IncompleteSignature, msg: "64 lower-case hexadecimal digits"},
		{name: "no date", tamper: func(r *http.Request) { r.Header.Del("X-Amz-Date") }, code: IncompleteSignature, msg: "X-Amz-Date"},
		{name: "malformed date", tamper: func(r *http.Request) { r.Header.Set("X-Amz-Date", "yesterday") }, code: IncompleteSignature, msg: "X-Amz-Date 'yesterday'"},
		{name: "two Authorization headers", tamper: func(r *http.Request) { r.Header.Add("Authorization", r.Header.Get("Authorization")) }, code: IncompleteSignature},
		{name: "presigned", tamper: func(r *http.Request) {
			r.Header.Del("Authorization")
			r.URL.RawQuery = "X-Amz-Signature=abc&X-Amz-Credential=x"
		}, code: IncompleteSignature, msg: "presigned URLs are not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, ts.URL+"/endpoints/local/invocations", bytes.NewReader(testBody))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "text/csv")
			req.Header.Set("Accept", "application/json")
			region, service := "us-east-1", "sagemaker"
			if tc.edit != nil {
				tc.edit(req)
				if r := req.Header.Get("X-Test-Region"); r != "" {
					region = r
					req.Header.Del("X-Test-Region")
				}
				if s := req.Header.Get("X-Test-Service"); s != "" {
					service = s
					req.Header.Del("X-Test-Service")
				}
			}
			k := testKey
			if tc.key != (Key{}) {
				k = tc.key
			}
			if ua := req.Header.Get("X-Amz-Content-Sha256"); ua == "UNSIGNED-PAYLOAD" {
				creds := aws.Credentials{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey}
				require.NoError(t, v4.NewSigner().SignHTTP(context.Background(), creds, req, ua, service, region, signedAt))
			} else {
				sign(t, req, testBody, k, service, region, signedAt)
			}
			if tc.tamper != nil {
				tc.tamper(req)
			}
			if tc.body != nil {
				req.Body = io.NopCloser(bytes.NewReader(tc.body))
				req.ContentLength = int64(len(tc.body))
			}
			mu.Lock()
			now = signedAt.Add(tc.after)
			mu.Unlock()
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			r := <-got
			assert.Equal(t, tc.code, errorCode(t, r.err), "%v", r.err)
			if tc.msg != "" {
				require.Error(t, r.err)
				assert.Contains(t, r.err.(*Error).Message, tc.msg)
			}
			if r.err != nil {
				assert.NotContains(t, r.err.Error(), k.SecretAccessKey, "an error never quotes a secret")
				assert.NotContains(t, r.err.Error(), "\n")
			}
		})
	}
}

// CheckHeaders refuses what it can without the body, and lets through a
// request whose body (which it does not see) was tampered with.
func TestCheckHeaders(t *testing.T) {
	v := newVerifier(t)
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8080/invocations", bytes.NewReader(testBody))
	req.Header.Set("Content-Type", "text/csv")
	sign(t, req, testBody, testKey, "sagemaker", "us-east-1", at)
	id, err := v.CheckHeaders(req, at)
	assert.NoError(t, err)
	assert.Equal(t, testKey.AccessKeyID, id)
	h := sha256.Sum256([]byte("something else"))
	_, err = v.Verify(req, h[:], at)
	assert.Equal(t, InvalidSignature, errorCode(t, err))
	h = sha256.Sum256(testBody)
	_, err = v.Verify(req, h[:], at)
	assert.NoError(t, err)

	_, err = v.CheckHeaders(req, at.Add(time.Hour))
	assert.Equal(t, InvalidSignature, errorCode(t, err))
	req.Header.Del("Authorization")
	id, err = v.CheckHeaders(req, at)
	assert.Equal(t, MissingAuthenticationToken, errorCode(t, err))
	assert.Equal(t, "", id)

	assert.PanicsWithValue(t, "sigv4: Verify: payload hash of 3 bytes, want 32", func() { v.Verify(req, []byte{1, 2, 3}, at) })
}

func TestNewVerifier(t *testing.T) {
	v, err := NewVerifier([]Key{testKey}, testOpts)
	require.NoError(t, err)
	assert.Equal(t, DefaultMaxSkew, v.Options().MaxSkew)
	for _, tc := range []struct {
		keys []Key
		opts Options
		want string
	}{
		{nil, testOpts, "sigv4: no access keys"},
		{[]Key{testKey}, Options{Service: "sagemaker"}, `sigv4: region "": want a region name`},
		{[]Key{testKey}, Options{Region: "us-east-1"}, `sigv4: service "": want a signing name`},
		{[]Key{testKey}, Options{Region: "us-east-1", Service: "sagemaker", MaxSkew: -time.Second}, "negative MaxSkew"},
		{[]Key{testKey, testKey}, testOpts, "access key ID AKIDEXAMPLE given twice"},
		{[]Key{{AccessKeyID: "A", SecretAccessKey: ""}}, testOpts, "access key A has an empty secret"},
		{[]Key{{AccessKeyID: "A/B", SecretAccessKey: "s"}}, testOpts, "not an access key ID"},
	} {
		_, err := NewVerifier(tc.keys, tc.opts)
		assert.ErrorContains(t, err, tc.want)
	}
}

// SetKeys replaces the key set: a removed key is unknown from then on, an
// added one verifies, a changed secret no longer matches old signatures,
// and a refused set keeps the keys in use.
func TestSetKeys(t *testing.T) {
	v := newVerifier(t)
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	h := sha256.Sum256(testBody)
	added := Key{AccessKeyID: "AKIDADDED", SecretAccessKey: "added-secret"}
	verify := func(k Key) string {
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8080/invocations", bytes.NewReader(testBody))
		req.Header.Set("Content-Type", "text/csv")
		sign(t, req, testBody, k, "sagemaker", "us-east-1", at)
		_, err := v.Verify(req, h[:], at)
		return errorCode(t, err)
	}
	require.Equal(t, "", verify(testKey))
	require.Equal(t, "", verify(otherKey))
	require.Equal(t, UnrecognizedClient, verify(added))

	require.NoError(t, v.SetKeys([]Key{otherKey, added}))
	assert.Equal(t, UnrecognizedClient, verify(testKey), "removed")
	assert.Equal(t, "", verify(otherKey), "kept")
	assert.Equal(t, "", verify(added), "added")

	for _, tc := range []struct {
		keys []Key
		want string
	}{
		{nil, "sigv4: no access keys"},
		{[]Key{testKey, testKey}, "access key ID AKIDEXAMPLE given twice"},
		{[]Key{testKey, {AccessKeyID: "A", SecretAccessKey: ""}}, "access key A has an empty secret"},
		{[]Key{testKey, {AccessKeyID: "A/B", SecretAccessKey: "s"}}, "not an access key ID"},
	} {
		assert.ErrorContains(t, v.SetKeys(tc.keys), tc.want)
		assert.Equal(t, UnrecognizedClient, verify(testKey), "a refused set is not applied")
		assert.Equal(t, "", verify(added), "a refused set keeps the keys in use")
	}

	changed := Key{AccessKeyID: added.AccessKeyID, SecretAccessKey: "rotated-secret"}
	require.NoError(t, v.SetKeys([]Key{changed}))
	assert.Equal(t, InvalidSignature, verify(added), "the old secret of a rotated key")
	assert.Equal(t, "", verify(changed))
	assert.Equal(t, UnrecognizedClient, verify(otherKey))
}

// Verifying while SetKeys swaps the key set is safe (run with -race):
// a key in every set always verifies.
func TestSetKeysWhileVerifying(t *testing.T) {
	v := newVerifier(t)
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	h := sha256.Sum256(testBody)
	req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8080/invocations", bytes.NewReader(testBody))
	req.Header.Set("Content-Type", "text/csv")
	sign(t, req, testBody, testKey, "sagemaker", "us-east-1", at)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := v.Verify(req, h[:], at); err != nil {
					errs[i] = err
					return
				}
			}
		}()
	}
	for i := range 200 {
		keys := []Key{testKey}
		if i%2 == 0 {
			keys = append(keys, otherKey)
		}
		require.NoError(t, v.SetKeys(keys))
	}
	close(stop)
	wg.Wait()
	for _, err := range errs {
		assert.NoError(t, err)
	}
}
