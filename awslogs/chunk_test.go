package awslogs

import (
	"context"
	"runtime"
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
