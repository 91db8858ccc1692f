package awslogs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipinsights/ipinsights-go/csvio"
)

// want is the expected outcome of one record under one key rule: a
// principal (with the record's address) or a skip reason.
type want struct {
	principal string
	reason    Reason
}

func p(s string) want    { return want{principal: s} }
func r(x Reason) want    { return want{reason: x} }
func all(w want) [4]want { return [4]want{w, w, w, w} }

// identityCases pins, for every record of testdata/cloudtrail_identities.json
// (one per documented userIdentity.type, then the skip cases), the address
// and the outcome under KeyIdentity, KeyWorkshop, KeyARN and KeyAccessKey.
var identityCases = []struct {
	name string
	addr string
	keys [4]want
}{
	{"IAMUser", "192.0.2.10", [4]want{p("AIDAJ45Q7YFFAREXAMPLE"), p("AIDAJ45Q7YFFAREXAMPLE"), p("arn:aws:iam::123456789012:user/Alice"), p("AKIAIOSFODNN7EXAMPLE")}},
	{"AssumedRole", "198.51.100.20", [4]want{p("AROAIDPPEZS35WEXAMPLE"), p("AROAIDPPEZS35WEXAMPLE"), p("arn:aws:iam::123456789012:role/RoleToBeAssumed"), p("ASIAIOSFODNN7EXAMPLE")}},
	{"Role", "198.51.100.30", [4]want{p("AROAJ52OTH4H7LEXAMPLE"), p("AROAJ52OTH4H7LEXAMPLE"), p("arn:aws:iam::123456789012:role/ExampleRole"), r(NoPrincipal)}},
	{"Root", "203.0.113.40", [4]want{p("123456789012"), p("123456789012"), p("arn:aws:iam::123456789012:root"), r(NoPrincipal)}},
	{"FederatedUser", "203.0.113.50", [4]want{p("123456789012:Bob"), p("123456789012"), p("arn:aws:sts::123456789012:federated-user/Bob"), p("ASIAI44QH8DHBEXAMPLE")}},
	{"AWSAccount", "192.0.2.101", [4]want{p("AIDAQRSTUVWXYZEXAMPLE"), p("AIDAQRSTUVWXYZEXAMPLE"), r(NoPrincipal), r(NoPrincipal)}},
	{"AWSService", "", all(r(ServiceSource))},
	{"SAMLUser", "192.0.2.80", [4]want{p("SampleUkh1i4+ExamplexL/jEvs=:SamlExample"), p("SampleUkh1i4+ExamplexL/jEvs="), r(NoPrincipal), r(NoPrincipal)}},
	{"WebIdentityUser", "192.0.2.90", [4]want{p("accounts.google.com:application-id.apps.googleusercontent.com:user-id"), p("accounts.google.com"), r(NoPrincipal), r(NoPrincipal)}},
	{"IdentityCenterUser", "2001:db8:1::5", [4]want{p("544894e8-80c1-707f-60e3-3ba6510dfac1"), r(NoPrincipal), p("544894e8-80c1-707f-60e3-3ba6510dfac1"), r(NoPrincipal)}},
	{"Directory", "192.0.2.110", [4]want{p("d-906724b3c1:S-1-5-21-1234567890-1234567890-1234567890-1105"), p("d-906724b3c1"), r(NoPrincipal), r(NoPrincipal)}},
	{"Unknown", "203.0.113.120", [4]want{p("123456789012"), p("123456789012"), r(NoPrincipal), r(NoPrincipal)}},
	{"Insights event", "", all(r(NoUserIdentity))},
	{"AWS Internal", "", all(r(AWSInternal))},
	{"redacted", "", all(r(BadAddress))},
	{"address list", "", all(r(BadAddress))},
	{"no sourceIPAddress", "", all(r(NoSourceAddress))},
	{"invoked by a service", "", all(r(ServiceSource))},
	{"IPv4-mapped", "192.0.2.19", [4]want{p("AIDAJ45Q7YFFAREXAMPLE"), p("AIDAJ45Q7YFFAREXAMPLE"), p("arn:aws:iam::123456789012:user/Alice"), p("AKIAIOSFODNN7EXAMPLE")}},
}

