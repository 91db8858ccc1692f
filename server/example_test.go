package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/ipinsights/ipinsights-go/inference"
	"github.com/ipinsights/ipinsights-go/internal/test/testmodel"
	"github.com/ipinsights/ipinsights-go/server"
	"github.com/ipinsights/ipinsights-go/sigv4"
)

func ExampleServer() {
	m, err := testmodel.Train(1, 8, 2000) // or ipinsights.LoadFile("model.bin")
	if err != nil {
		log.Fatal(err)
	}
	s, err := server.New(m, server.Options{})
	if err != nil {
		log.Fatal(err)
	}
	ts := httptest.NewServer(s) // or s.HTTPServer("127.0.0.1:8080").ListenAndServe()
	defer ts.Close()

	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/endpoints/any-name/invocations",
		strings.NewReader("user-001, 10.1.2.3\nsomebody-new, 10.1.2.3\n"))
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("Accept", "application/json; seen=True")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	preds, err := inference.DecodeResponse(inference.JSON, body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"))
	for _, p := range preds {
		fmt.Println("entity_seen:", p.EntitySeen)
	}

	resp, err = http.Post(ts.URL+"/invocations", "text/csv", strings.NewReader("user-001, 10.1.2.3\nuser-002, 10.1.2\n"))
	if err != nil {
		log.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
	fmt.Print(string(body))
	// Output:
	// 200 application/json
	// entity_seen: true
	// entity_seen: false
	// 400 ValidationError
	// {"code":"ValidationError","message":"text/csv: line 2: unparsable IP address: \"10.1.2\""}
}

// A server for other hosts to reach: requests signed with AWS Signature
// Version 4 by a known key, on a Listener that bounds the connections.
func ExampleServer_Listener() {
	m, err := testmodel.Train(1, 8, 2000)
	if err != nil {
		log.Fatal(err)
	}
	keys := []sigv4.Key{{AccessKeyID: "AKIDLOCAL", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}}
	v, err := sigv4.NewVerifier(keys, sigv4.Options{Region: "us-east-1", Service: "sagemaker"})
	if err != nil {
		log.Fatal(err)
	}
	s, err := server.New(m, server.Options{SigV4: v, MaxConnections: 256})
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0") // ":8080" in a container
	if err != nil {
		log.Fatal(err)
	}
	hs := s.HTTPServer(ln.Addr().String())
	go hs.Serve(s.Listener(ln, nil)) // or a KeyPair's TLSConfig() for HTTPS
	defer hs.Close()
	url := "http://" + ln.Addr().String() + "/endpoints/local/invocations"

	body := "user-001,10.1.2.3\n"
	unsigned, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	unsigned.Header.Set("Content-Type", "text/csv")
	signed := unsigned.Clone(context.Background())
	signed.Body = io.NopCloser(strings.NewReader(body))
	hash := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: "AKIDLOCAL", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, signed, hex.EncodeToString(hash[:]), "sagemaker", "us-east-1", time.Now()); err != nil {
		log.Fatal(err) // the AWS SDKs, the AWS CLI and boto3 sign for themselves
	}
	for _, req := range []*http.Request{unsigned, signed} {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
	}
	// Output:
	// 403 MissingAuthenticationTokenException
	// 200
}
