package sagemaker_test

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"

	"github.com/ipinsights/ipinsights-go/sagemaker"
)

// A scored CSV, as score writes it, and read back.
func ExampleScoreWriter() {
	var b bytes.Buffer
	w := sagemaker.NewScoreWriter(&b, sagemaker.ScoreWriterOptions{EntitySeen: true, Extra: []string{"finding_id"}, BitSize: 32})
	w.Write(sagemaker.ScoredRow{Entity: []byte("alice"), Addr: netip.MustParseAddr("10.0.0.1"), DotProduct: float64(float32(2.5)), EntitySeen: true, Extra: [][]byte{[]byte("f-1")}})
	w.Write(sagemaker.ScoredRow{Entity: []byte("bob, jr"), Addr: netip.MustParseAddr("203.0.113.9"), DotProduct: float64(float32(-0.1)), Extra: [][]byte{[]byte("f-2")}})
	if err := w.Flush(); err != nil {
		panic(err)
	}
	os.Stdout.Write(b.Bytes())

	r, err := sagemaker.NewScoreReader(&b, "scores.csv")
	if err != nil {
		panic(err)
	}
	for r.Next() {
		row := r.Row()
		fmt.Printf("%s from %s: %g (seen %t)\n", row.Entity, row.Addr, float32(row.DotProduct), row.EntitySeen)
	}
	if err := r.Err(); err != nil {
		panic(err)
	}
	// Output:
	// entity,ip,dot_product,entity_seen,finding_id
	// alice,10.0.0.1,2.5,true,f-1
	// "bob, jr",203.0.113.9,-0.1,false,f-2
	// alice from 10.0.0.1: 2.5 (seen true)
	// bob, jr from 203.0.113.9: -0.1 (seen false)
}
