package awslogs

import (
	"bytes"
	"io"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chunkReader returns one chunk per Read, as a network stream may.
type chunkReader struct{ chunks [][]byte }

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.chunks[0])
	if r.chunks[0] = r.chunks[0][n:]; len(r.chunks[0]) == 0 {
		r.chunks = r.chunks[1:]
	}
	return n, nil
}

// TestRecordSurvivesRefill reads a record, then has Next refill the
// buffer over the record's bytes before it stops (at the end of the input
// or at an error): the record that Record then returns is still the one
// the input holds, not what the refill wrote where it was.
func TestRecordSurvivesRefill(t *testing.T) {
	rec := ctRecord("id-1", "2024-05-01T10:00:00Z", "alpha", true, "192.0.2.1")
	blank := strings.Repeat(" ", 2*len(rec)) // longer than the record, to write over all of it
	for _, c := range []struct {
		name   string
		chunks []string
		err    string
	}{
		{"log file", []string{`{"Records":[` + rec, blank + "]}"}, ""},
		{"array", []string{"[" + rec, blank + "]"}, ""},
		{"JSON lines", []string{rec + "\n", blank + "\n"}, ""},
		{"error after a refill", []string{rec + "\n", blank + "x"}, "want a value, found 'x'"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var r chunkReader
			for _, s := range c.chunks {
				r.chunks = append(r.chunks, []byte(s))
			}
			d := NewCloudTrailDecoder(&r, "x")
			require.True(t, d.Next(), d.Err())
			assert.False(t, d.Next(), "one record")
			if c.err == "" {
				require.NoError(t, d.Err())
			} else {
				require.ErrorContains(t, d.Err(), c.err)
			}
			assert.Equal(t, 1, d.Index())
			assert.NoError(t, d.Malformed())
			got := d.Record()
			assert.Equal(t, "id-1", got.EventID)
			assert.Equal(t, "alpha", got.EventName)
			assert.Equal(t, "192.0.2.1", got.SourceIPAddress)
			assert.Equal(t, "2024-05-01T10:00:00Z", got.EventTime)
			require.NotNil(t, got.UserIdentity)
			assert.Equal(t, "AIDAALPHA", got.UserIdentity.PrincipalID)
			assert.Equal(t, OptionalBool{Set: true, Value: true}, got.ReadOnly)
		})
	}
}

// TestRecordCopyKeepsEveryString checks that copying a record out of the
// read buffer (Record, and fill before it moves the buffer) copies every
// string of a Record and of what it points to: a string left out would be
// a view of the buffer that outlives the bytes it shows. Fields are found
// by reflection, so that one added to these types is checked too.
func TestRecordCopyKeepsEveryString(t *testing.T) {
	var buf []byte
	var views []func() // after the buffer is complete, point each field into it
	var walk func(v reflect.Value, path string)
	walk = func(v reflect.Value, path string) {
		for i := range v.NumField() {
			f, name := v.Field(i), path+v.Type().Field(i).Name
			switch {
			case f.Kind() == reflect.String:
				start := len(buf)
				buf = append(buf, name...)
				views = append(views, func() { f.SetString(unsafe.String(&buf[start], len(name))) })
			case f.Kind() == reflect.Pointer && f.Type().Elem().Kind() == reflect.Struct:
				f.Set(reflect.New(f.Type().Elem()))
				walk(f.Elem(), name+".")
			case f.Kind() == reflect.Struct:
				walk(f, name+".")
			}
		}
	}
	var src recordStore
	walk(reflect.ValueOf(&src.rec).Elem(), "")
	for _, set := range views {
		set()
	}
	require.Equal(t, "EventID", src.rec.EventID)
	require.Equal(t, "UserIdentity.SessionContext.SessionIssuer.ARN", src.rec.UserIdentity.SessionContext.SessionIssuer.ARN)

	var dst recordStore
	dst.copyOf(&src, &arena{})
	for i := range buf {
		buf[i] = '#' // as fill reads over the bytes
	}
	var check func(v reflect.Value, path string)
	check = func(v reflect.Value, path string) {
		for i := range v.NumField() {
			f, name := v.Field(i), path+v.Type().Field(i).Name
			switch {
			case f.Kind() == reflect.String:
				assert.Equal(t, name, f.String(), "the copy of %s", name)
			case f.Kind() == reflect.Pointer && f.Type().Elem().Kind() == reflect.Struct:
				if assert.False(t, f.IsNil(), "the copy of %s", name) {
					check(f.Elem(), name+".")
				}
			case f.Kind() == reflect.Struct:
				check(f, name+".")
			}
		}
	}
	check(reflect.ValueOf(&dst.rec).Elem(), "")
	assert.Equal(t, strings.Repeat("#", 7), src.rec.EventID[:7], "the source was a view of the buffer")
	assert.False(t, bytes.Contains(buf, []byte("Event")))
}
