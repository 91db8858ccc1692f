//go:build !race

package ipinsights

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// Explaining into a reused dst allocates per batch, not per pair: the
// NetworkCounts of dst's elements are reused.
func TestExplainBatchAllocatesPerBatch(t *testing.T) {
	m, d := trainedWithHistory(t)
	ps := explainCases(d)
	for _, workers := range []int{1, 2} {
		dst := m.ExplainBatchWorkers(nil, ps, workers)
		allocs := testing.AllocsPerRun(20, func() { dst = m.ExplainBatchWorkers(dst, ps, workers) })
		assert.LessOrEqual(t, allocs, 8.0, "workers=%d, %d pairs", workers, len(ps))
	}
}
