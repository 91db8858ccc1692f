package inference

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ipinsights/ipinsights-go/csvio"
	"github.com/ipinsights/ipinsights-go/internal/jsonscan"
	"github.com/ipinsights/ipinsights-go/ipinsights"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func rec(entity, ip string) ipinsights.Pair {
	return ipinsights.Pair{Entity: entity, IP: netip.MustParseAddr(ip)}
}

func TestDecodeRequestSageMakerExamples(t *testing.T) {
	// The bodies of SageMaker's "IP Insights Inference Data Formats" page.
	want := []ipinsights.Pair{rec("entity_id_1", "192.168.1.2"), rec("entity_id_2", "10.10.1.2")}
	for f, body := range map[Format]string{
		CSV: "entity_id_1, 192.168.1.2\nentity_id_2, 10.10.1.2\n",
		JSON: `{
  "instances": [
    {"data": {"features": {"values": ["entity_id_1", "192.168.1.2"]}}},
    {"features": ["entity_id_2", "10.10.1.2"]}
  ]
}`,
		JSONLines: `{"data": {"features": {"values": ["entity_id_1", "192.168.1.2"]}}}
{"features": ["entity_id_2", "10.10.1.2"]}`,
	} {
		got, err := DecodeRequest(f, []byte(body))
		require.NoError(t, err, f)
		assert.Equal(t, want, got, f)
	}
}

func TestDecodeRequestTolerantForms(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    Format
		body string
		want []ipinsights.Pair
	}{
		{"csv BOM CRLF blank lines quotes IPv6", CSV, "\xef\xbb\xbf\"a,b\" ,::ffff:1.2.3.4\r\n\r\n  \nc,2001:DB8::1", []ipinsights.Pair{rec("a,b", "1.2.3.4"), rec("c", "2001:db8::1")}},
		{"csv empty", CSV, "", nil},
		{"json escapes", JSON, `{"instances":[{"features":["caf\u00e9 \"x\"\\\/\ud83d\ude00\n","1.2.3.4"]}]}`, []ipinsights.Pair{rec("café \"x\"\\/\U0001F600\n", "1.2.3.4")}},
		{"json lone surrogate becomes U+FFFD", JSON, `{"instances":[{"features":["a\ud800b","1.2.3.4"]}]}`, []ipinsights.Pair{rec("a\uFFFDb", "1.2.3.4")}},
		{"json escaped address", JSON, `{"instances":[{"features":["a","\u0031.2.3.4"]}]}`, []ipinsights.Pair{rec("a", "1.2.3.4")}},
		{"json number entity as written", JSON, `{"instances":[{"features":[123456789012,"1.2.3.4"]},{"features":[-1.5e3,"::1"]}]}`, []ipinsights.Pair{rec("123456789012", "1.2.3.4"), rec("-1.5e3", "::1")}},
		{"json other members ignored", JSON, `{"configuration":{"k":[1,{"x":null}]},"instances":[{"id":7,"features":["a","1.1.1.1"],"label":true},{"data":{"id":"z","features":{"shape":[2],"values":["b","2.2.2.2"]}}}],"more":"after"}`, []ipinsights.Pair{rec("a", "1.1.1.1"), rec("b", "2.2.2.2")}},
		{"json escaped keys", JSON, `{"inst\u0061nces":[{"f\u0065atures":["a","1.1.1.1"]}]}`, []ipinsights.Pair{rec("a", "1.1.1.1")}},
		{"json no instances", JSON, ` {"instances" : [ ] } `, nil},
		{"json nested as deep as encoding/json allows", JSON, `{"x":` + strings.Repeat("[", jsonscan.MaxDepth-1) + strings.Repeat("]", jsonscan.MaxDepth-1) + `,"instances":[]}`, nil},
		{"json zone dropped", JSON, `{"instances":[{"features":["a","fe80::1%eth0"]}]}`, []ipinsights.Pair{rec("a", "fe80::1")}},
		{"jsonlines blank lines CRLF", JSONLines, "\r\n{\"features\":[\"a\",\"1.1.1.1\"]}\r\n   \n{\"features\":[\"b\",\"2.2.2.2\"]}  \n", []ipinsights.Pair{rec("a", "1.1.1.1"), rec("b", "2.2.2.2")}},
	} {
		got, err := DecodeRequest(tc.f, []byte(tc.body))
		require.NoError(t, err, tc.name)
		assert.Equal(t, tc.want, got, tc.name)
	}
}

func TestDecodeRequestErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		f      Format
		body   string
		record int
		line   int
		reason Reason
		msg    string
	}{
		{"csv bad ip", CSV, "a,1.1.1.1\n\nb,1.2.3\n", 1, 3, BadAddress, `text/csv: line 3: unparsable IP address: "1.2.3"`},
		{"csv header row", CSV, "entity,ip\n", 0, 1, BadAddress, `text/csv: line 1: unparsable IP address: "ip" (a header row? the data has no header)`},
		{"csv three fields", CSV, "a,1.1.1.1,x\n", 0, 1, FieldCount, "text/csv: line 1: wrong number of fields: got 3, want 2 (entity,ip)"},
		{"csv one field", CSV, "a\n", 0, 1, FieldCount, "text/csv: line 1: wrong number of fields: got 1, want 2 (entity,ip)"},
		{"csv empty entity", CSV, "a,1.1.1.1\n ,1.1.1.1", 1, 2, EmptyEntity, "text/csv: line 2: empty entity"},
		{"csv bad quote", CSV, "\"a,1.1.1.1\n", 0, 1, BadQuote, "text/csv: line 1: malformed quoted field: unterminated quoted field"},
		{"json empty", JSON, "  ", -1, 1, BadJSON, `application/json: line 1: malformed JSON: empty body: want {"instances": [...]}`},
		{"json not json", JSON, "entity,1.2.3.4", -1, 1, BadJSON, `application/json: line 1: malformed JSON: want a value, found 'e'`},
		{"json array top", JSON, `[{"features":["a","1.1.1.1"]}]`, -1, 1, BadShape, `application/json: line 1: unexpected JSON structure: want an object {"instances": [...]}, got array`},
		{"json no instances key", JSON, `{"features":["a","1.1.1.1"]}`, -1, 1, BadShape, `application/json: line 1: unexpected JSON structure: no "instances" key: want {"instances": [...]}`},
		{"json instances not array", JSON, `{"instances":{"features":["a","1.1.1.1"]}}`, -1, 1, BadShape, "instances: want an array of instances, got object"},
		{"json duplicate instances", JSON, `{"instances":[],"instances":[]}`, -1, 1, BadShape, `duplicate key "instances"`},
		{"json trailing data", JSON, `{"instances":[]} {}`, -1, 1, BadJSON, "want the end of the body after the JSON object, found '{'"},
		{"json truncated", JSON, "{\"instances\":[\n{\"features\":[\"a\",\"1.1.1.1\"]},\n{\"features\":[\"b\",", 1, 3, BadJSON, "application/json: instances[1] (line 3): malformed JSON: unexpected EOF: want a value"},
		{"json trailing comma", JSON, `{"instances":[{"features":["a","1.1.1.1"]},]}`, 1, 1, BadJSON, "instances[1] (line 1): malformed JSON: want a value, found ']'"},
		{"json missing comma", JSON, `{"instances":[{"features":["a","1.1.1.1"]} {"features":["a","1.1.1.1"]}]}`, 1, 1, BadJSON, "want ',' or ']', found '{'"},
		{"json three values", JSON, `{"instances":[{"features":["a","1.1.1.1"]},{"features":["a","1.1.1.1","x"]}]}`, 1, 1, FieldCount, "application/json: instances[1] (line 1): wrong number of fields: features: got 3 values, want 2 (entity, ip)"},
		{"json one value in data form", JSON, `{"instances":[{"data":{"features":{"values":["a"]}}}]}`, 0, 1, FieldCount, "data.features.values: got 1 values, want 2 (entity, ip)"},
		{"json bad ip", JSON, `{"instances":[{"features":["a","300.1.1.1"]}]}`, 0, 1, BadAddress, `unparsable IP address: features[1]: "300.1.1.1"`},
		{"json ip number", JSON, `{"instances":[{"features":["a",16909060]}]}`, 0, 1, BadShape, "features[1]: want the IP address as a string, got number"},
		{"json entity null", JSON, `{"instances":[{"features":[null,"1.1.1.1"]}]}`, 0, 1, BadShape, "features[0]: want the entity as a string, got null"},
		{"json empty entity", JSON, `{"instances":[{"features":["","1.1.1.1"]}]}`, 0, 1, EmptyEntity, "instances[0] (line 1): empty entity: features[0]"},
		{"json both forms", JSON, `{"instances":[{"features":["a","1.1.1.1"],"data":{"features":{"values":["a","1.1.1.1"]}}}]}`, 0, 1, BadShape, `an instance has "features" or "data", not both`},
		{"json duplicate features", JSON, `{"instances":[{"features":["a","1.1.1.1"],"features":["b","1.1.1.1"]}]}`, 0, 1, BadShape, `duplicate key "features"`},
		{"json neither form", JSON, `{"instances":[{"values":["a","1.1.1.1"]}]}`, 0, 1, BadShape, `an instance needs "features"`},
		{"json instance not object", JSON, `{"instances":[["a","1.1.1.1"]]}`, 0, 1, BadShape, "want an instance"},
		{"json sparse keys", JSON, `{"instances":[{"data":{"features":{"keys":[0,1],"values":["a","1.1.1.1"]}}}]}`, 0, 1, BadShape, `sparse "keys" are not supported`},
		{"json data features array", JSON, `{"instances":[{"data":{"features":["a","1.1.1.1"]}}]}`, 0, 1, BadShape, `data.features: want {"values": [entity, ip]}, got array`},
		{"json data without features", JSON, `{"instances":[{"data":{"values":["a","1.1.1.1"]}}]}`, 0, 1, BadShape, `data: no "features" key`},
		{"json control char", JSON, "{\"instances\":[{\"features\":[\"a\tb\",\"1.1.1.1\"]}]}", 0, 1, BadJSON, "control character 0x09 in string"},
		{"json invalid utf8", JSON, "{\"instances\":[{\"features\":[\"a\xffb\",\"1.1.1.1\"]}]}", 0, 1, BadJSON, "invalid UTF-8 in string"},
		{"json bad escape", JSON, `{"instances":[{"features":["a\x","1.1.1.1"]}]}`, 0, 1, BadJSON, `bad escape \x in string`},
		{"json bad number", JSON, `{"instances":[{"features":[01,"1.1.1.1"]}]}`, 0, 1, BadJSON, "want ',' or ']', found '1'"},
		{"json deep nesting", JSON, `{"x":` + strings.Repeat("[", jsonscan.MaxDepth) + strings.Repeat("]", jsonscan.MaxDepth) + `,"instances":[]}`, -1, 1, BadJSON, "nested deeper than 10000 levels"},
		{"jsonl bad line", JSONLines, "{\"features\":[\"a\",\"1.1.1.1\"]}\n\n{\"features\":[\"a\"]}\n", 1, 3, FieldCount, "application/jsonlines: line 3: wrong number of fields: features: got 1 values, want 2 (entity, ip)"},
		{"jsonl two on a line", JSONLines, `{"features":["a","1.1.1.1"]} {"features":["a","1.1.1.1"]}`, 0, 1, BadJSON, "want the end of the line after the instance, found '{'"},
		{"jsonl envelope", JSONLines, `{"instances":[{"features":["a","1.1.1.1"]}]}`, 0, 1, BadShape, `an instance needs "features"`},
		{"jsonl broken", JSONLines, `{"features":["a","1.1.1.1"]`, 0, 1, BadJSON, "unexpected EOF: want ',' or '}'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeRequest(tc.f, []byte(tc.body))
			require.Error(t, err)
			var re *RequestError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, tc.record, re.Record, "record")
			assert.Equal(t, tc.line, re.Line, "line")
			assert.Equal(t, tc.reason, re.Reason, "reason")
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

func TestRequestErrorDetailIsBounded(t *testing.T) {
	long := strings.Repeat("9", 100000)
	for f, body := range map[Format]string{
		CSV:  "a," + long + "\n",
		JSON: `{"instances":[{"features":["a","` + long + `"]}]}`,
	} {
		_, err := DecodeRequest(f, []byte(body))
		require.Error(t, err)
		assert.Less(t, len(err.Error()), 300, f)
		assert.True(t, strings.HasSuffix(err.Error(), "..."), f)
	}
}

func TestRequestDecoderStreamsRecordIndexes(t *testing.T) {
	d := NewRequestDecoder(JSON, []byte(`{"instances":[{"features":["a","1.1.1.1"]},{"features":["b","::1"]},{"features":["c","x"]}]}`))
	var got []string
	for d.Next() {
		got = append(got, fmt.Sprintf("%d:%s:%s", d.Record(), d.Entity(), d.Addr()))
	}
	assert.Equal(t, []string{"0:a:1.1.1.1", "1:b:::1"}, got)
	var re *RequestError
	require.ErrorAs(t, d.Err(), &re)
	assert.Equal(t, 2, re.Record)
	assert.False(t, d.Next(), "Next stays false after an error")

	// Reset reuses the decoder for another format.
	d.Reset(CSV, []byte("z, 10.0.0.1"))
	require.True(t, d.Next())
	assert.Equal(t, "z", string(d.Entity()))
	assert.False(t, d.Next())
	assert.NoError(t, d.Err())
}

func TestRequestDecoderDoesNotAllocate(t *testing.T) {
	recs := make([]ipinsights.Pair, 1000)
	for i := range recs {
		recs[i] = ipinsights.Pair{Entity: fmt.Sprintf("user-%d", i), IP: netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 1})}
	}
	recs[3].Entity = `quoted, "entity"` // takes the slow paths of both parsers
	for _, f := range []Format{CSV, JSON, JSONLines} {
		body, err := AppendRequest(nil, f, recs)
		require.NoError(t, err)
		var d RequestDecoder
		run := func() {
			d.Reset(f, body)
			n := 0
			for d.Next() {
				n++
			}
			if d.Err() != nil || n != len(recs) {
				t.Fatalf("%s: %d records, %v", f, n, d.Err())
			}
		}
		run() // grow the buffers
		assert.Zero(t, testing.AllocsPerRun(10, run), f)
	}
}

