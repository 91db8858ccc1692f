package alert_test

import (
	"bytes"
	"fmt"
	"net/netip"
	"time"

	"github.com/ipinsights/ipinsights-go/alert"
	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// record is what a scorer knows of a pair: here made up, normally from
// Model.ExplainBatch, Calibration.Percentile and an AlertRule.
func record() *alert.Record {
	e := &ipinsights.Explanation{
		Result:      ipinsights.Result{DotProduct: -3.25, EntitySeen: true},
		EntityPairs: 353,
		Network:     netip.MustParsePrefix("198.51.100.0/24"),
		UsualNetworks: ipinsights.NetworkCounts{
			{Prefix: netip.MustParsePrefix("203.0.113.0/24"), Count: 312},
			{Prefix: netip.MustParsePrefix("192.0.2.0/24"), Count: 41},
		},
		NearestUsualNetwork: netip.MustParsePrefix("203.0.113.0/24"),
		NearestSimilarity:   0.42,
	}
	return &alert.Record{
		Entity:      []byte("alice"),
		Addr:        netip.MustParseAddr("198.51.100.7"),
		Result:      e.Result,
		Percentile:  ipinsights.Percentile{Value: 0.00012, Pairs: 353, PerEntity: true},
		Alert:       true,
		Explanation: e,
	}
}

// asTable stands for an ASN database (asn.Open).
type asTable map[netip.Prefix]alert.AS

func (t asTable) Lookup(ip netip.Addr) (uint32, string, bool) {
	for p, as := range t {
		if p.Contains(ip) {
			return as.Number, as.Org, true
		}
	}
	return 0, "", false
}

func ExampleFields_AppendJSON() {
	r := record()
	alert.NewAnnotator(asTable{netip.MustParsePrefix("203.0.113.0/24"): {Number: 64500, Org: "Example Org"}}).Annotate(r)
	f := alert.Fields{Percentile: true, Alert: true, Explain: true, AS: true}
	fmt.Printf("%s\n", f.AppendJSON(nil, r))
	// Output:
	// {"entity":"alice","ip":"198.51.100.7","dot_product":-3.25,"entity_seen":true,"percentile":0.00012,"alert":true,"entity_pairs":353,"network":"198.51.100.0/24","network_seen":false,"usual_networks":[{"network":"203.0.113.0/24","pairs":312,"asn":64500,"as_org":"Example Org"},{"network":"192.0.2.0/24","pairs":41,"asn":null,"as_org":null}],"nearest_usual_network":"203.0.113.0/24","nearest_similarity":0.42,"asn":null,"as_org":null}
}

func ExampleFields_Columns() {
	r := record()
	f := alert.Fields{Explain: true}
	for i, name := range f.Columns() {
		fmt.Printf("%s: %s\n", name, f.AppendColumn(nil, r, i))
	}
	// Output:
	// entity_pairs: 353
	// network_seen: false
	// usual_networks: 203.0.113.0/24 312; 192.0.2.0/24 41
	// nearest_usual_network: 203.0.113.0/24
}

func ExampleNewFinding() {
	f := alert.Fields{Percentile: true, Alert: true, Explain: true}
	o := alert.ASFFOptions{AccountID: "111122223333", Region: "us-east-1", Time: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	fd, err := alert.NewFinding(record(), &f, &o)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(fd.ProductARN)
	fmt.Println(fd.Severity.Label, fd.Title)
	fmt.Println(fd.Description)
	var body bytes.Buffer
	w := alert.NewASFFWriter(&body) // one BatchImportFindings request body a line
	if err := w.Write(&fd); err != nil {
		fmt.Println(err)
	}
	if err := w.Flush(); err != nil {
		fmt.Println(err)
	}
	fmt.Println(w.Findings(), "finding:", body.String()[:42]+"...")
	// Output:
	// arn:aws:securityhub:us-east-1:111122223333:product/111122223333/default
	// HIGH Unusual address 198.51.100.7 for alice
	// IP Insights scored alice from 198.51.100.7 at dot product -3.25, percentile 0.012% of the entity's own normal pairs (353). Its network 198.51.100.0/24 is not among the entity's usual networks. Usual networks, from 353 training pairs: 203.0.113.0/24 312; 192.0.2.0/24 41. Nearest usual network by IP embedding: 203.0.113.0/24 (cosine similarity 0.42).
	// 1 finding: {"Findings":[{"SchemaVersion":"2018-10-08"...
}
