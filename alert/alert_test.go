package alert

import (
	"encoding/json"
	"math"
	"net/netip"
	"testing"

	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// explained returns a record of an explained, unusual pair: its network
// is not among the entity's two usual networks.
func explained() *Record {
	e := &ipinsights.Explanation{
		Result:      ipinsights.Result{DotProduct: -3.25, EntitySeen: true},
		EntityPairs: 353,
		Network:     netip.MustParsePrefix("198.51.100.0/24"),
		WideNetwork: netip.MustParsePrefix("198.51.0.0/16"),
		UsualNetworks: ipinsights.NetworkCounts{
			{Prefix: netip.MustParsePrefix("203.0.113.0/24"), Count: 312},
			{Prefix: netip.MustParsePrefix("192.0.2.0/24"), Count: 41},
		},
		NearestUsualNetwork: netip.MustParsePrefix("203.0.113.0/24"),
		NearestSimilarity:   0.42,
	}
	return &Record{
		Entity:      []byte("alice"),
		Addr:        netip.MustParseAddr("198.51.100.7"),
		Result:      e.Result,
		Percentile:  ipinsights.Percentile{Value: 0.00012, Pairs: 353, PerEntity: true},
		Alert:       true,
		Explanation: e,
		AS:          AS{Number: 64501, Org: "Other Org"},
		NetworkAS:   []AS{{Number: 64500, Org: "Example Org"}, {}},
		Extra:       [][]byte{[]byte("f-1"), []byte("Recon:IAMUser/MaliciousIPCaller")},
	}
}

var allFields = Fields{Percentile: true, Alert: true, Explain: true, AS: true, Extra: []string{"finding_id", "finding_type"}}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m), "%s", b)
	return m
}

func TestAppendJSON(t *testing.T) {
	r := explained()
	b := allFields.AppendJSON(nil, r)
	want := `{"entity":"alice","ip":"198.51.100.7","dot_product":-3.25,"entity_seen":true,` +
		`"percentile":0.00012,"alert":true,"entity_pairs":353,"network":"198.51.100.0/24","network_seen":false,` +
		`"usual_networks":[{"network":"203.0.113.0/24","pairs":312,"asn":64500,"as_org":"Example Org"},` +
		`{"network":"192.0.2.0/24","pairs":41,"asn":null,"as_org":null}],` +
		`"nearest_usual_network":"203.0.113.0/24","nearest_similarity":0.42,"asn":64501,"as_org":"Other Org",` +
		`"input":{"finding_id":"f-1","finding_type":"Recon:IAMUser/MaliciousIPCaller"}}`
	assert.Equal(t, want, string(b))
	decode(t, b)

	// Only what Fields selects; unknowns are null.
	f := Fields{Explain: true}
	r = &Record{Entity: []byte(`we"ird`), Addr: netip.MustParseAddr("2001:db8::1"), Result: ipinsights.Result{DotProduct: math.NaN()}}
	b = f.AppendJSON(nil, r)
	assert.Equal(t, `{"entity":"we\"ird","ip":"2001:db8::1","dot_product":null,"entity_seen":false,`+
		`"entity_pairs":0,"network":null,"network_seen":false,"usual_networks":[],"nearest_usual_network":null,"nearest_similarity":null}`, string(b))
	decode(t, b)

	f = Fields{}
	assert.Equal(t, `{"entity":"","ip":"192.0.2.1","dot_product":1.5,"entity_seen":true}`,
		string(f.AppendJSON(nil, &Record{Addr: netip.MustParseAddr("192.0.2.1"), Result: ipinsights.Result{DotProduct: 1.5, EntitySeen: true}})))
}

func TestAppendJSONMembers(t *testing.T) {
	f := Fields{Percentile: true, Alert: true}
	r := explained()
	assert.Equal(t, `,"percentile":0.00012,"alert":true`, string(f.AppendJSONMembers(nil, r)))
	// Inside another writer's object.
	b := append([]byte(`{"dot_product":-3.25`), f.AppendJSONMembers(nil, r)...)
	decode(t, append(b, '}'))
}