func TestAppendRequestRoundTrips(t *testing.T) {
	recs := []ipinsights.Pair{
		rec("plain", "1.2.3.4"),
		rec(" spaced ", "2001:db8::1"),
		rec(`a,"b"`, "10.0.0.1"),
		rec("ünïcödé 😀", "::ffff:1.2.3.4"), // IPv4-mapped reads back unmapped
		rec("tab\there", "192.168.0.1"),
	}
	want := append([]ipinsights.Pair(nil), recs...)
	want[3].IP = netip.MustParseAddr("1.2.3.4")
	for _, f := range []Format{CSV, JSON, JSONLines} {
		body, err := AppendRequest(nil, f, recs)
		require.NoError(t, err, f)
		got, err := DecodeRequest(f, body)
		require.NoError(t, err, "%s: %s", f, body)
		assert.Equal(t, want, got, f)
	}
	// JSON carries control characters and line breaks; CSV can not.
	odd := []ipinsights.Pair{rec("a\nb\x00\x1f\"\\", "1.1.1.1")}
	for _, f := range []Format{JSON, JSONLines} {
		body, err := AppendRequest(nil, f, odd)
		require.NoError(t, err)
		got, err := DecodeRequest(f, body)
		require.NoError(t, err)
		assert.Equal(t, odd, got)
	}
	_, err := AppendRequest(nil, CSV, odd)
	assert.ErrorIs(t, err, ErrUnencodable)
	_, err = AppendRequest(nil, JSON, []ipinsights.Pair{{Entity: "", IP: netip.MustParseAddr("1.1.1.1")}})
	assert.ErrorIs(t, err, ErrUnencodable)
	_, err = AppendRequest(nil, JSONLines, []ipinsights.Pair{{Entity: "a"}})
	assert.ErrorIs(t, err, ErrUnencodable)

	body, err := AppendRequest(nil, JSON, recs[:2])
	require.NoError(t, err)
	assert.Equal(t, `{"instances":[{"features":["plain","1.2.3.4"]},{"features":[" spaced ","2001:db8::1"]}]}`, string(body))
}

