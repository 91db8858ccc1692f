package awslogs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
)

// seedFixtures seeds a fuzz target with the values of the fixtures, each
// whole and cut in half, and with short inputs of other shapes.
func seedFixtures(f *testing.F) {
	for _, name := range []string{"cloudtrail_identities.json", "guardduty_findings.json", "guardduty_get_findings_cli.json", "guardduty_eventbridge.jsonl"} {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		for _, v := range splitFixture(data) {
			f.Add(v)
			f.Add(v[:len(v)/2])
		}
	}
	for _, s := range []string{"", "{}", "[]", "null", `{"Records":null}`, `{"Records":[null,1,"x",{}]}`, `{"Findings":[{}]}`,
		`{"eventVersion":"1"}` + "\n" + `{"eventVersion":`, "\ufeff[", `{"detail-type":"GuardDuty Finding","detail":5}`, "\x1f\x8b\x08"} {
		f.Add([]byte(s))
	}
}

// splitFixture returns the values of a fixture one at a time, each in the
// fixture's layout ({"Records": [v]}, [v] or a line of JSON lines) and
// with its white space. The fuzzer minimizes every new input it finds, for
// up to a minute, and a seed as long as a whole fixture (20 KB) makes that
// take all of a short run.
func splitFixture(data []byte) [][]byte {
	var out [][]byte
	var obj map[string][]json.RawMessage
	var arr []json.RawMessage
	switch {
	case json.Unmarshal(data, &obj) == nil && len(obj) == 1:
		for key, vals := range obj {
			for _, v := range vals {
				out = append(out, []byte(`{"`+key+`": [`+string(v)+`]}`))
			}
		}
	case json.Unmarshal(data, &arr) == nil:
		for _, v := range arr {
			out = append(out, []byte("["+string(v)+"]"))
		}
	default:
		for _, line := range bytes.SplitAfter(data, []byte("\n")) {
			if len(bytes.TrimSpace(line)) > 0 {
				out = append(out, line)
			}
		}
	}
	return out
}

// FuzzCloudTrailDecoder checks that no input makes the decoder panic or
// loop, that a failure is a *FileError naming the input, that the
// decoder never claims more records than the input has bytes, that its
// verdict agrees with encoding/json's, and that reading the input in
// pieces changes nothing (checkReadsInPieces).
func FuzzCloudTrailDecoder(f *testing.F) {
	seedFixtures(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewCloudTrailDecoder(bytes.NewReader(data), "fuzz.json")
		x := &extractor{opts: &Options{}, cloudTrail: true}
		n := 0
		var recs []Record
		for d.Next() {
			n++
			if d.Index() != n {
				t.Fatalf("index %d, want %d", d.Index(), n)
			}
			recs = append(recs, clone(d.view()))
			if d.Malformed() == nil {
				var tu, fromCopy Tuple
				reason := x.cloudTrailTuple(d.view(), &tu)
				if reason == 0 && (tu.Principal == "" || !tu.Addr.IsValid()) {
					t.Fatalf("tuple without principal or address: %+v", tu)
				}
				if r := x.cloudTrailTuple(d.Record(), &fromCopy); r != reason || fromCopy != tu {
					t.Fatalf("from the view: %v %+v; from Record: %v %+v", reason, tu, r, fromCopy)
				}
			}
			if n > len(data) {
				t.Fatalf("%d records from %d bytes", n, len(data))
			}
		}
		checkFileError(t, d.Err())
		checkAgainstEncodingJSON(t, data, d.Err())
		checkReadsInPieces(t, data, recs, d.Err())
	})
}

