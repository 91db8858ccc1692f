package alert

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var opts = ASFFOptions{AccountID: "111122223333", Region: "eu-west-1", Time: time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)}

// validateASFF checks a finding, as JSON, against the published
// AwsSecurityFinding shape (Security Hub API Reference, AwsSecurityFinding;
// User Guide, "Required top-level ASFF attributes", "Types taxonomy for
// ASFF", "Network", "Resources"): required attributes present with their
// types, string lengths (Title 1-256, Description 1-1024, Id and
// GeneratorId 1-512, AwsAccountId 12, Resource Id 1-512, Type 1-256),
// strings holding a non-space character (pattern .*\S.*), timestamps in
// RFC 3339, Severity.Label in its enumeration, Types under a defined
// namespace, ProductFields at most 50 pairs with keys of at most 128 and
// values of at most 2048 characters, Network.Direction IN or OUT and
// source addresses of the right family, and no attribute outside ASFF.
func validateASFF(t *testing.T, b []byte) {
	t.Helper()
	var f map[string]any
	require.NoError(t, json.Unmarshal(b, &f))
	str := func(m map[string]any, key string, minLen, maxLen int) string {
		t.Helper()
		v, ok := m[key]
		if !assert.True(t, ok, "missing %s", key) {
			return ""
		}
		s, ok := v.(string)
		if !assert.True(t, ok, "%s is %T, want a string", key, v) {
			return ""
		}
		n := utf8.RuneCountInString(s)
		assert.True(t, n >= minLen && n <= maxLen, "%s: %d characters, want %d to %d", key, n, minLen, maxLen)
		assert.True(t, strings.TrimSpace(s) != "" || minLen == 0, "%s has no non-space character", key)
		return s
	}
	obj := func(m map[string]any, key string) map[string]any {
		t.Helper()
		o, ok := m[key].(map[string]any)
		require.True(t, ok, "%s is %T, want an object", key, m[key])
		return o
	}
	strings_ := func(m map[string]any, key string, max int) []string {
		t.Helper()
		a, ok := m[key].([]any)
		require.True(t, ok, "%s is %T, want an array", key, m[key])
		assert.True(t, len(a) >= 1 && len(a) <= max, "%s: %d entries", key, len(a))
		var out []string
		for _, x := range a {
			s, ok := x.(string)
			require.True(t, ok, "%s entry is %T", key, x)
			out = append(out, s)
		}
		return out
	}
	known := map[string]bool{"SchemaVersion": true, "Id": true, "ProductArn": true, "GeneratorId": true, "AwsAccountId": true,
		"Types": true, "CreatedAt": true, "UpdatedAt": true, "Severity": true, "Title": true, "Description": true,
		"Resources": true, "Network": true, "ProductFields": true, "FindingProviderFields": true}
	for k := range f {
		assert.True(t, known[k], "attribute %s is not one of ASFF's (or not one we meant to write)", k)
	}
	assert.Equal(t, "2018-10-08", str(f, "SchemaVersion", 1, 64))
	str(f, "Id", 1, 512)
	assert.Regexp(t, `^arn:aws(-cn|-us-gov)?:securityhub:[a-z0-9-]+:\d{12}:product/\d{12}/default$`, str(f, "ProductArn", 1, 2048))
	str(f, "GeneratorId", 1, 512)
	assert.Regexp(t, `^\d{12}$`, str(f, "AwsAccountId", 12, 12))
	namespaces := regexp.MustCompile(`^(Software and Configuration Checks|TTPs|Effects|Unusual Behaviors|Sensitive Data Identifications)(/[^/]+){0,2}$`)
	for _, typ := range strings_(f, "Types", 50) {
		assert.Regexp(t, namespaces, typ)
	}
	for _, k := range []string{"CreatedAt", "UpdatedAt"} {
		_, err := time.Parse(time.RFC3339Nano, str(f, k, 1, 64))
		assert.NoError(t, err, k)
	}
	labels := regexp.MustCompile(`^(INFORMATIONAL|LOW|MEDIUM|HIGH|CRITICAL)$`)
	assert.Regexp(t, labels, str(obj(f, "Severity"), "Label", 1, 16))
	str(f, "Title", 1, 256)
	str(f, "Description", 1, 1024)
	res, ok := f["Resources"].([]any)
	require.True(t, ok && len(res) >= 1 && len(res) <= 32, "Resources: 1 to 32")
	for _, x := range res {
		r, ok := x.(map[string]any)
		require.True(t, ok)
		str(r, "Type", 1, 256)
		str(r, "Id", 1, 512)
		if _, ok := r["Partition"]; ok {
			assert.Regexp(t, `^aws(-cn|-us-gov)?$`, str(r, "Partition", 1, 16))
		}
	}
	if _, ok := f["Network"]; ok {
		n := obj(f, "Network")
		assert.Regexp(t, `^(IN|OUT)$`, str(n, "Direction", 2, 3))
		if v, ok := n["SourceIpV4"]; ok {
			a, err := netip.ParseAddr(v.(string))
			assert.True(t, err == nil && a.Is4(), "SourceIpV4 %v", v)
		}
		if v, ok := n["SourceIpV6"]; ok {
			a, err := netip.ParseAddr(v.(string))
			assert.True(t, err == nil && a.Is6() && !a.Is4In6(), "SourceIpV6 %v", v)
		}
	}
	if _, ok := f["ProductFields"]; ok {
		pf := obj(f, "ProductFields")
		assert.LessOrEqual(t, len(pf), 50, "ProductFields pairs")
		for k, v := range pf {
			s, ok := v.(string)
			require.True(t, ok, "ProductFields[%s] is %T", k, v)
			assert.True(t, utf8.RuneCountInString(k) <= 128 && strings.TrimSpace(k) != "", "key %q", k)
			assert.True(t, utf8.RuneCountInString(s) <= 2048 && strings.TrimSpace(s) != "", "value of %q: %d characters", k, len(s))
		}
	}
	fp := obj(f, "FindingProviderFields")
	assert.Regexp(t, labels, str(obj(fp, "Severity"), "Label", 1, 16))
	strings_(fp, "Types", 50)
}

