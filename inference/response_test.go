package inference

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAppendResponse(t *testing.T) {
	preds := []Prediction{
		{DotProduct: 1.5, EntitySeen: true, EntityEmbedding: []float32{0.25, -1}, IPEmbedding: []float32{2, 0.1}},
		{DotProduct: -0.25, EntityEmbedding: []float32{0, 0}, IPEmbedding: []float32{1e-5, 3}},
	}
	for _, tc := range []struct {
		rf   ResponseFormat
		want string
	}{
		{ResponseFormat{Format: JSON}, `{"predictions":[{"dot_product":1.5},{"dot_product":-0.25}]}`},
		{ResponseFormat{Format: JSONLines}, "{\"dot_product\":1.5}\n{\"dot_product\":-0.25}\n"},
		{ResponseFormat{Format: CSV}, "1.5\n-0.25\n"},
		{ResponseFormat{Format: JSON, Verbose: true},
			`{"predictions":[{"dot_product":1.5,"entity_embedding":[0.25,-1.0],"ip_embedding":[2.0,0.1]},` +
				`{"dot_product":-0.25,"entity_embedding":[0.0,0.0],"ip_embedding":[1e-05,3.0]}]}`},
		{ResponseFormat{Format: JSONLines, Verbose: true, Seen: true},
			"{\"dot_product\":1.5,\"entity_embedding\":[0.25,-1.0],\"ip_embedding\":[2.0,0.1],\"entity_seen\":true}\n" +
				"{\"dot_product\":-0.25,\"entity_embedding\":[0.0,0.0],\"ip_embedding\":[1e-05,3.0],\"entity_seen\":false}\n"},
		{ResponseFormat{Format: JSON, Seen: true}, `{"predictions":[{"dot_product":1.5,"entity_seen":true},{"dot_product":-0.25,"entity_seen":false}]}`},
		{ResponseFormat{Format: CSV, Seen: true}, "1.5,true\n-0.25,false\n"},
		{ResponseFormat{Format: CSV, Verbose: true}, "1.5\n-0.25\n"},
	} {
		assert.Equal(t, tc.want, string(AppendResponse(nil, tc.rf, preds)), tc.rf.String())
	}
	assert.Equal(t, `{"predictions":[]}`, string(AppendResponse(nil, ResponseFormat{Format: JSON}, nil)))
	// A float32 score is written as the float64 it is, as SageMaker's
	// container writes its float32 scores (TestDecodeSageMakerResponses);
	// an embedding component with the shortest float32 digits.
	f32 := []Prediction{{DotProduct: float64(float32(0.8731246)), EntityEmbedding: []float32{0.8731246}, IPEmbedding: []float32{1}}}
	assert.Equal(t, `{"predictions":[{"dot_product":0.8731245994567871,"entity_embedding":[0.8731246],"ip_embedding":[1.0]}]}`,
		string(AppendResponse(nil, ResponseFormat{Format: JSON, Verbose: true}, f32)))
	assert.Equal(t, "prefix:", string(AppendResponse([]byte("prefix:"), ResponseFormat{Format: JSONLines}, nil)))
}

// Extra members come last, as they are, in JSON and JSONLines; CSV has no
// room for them.
func TestAppendResponseExtra(t *testing.T) {
	preds := []Prediction{
		{DotProduct: 1.5, EntitySeen: true, Extra: []byte(`,"percentile":0.5`)},
		{DotProduct: -0.25, Extra: []byte(`,"percentile":0.001,"network_seen":false`)},
	}
	pct := ResponseFormat{Format: JSON, Seen: true, Percentile: true}
	assert.Equal(t, `{"predictions":[{"dot_product":1.5,"entity_seen":true,"percentile":0.5},{"dot_product":-0.25,"entity_seen":false,"percentile":0.001,"network_seen":false}]}`,
		string(AppendResponse(nil, pct, preds)))
	pct.Format = JSONLines
	assert.Equal(t, "{\"dot_product\":1.5,\"entity_seen\":true,\"percentile\":0.5}\n{\"dot_product\":-0.25,\"entity_seen\":false,\"percentile\":0.001,\"network_seen\":false}\n",
		string(AppendResponse(nil, pct, preds)))
	assert.Equal(t, "1.5\n-0.25\n", string(AppendResponse(nil, ResponseFormat{Format: CSV}, preds)))
	// Decoding reads past members it does not know.
	got, err := DecodeResponse(JSON, AppendResponse(nil, ResponseFormat{Format: JSON}, preds))
	require.NoError(t, err)
	assert.Equal(t, []Prediction{{DotProduct: 1.5}, {DotProduct: -0.25}}, got)
}

