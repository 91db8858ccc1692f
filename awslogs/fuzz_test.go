package awslogs

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

func seedFixtures(f *testing.F) {
	for _, name := range []string{"cloudtrail_identities.json", "guardduty_findings.json", "guardduty_get_findings_cli.json", "guardduty_eventbridge.jsonl"} {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(data[:len(data)/2])
	}
	for _, s := range []string{"", "{}", "[]", "null", `{"Records":null}`, `{"Records":[null,1,"x",{}]}`, `{"Findings":[{}]}`,
		`{"eventVersion":"1"}` + "\n" + `{"eventVersion":`, "\ufeff[", `{"detail-type":"GuardDuty Finding","detail":5}`, "\x1f\x8b\x08"} {
		f.Add([]byte(s))
	}
}

// FuzzCloudTrailDecoder checks that no input makes the decoder panic or
// loop, that a failure is a *FileError naming the input, and that the
// decoder never claims more records than the input has bytes.
func FuzzCloudTrailDecoder(f *testing.F) {
	seedFixtures(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewCloudTrailDecoder(bytes.NewReader(data), "fuzz.json")
		x := &extractor{opts: &Options{}, cloudTrail: true}
		n := 0
		for d.Next() {
			n++
			if d.Index() != n {
				t.Fatalf("index %d, want %d", d.Index(), n)
			}
			if d.Malformed() == nil {
				var tu Tuple
				if x.cloudTrailTuple(d.Record(), &tu) == 0 && (tu.Principal == "" || !tu.Addr.IsValid()) {
					t.Fatalf("tuple without principal or address: %+v", tu)
				}
			}
			if n > len(data) {
				t.Fatalf("%d records from %d bytes", n, len(data))
			}
		}
		checkFileError(t, d.Err())
	})
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
