package server_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/ipinsights/ipinsights-go/inference"

	"github.com/ipinsights/ipinsights-go/internal/test/testmodel"
	"github.com/ipinsights/ipinsights-go/server"
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