func TestResponseAppenderPiecesMakeTheWholeResponse(t *testing.T) {
	preds := []Prediction{
		{DotProduct: 1.5, EntitySeen: true, EntityEmbedding: []float32{0.25, -1}, IPEmbedding: []float32{2, 0.1}},
		{DotProduct: -0.25, EntityEmbedding: []float32{0, 0}, IPEmbedding: []float32{1e-5, 3}},
		{DotProduct: 3, EntitySeen: true, EntityEmbedding: []float32{1, 2}, IPEmbedding: []float32{3, 4}},
	}
	var a ResponseAppender
	for _, f := range []Format{JSON, JSONLines, CSV} {
		for _, verbose := range []bool{false, true} {
			for _, seen := range []bool{false, true} {
				rf := ResponseFormat{Format: f, Verbose: verbose && f != CSV, Seen: seen}
				want := string(AppendResponse([]byte("prefix:"), rf, preds))
				// Every split into a first piece, a second piece and an
				// empty piece in between.
				for i := 0; i <= len(preds); i++ {
					a.Reset(rf)
					got := a.Append([]byte("prefix:"), preds[:i])
					got = a.Append(got, nil)
					got = a.Close(a.Append(got, preds[i:]))
					assert.Equal(t, want, string(got), "%s split at %d", rf, i)
				}
				// One prediction at a time, reusing the appender.
				a.Reset(rf)
				got := []byte("prefix:")
				for i := range preds {
					got = a.Append(got, preds[i:i+1])
				}
				assert.Equal(t, want, string(a.Close(got)), "%s one at a time", rf)
			}
		}
	}
	a.Reset(ResponseFormat{Format: JSON})
	assert.Equal(t, `{"predictions":[]}`, string(a.Close(a.Append(nil, nil))))
	assert.Panics(t, func() { new(ResponseAppender).Append(nil, preds) }, "used before Reset")
	assert.Panics(t, func() { new(ResponseAppender).Reset(ResponseFormat{}) }, "no format")
}

func TestAppendNumberLikePythonRepr(t *testing.T) {
	// Expected strings are Python's repr of the same float64 values.
	for x, want := range map[float64]string{
		0:                           "0.0",
		math.Copysign(0, -1):        "-0.0",
		2:                           "2.0",
		-3.25:                       "-3.25",
		float64(float32(0.1)):       "0.10000000149011612",
		0.1:                         "0.1",
		1.0 / 3:                     "0.3333333333333333",
		1e-4:                        "0.0001",
		1.5e-5:                      "1.5e-05",
		123456789:                   "123456789.0",
		1e16:                        "1e+16",
		-2.5e20:                     "-2.5e+20",
		float64(float32(1) / 3):     "0.3333333432674408",
		float64(math.MaxFloat32):    "3.4028234663852886e+38",
		math.SmallestNonzeroFloat64: "5e-324",
	} {
		assert.Equal(t, want, string(appendNumber(nil, x, 64, true)), "%v", x)
	}
	// Embedding components are float32: the shortest float32 digits.
	assert.Equal(t, "0.1", string(appendNumber(nil, float64(float32(0.1)), 32, true)))
	assert.Equal(t, "0.33333334", string(appendNumber(nil, float64(float32(1)/3), 32, true)))
	assert.Equal(t, "3.4028235e+38", string(appendNumber(nil, math.MaxFloat32, 32, true)))
	assert.Equal(t, "null", string(appendNumber(nil, math.NaN(), 64, true)))
	assert.Equal(t, "null", string(appendNumber(nil, math.Inf(1), 64, true)))
	assert.Equal(t, "NaN", string(appendNumber(nil, math.NaN(), 64, false)))
	assert.Equal(t, "+Inf", string(appendNumber(nil, math.Inf(1), 64, false)))
	assert.Equal(t, "-Inf", string(appendNumber(nil, math.Inf(-1), 64, false)))
}

func TestAppendResponseDoesNotAllocate(t *testing.T) {
	preds := make([]Prediction, 1000)
	for i := range preds {
		preds[i].DotProduct = float64(float32(i) / 7)
	}
	buf := AppendResponse(nil, ResponseFormat{Format: JSON, Seen: true}, preds)
	allocs := testing.AllocsPerRun(10, func() {
		buf = AppendResponse(buf[:0], ResponseFormat{Format: JSON, Seen: true}, preds)
	})
	assert.Zero(t, allocs)
}