func TestCloudTrailIdentityTypes(t *testing.T) {
	data, err := os.ReadFile("testdata/cloudtrail_identities.json")
	require.NoError(t, err)
	for k := KeyIdentity; k <= KeyAccessKey; k++ {
		x := &extractor{opts: &Options{Key: k}, cloudTrail: true}
		d := NewCloudTrailDecoder(bytes.NewReader(data), "identities.json")
		i := 0
		for d.Next() {
			require.Less(t, i, len(identityCases))
			c := identityCases[i]
			require.NoError(t, d.Malformed())
			assert.Equal(t, i+1, d.Index())
			var tu Tuple
			reason := x.cloudTrailTuple(d.Record(), &tu)
			w := c.keys[k]
			if assert.Equal(t, w.reason, reason, "%s under %s", c.name, k) && reason == 0 {
				assert.Equal(t, w.principal, tu.Principal, "%s under %s", c.name, k)
				assert.Equal(t, netip.MustParseAddr(c.addr), tu.Addr, c.name)
				assert.Equal(t, d.Record().EventID, tu.EventID)
			}
			i++
		}
		require.NoError(t, d.Err())
		assert.Equal(t, len(identityCases), i)
	}
}

// collect gathers what an extraction writes.
type collect struct{ tuples []Tuple }

func (c *collect) WriteTuple(t *Tuple) error { c.tuples = append(c.tuples, *t); return nil }

func (c *collect) rows() []string {
	var out []string
	for _, t := range c.tuples {
		out = append(out, t.Principal+","+t.Addr.String())
	}
	return out
}

func TestExtractCloudTrailReport(t *testing.T) {
	var c collect
	rep, err := ExtractCloudTrail(context.Background(), []string{"testdata/cloudtrail_identities.json"}, &c, nil)
	require.NoError(t, err)
	assert.False(t, rep.Failed())
	assert.Equal(t, 1, rep.Inputs)
	assert.Equal(t, 19, rep.Records)
	assert.Equal(t, 12, rep.Tuples)
	assert.Len(t, c.tuples, 12)
	assert.Equal(t, "AIDAJ45Q7YFFAREXAMPLE,192.0.2.10", c.rows()[0])
	assert.Equal(t, "544894e8-80c1-707f-60e3-3ba6510dfac1,2001:db8:1::5", c.rows()[8])
	for reason, n := range map[Reason]int{ServiceSource: 2, NoUserIdentity: 1, AWSInternal: 1, BadAddress: 2, NoSourceAddress: 1} {
		assert.Equal(t, n, rep.SkippedCount(reason), reason.String())
	}
	assert.Equal(t, []Location{{File: "testdata/cloudtrail_identities.json", Record: 7}, {File: "testdata/cloudtrail_identities.json", Record: 18}}, rep.Skipped[ServiceSource].First)
	s := rep.String()
	assert.Contains(t, s, "1 input, 19 records, 12 tuples")
	assert.Contains(t, s, "skipped 2: unparsable address (testdata/cloudtrail_identities.json record 15, testdata/cloudtrail_identities.json record 16)")
}

// Counts of one take the singular, others the plural.
func TestReportCountsGrammar(t *testing.T) {
	rep := newReport()
	rep.Inputs, rep.Records, rep.Tuples = 1, 1, 0
	rep.Ignored = []string{"a.txt"}
	rep.Errors = []error{errors.New("boom")}
	assert.Equal(t, "1 input, 1 record, 0 tuples; 1 file ignored; 1 input failed", rep.Summary())
	assert.Contains(t, rep.String(), "1 input, 1 record, 0 tuples\nignored 1 file not CloudTrail or GuardDuty JSON: a.txt\n")
	rep.Inputs, rep.Records, rep.Tuples = 2, 3, 1
	rep.Ignored = append(rep.Ignored, "b.txt")
	assert.Equal(t, "2 inputs, 3 records, 1 tuple; 2 files ignored; 1 input failed", rep.Summary())
}

// ctRecord renders a minimal CloudTrail record.
func ctRecord(id, tm, name string, readOnly bool, ip string) string {
	ro := "false"
	if readOnly {
		ro = "true"
	}
	return `{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDA` + strings.ToUpper(name) + `"},"eventTime":"` + tm +
		`","eventName":"` + name + `","sourceIPAddress":"` + ip + `","eventID":"` + id + `","readOnly":` + ro + `}`
}

