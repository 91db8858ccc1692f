package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A model may rank better than the ceiling computed for travel rows (attack
// users are drawn uniformly, travel is not): the line must say so, not
// print a negative distance "below".
func TestEvalPrintCeilingSide(t *testing.T) {
	for _, tc := range []struct {
		auc, ceiling float64
		want         string
	}{
		{0.9800, 0.9852, "this model is 0.0052 below)"},
		{0.9902, 0.9852, "this model is 0.0050 above)"},
	} {
		c := tc.ceiling
		r := evalReport{evalMetrics: evalMetrics{AUC: jsonFloat(tc.auc)}, Ceiling: &c}
		var b strings.Builder
		r.print(&b)
		assert.Contains(t, b.String(), tc.want)
		assert.NotContains(t, b.String(), "-0.")
	}
}