// equalPredictions compares predictions treating NaN as equal to NaN and a
// nil embedding as equal to an empty one.
func equalPredictions(t *testing.T, want, got []Prediction, msg string) {
	t.Helper()
	require.Len(t, got, len(want), msg)
	same := func(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }
	for i := range want {
		w, g := want[i], got[i]
		assert.True(t, same(w.DotProduct, g.DotProduct), "%s: %d: dot_product %v, want %v", msg, i, g.DotProduct, w.DotProduct)
		assert.Equal(t, w.EntitySeen, g.EntitySeen, "%s: %d: entity_seen", msg, i)
		for _, v := range [][2][]float32{{w.EntityEmbedding, g.EntityEmbedding}, {w.IPEmbedding, g.IPEmbedding}} {
			require.Len(t, v[1], len(v[0]), "%s: %d", msg, i)
			for j := range v[0] {
				assert.True(t, same(float64(v[0][j]), float64(v[1][j])), "%s: %d: embedding %d", msg, i, j)
			}
		}
	}
}

func TestResponseRoundTrip(t *testing.T) {
	preds := []Prediction{
		{DotProduct: 1.5, EntitySeen: true, EntityEmbedding: []float32{0.25, -1, float32(math.NaN())}, IPEmbedding: []float32{2, 0.1, 1e-30}},
		{DotProduct: float64(float32(1) / 3), EntityEmbedding: []float32{0, 0, 0}, IPEmbedding: []float32{1e-5, 3, -7}},
		{DotProduct: 1.0 / 3, EntitySeen: true, EntityEmbedding: []float32{1, 2, 3}, IPEmbedding: []float32{4, 5, 6}},
		{DotProduct: math.NaN(), EntityEmbedding: []float32{1, 2, 3}, IPEmbedding: []float32{4, 5, 6}},
	}
	for _, f := range []Format{JSON, JSONLines, CSV} {
		for _, verbose := range []bool{false, true} {
			for _, seen := range []bool{false, true} {
				rf := ResponseFormat{Format: f, Verbose: verbose && f != CSV, Seen: seen}
				want := make([]Prediction, len(preds))
				for i, p := range preds {
					want[i] = Prediction{DotProduct: p.DotProduct}
					if rf.Verbose {
						want[i].EntityEmbedding, want[i].IPEmbedding = p.EntityEmbedding, p.IPEmbedding
					}
					if seen {
						want[i].EntitySeen = p.EntitySeen
					}
				}
				got, err := DecodeResponse(f, AppendResponse(nil, rf, preds))
				require.NoError(t, err, rf.String())
				equalPredictions(t, want, got, rf.String())
			}
		}
	}
}

func TestDecodeSageMakerResponses(t *testing.T) {
	// Python's json.dumps layout, as SageMaker's container writes it.
	got, err := DecodeResponse(JSON, []byte(`{"predictions": [{"dot_product": 0.0}, {"dot_product": 2.0}]}`))
	require.NoError(t, err)
	equalPredictions(t, []Prediction{{DotProduct: 0}, {DotProduct: 2}}, got, "json")

	verbose := `{"predictions": [{"dot_product": 0.8731245994567871, "entity_embedding": [1.0, 2.0, 3.0], "ip_embedding": [0.5, -0.125, 0.0]}]}`
	got, err = DecodeResponse(JSON, []byte(verbose))
	require.NoError(t, err)
	equalPredictions(t, []Prediction{{DotProduct: 0.8731245994567871, EntityEmbedding: []float32{1, 2, 3}, IPEmbedding: []float32{0.5, -0.125, 0}}}, got, "verbose")

	got, err = DecodeResponse(JSONLines, []byte("{\"dot_product\": 1.5}\n{\"dot_product\": -2.0, \"extra\": {\"ignored\": [1]}}\n"))
	require.NoError(t, err)
	equalPredictions(t, []Prediction{{DotProduct: 1.5}, {DotProduct: -2}}, got, "jsonlines")
}