// checkReadsInPieces decodes data again from reads of a few bytes, so that
// the decoder refills its buffer over the records it has read: it must
// find the same records (judged by their views, as the extractor reads
// them) and the same error, and the last record, kept by Record after Next
// has returned false, must still be what the input holds.
func checkReadsInPieces(t *testing.T, data []byte, recs []Record, err error) {
	// Pieces of 1 to 7 bytes for short inputs, of about a sixteenth of
	// longer ones: the decoder parses a record again from its start after
	// each read, so the pieces must not make a long input quadratic.
	var r chunkReader
	for size := 1 + len(data)%7 + len(data)/16; len(data) > 0; {
		k := min(size, len(data))
		r.chunks = append(r.chunks, data[:k])
		data = data[k:]
	}
	d := NewCloudTrailDecoder(&r, "fuzz.json")
	n := 0
	for d.Next() {
		if n < len(recs) && !reflect.DeepEqual(clone(d.view()), recs[n]) {
			t.Fatalf("record %d read in pieces: %+v; whole: %+v", n+1, clone(d.view()), recs[n])
		}
		n++
	}
	if n != len(recs) || fmt.Sprint(d.Err()) != fmt.Sprint(err) {
		t.Fatalf("read in pieces: %d records, %v; whole: %d records, %v", n, d.Err(), len(recs), err)
	}
	if n > 0 && !reflect.DeepEqual(*d.Record(), recs[n-1]) {
		t.Fatalf("the last record read as %+v, after the end %+v", recs[n-1], *d.Record())
	}
}

// clone returns a deep copy of r that shares no memory with it.
func clone(r *Record) Record {
	var c recordStore
	c.copyOf(&recordStore{rec: *r}, &arena{})
	return c.rec
}

// checkAgainstEncodingJSON compares the hand-written parser's verdict on
// syntax with encoding/json's: a single JSON value that json.Valid accepts
// must not be a syntax error, and a log file or array the decoder read to
// its end must be valid JSON.
func checkAgainstEncodingJSON(t *testing.T, data []byte, err error) {
	data = bytes.TrimPrefix(data, bom)
	if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
		return // gzip
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	valid := json.Valid(data)
	if valid && err != nil {
		msg := err.Error()
		for _, ok := range []string{ErrNotCloudTrail.Error(), "is not an array", "empty input"} {
			if strings.Contains(msg, ok) {
				return
			}
		}
		t.Fatalf("valid JSON, but %v", err)
	}
	if !valid && err == nil && len(trimmed) > 0 && (trimmed[0] == '[' || bytes.HasPrefix(bytes.TrimLeft(trimmed[1:], " \t\r\n"), []byte(`"Records"`))) {
		t.Fatalf("invalid JSON read without error: %q", data)
	}
}

// TestParserMatchesEncodingJSON decodes the fixture records with the
// hand-written parser and with encoding/json (through the struct tags of
// Record) and compares them.
func TestParserMatchesEncodingJSON(t *testing.T) {
	data, err := os.ReadFile("testdata/cloudtrail_identities.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct{ Records []Record }
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	d := NewCloudTrailDecoder(bytes.NewReader(data), "x")
	i := 0
	for d.Next() {
		if !reflect.DeepEqual(file.Records[i], *d.Record()) {
			t.Errorf("record %d: parser %+v, encoding/json %+v", i+1, *d.Record(), file.Records[i])
		}
		i++
	}
	if d.Err() != nil || i != len(file.Records) {
		t.Fatalf("%d records, %v", i, d.Err())
	}
}

// FuzzGuardDutyDecoder is FuzzCloudTrailDecoder for findings.
func FuzzGuardDutyDecoder(f *testing.F) {
	seedFixtures(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewGuardDutyDecoder(bytes.NewReader(data), "fuzz.json")
		x := &extractor{opts: &Options{}}
		rep := newReport()
		n := 0
		for d.Next() {
			n++
			if d.Index() != n {
				t.Fatalf("index %d, want %d", d.Index(), n)
			}
			if f := d.Finding(); f != nil {
				for _, tu := range x.findingTuples(f, Location{}, nil, rep) {
					if tu.Principal == "" || !tu.Addr.IsValid() {
						t.Fatalf("tuple without principal or address: %+v", tu)
					}
				}
			} else if d.Malformed() == nil && d.Skip() == 0 {
				t.Fatal("no finding, no reason")
			}
			if n > len(data) {
				t.Fatalf("%d findings from %d bytes", n, len(data))
			}
		}
		checkFileError(t, d.Err())
	})
}

func checkFileError(t *testing.T, err error) {
	if err == nil {
		return
	}
	var fe *FileError
	if !errors.As(err, &fe) || fe.File != "fuzz.json" || fe.Err == nil {
		t.Fatalf("error %v is not a FileError naming the input", err)
	}
}