func writeFile(t *testing.T, path string, data []byte, gz bool) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	if gz {
		data = gzipped(t, data)
	}
	require.NoError(t, os.WriteFile(path, data, 0o644))
}

func TestCloudTrailFilters(t *testing.T) {
	dir := t.TempDir()
	recs := []string{
		ctRecord("e0000001-0000-4000-8000-000000000001", "2024-03-01T09:59:59Z", "ListBuckets", true, "192.0.2.1"),
		ctRecord("e0000001-0000-4000-8000-000000000002", "2024-03-01T10:00:00Z", "ListBuckets", true, "192.0.2.2"),
		ctRecord("e0000001-0000-4000-8000-000000000003", "2024-03-01T11:00:00Z", "PutObject", false, "192.0.2.3"),
		ctRecord("e0000001-0000-4000-8000-000000000004", "2024-03-01T11:59:59Z", "ConsoleLogin", false, "192.0.2.4"),
		ctRecord("e0000001-0000-4000-8000-000000000005", "2024-03-01T12:00:00Z", "ListBuckets", true, "192.0.2.5"),
		ctRecord("e0000001-0000-4000-8000-000000000002", "2024-03-01T10:00:00Z", "ListBuckets", true, "192.0.2.2"), // a duplicate
		ctRecord("e0000001-0000-4000-8000-000000000006", "yesterday", "ListBuckets", true, "192.0.2.6"),
	}
	path := filepath.Join(dir, "export.jsonl")
	writeFile(t, path, []byte(strings.Join(recs, "\n")+"\n"), false)
	run := func(o Options) ([]string, *Report) {
		var c collect
		rep, err := ExtractCloudTrail(context.Background(), []string{path}, &c, &o)
		require.NoError(t, err)
		require.False(t, rep.Failed(), rep.String())
		return c.rows(), rep
	}
	since := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	until := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

	rows, rep := run(Options{})
	assert.Len(t, rows, 7)

	rows, rep = run(Options{Since: since, Until: until})
	assert.Equal(t, []string{"AIDALISTBUCKETS,192.0.2.2", "AIDAPUTOBJECT,192.0.2.3", "AIDACONSOLELOGIN,192.0.2.4", "AIDALISTBUCKETS,192.0.2.2"}, rows)
	assert.Equal(t, 2, rep.SkippedCount(OutsideWindow))
	assert.Equal(t, 1, rep.SkippedCount(BadEventTime))

	rows, rep = run(Options{Since: since, Until: until, Dedup: true})
	assert.Len(t, rows, 3)
	assert.Equal(t, []Location{{File: path, Record: 6}}, rep.Skipped[Duplicate].First)

	rows, rep = run(Options{EventNames: []string{"PutObject", "ConsoleLogin"}})
	assert.Equal(t, []string{"AIDAPUTOBJECT,192.0.2.3", "AIDACONSOLELOGIN,192.0.2.4"}, rows)
	assert.Equal(t, 5, rep.SkippedCount(EventNameFiltered))

	rows, rep = run(Options{ReadOnly: WriteEvents})
	assert.Equal(t, []string{"AIDAPUTOBJECT,192.0.2.3", "AIDACONSOLELOGIN,192.0.2.4"}, rows)
	assert.Equal(t, 5, rep.SkippedCount(ReadOnlyFiltered))

	rows, _ = run(Options{ReadOnly: ReadOnlyEvents, Dedup: true})
	assert.Equal(t, []string{"AIDALISTBUCKETS,192.0.2.1", "AIDALISTBUCKETS,192.0.2.2", "AIDALISTBUCKETS,192.0.2.5", "AIDALISTBUCKETS,192.0.2.6"}, rows)
}

