package inference_test

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/ipinsights/ipinsights-go/inference"
	"github.com/ipinsights/ipinsights-go/ipinsights"
)

func ExampleRequestDecoder() {
	// Both of SageMaker's instance forms, mixed in one request.
	body := []byte(`{"instances": [
		{"data": {"features": {"values": ["alice", "192.0.2.1"]}}},
		{"features": ["bob", "2001:db8::1"]},
		{"features": ["carol", "192.0.2"]}
	]}`)
	d := inference.NewRequestDecoder(inference.JSON, body)
	for d.Next() {
		fmt.Println(d.Record(), string(d.Entity()), d.Addr())
	}
	fmt.Println(d.Err())
	// Output:
	// 0 alice 192.0.2.1
	// 1 bob 2001:db8::1
	// application/json: instances[2] (line 4): unparsable IP address: features[1]: "192.0.2"
}

func ExampleAppendResponse() {
	rf, err := inference.ParseAccept("application/jsonlines; verbose=True")
	if err != nil {
		panic(err)
	}
	preds := []inference.Prediction{
		{DotProduct: 2.5, EntityEmbedding: []float32{0.5, -1}, IPEmbedding: []float32{3, 1}},
		{DotProduct: -0.75, EntityEmbedding: []float32{0, 1}, IPEmbedding: []float32{0.25, -0.75}},
	}
	fmt.Print(string(inference.AppendResponse(nil, rf, preds)))
	rf.Verbose, rf.Seen = false, true // Accept: application/jsonlines;seen=True
	fmt.Print(string(inference.AppendResponse(nil, rf, preds)))
	// Output:
	// {"dot_product":2.5,"entity_embedding":[0.5,-1.0],"ip_embedding":[3.0,1.0]}
	// {"dot_product":-0.75,"entity_embedding":[0.0,1.0],"ip_embedding":[0.25,-0.75]}
	// {"dot_product":2.5,"entity_seen":false}
	// {"dot_product":-0.75,"entity_seen":false}
}

func ExampleDecodeResponse() {
	// A verbose response of a SageMaker endpoint (the Body of
	// sagemakerruntime.InvokeEndpoint).
	body := []byte(`{"predictions": [{"dot_product": 0.8731245994567871, "entity_embedding": [0.25, -1.5], "ip_embedding": [1.0, 0.5]}]}`)
	preds, err := inference.DecodeResponse(inference.JSON, body)
	if err != nil {
		panic(err)
	}
	fmt.Println(preds[0].DotProduct, preds[0].EntityEmbedding, preds[0].IPEmbedding)
	// Output:
	// 0.8731245994567871 [0.25 -1.5] [1 0.5]
}

func ExampleResponseReader() {
	// A batch transform output file of a job with Accept application/json:
	// one response per mini-batch, one after the other.
	out := `{"predictions": [{"dot_product": 1.0}, {"dot_product": -2.0}]}
{"predictions": [{"dot_product": 3.5}]}
`
	r := inference.NewResponseReader(strings.NewReader(out), inference.JSON)
	for r.Next() {
		fmt.Println(r.Index(), r.Prediction().DotProduct)
	}
	fmt.Println(r.Err())
	// Output:
	// 0 1
	// 1 -2
	// 2 3.5
	// <nil>
}

func ExampleAppendRequest() {
	recs := []ipinsights.Pair{
		{Entity: "alice", IP: netip.MustParseAddr("192.0.2.1")},
		{Entity: "bob, jr", IP: netip.MustParseAddr("2001:db8::1")},
	}
	for _, f := range []inference.Format{inference.CSV, inference.JSON} {
		body, err := inference.AppendRequest(nil, f, recs)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s\n%s\n", f, body)
	}
	// Output:
	// text/csv
	// alice,192.0.2.1
	// "bob, jr",2001:db8::1
	//
	// application/json
	// {"instances":[{"features":["alice","192.0.2.1"]},{"features":["bob, jr","2001:db8::1"]}]}
}
