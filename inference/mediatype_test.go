package inference

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseContentType(t *testing.T) {
	for v, want := range map[string]Format{
		"text/csv":                             CSV,
		"Text/CSV; charset=utf-8":              CSV,
		"application/json":                     JSON,
		" application/json ;charset=\"utf-8\"": JSON,
		"application/jsonlines":                JSONLines,
		"APPLICATION/JSONLINES;x=y":            JSONLines,
	} {
		got, err := ParseContentType(v)
		require.NoError(t, err, v)
		assert.Equal(t, want, got, v)
	}
	for _, v := range []string{"", "  ", "application/xml", "text/plain", "application/x-recordio-protobuf", "text/csvx", "*/*", "application/json-lines"} {
		_, err := ParseContentType(v)
		require.Error(t, err, v)
		assert.ErrorIs(t, err, ErrUnsupportedMediaType, v)
		assert.False(t, errors.Is(err, ErrNotAcceptable), v)
		var me *MediaTypeError
		require.ErrorAs(t, err, &me)
		assert.Equal(t, "Content-Type", me.Header)
	}
	_, err := ParseContentType("application/xml")
	assert.EqualError(t, err, `unsupported Content-Type "application/xml": supported are text/csv, application/json and application/jsonlines`)
	_, err = ParseContentType("")
	assert.EqualError(t, err, "missing Content-Type: supported are text/csv, application/json and application/jsonlines")
}

func TestParseAccept(t *testing.T) {
	json, jsonl, csv := ResponseFormat{Format: JSON}, ResponseFormat{Format: JSONLines}, ResponseFormat{Format: CSV}
	verbose := func(rf ResponseFormat) ResponseFormat { rf.Verbose = true; return rf }
	seen := func(rf ResponseFormat) ResponseFormat { rf.Seen = true; return rf }
	pct := func(rf ResponseFormat) ResponseFormat { rf.Percentile = true; return rf }
	explain := func(rf ResponseFormat) ResponseFormat { rf.Explain = true; return rf }
	for _, tc := range []struct {
		accept string
		want   ResponseFormat
	}{
		{"", json}, // SageMaker's default
		{"*/*", json},
		{"application/*", json},
		{"text/*", csv},
		{"application/json", json},
		{"application/jsonlines", jsonl},
		{"text/csv", csv},
		// verbose=True in SageMaker's spelling and the variants the issue names.
		{"application/json; verbose=True", verbose(json)},
		{"application/json;verbose=True", verbose(json)},
		{"application/json;verbose=true", verbose(json)},
		{"application/json; VERBOSE=TRUE", verbose(json)},
		{`application/json; verbose="True"`, verbose(json)},
		{"application/json;  verbose = True ", verbose(json)},
		{"application/jsonlines;verbose=True", verbose(jsonl)},
		{"application/json;verbose=False", json},
		{"application/json;seen=True", seen(json)},
		{"application/jsonlines; verbose=True; seen=true", seen(verbose(jsonl))},
		{"text/csv;seen=TRUE", seen(csv)},
		{"application/json;percentile=True", pct(json)},
		{"application/jsonlines; Percentile=\"true\"", pct(jsonl)},
		{"application/json;explain=True", explain(json)},
		{"application/jsonlines;seen=True;percentile=True;explain=TRUE", explain(pct(seen(jsonl)))},
		{"application/json;percentile=False;explain=false", json},
		{"text/csv;percentile=False", csv},
		{"application/json; charset=utf-8", json},
		// Lists and q-values.
		{"application/xml, application/jsonlines", jsonl},
		{"application/json;q=0.5, application/jsonlines", jsonl},
		{"application/jsonlines;q=0.2, text/csv;q=0.9", csv},
		{"text/csv, application/json", csv},
		{"application/json;q=0, text/csv", csv},
		{"image/png, */*;q=0.1", json},
		// Quoted commas do not split the list.
		{`application/json;foo="a,b";verbose=True`, verbose(json)},
	} {
		got, err := ParseAccept(tc.accept)
		require.NoError(t, err, tc.accept)
		assert.Equal(t, tc.want, got, tc.accept)
	}
	for _, tc := range []struct{ accept, detail string }{
		{"application/xml", ""},
		{"text/html, image/*", ""},
		{"application/json;q=0", ""},
		{"application/json;verbose=yes", `verbose must be True or False, got "yes"`},
		{"application/json;seen=1", `seen must be True or False, got "1"`},
		{"application/json;q=2", `q must be a number from 0 to 1, got "2"`},
		{"text/csv;verbose=True", "verbose=True needs application/json or application/jsonlines"},
		{"application/json;percentile=yes", `percentile must be True or False, got "yes"`},
		{"application/jsonlines;explain=1", `explain must be True or False, got "1"`},
		{"application/json;explain=", `explain must be True or False, got ""`},
		{"text/csv;percentile=True", "percentile=True needs application/json or application/jsonlines"},
		{"text/csv;explain=True", "explain=True needs application/json or application/jsonlines"},
	} {
		_, err := ParseAccept(tc.accept)
		require.Error(t, err, tc.accept)
		assert.ErrorIs(t, err, ErrNotAcceptable, tc.accept)
		assert.Contains(t, err.Error(), tc.accept)
		if tc.detail != "" {
			assert.Contains(t, err.Error(), tc.detail)
		}
	}
	// A bad range does not spoil a good one.
	got, err := ParseAccept("application/json;verbose=maybe, application/jsonlines")
	require.NoError(t, err)
	assert.Equal(t, jsonl, got)
}

func TestResponseFormatStringRoundTrips(t *testing.T) {
	for _, f := range []Format{CSV, JSON, JSONLines} {
		for _, v := range []bool{false, true} {
			for _, s := range []bool{false, true} {
				for _, x := range []int{0, 1, 2, 3} {
					p, e := x&1 != 0, x&2 != 0
					if f == CSV && (v || p || e) {
						continue
					}
					rf := ResponseFormat{Format: f, Verbose: v, Seen: s, Percentile: p, Explain: e}
					got, err := ParseAccept(rf.String())
					require.NoError(t, err, rf.String())
					assert.Equal(t, rf, got)
				}
			}
		}
	}
	assert.Equal(t, "application/json;verbose=True;seen=True", ResponseFormat{Format: JSON, Verbose: true, Seen: true}.String())
	assert.Equal(t, "application/jsonlines;percentile=True;explain=True", ResponseFormat{Format: JSONLines, Percentile: true, Explain: true}.String())
}

func TestHeaderParsingDoesNotAllocate(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := ParseContentType("text/csv; charset=utf-8"); err != nil {
			t.Fatal(err)
		}
		if _, err := ParseAccept("application/jsonlines; verbose=True; explain=True, application/json;percentile=True;q=0.5"); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}
