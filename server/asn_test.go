package server

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/alert"
	"github.com/ipinsights/ipinsights-go/asn"
	"github.com/ipinsights/ipinsights-go/embedding"
	"github.com/ipinsights/ipinsights-go/inference"
	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// asnDB writes a small ip2asn TSV over the test pairs' 10.x.0.0/16
// networks: 10.0-10.99 in AS64500, 10.100-10.149 in AS64501 (whose name
// needs escaping in JSON), the rest of 10/8 unknown; 2001:db8::/32 in
// AS64502.
func asnDB(t testing.TB) *asn.DB {
	t.Helper()
	tsv := "10.0.0.0\t10.99.255.255\t64500\tZZ\tExample, Inc.\n" +
		"10.100.0.0\t10.149.255.255\t64501\tZZ\tOther \"Net\" \\ Co\n" +
		"2001:db8::\t2001:db8:ffff:ffff:ffff:ffff:ffff:ffff\t64502\tZZ\tDoc Net\n"
	path := filepath.Join(t.TempDir(), "ip2asn-combined.tsv")
	require.NoError(t, os.WriteFile(path, []byte(tsv), 0o644))
	db, err := asn.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// wantASMembers returns the members that explain=True adds with an AS
// database, as the CLI's JSON lines (score --explain --asn-db) write them:
// the same alert encoder, annotated by an alert.Annotator.
func wantASMembers(m *ipinsights.Model, db alert.ASLookup, r ipinsights.Pair) []byte {
	f := alert.Fields{Percentile: true, Explain: true, AS: true}
	rec := alert.Record{Entity: []byte(r.Entity), Addr: r.IP, Result: m.Score(r.Entity, r.IP)}
	rec.Percentile = m.Calibration().Percentile(embedding.EntityHash(r.Entity), rec.Result.DotProduct)
	e := m.Explain(r.Entity, r.IP)
	rec.Explanation = &e
	alert.NewAnnotator(db).Annotate(&rec)
	return f.AppendJSONMembers(nil, &rec)
}

// With Options.ASLookup, explain=True responses carry the AS members of
// the CLI's JSON lines, byte for byte; other responses are those of a
// server without it.
func TestExplainWithAS(t *testing.T) {
	_, explained := explainedModels(t)
	db := asnDB(t)
	_, plain := newServer(t, explained, Options{})
	_, withAS := newServer(t, explained, Options{ASLookup: db})
	_, _, recs := models(t)
	recs = append(recs, ipinsights.Pair{Entity: recs[0].Entity, IP: netip.MustParseAddr("10.180.1.2")}) // unknown AS
	body := csvBody(t, recs)
	for _, accept := range []string{"application/json", "application/jsonlines;seen=True", "application/json;percentile=True", "application/jsonlines;verbose=True;percentile=True"} {
		status, _, got := post(t, withAS.URL+"/invocations", "text/csv", accept, body)
		require.Equal(t, 200, status, "%s: %s", accept, got)
		_, _, bare := post(t, plain.URL+"/invocations", "text/csv", accept, body)
		assert.Equal(t, string(bare), string(got), "%s: no AS members", accept)
		assert.NotContains(t, string(got), `"asn"`, accept)
	}
	for _, accept := range []string{"application/json;explain=True", "application/jsonlines;seen=True;explain=True", "application/json;verbose=True;explain=True"} {
		rf, err := inference.ParseAccept(accept)
		require.NoError(t, err)
		want := wantPredictions(explained, recs, rf)
		for i, r := range recs {
			want[i].Extra = wantASMembers(explained, db, r)
		}
		status, _, got := post(t, withAS.URL+"/invocations", "text/csv", accept, body)
		require.Equal(t, 200, status, "%s: %s", accept, got)
		assert.Equal(t, string(inference.AppendResponse(nil, rf, want)), string(got), accept)
		// Twice: the annotator's caches, kept with the pooled state, give
		// the same answer.
		_, _, again := post(t, withAS.URL+"/invocations", "text/csv", accept, body)
		assert.Equal(t, string(got), string(again), accept)
	}

	// What the members say.
	_, _, got := post(t, withAS.URL+"/invocations", "text/csv", "application/jsonlines;explain=True", body)
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	require.Len(t, lines, len(recs))
	asOf := func(a netip.Addr) string {
		switch {
		case a.Is6() && !a.Is4In6():
			return `"asn":64502,"as_org":"Doc Net"`
		case a.As4()[1] < 100:
			return `"asn":64500,"as_org":"Example, Inc."`
		case a.As4()[1] < 150:
			return `"asn":64501,"as_org":"Other \"Net\" \\ Co"`
		}
		return `"asn":null,"as_org":null`
	}
	for i, r := range recs {
		assert.True(t, strings.HasSuffix(lines[i], ","+asOf(r.IP)+"}"), "%v: %s", r, lines[i])
		e := explained.Explain(r.Entity, r.IP)
		for _, n := range e.UsualNetworks {
			assert.Contains(t, lines[i], fmt.Sprintf(`{"network":"%s","pairs":%d,%s}`, n.Prefix, n.Count, asOf(n.Prefix.Addr())), "%v", r)
		}
	}
}

// TestNoAllocationPerRowWithAS: explaining with an AS database allocates
// nothing per record either, once the annotator's caches hold the
// networks.
func TestNoAllocationPerRowWithAS(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector (sync.Pool drops items)")
	}
	_, m := explainedModels(t)
	s, err := New(m, Options{MaxResponseBytes: 1 << 30, ASLookup: asnDB(t)})
	require.NoError(t, err)
	for _, accept := range []string{"application/jsonlines; explain=True", "application/json; verbose=True; explain=True"} {
		assertFlatAllocs(t, s, accept)
	}
}