func finding(t *testing.T, r *Record, f *Fields) (Finding, []byte) {
	t.Helper()
	fd, err := NewFinding(r, f, &opts)
	require.NoError(t, err)
	b, err := json.Marshal(fd)
	require.NoError(t, err)
	validateASFF(t, b)
	return fd, b
}

func TestNewFinding(t *testing.T) {
	r := explained()
	rule := ipinsights.AlertRule{} // the zero rule: FPR 0, by dot product
	o := opts
	o.Rule = &rule
	fd, err := NewFinding(r, &allFields, &o)
	require.NoError(t, err)
	b, err := json.Marshal(fd)
	require.NoError(t, err)
	validateASFF(t, b)

	assert.Equal(t, "arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default", fd.ProductARN)
	assert.Equal(t, "2026-03-01T12:30:00.000Z", fd.CreatedAt)
	assert.Equal(t, fd.CreatedAt, fd.UpdatedAt, "a new finding")
	assert.Equal(t, Severity{Label: "HIGH", Original: "0.00012"}, fd.Severity, "percentile below 0.001")
	assert.Equal(t, fd.Severity, fd.FindingProviderFields.Severity)
	assert.Equal(t, []Resource{{Type: "Other", ID: "alice", Partition: "aws", Region: "eu-west-1"}}, fd.Resources)
	assert.Equal(t, &Network{Direction: "IN", SourceIPv4: "198.51.100.7"}, fd.Network)
	assert.Regexp(t, `^eu-west-1/111122223333/[0-9a-f]{32}$`, fd.ID)
	assert.Equal(t, "Unusual address 198.51.100.7 for alice", fd.Title)
	for _, s := range []string{
		"IP Insights scored alice from 198.51.100.7 (AS64501 Other Org) at dot product -3.25, percentile 0.012% of the entity's own normal pairs (353).",
		"Its network 198.51.100.0/24 is not among the entity's usual networks.",
		"Usual networks, from 353 training pairs: 203.0.113.0/24 312 (AS64500 Example Org); 192.0.2.0/24 41.",
		"Nearest usual network by IP embedding: 203.0.113.0/24 (cosine similarity 0.42).",
	} {
		assert.Contains(t, fd.Description, s)
	}
	assert.Equal(t, map[string]string{
		"ipinsights/dot_product": "-3.25", "ipinsights/entity_seen": "true",
		"ipinsights/percentile": "0.00012", "ipinsights/percentile_pairs": "353", "ipinsights/percentile_per_entity": "true",
		"ipinsights/alert": "true", "ipinsights/alert_fpr": "0", "ipinsights/alert_basis": "dot_product", "ipinsights/alert_threshold": "0",
		"ipinsights/entity_pairs": "353", "ipinsights/network": "198.51.100.0/24", "ipinsights/network_seen": "false",
		"ipinsights/usual_networks":        "203.0.113.0/24 312 (AS64500 Example Org); 192.0.2.0/24 41",
		"ipinsights/nearest_usual_network": "203.0.113.0/24", "ipinsights/nearest_similarity": "0.42",
		"ipinsights/asn": "64501", "ipinsights/as_org": "Other Org",
		"ipinsights/input/finding_id": "f-1", "ipinsights/input/finding_type": "Recon:IAMUser/MaliciousIPCaller",
	}, fd.ProductFields)

	// Deterministic for the same input, different for another row.
	again, err := NewFinding(explained(), &allFields, &o)
	require.NoError(t, err)
	assert.Equal(t, fd, again)
	other := explained()
	other.Extra[0] = []byte("f-2")
	assert.NotEqual(t, fd.ID, FindingID(other, &o))
	other = explained()
	other.Extra = [][]byte{[]byte("f-1R"), []byte("econ:IAMUser/MaliciousIPCaller")}
	assert.NotEqual(t, fd.ID, FindingID(other, &o), "columns are delimited")
}