func TestCloudTrailLayouts(t *testing.T) {
	rec1 := ctRecord("a", "2024-03-01T10:00:00Z", "x", true, "192.0.2.1")
	rec2 := ctRecord("b", "2024-03-01T10:00:00Z", "y", true, "192.0.2.2")
	want := []string{"AIDAX,192.0.2.1", "AIDAY,192.0.2.2"}
	for name, text := range map[string]string{
		"records":                       `{"Records": [` + rec1 + `,` + rec2 + `]}`,
		"records then key":              `{"Records": [` + rec1 + `,` + rec2 + `], "extra": {"a": [1, 2]}}`,
		"array":                         `[` + rec1 + `,` + rec2 + `]`,
		"lines":                         rec1 + "\n" + rec2 + "\n",
		"lines, no final newline, CRLF": rec1 + "\r\n" + rec2,
		"byte order mark":               "\ufeff" + `{"Records":[` + rec1 + `,` + rec2 + `]}`,
		"no records":                    `{"Records": []}`,
	} {
		for _, gz := range []bool{false, true} {
			path := filepath.Join(t.TempDir(), "log.json")
			writeFile(t, path, []byte(text), gz)
			var c collect
			rep, err := ExtractCloudTrail(context.Background(), []string{path}, &c, nil)
			require.NoError(t, err)
			assert.False(t, rep.Failed(), "%s: %v", name, rep.Errors)
			if name == "no records" {
				assert.Empty(t, c.rows(), name)
				continue
			}
			assert.Equal(t, want, c.rows(), "%s gz=%v", name, gz)
		}
	}
}

// TestCloudTrailBadFiles checks that a malformed or truncated file is an
// error naming the file and the record, that the records before the
// fault are kept, and that the other files are still read.
func TestCloudTrailBadFiles(t *testing.T) {
	good, err := os.ReadFile("testdata/cloudtrail_identities.json")
	require.NoError(t, err)
	rec := func(i int) string {
		return ctRecord("id", "2024-03-01T10:00:00Z", "x", true, "192.0.2."+string(rune('0'+i)))
	}
	cases := []struct {
		name, text string
		gz         bool
		wantErr    string
		record     int
		tuples     int
	}{
		{"truncated", string(good[:len(good)/2]), false, "unexpected EOF", 0, 0},
		{"truncated gzip", string(good[:len(good)*2/3]), true, "unexpected EOF", 0, 0},
		{"missing comma", `{"Records":[` + rec(1) + rec(2) + `]}`, false, "want ',' or ']' after a record, found '{'", 2, 1},
		{"bad token", `{"Records":[` + rec(1) + `, nope]}`, false, "want null, found 'o'", 2, 1},
		{"unclosed array", `{"Records":[` + rec(1), false, "unexpected EOF", 2, 1},
		{"trailing garbage", `{"Records":[` + rec(1) + `]} x`, false, "want the end of the input after the records, found 'x'", 2, 1},
		{"Records not an array", `{"Records": {}}`, false, `"Records" is not an array`, 0, 0},
		{"empty file", "", false, "empty input", 0, 0},
		{"not JSON", "eventName,sourceIPAddress\n", false, "not JSON: want a value, found 'e'", 0, 0},
		{"a digest file", `{"awsAccountId":"123456789012","digestStartTime":"2024-03-01T10:00:00Z","logFiles":[]}`, false, ErrNotCloudTrail.Error(), 0, 0},
		{"a line cut short", rec(1) + "\n" + rec(2)[:40], false, "unexpected EOF", 2, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			bad := filepath.Join(dir, "a_bad.json")
			writeFile(t, bad, []byte(c.text), c.gz)
			other := filepath.Join(dir, "b_good.json")
			writeFile(t, other, []byte(`{"Records":[`+rec(9)+`]}`), false)
			var col collect
			rep, err := ExtractCloudTrail(context.Background(), []string{bad, other}, &col, nil)
			require.NoError(t, err)
			require.Len(t, rep.Errors, 1)
			var fe *FileError
			require.True(t, errors.As(rep.Errors[0], &fe))
			assert.Equal(t, bad, fe.File)
			assert.Contains(t, fe.Error(), bad)
			assert.Contains(t, fe.Error(), c.wantErr)
			if c.record > 0 {
				assert.Equal(t, c.record, fe.Record)
				assert.Contains(t, fe.Error(), "record ")
			}
			if c.name == "truncated" || c.name == "truncated gzip" {
				assert.Greater(t, fe.Record, 1, "the error names the record being read")
				assert.Greater(t, len(col.tuples), 1, "records before the fault are kept")
			} else {
				assert.Equal(t, c.tuples+1, len(col.tuples))
			}
			last := col.tuples[len(col.tuples)-1]
			assert.Equal(t, "192.0.2.9", last.Addr.String(), "the other file is read")
			assert.Equal(t, 2, rep.Inputs)
		})
	}
}

