package inference

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ipinsights/ipinsights-go/csvio"
	"github.com/ipinsights/ipinsights-go/internal/jsonscan"
	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// Seeds shared by the request fuzzers: SageMaker's examples and the shapes
// and faults the unit tests cover.
var requestSeeds = []string{
	"entity_id_1, 192.168.1.2\nentity_id_2, 10.10.1.2\n",
	"\xef\xbb\xbf\"a,b\" ,::ffff:1.2.3.4\r\n\r\nc,2001:DB8::1",
	"a,1.1.1.1,x\n\"a\n,\n",
	`{"instances": [{"data": {"features": {"values": ["entity_id_1", "192.168.1.2"]}}}, {"features": ["entity_id_2", "10.10.1.2"]}]}`,
	`{"x":{"y":[1,-2.5e3,true,false,null,"s\u00e9"]},"instances":[{"id":1,"features":[12,"::1"]}],"z":0}`,
	`{"instances":[{"features":["caf\u00e9\ud83d\ude00\ud800","1.2.3.4"]},{"data":{"features":{"keys":[1],"values":["a","1.1.1.1"]}}}]}`,
	`{"instances":[],"instances":[]}`,
	`{"instances":[{"features":["a","1.1.1.1"],"data":{}}]}`,
	`[[[[[[[[]]]]]]]]`,
	"{\"features\":[\"a\",\"1.1.1.1\"]}\n\n{\"data\":{\"features\":{\"values\":[\"b\",\"fe80::1%eth0\"]}}}\r\n",
	"{\"features\":[\"a\",\"1.1.1.1\"]} {}\n",
}

// refValue reads one JSON value with encoding/json into a tree that keeps,
// for each object, which keys were duplicated.
type refObject struct {
	m    map[string]any
	dups map[string]bool
}

func refValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return tok, nil
	}
	if d == '[' {
		var arr []any
		for dec.More() {
			v, err := refValue(dec)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		_, err := dec.Token()
		return arr, err
	}
	o := refObject{m: map[string]any{}, dups: map[string]bool{}}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, err
		}
		v, err := refValue(dec)
		if err != nil {
			return nil, err
		}
		key := k.(string)
		if _, dup := o.m[key]; dup {
			o.dups[key] = true
		}
		o.m[key] = v
	}
	_, err = dec.Token()
	return o, err
}

// refParse parses exactly one JSON value.
func refParse(b []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := refValue(dec)
	if err != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return v, true
}

// refInstance is the decoder's reading of an instance, written
// independently over encoding/json's tree.
func refInstance(v any) (ipinsights.Pair, bool) {
	o, ok := v.(refObject)
	if !ok || o.dups["features"] || o.dups["data"] {
		return ipinsights.Pair{}, false
	}
	f, hasF := o.m["features"]
	d, hasD := o.m["data"]
	if hasF == hasD {
		return ipinsights.Pair{}, false
	}
	vals := f
	if hasD {
		do, ok := d.(refObject)
		if !ok || do.dups["features"] {
			return ipinsights.Pair{}, false
		}
		fo, ok := do.m["features"].(refObject)
		if !ok || fo.dups["values"] {
			return ipinsights.Pair{}, false
		}
		if _, sparse := fo.m["keys"]; sparse {
			return ipinsights.Pair{}, false
		}
		if vals, ok = fo.m["values"]; !ok {
			return ipinsights.Pair{}, false
		}
	}
	arr, ok := vals.([]any)
	if !ok || len(arr) != 2 {
		return ipinsights.Pair{}, false
	}
	var entity string
	switch e := arr[0].(type) {
	case string:
		entity = e
	case json.Number:
		entity = string(e)
	default:
		return ipinsights.Pair{}, false
	}
	ip, ok := arr[1].(string)
	if !ok || entity == "" {
		return ipinsights.Pair{}, false
	}
	a, err := csvio.ParseAddr([]byte(ip))
	if err != nil {
		return ipinsights.Pair{}, false
	}
	return ipinsights.Pair{Entity: entity, IP: a}, true
}