func TestSeverity(t *testing.T) {
	f := Fields{Percentile: true}
	for _, c := range []struct {
		p    float64
		seen bool
		want string
	}{
		{0.0009, true, "HIGH"}, {0.001, true, "MEDIUM"}, {0.0099, true, "MEDIUM"}, {0.01, true, "LOW"}, {0.5, true, "LOW"},
		{0.00001, false, "INFORMATIONAL"},
	} {
		r := &Record{Percentile: ipinsights.Percentile{Value: c.p}, Result: ipinsights.Result{EntitySeen: c.seen}}
		assert.Equal(t, c.want, SeverityOf(r, &f).Label, "%+v", c)
	}
	f = Fields{Alert: true}
	assert.Equal(t, "MEDIUM", SeverityOf(&Record{Alert: true, Result: ipinsights.Result{EntitySeen: true}}, &f).Label)
	assert.Equal(t, "LOW", SeverityOf(&Record{Result: ipinsights.Result{EntitySeen: true}}, &f).Label)
}

// Findings stay within Security Hub's limits whatever the input: long
// and odd entities, many and long extra columns, IPv6, no explanation.
func TestFindingLimits(t *testing.T) {
	long := strings.Repeat("é", 1000) // 2 bytes a character
	var names []string
	var extra [][]byte
	for i := range 60 {
		names = append(names, fmt.Sprintf("column_%03d_%s", i, strings.Repeat("x", 200)))
		extra = append(extra, []byte(strings.Repeat("v", 3000)))
	}
	many := make(ipinsights.NetworkCounts, 64)
	for i := range many {
		many[i] = ipinsights.NetworkCount{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i), 0, 0}), 16), Count: 1000 - i}
	}
	cases := []struct {
		name string
		r    *Record
		f    Fields
	}{
		{"long entity and extras", &Record{Entity: []byte(long), Addr: netip.MustParseAddr("2001:db8::7"), Extra: extra,
			Explanation: &ipinsights.Explanation{UsualNetworks: many, EntityPairs: 5000, Network: netip.MustParsePrefix("2001:db8::/48")},
			Result:      ipinsights.Result{DotProduct: -9, EntitySeen: true}, Alert: true},
			Fields{Percentile: true, Alert: true, Explain: true, AS: true, Extra: names}},
		{"invalid UTF-8, mapped IPv4, unseen", &Record{Entity: []byte("bad\xff\xfe entity\n"), Addr: netip.MustParseAddr("::ffff:192.0.2.9")},
			Fields{Percentile: true}},
		{"empty entity, nothing else", &Record{Addr: netip.MustParseAddr("192.0.2.1")}, Fields{}},
		{"an IAM user's ARN", &Record{Entity: []byte("arn:aws:iam::111122223333:user/alice"), Addr: netip.MustParseAddr("192.0.2.1")}, Fields{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fd, _ := finding(t, c.r, &c.f)
			if c.f.Extra != nil {
				assert.Len(t, fd.ProductFields, 50, "capped")
				assert.True(t, strings.HasSuffix(fd.Title, "…"))
				// Cut by bytes, which bounds the characters whatever
				// Security Hub counts.
				assert.LessOrEqual(t, len(fd.Description), 1024)
				assert.Greater(t, len(fd.Description), 1000)
				assert.True(t, strings.HasSuffix(fd.Description, "…"))
			}
		})
	}
}

func TestResourceType(t *testing.T) {
	for entity, want := range map[string]string{
		"arn:aws:iam::111122223333:user/alice":                      "AwsIamUser",
		"arn:aws:iam::111122223333:user/path/bob":                   "AwsIamUser",
		"arn:aws:iam::111122223333:role/Admin":                      "AwsIamRole",
		"arn:aws-cn:sts::111122223333:assumed-role/Admin/session-1": "AwsIamRole",
		"arn:aws:s3:::bucket":                                       "Other",
		"AIDAJQABLZS4A3QDU576Q":                                     "AwsIamUser",
		"AROAJQABLZS4A3QDU576Q":                                     "AwsIamRole",
		"AKIAIOSFODNN7EXAMPLE":                                      "AwsIamAccessKey",
		"ASIAIOSFODNN7EXAMPLE":                                      "AwsIamAccessKey",
		"AIDA7F7C6BF7756DF247":                                      "AwsIamUser",
		"AIDA":                                                      "Other",
		"AIDAJQABLZS4A3QDU576q":                                     "Other",
		"alice":                                                     "Other",
		"":                                                          "Other",
	} {
		assert.Equal(t, want, ResourceType(entity), entity)
	}
}