// An input that is not CloudTrail, judged by its first record, is a
// FileError wrapping ErrNotCloudTrail that says what it found; a log
// with no records is not.
func TestCloudTrailRejectsOtherInputs(t *testing.T) {
	for _, c := range []struct{ name, text, want string }{
		{"CSV", "alice,192.0.2.1\nbob,192.0.2.2\n", "not JSON: want a value, found 'a'"},
		{"CSV of numbers", "123456789012,192.0.2.1\n", "its first value is a number"},
		{"CSV, quoted", `"alice",192.0.2.1` + "\n", "its first value is a string"},
		{"another object", `{"foo": 1}`, "its first value is an object without eventVersion, eventTime, eventName or eventID"},
		{"Records of other objects", `{"Records": [{"foo": 1}]}`, "the first element of its Records array is an object without"},
		{"Records of numbers", `{"Records": [1, 2]}`, "the first element of its Records array is a number"},
		{"array of numbers", `[1, 2, 3]`, "the first element of the array is a number"},
		{"array of objects", `[{"a": 1}, {"b": 2}]`, "the first element of the array is an object without"},
		{"array of arrays", `[[]]`, "the first element of the array is an array"},
		{"null", "null", "its first value is null"},
		{"string", `"hello"`, "its first value is a string"},
		{"boolean", "true", "its first value is a boolean"},
	} {
		path := filepath.Join(t.TempDir(), "x.json")
		writeFile(t, path, []byte(c.text), false)
		var col collect
		rep, err := ExtractCloudTrail(context.Background(), []string{path}, &col, nil)
		require.NoError(t, err)
		require.Len(t, rep.Errors, 1, c.name)
		assert.ErrorIs(t, rep.Errors[0], ErrNotCloudTrail, c.name)
		assert.ErrorContains(t, rep.Errors[0], path+": ", c.name)
		assert.ErrorContains(t, rep.Errors[0], "not a CloudTrail log: ", c.name)
		assert.ErrorContains(t, rep.Errors[0], c.want, c.name)
		assert.Zero(t, rep.Records, c.name)
		assert.Empty(t, col.tuples, c.name)
	}
	for _, text := range []string{`{"Records": []}`, `[]`, `{"Records": [], "x": 1}`} {
		path := filepath.Join(t.TempDir(), "x.json")
		writeFile(t, path, []byte(text), true)
		rep, err := ExtractCloudTrail(context.Background(), []string{path}, &collect{}, nil)
		require.NoError(t, err)
		assert.False(t, rep.Failed(), "%s: %v", text, rep.Errors)
		assert.Equal(t, 1, rep.Inputs)
		assert.Zero(t, rep.Records)
	}
}

func TestCloudTrailMalformedRecordIsCounted(t *testing.T) {
	text := `{"Records":[` + ctRecord("a", "t", "x", true, "192.0.2.1") + `,{"eventVersion":"1.09","eventTime":5},null,"text",` +
		`{"eventVersion":"1.09","readOnly":"maybe"},` + ctRecord("b", "t", "y", true, "192.0.2.2") + `]}`
	path := filepath.Join(t.TempDir(), "m.json")
	writeFile(t, path, []byte(text), false)
	var c collect
	rep, err := ExtractCloudTrail(context.Background(), []string{path}, &c, nil)
	require.NoError(t, err)
	assert.False(t, rep.Failed())
	assert.Equal(t, []string{"AIDAX,192.0.2.1", "AIDAY,192.0.2.2"}, c.rows())
	assert.Equal(t, 4, rep.SkippedCount(Malformed))
	first := rep.Skipped[Malformed].First
	require.Len(t, first, 3)
	assert.Equal(t, 2, first[0].Record)
	assert.Contains(t, first[0].Detail, "eventTime")
	assert.Equal(t, 3, first[1].Record)
	assert.Equal(t, 4, first[2].Record)
}