// A JSON request body writes its entities as encoding/json does (but for
// <, > and &, which it leaves as they are), so SageMaker reads them as
// sent; invalid UTF-8 is sent, and read back, as U+FFFD.
func TestAppendRequestJSONStrings(t *testing.T) {
	entities := []string{"tab\there", "line\nbreak\r\x00\x1f", `q"b\s`, "sep\u2028ara\u2029tors", "ünï 😀", "a<b>&c"}
	recs := make([]ipinsights.Pair, len(entities))
	type instance struct {
		Features []string `json:"features"`
	}
	var want struct {
		Instances []instance `json:"instances"`
	}
	for i, e := range entities {
		recs[i] = rec(e, "1.2.3.4")
		want.Instances = append(want.Instances, instance{Features: []string{e, "1.2.3.4"}})
	}
	body, err := AppendRequest(nil, JSON, recs)
	require.NoError(t, err)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(want))
	assert.Equal(t, strings.TrimSuffix(buf.String(), "\n"), string(body))
	got, err := DecodeRequest(JSON, body)
	require.NoError(t, err)
	assert.Equal(t, recs, got)

	bad := []ipinsights.Pair{rec("bad \xff\xfe utf8", "1.2.3.4")}
	for _, f := range []Format{JSON, JSONLines} {
		body, err := AppendRequest(nil, f, bad)
		require.NoError(t, err)
		assert.True(t, utf8.Valid(body), "%s: %q", f, body)
		got, err := DecodeRequest(f, body)
		require.NoError(t, err)
		assert.Equal(t, "bad \ufffd\ufffd utf8", got[0].Entity, f)
	}
}

// csvio.AppendField quotes exactly what Reader would read back differently, for
// strings and byte slices alike.
func TestAppendFieldRoundTrips(t *testing.T) {
	for _, f := range []string{"alice", "a b", " a", "a ", "\ta", "a\t", "a,b", `say "hi"`, "\ufeffa", "日本"} {
		line := csvio.AppendField(nil, f)
		assert.Equal(t, string(line), string(csvio.AppendField(nil, []byte(f))))
		line = append(line, ",10.0.0.1\n"...)
		r := csvio.NewReader(bytes.NewReader(line), csvio.Options{})
		require.True(t, r.Next(), "%q: %v", line, r.Err())
		assert.Equal(t, f, string(r.Fields()[0]), "%q", line)
	}
	assert.Equal(t, "alice", string(csvio.AppendField(nil, "alice")), "plain fields stay unquoted")
	assert.Equal(t, `"a,b"`, string(csvio.AppendField(nil, "a,b")))
}
