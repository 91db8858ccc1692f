package sigv4

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzVerify sends arbitrary Authorization and X-Amz-Date headers and
// bodies through Verify: it must never panic, refuse with one of the four
// codes and a one-line message, and accept only what the AWS SDK's signer
// signs the same way: the seeds' genuine requests.
func FuzzVerify(f *testing.F) {
	v := newVerifier(f)
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	genuine := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8080/endpoints/local/invocations", bytes.NewReader(testBody))
	genuine.Header.Set("Content-Type", "text/csv")
	sign(f, genuine, testBody, testKey, "sagemaker", "us-east-1", at)
	auth, date := genuine.Header.Get("Authorization"), genuine.Header.Get("X-Amz-Date")
	f.Add(auth, date, "text/csv", testBody)
	f.Add(auth, date, "text/csv", []byte("user-001,10.1.2.3\n"))
	f.Add(strings.Replace(auth, "AKIDEXAMPLE", "AKIDOTHER", 1), date, "text/csv", testBody)
	f.Add(strings.Replace(auth, "us-east-1", "us-east-2", 1), date, "text/csv", testBody)
	f.Add(strings.Replace(auth, ", ", ",", -1), date, "text/csv", testBody)
	f.Add(auth, "20261201T115959Z", "text/csv", testBody)
	f.Add(auth, "2026-12-01T12:00:00Z", "text/csv", testBody)
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261201/us-east-1/sagemaker/aws4_request, SignedHeaders=host, Signature=00", date, "", []byte{})
	f.Add("AWS4-HMAC-SHA256 Credential=//////, SignedHeaders=;;;, Signature=", "", "", []byte{})
	f.Add("AWS4-HMAC-SHA256", date, "", []byte{})
	f.Add("", "", "", []byte{})
	f.Fuzz(func(t *testing.T, auth, date, contentType string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8080/endpoints/local/invocations", bytes.NewReader(body))
		req.Header = http.Header{}
		for name, value := range map[string]string{"Authorization": auth, "X-Amz-Date": date, "Content-Type": contentType} {
			if value != "" {
				req.Header.Set(name, value)
			}
		}
		h := sha256.Sum256(body)
		id, err := v.Verify(req, h[:], at)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !slices.Contains([]string{MissingAuthenticationToken, IncompleteSignature, UnrecognizedClient, InvalidSignature}, e.Code) {
				t.Fatalf("error %#v", err)
			}
			if e.Message == "" || strings.ContainsAny(e.Message, "\r\n") && !strings.ContainsAny(auth+date, "\r\n") {
				t.Fatalf("message %q", e.Message)
			}
			if strings.Contains(e.Message, testKey.SecretAccessKey) || strings.Contains(e.Message, otherKey.SecretAccessKey) {
				t.Fatalf("message quotes a secret: %q", e.Message)
			}
			return
		}
		// Accepted: the SDK signs the same request, with the same key, at
		// the same time, to the same Authorization header.
		k := testKey
		if id == otherKey.AccessKeyID {
			k = otherKey
		}
		signed := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8080/endpoints/local/invocations", bytes.NewReader(body))
		signed.Header = http.Header{}
		if contentType != "" {
			signed.Header.Set("Content-Type", contentType)
		}
		d, _ := time.Parse(amzDate, date)
		sign(t, signed, body, k, "sagemaker", "us-east-1", d)
		_, gotSig, _ := strings.Cut(auth, "Signature=")
		_, wantSig, _ := strings.Cut(signed.Header.Get("Authorization"), "Signature=")
		if gotSig != wantSig {
			t.Fatalf("accepted %q for %q, %q: the SDK signs %q", auth, date, body, signed.Header.Get("Authorization"))
		}
	})
}
