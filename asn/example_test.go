package asn_test

import (
	"fmt"
	"log"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/ipinsights/ipinsights-go/asn"
)

func ExampleOpen() {
	// An ip2asn table as iptoasn.com publishes it (ip2asn-combined.tsv.gz
	// works too, compressed): range_start, range_end, AS_number,
	// country_code, AS_description.
	dir, err := os.MkdirTemp("", "asn")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "ip2asn-combined.tsv")
	table := "1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n" +
		"8.8.8.0\t8.8.8.255\t15169\tUS\tGOOGLE\n" +
		"2001:4860::\t2001:4860:ffff:ffff:ffff:ffff:ffff:ffff\t15169\tUS\tGOOGLE\n"
	if err := os.WriteFile(path, []byte(table), 0o644); err != nil {
		log.Fatal(err)
	}

	db, err := asn.Open(path) // a GeoLite2-ASN or DB-IP .mmdb file opens the same way
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	fmt.Println("format:", db.Format())
	for _, ip := range []string{"8.8.8.8", "2001:4860:4860::8888", "192.0.2.1"} {
		number, org, ok := db.Lookup(netip.MustParseAddr(ip))
		fmt.Println(ip, number, org, ok)
	}
	// Output:
	// format: tsv
	// 8.8.8.8 15169 GOOGLE true
	// 2001:4860:4860::8888 15169 GOOGLE true
	// 192.0.2.1 0  false
}
