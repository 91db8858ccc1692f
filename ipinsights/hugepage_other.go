//go:build !linux

package ipinsights

// adviseHugePages does nothing outside Linux.
func adviseHugePages(x []float32) {}