func refDecodeJSON(body []byte) ([]ipinsights.Pair, bool) {
	v, ok := refParse(body)
	if !ok {
		return nil, false
	}
	top, ok := v.(refObject)
	if !ok || top.dups["instances"] {
		return nil, false
	}
	arr, ok := top.m["instances"].([]any)
	if !ok {
		return nil, false
	}
	var out []ipinsights.Pair
	for _, x := range arr {
		r, ok := refInstance(x)
		if !ok {
			return nil, false
		}
		out = append(out, r)
	}
	return out, true
}

func refDecodeJSONLines(body []byte) ([]ipinsights.Pair, bool) {
	var out []ipinsights.Pair
	for i, line := range bytes.Split(body, []byte("\n")) {
		if i == 0 {
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
		}
		if len(bytes.Trim(line, " \t\r\n")) == 0 {
			continue
		}
		v, ok := refParse(line)
		if !ok {
			return nil, false
		}
		r, ok := refInstance(v)
		if !ok {
			return nil, false
		}
		out = append(out, r)
	}
	return out, true
}

// FuzzRequestDecoder checks the three request decoders: never a panic or
// a malformed record; JSON and JSONLines agree with an independent reading
// through encoding/json; CSV agrees with the streaming Reader; and the
// records re-encode (AppendRequest) and decode to themselves.
func FuzzRequestDecoder(f *testing.F) {
	for _, s := range requestSeeds {
		for _, format := range []Format{CSV, JSON, JSONLines} {
			f.Add([]byte(s), uint8(format))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, fb uint8) {
		format := Format(fb%3 + 1)
		got, err := DecodeRequest(format, body)
		if err != nil {
			var re *RequestError
			if !errors.As(err, &re) || re.Format != format || re.Line < 1 || re.Record < -1 {
				t.Fatalf("bad error %#v", err)
			}
		}
		for _, r := range got {
			if r.Entity == "" || !r.IP.IsValid() || r.IP.Zone() != "" || r.IP.Is4In6() {
				t.Fatalf("malformed record %#v", r)
			}
		}
		switch format {
		case JSON, JSONLines:
			ref, refOK := refDecodeJSON(body)
			if format == JSONLines {
				ref, refOK = refDecodeJSONLines(body)
			}
			deep := bytes.Count(body, []byte("["))+bytes.Count(body, []byte("{")) > jsonscan.MaxDepth
			switch {
			case err == nil && !refOK:
				t.Fatalf("accepted what encoding/json rejects: %q", body)
			case err != nil && refOK && utf8.Valid(body) && !deep:
				t.Fatalf("rejected what encoding/json accepts: %q: %v", body, err)
			case err == nil && !equalRecords(got, ref):
				t.Fatalf("records differ from encoding/json's:\n%v\n%v", got, ref)
			}
		case CSV:
			r := csvio.NewReader(bytes.NewReader(body), csvio.Options{MinFields: 2, MaxFields: 2})
			var ref []ipinsights.Pair
			for r.Next() {
				ref = append(ref, ipinsights.Pair{Entity: string(r.Entity()), IP: r.Addr()})
			}
			var pe *csvio.ParseError
			switch {
			case (err == nil) != (r.Err() == nil):
				t.Fatalf("decoder error %v, Reader error %v", err, r.Err())
			case err == nil && !equalRecords(got, ref):
				t.Fatalf("records differ from Reader's:\n%v\n%v", got, ref)
			case err != nil && errors.As(r.Err(), &pe) && pe.Line != err.(*RequestError).Line:
				t.Fatalf("error line %d, Reader's %d", err.(*RequestError).Line, pe.Line)
			}
		}
		if err != nil {
			return
		}
		for _, out := range []Format{CSV, JSON, JSONLines} {
			enc, encErr := AppendRequest(nil, out, got)
			if encErr != nil {
				continue // line breaks in a CSV entity
			}
			again, err := DecodeRequest(out, enc)
			if err != nil {
				t.Fatalf("%s re-encoding %q does not decode: %v", out, enc, err)
			}
			valid := true
			for _, r := range got {
				valid = valid && utf8.ValidString(r.Entity)
			}
			if (out == CSV || valid) && !equalRecords(got, again) {
				t.Fatalf("%s re-encoding changed records:\n%v\n%v", out, got, again)
			}
		}
	})
}

