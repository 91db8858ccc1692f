package awslogs

import (
	"context"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSmallInputAllocatesLittle checks that a small input costs neither a
// full chunk of tuples (chunkLen of them, over half a megabyte) nor the
// decoder's full read buffer (ctBufSize): CloudTrail delivers many small
// files.
func TestSmallInputAllocatesLittle(t *testing.T) {
	in := []string{"testdata/cloudtrail_identities.json"}
	n := 0
	count := TupleWriterFunc(func(*Tuple) error { n++; return nil })
	_, err := ExtractCloudTrail(context.Background(), in, count, nil) // warm up
	require.NoError(t, err)
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	const runs = 10
	for range runs {
		_, err := ExtractCloudTrail(context.Background(), in, count, nil)
		require.NoError(t, err)
	}
	runtime.ReadMemStats(&b)
	assert.Equal(t, 12*(runs+1), n)
	perRun := (b.TotalAlloc - a.TotalAlloc) / runs
	t.Logf("%d bytes allocated per extraction of 19 records", perRun)
	chunk := uint64(chunkLen) * uint64(unsafe.Sizeof(Tuple{}))
	assert.Less(t, perRun, uint64(ctBufSize), "a 19-record input allocates more than a full read buffer (a full chunk is %d bytes)", chunk)
}

// TestRecordsLongerThanTheBuffer decodes records longer than the first read
// buffer and than ctBufSize, between short ones: the buffer grows for them
// and no record is cut or lost.
func TestRecordsLongerThanTheBuffer(t *testing.T) {
	long := func(id, name string, n int) string {
		r := ctRecord(id, "2024-05-01T10:00:00Z", name, false, "192.0.2.7")
		return r[:len(r)-1] + `,"requestParameters":{"policy":"` + strings.Repeat("x", n) + `"}}`
	}
	recs := []string{
		ctRecord("1", "2024-05-01T10:00:00Z", "alpha", false, "192.0.2.1"),
		long("2", "bravo", ctFirstBuf+100),
		ctRecord("3", "2024-05-01T10:00:00Z", "charlie", false, "192.0.2.3"),
		long("4", "delta", ctBufSize+5000),
		ctRecord("5", "2024-05-01T10:00:00Z", "echo", false, "192.0.2.5"),
	}
	path := filepath.Join(t.TempDir(), "long.json")
	writeFile(t, path, []byte(`{"Records":[`+strings.Join(recs, ",")+`]}`), false)
	var c collect
	rep, err := ExtractCloudTrail(context.Background(), []string{path}, &c, nil)
	require.NoError(t, err)
	assert.False(t, rep.Failed(), rep.String())
	assert.Equal(t, []string{"AIDAALPHA,192.0.2.1", "AIDABRAVO,192.0.2.7", "AIDACHARLIE,192.0.2.3", "AIDADELTA,192.0.2.7", "AIDAECHO,192.0.2.5"}, c.rows())
}