func TestCloudTrailTreeWalk(t *testing.T) {
	root := t.TempDir()
	day := filepath.Join(root, "AWSLogs", "123456789012", "CloudTrail", "us-east-1", "2024", "03", "01")
	writeFile(t, filepath.Join(day, "123456789012_CloudTrail_us-east-1_20240301T1000Z_a.json.gz"), []byte(`{"Records":[`+ctRecord("a", "t", "x", true, "192.0.2.1")+`]}`), true)
	writeFile(t, filepath.Join(day, "123456789012_CloudTrail_us-east-1_20240301T1005Z_b.json.gz"), []byte(`{"Records":[`+ctRecord("b", "t", "y", true, "192.0.2.2")+`]}`), true)
	day2 := filepath.Join(root, "AWSLogs", "123456789012", "CloudTrail", "eu-west-1", "2024", "03", "02")
	writeFile(t, filepath.Join(day2, "123456789012_CloudTrail_eu-west-1_20240302T0000Z_c.json"), []byte(`{"Records":[`+ctRecord("c", "t", "z", true, "2001:db8::3")+`]}`), false)
	digest := filepath.Join(root, "AWSLogs", "123456789012", "CloudTrail-Digest", "us-east-1", "2024", "03", "01")
	writeFile(t, filepath.Join(digest, "123456789012_CloudTrail-Digest_us-east-1_trail_us-east-1_20240301T110000Z.json.gz"), []byte(`{"awsAccountId":"123456789012"}`), true)
	writeFile(t, filepath.Join(root, "AWSLogs", "123456789012", "CloudTrail", "README.txt"), []byte("hello"), false)

	var c collect
	rep, err := ExtractCloudTrail(context.Background(), []string{root}, &c, &Options{Workers: 2})
	require.NoError(t, err)
	assert.False(t, rep.Failed(), rep.String())
	assert.Equal(t, []string{"AIDAZ,2001:db8::3", "AIDAX,192.0.2.1", "AIDAY,192.0.2.2"}, c.rows(), "lexical order: eu-west-1 before us-east-1")
	assert.Equal(t, 3, rep.Inputs)
	assert.Len(t, rep.Ignored, 2)
	assert.Contains(t, rep.String(), "ignored 2 files")

	rep, err = ExtractCloudTrail(context.Background(), []string{filepath.Join(root, "nope")}, &c, nil)
	require.NoError(t, err)
	require.Len(t, rep.Errors, 1)
	assert.ErrorIs(t, rep.Errors[0], os.ErrNotExist)
}

// TestOrderDoesNotDependOnWorkers runs many files through 1 and 4
// workers and compares the outputs.
func TestOrderDoesNotDependOnWorkers(t *testing.T) {
	dir := t.TempDir()
	var inputs []string
	for f := 0; f < 12; f++ {
		var recs []string
		for i := 0; i < 1000+f*300; i++ {
			recs = append(recs, ctRecord("id", "2024-03-01T10:00:00Z", "u"+string(rune('a'+f)), true, netip.AddrFrom4([4]byte{10, byte(f), byte(i >> 8), byte(i)}).String()))
		}
		path := filepath.Join(dir, "f"+string(rune('a'+f))+".json.gz")
		writeFile(t, path, []byte(`{"Records":[`+strings.Join(recs, ",")+`]}`), true)
		inputs = append(inputs, path)
	}
	var one, four collect
	_, err := ExtractCloudTrail(context.Background(), inputs, &one, &Options{Workers: 1})
	require.NoError(t, err)
	_, err = ExtractCloudTrail(context.Background(), inputs, &four, &Options{Workers: 4})
	require.NoError(t, err)
	assert.Equal(t, one.rows(), four.rows())
	assert.Len(t, one.rows(), 12*1000+300*66)
}

func TestWriteErrorStopsExtraction(t *testing.T) {
	boom := errors.New("disk full")
	n := 0
	w := TupleWriterFunc(func(*Tuple) error {
		n++
		if n == 3 {
			return boom
		}
		return nil
	})
	_, err := ExtractCloudTrail(context.Background(), []string{"testdata/cloudtrail_identities.json", "testdata/cloudtrail_identities.json"}, w, &Options{Workers: 2})
	assert.ErrorIs(t, err, boom)
	assert.Equal(t, 3, n)
}

func TestParsePrincipalKey(t *testing.T) {
	for _, n := range PrincipalKeyNames() {
		k, err := ParsePrincipalKey(n)
		require.NoError(t, err)
		assert.Equal(t, n, k.String())
	}
	_, err := ParsePrincipalKey("principalId")
	assert.ErrorContains(t, err, "identity, workshop, arn, access-key")
}