func equalRecords(a, b []ipinsights.Pair) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzParseHeaders checks that Content-Type and Accept parsing never
// panics, that a chosen format is real, and that a chosen ResponseFormat
// reads back from its own String.
func FuzzParseHeaders(f *testing.F) {
	for _, s := range []string{
		"", "text/csv", "application/json; verbose=True", "application/jsonlines;verbose=true;seen=True",
		"application/json;percentile=True;explain=true", "text/csv;explain=True",
		"application/json;q=0.5, application/jsonlines", `a/b;x="1,2";q=0.1, */*`, "text/csv;verbose=True",
		"application/json;q=", `application/json;verbose="`, ";;,,=", "application/json;q=1e-3",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if f, err := ParseContentType(v); err == nil && (f < CSV || f > JSONLines) {
			t.Fatalf("ParseContentType(%q) = %d", v, f)
		}
		rf, err := ParseAccept(v)
		if err != nil {
			if !strings.Contains(err.Error(), "Accept") {
				t.Fatalf("error does not name the header: %v", err)
			}
			return
		}
		if rf.Format < CSV || rf.Format > JSONLines || (rf.Format == CSV && (rf.Verbose || rf.Percentile || rf.Explain)) {
			t.Fatalf("ParseAccept(%q) = %+v", v, rf)
		}
		if again, err := ParseAccept(rf.String()); err != nil || again != rf {
			t.Fatalf("ParseAccept(%q) = %+v, %v", rf.String(), again, err)
		}
	})
}

// FuzzResponseReader checks that response decoding never panics and that
// what it reads re-encodes (AppendResponse) and reads back the same.
func FuzzResponseReader(f *testing.F) {
	for _, s := range []string{
		`{"predictions": [{"dot_product": 0.0}, {"dot_product": 2.0}]}`,
		`{"predictions": [{"dot_product": 0.87, "entity_embedding": [1.0, null], "ip_embedding": [0.5, -1e-3]}]}`,
		"{\"dot_product\": 1.5, \"entity_seen\": true}\n{\"predictions\":[]}\n\n{\"dot_product\": null}",
		`{"predictions":[{"dot_product":1}]}{"predictions":[{"x":1}]}`,
		"1.5\n-2,true\nNaN,false\n+Inf\n",
		`[1, "x", {"dot_product": "1"}]`,
	} {
		for _, format := range []Format{CSV, JSON, JSONLines} {
			f.Add([]byte(s), uint8(format))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, fb uint8) {
		format := Format(fb%3 + 1)
		preds, err := DecodeResponse(format, body)
		if err != nil {
			var re *ResponseError
			if !errors.As(err, &re) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		rf := ResponseFormat{Format: format, Seen: true}
		for _, p := range preds {
			if format != CSV && (p.EntityEmbedding != nil || p.IPEmbedding != nil) {
				rf.Verbose = true
			}
		}
		want := append([]Prediction(nil), preds...)
		if !rf.Verbose {
			for i := range want {
				want[i].EntityEmbedding, want[i].IPEmbedding = nil, nil
			}
		}
		again, err := DecodeResponse(format, AppendResponse(nil, rf, preds))
		if err != nil {
			t.Fatalf("re-encoded response does not decode: %v", err)
		}
		equalPredictions(t, want, again, rf.String())
	})
}
