package ipinsights

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// adviseHugePages asks Linux to back the large table x with transparent
// huge pages. Training and scoring touch rows of the IP and entity tables
// (and of their Adam moments) at random; with 4 KiB pages nearly every row
// costs a TLB miss. It must be called before x is first written, and is a
// hint: errors (no THP support) are ignored.
func adviseHugePages(x []float32) {
	const huge = 2 << 20
	if len(x)*4 < 4*huge {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(x))), len(x)*4)
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo := int((huge - addr%huge) % huge)               // first huge-page boundary
	hi := int((addr+uintptr(len(b)))/huge*huge - addr) // last one
	if hi <= lo {
		return
	}
	_ = unix.Madvise(b[lo:hi], unix.MADV_HUGEPAGE)
}
