package embedding

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

func TestTupleIs24Bytes(t *testing.T) {
	assert.LessOrEqual(t, unsafe.Sizeof(Tuple{}), uintptr(24))
}