func TestRoleARNFromSession(t *testing.T) {
	assert.Equal(t, "arn:aws:iam::123456789012:role/R", roleARNFromSession("arn:aws:sts::123456789012:assumed-role/R/s"))
	assert.Equal(t, "arn:aws-cn:iam::123456789012:role/R", roleARNFromSession("arn:aws-cn:sts::123456789012:assumed-role/R/s"))
	assert.Equal(t, "", roleARNFromSession("arn:aws:iam::123456789012:user/R"))
	assert.Equal(t, "", roleARNFromSession("nonsense"))
	u := &UserIdentity{Type: "AssumedRole", PrincipalID: "AROAX:s", ARN: "arn:aws:sts::1:assumed-role/R/s"}
	assert.Equal(t, "arn:aws:iam::1:role/R", KeyARN.Key(u), "no sessionIssuer: built from the session ARN")
	u.PrincipalID = ""
	u.SessionContext = &SessionContext{SessionIssuer: &SessionIssuer{PrincipalID: "AROAX"}}
	assert.Equal(t, "AROAX", KeyIdentity.Key(u), "no principalId: the session issuer's")
}

func TestControlCharactersInPrincipal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.json")
	writeFile(t, path, []byte(`{"eventVersion":"1","userIdentity":{"type":"IAMUser","principalId":"AIDA\nX"},"sourceIPAddress":"192.0.2.1"}`), false)
	var c collect
	rep, err := ExtractCloudTrail(context.Background(), []string{path}, &c, nil)
	require.NoError(t, err)
	assert.Empty(t, c.tuples)
	assert.Equal(t, 1, rep.SkippedCount(BadPrincipal))
}

func TestSourceClassification(t *testing.T) {
	for s, want := range map[string]Reason{
		"192.0.2.1": 0, "2001:db8::1": 0, "fe80::1%eth0": 0, "::ffff:10.0.0.1": 0,
		"AWS Internal": AWSInternal, "ec2.amazonaws.com": ServiceSource, "s3.cn-north-1.amazonaws.com.cn": ServiceSource,
		"signin.amazon.com": ServiceSource, "": NoSourceAddress, "redacted": BadAddress, "192.0.2.1, 192.0.2.2": BadAddress,
		"evil.amazonaws.com.example": BadAddress, ".amazonaws.com": BadAddress, "a..amazonaws.com": BadAddress, "x y.amazonaws.com": BadAddress,
	} {
		_, got := parseSource(s)
		assert.Equal(t, want, got, s)
	}
}

// TestParseAddrAgreesWithCSVIO checks that parseAddr, which takes the
// strings this package decodes, normalises addresses as csvio.ParseAddr,
// which takes bytes, does for training and scoring.
func TestParseAddrAgreesWithCSVIO(t *testing.T) {
	for _, s := range []string{
		"192.0.2.1", "2001:db8::1", "2001:DB8::1", "fe80::1%eth0", "::ffff:10.0.0.1", "::ffff:a00:1%eth0", "::1",
		"", "redacted", "192.0.2.1, 192.0.2.2", "192.0.2.256", " 192.0.2.1", "01.2.3.4", "[2001:db8::1]", "2001:db8::1/64",
	} {
		got, gotErr := parseAddr(s)
		want, wantErr := csvio.ParseAddr([]byte(s))
		assert.Equal(t, wantErr == nil, gotErr == nil, "%q: errors %v and %v", s, gotErr, wantErr)
		assert.Equal(t, want, got, "%q", s)
	}
}

// TestCSVWriterQuotes checks that principals with commas, quotes or
// surrounding spaces survive the trip through csvio, which score uses.
// (Line breaks do not: extraction skips such principals as BadPrincipal.)
func TestCSVWriterQuotes(t *testing.T) {
	var b bytes.Buffer
	w := NewFindingCSVWriter(&b, true)
	principals := []string{"plain", "a,b", `say "hi"`, " padded ", "tab\there"}
	for i, pr := range principals {
		require.NoError(t, w.WriteTuple(&Tuple{Principal: pr, Addr: netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), FindingID: "f", FindingType: "T:x/y", Severity: "5.0"}))
	}
	require.NoError(t, w.Flush())
	r := csvio.NewReader(&b, csvio.Options{Header: true, MaxFields: 5, MinFields: 5})
	i := 0
	for r.Next() {
		assert.Equal(t, principals[i], string(r.Entity()))
		assert.Equal(t, "5.0", string(r.Fields()[4]))
		i++
	}
	require.NoError(t, r.Err())
	assert.Equal(t, len(principals), i)

	b.Reset()
	w = NewFindingCSVWriter(&b, true)
	require.NoError(t, w.Flush())
	assert.Equal(t, FindingHeader+"\n", b.String(), "the header even without rows")
}

