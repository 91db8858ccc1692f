package sigv4_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/ipinsights/ipinsights-go/sigv4"
)

// A server verifies that a request was signed, as SageMaker Runtime
// requests are, by one of the keys it knows.
func ExampleVerifier() {
	keys, err := sigv4.ParseKeys(strings.NewReader("# ACCESS_KEY_ID SECRET_ACCESS_KEY\nAKIDEXAMPLE wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\n"))
	if err != nil {
		panic(err)
	}
	v, err := sigv4.NewVerifier(keys, sigv4.Options{Region: "us-east-1", Service: "sagemaker"})
	if err != nil {
		panic(err)
	}

	// A client signs its request (the AWS SDKs do this themselves).
	body := []byte("user-001,10.1.2.3\n")
	hash := sha256.Sum256(body)
	req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8080/endpoints/local/invocations", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "text/csv")
	creds := aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	signedAt := time.Now()
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(hash[:]), "sagemaker", "us-east-1", signedAt); err != nil {
		panic(err)
	}

	// The server verifies it, with the hash of the body it received.
	id, err := v.Verify(req, hash[:], time.Now())
	fmt.Println(id, err)

	// The same request an hour later is refused.
	_, err = v.Verify(req, hash[:], signedAt.Add(time.Hour))
	var e *sigv4.Error
	if errors.As(err, &e) {
		fmt.Println(e.Code, strings.HasPrefix(e.Message, "Signature expired"))
	}
	// Output:
	// AKIDEXAMPLE <nil>
	// InvalidSignatureException true
}