func TestDecodeBatchTransformOutput(t *testing.T) {
	want := []Prediction{{DotProduct: 1}, {DotProduct: 2}, {DotProduct: 3}, {DotProduct: 4}}
	for name, tc := range map[string]struct {
		f   Format
		out string
	}{
		// Accept application/json: one envelope per mini-batch, with
		// AssembleWith Line or None.
		"json envelopes by line":    {JSON, "{\"predictions\": [{\"dot_product\": 1.0}, {\"dot_product\": 2.0}]}\n{\"predictions\": [{\"dot_product\": 3.0}, {\"dot_product\": 4.0}]}\n"},
		"json envelopes run on":     {JSON, `{"predictions": [{"dot_product": 1.0}, {"dot_product": 2.0}]}{"predictions": [{"dot_product": 3.0}, {"dot_product": 4.0}]}`},
		"json pretty printed":       {JSON, "{\n  \"predictions\": [\n    {\"dot_product\": 1.0},\n    {\"dot_product\": 2.0},\n    {\"dot_product\": 3.0},\n    {\"dot_product\": 4.0}\n  ]\n}\n"},
		"json reads jsonlines":      {JSON, "{\"dot_product\": 1.0}\n{\"dot_product\": 2.0}\n{\"dot_product\": 3.0}\n{\"dot_product\": 4.0}\n"},
		"jsonlines":                 {JSONLines, "{\"dot_product\": 1.0}\n{\"dot_product\": 2.0}\n\n{\"dot_product\": 3.0}\r\n{\"dot_product\": 4.0}"},
		"jsonlines reads envelopes": {JSONLines, "{\"predictions\": [{\"dot_product\": 1.0}, {\"dot_product\": 2.0}]}\n{\"predictions\": [{\"dot_product\": 3.0}, {\"dot_product\": 4.0}]}\n"},
		"csv":                       {CSV, "1.0\n2\n\n3e0,true\n4,false\n"},
	} {
		got, err := DecodeResponse(tc.f, []byte(tc.out))
		require.NoError(t, err, name)
		if tc.f == CSV {
			want := append([]Prediction(nil), want...)
			want[2].EntitySeen = true
			equalPredictions(t, want, got, name)
			continue
		}
		equalPredictions(t, want, got, name)
	}

	// The reader streams: predictions come one at a time with their index.
	r := NewResponseReader(strings.NewReader("{\"predictions\":[{\"dot_product\":1},{\"dot_product\":2}]}\n{\"dot_product\":3}"), JSON)
	var idx []int
	for r.Next() {
		idx = append(idx, r.Index())
		assert.Equal(t, float64(r.Index()+1), r.Prediction().DotProduct)
	}
	require.NoError(t, r.Err())
	assert.Equal(t, []int{0, 1, 2}, idx)
}

func TestDecodeResponseErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    Format
		body string
		pred int
		msg  string
	}{
		{"missing dot_product", JSONLines, "{\"dot_product\":1}\n{\"score\":2}\n", -1, `application/jsonlines: line 2: want a response {"predictions": [...]} or a prediction {"dot_product": ...}`},
		{"missing dot_product in envelope", JSON, `{"predictions":[{"dot_product":1},{"x":2}]}`, 1, `prediction 1: no "dot_product"`},
		{"string dot_product", JSON, `{"predictions":[{"dot_product":"1.5"}]}`, 0, `dot_product: want a number, got "1.5"`},
		{"not an object", JSON, `[1,2]`, -1, "application/json: offset 5: want an object, got a JSON array"},
		{"predictions not an array", JSONLines, `{"predictions":{"dot_product":1}}`, -1, "application/jsonlines: line 1: predictions: want an array, got a JSON object"},
		{"seen not a bool", JSON, `{"dot_product":1,"entity_seen":"yes"}`, -1, "entity_seen: want true or false, got a JSON string"},
		{"malformed", JSONLines, "{\"dot_product\":1}\n{\"dot_product\":\n", -1, "application/jsonlines: line 2: malformed JSON"},
		{"truncated json", JSON, `{"predictions":[{"dot_product":1}`, -1, "malformed JSON: unexpected end of input"},
		{"bad embedding", JSON, `{"predictions":[{"dot_product":1,"entity_embedding":[1,"x"]}]}`, 0, `entity_embedding[1]: want a number, got "x"`},
		// Found by FuzzResponseReader: it read as +Inf, which writes as null and reads back as NaN.
		{"embedding beyond float32", JSONLines, `{"dot_product":0,"ip_embedding":[1e70]}`, 0, `ip_embedding[0]: 1e70 is out of a float32's range`},
		{"csv not a number", CSV, "1.5\nabc\n", 1, `text/csv: line 2: prediction 1: dot_product: not a number: "abc"`},
		{"csv bad seen", CSV, "1.5,maybe\n", 0, `entity_seen: want true or false, got "maybe"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeResponse(tc.f, []byte(tc.body))
			require.Error(t, err)
			var re *ResponseError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, tc.pred, re.Prediction)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}