func TestASFFOptionsCheck(t *testing.T) {
	for _, o := range []ASFFOptions{{Region: "us-east-1"}, {AccountID: "1111222233334", Region: "us-east-1"}, {AccountID: "11112222333a", Region: "us-east-1"}} {
		assert.ErrorIs(t, o.Check(), ErrAccountID, "%+v", o)
	}
	for _, o := range []ASFFOptions{{AccountID: "111122223333"}, {AccountID: "111122223333", Region: "US East"}} {
		assert.ErrorIs(t, o.Check(), ErrRegion, "%+v", o)
	}
	o := ASFFOptions{AccountID: "111122223333", Region: "cn-north-1"}
	assert.NoError(t, o.Check())
	assert.Equal(t, "arn:aws-cn:securityhub:cn-north-1:111122223333:product/111122223333/default", o.ProductARN())
	o.Region = "us-gov-west-1"
	assert.Equal(t, "aws-us-gov", o.Partition())
	_, err := NewFinding(explained(), &allFields, &ASFFOptions{Region: "us-east-1"})
	assert.ErrorIs(t, err, ErrAccountID)
}

func TestASFFWriterBatches(t *testing.T) {
	var buf bytes.Buffer
	w := NewASFFWriter(&buf)
	f := Fields{Percentile: true, Alert: true, Extra: []string{"row"}}
	const n = 250
	for i := range n {
		r := explained()
		r.Extra = [][]byte{fmt.Appendf(nil, "%d", i)}
		fd, err := NewFinding(r, &f, &opts)
		require.NoError(t, err)
		require.NoError(t, w.Write(&fd))
		if i%50 == 0 { // the same row again: the same finding
			require.NoError(t, w.Write(&fd))
		}
	}
	require.NoError(t, w.Flush())
	assert.Equal(t, n, w.Findings())
	assert.Equal(t, 5, w.Duplicates())

	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, MaxBatchBytes+1)
	var sizes []int
	ids := map[string]bool{}
	for sc.Scan() {
		assert.LessOrEqual(t, len(sc.Bytes()), MaxBatchBytes)
		var req struct{ Findings []json.RawMessage }
		require.NoError(t, json.Unmarshal(sc.Bytes(), &req))
		sizes = append(sizes, len(req.Findings))
		for _, raw := range req.Findings {
			validateASFF(t, raw)
			var fd Finding
			require.NoError(t, json.Unmarshal(raw, &fd))
			assert.False(t, ids[fd.ID], "Id %s twice", fd.ID)
			ids[fd.ID] = true
		}
	}
	assert.Equal(t, []int{100, 100, 50}, sizes)

	// Nothing to write: no line.
	buf.Reset()
	w = NewASFFWriter(&buf)
	require.NoError(t, w.Flush())
	assert.Zero(t, buf.Len())
}

// Large findings (long extra columns) make batches of fewer than 100, so
// that each stays within the request's byte limit.
func TestASFFWriterByteLimit(t *testing.T) {
	var buf bytes.Buffer
	w := NewASFFWriter(&buf)
	var names []string
	var extra [][]byte
	for i := range 40 {
		names = append(names, fmt.Sprint("c", i))
		extra = append(extra, []byte(strings.Repeat("v", 2000)))
	}
	f := Fields{Extra: names}
	for i := range 150 {
		r := &Record{Entity: fmt.Appendf(nil, "user-%d", i), Addr: netip.MustParseAddr("192.0.2.1"), Extra: extra}
		fd, err := NewFinding(r, &f, &opts)
		require.NoError(t, err)
		require.NoError(t, w.Write(&fd))
	}
	require.NoError(t, w.Flush())
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	assert.Greater(t, len(lines), 2)
	total := 0
	for _, l := range lines {
		assert.LessOrEqual(t, len(l)+1, MaxBatchBytes)
		var req struct{ Findings []json.RawMessage }
		require.NoError(t, json.Unmarshal([]byte(l), &req))
		total += len(req.Findings)
	}
	assert.Equal(t, 150, total)
}

func TestNetworkSide(t *testing.T) {
	assert.Equal(t, "every pair outside", networkSide("outside", math.Inf(1)))
	assert.Equal(t, "none inside", networkSide("inside", math.Inf(-1)))
	assert.Equal(t, "outside below -1.25", networkSide("outside", -1.25))
}