func TestAppendJSONAllocs(t *testing.T) {
	r := explained()
	dst := make([]byte, 0, 4096)
	n := testing.AllocsPerRun(100, func() { dst = allFields.AppendJSON(dst[:0], r) })
	assert.Zero(t, n)
}

func TestColumns(t *testing.T) {
	f := Fields{Explain: true, AS: true}
	assert.Equal(t, []string{"entity_pairs", "network_seen", "usual_networks", "nearest_usual_network", "asn", "as_org"}, f.Columns())
	r := explained()
	var got []string
	for i := range f.Columns() {
		got = append(got, string(f.AppendColumn(nil, r, i)))
	}
	assert.Equal(t, []string{"353", "false", "203.0.113.0/24 312 (AS64500 Example Org); 192.0.2.0/24 41", "203.0.113.0/24", "64501", "Other Org"}, got)

	f = Fields{Explain: true}
	assert.Equal(t, []string{"entity_pairs", "network_seen", "usual_networks", "nearest_usual_network"}, f.Columns())
	assert.Equal(t, "203.0.113.0/24 312; 192.0.2.0/24 41", string(f.AppendColumn(nil, r, 2)), "NetworkCounts' text without AS")
	f = Fields{AS: true}
	assert.Equal(t, []string{"asn", "as_org"}, f.Columns())
	assert.Equal(t, "", string(f.AppendColumn(nil, &Record{}, 0)), "unknown AS: empty")
	assert.Panics(t, func() { f.AppendColumn(nil, r, 2) })
	assert.Empty(t, (&Fields{Percentile: true}).Columns(), "the scored CSV writes percentile itself")
}

// fakeDB answers from a table of prefixes and counts its lookups.
type fakeDB struct {
	as      map[netip.Prefix]AS
	lookups int
}

func (d *fakeDB) Lookup(ip netip.Addr) (uint32, string, bool) {
	d.lookups++
	for p, as := range d.as {
		if p.Contains(ip) {
			return as.Number, as.Org, true
		}
	}
	return 0, "", false
}

func TestAnnotator(t *testing.T) {
	db := &fakeDB{as: map[netip.Prefix]AS{
		netip.MustParsePrefix("203.0.113.0/24"):  {64500, "Example Org"},
		netip.MustParsePrefix("198.51.100.0/24"): {64501, "Other Org"},
	}}
	a := NewAnnotator(db)
	r := explained()
	r.AS, r.NetworkAS = AS{}, nil
	a.Annotate(r)
	assert.Equal(t, AS{64501, "Other Org"}, r.AS)
	assert.Equal(t, []AS{{64500, "Example Org"}, {}}, r.NetworkAS)
	assert.Equal(t, 3, db.lookups)
	a.Annotate(r)
	assert.Equal(t, 4, db.lookups, "the usual networks are looked up once, the address every time")
	assert.Equal(t, []AS{{64500, "Example Org"}, {}}, r.NetworkAS)

	// Another list (the same networks in another order): its own AS.
	swapped := *r.Explanation
	swapped.UsualNetworks = ipinsights.NetworkCounts{r.Explanation.UsualNetworks[1], r.Explanation.UsualNetworks[0]}
	r2 := *r
	r2.Explanation, r2.NetworkAS = &swapped, nil
	a.Annotate(&r2)
	assert.Equal(t, []AS{{}, {64500, "Example Org"}}, r2.NetworkAS)
	assert.Equal(t, 5, db.lookups, "its networks were known")
	assert.Equal(t, 2+2, a.Cached(), "two networks, two lists")

	r.Explanation = nil
	a.Annotate(r)
	assert.Empty(t, r.NetworkAS)
}

func TestAppendNetworksOrgless(t *testing.T) {
	r := explained()
	r.NetworkAS = []AS{{Number: 64500}}
	f := Fields{Explain: true, AS: true}
	assert.Equal(t, "203.0.113.0/24 312 (AS64500); 192.0.2.0/24 41", string(f.AppendNetworks(nil, r)))
}