// TestCloudTrailTupleAllocations checks what the hot path of ExtractCloudTrail allocates per
// record once the decoder's buffer is full: for a tuple, its principal and
// eventID, copied out of the buffer; for a record skipped for its source
// or identity, nothing.
func TestCloudTrailTupleAllocations(t *testing.T) {
	data, err := os.ReadFile("testdata/cloudtrail_identities.json")
	require.NoError(t, err)
	var file struct{ Records []json.RawMessage }
	require.NoError(t, json.Unmarshal(data, &file))
	require.Len(t, file.Records, len(identityCases))
	x := &extractor{opts: &Options{}, cloudTrail: true}
	for i, c := range identityCases {
		w := c.keys[KeyIdentity]
		var lines []byte
		for range 100 {
			lines = append(append(lines, file.Records[i]...), '\n')
		}
		d := NewCloudTrailDecoder(bytes.NewReader(lines), "x")
		var tu Tuple
		var reason Reason
		allocs := testing.AllocsPerRun(50, func() {
			require.True(t, d.Next())
			reason = x.cloudTrailTuple(d.view(), &tu)
		})
		require.Equal(t, w.reason, reason, c.name)
		switch {
		case reason == 0:
			assert.Equal(t, 2.0, allocs, "%s: the principal and the eventID", c.name)
		case reason == BadAddress:
			assert.LessOrEqual(t, allocs, 1.0, "%s: at most netip's error", c.name)
		default:
			assert.Zero(t, allocs, c.name)
		}
	}
}

// TestCloudTrailStringsOutliveBuffer reads the fixture one byte at a time,
// so that the decoder moves its data to the front of its buffer at every
// read, over the bytes of the records before: the strings of tuples and of
// Record must still hold what the input said.
func TestCloudTrailStringsOutliveBuffer(t *testing.T) {
	data, err := os.ReadFile("testdata/cloudtrail_identities.json")
	require.NoError(t, err)
	var file struct{ Records []Record }
	require.NoError(t, json.Unmarshal(data, &file))

	type kept struct {
		rec Record
		id  UserIdentity
	}
	var all []kept
	d := NewCloudTrailDecoder(iotest.OneByteReader(bytes.NewReader(data)), "x")
	for d.Next() {
		r := d.Record()
		k := kept{rec: *r}
		k.rec.UserIdentity = nil
		if r.UserIdentity != nil {
			k.id = *r.UserIdentity
			k.id.SessionContext, k.id.OnBehalfOf = nil, nil
		}
		all = append(all, k)
	}
	require.NoError(t, d.Err())
	require.Len(t, all, len(file.Records))
	for i, k := range all {
		want := file.Records[i]
		var wantID UserIdentity
		if want.UserIdentity != nil {
			wantID = *want.UserIdentity
			wantID.SessionContext, wantID.OnBehalfOf = nil, nil
		}
		want.UserIdentity = nil
		assert.Equal(t, want, k.rec, "record %d", i+1)
		assert.Equal(t, wantID, k.id, "record %d", i+1)
	}

	var fromFile, fromStdin collect
	_, err = ExtractCloudTrail(context.Background(), []string{"testdata/cloudtrail_identities.json"}, &fromFile, nil)
	require.NoError(t, err)
	rep, err := ExtractCloudTrail(context.Background(), []string{"-"}, &fromStdin, &Options{Stdin: iotest.OneByteReader(bytes.NewReader(data))})
	require.NoError(t, err)
	require.False(t, rep.Failed(), rep.String())
	require.Len(t, fromFile.tuples, 12)
	require.Len(t, fromStdin.tuples, 12)
	for i := range fromFile.tuples {
		a, b := fromFile.tuples[i], fromStdin.tuples[i]
		assert.Equal(t, [3]string{a.Principal, a.Addr.String(), a.EventID}, [3]string{b.Principal, b.Addr.String(), b.EventID})
	}
}
