package embedding_test

import (
	"fmt"
	"log"
	"net/netip"

	"github.com/ipinsights/ipinsights-go/embedding"
)

func ExampleEntityHash() {
	// The hash is part of the model file format: the same on every machine
	// and Go version. Bucket reduces it to a row of the entity table
	// (num_entity_vectors rows).
	h := embedding.EntityHash("alice")
	fmt.Printf("%#016x\n", h)
	fmt.Println(embedding.Bucket(h, 20000))
	fmt.Println(embedding.EntityHashBytes([]byte("alice")) == h)
	// Output:
	// 0xc5d1556d66774a5c
	// 15454
	// true
}

func ExampleEncoder() {
	enc, err := embedding.NewEncoder(embedding.DefaultEncoderConfig())
	if err != nil {
		log.Fatal(err)
	}
	rows := func(s string) []int32 {
		dst := make([]int32, embedding.MaxLevels)
		n := enc.Encode(dst, embedding.AddrFrom(netip.MustParseAddr(s)))
		return dst[:n]
	}
	// By default an IPv4 address is one row, that of its /16 (a dense
	// table: row 198*256+51 for 198.51.0.0/16), so the addresses of one
	// network share their vector.
	fmt.Println(rows("198.51.100.7"), rows("198.51.3.200"), rows("198.52.100.7"))
	// An IPv6 address is the sum of the rows of its /16, /32 and /48, in a
	// hashed table.
	fmt.Println(len(rows("2001:db8:1::1")), "rows")
	fmt.Println("table rows:", enc.Rows())
	// Output:
	// [50739] [50739] [50740]
	// 3 rows
	// table rows: 131072
}
