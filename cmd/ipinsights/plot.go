package main

import (
	"fmt"
	"image/color"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/ipinsights/ipinsights-go/ipinsights"
)

// Plot sizes: 6 x 4.5 inches at gonum/plot's 96 dpi gives 576 x 432 pixels.
const (
	plotWidth  = 6 * vg.Inch
	plotHeight = 4.5 * vg.Inch
)

var (
	colorNormal    = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	colorAnomalous = color.RGBA{R: 214, G: 39, B: 40, A: 255}
)

// writeROC writes the ROC curve of the anomaly score -dot_product as PNG.
func writeROC(path string, dots []float64, anomalous []bool, auc float64) error {
	pts := ipinsights.ROCCurve(dots, anomalous)
	xy := make(plotter.XYs, len(pts))
	for i, p := range pts {
		xy[i] = plotter.XY{X: p.FPR, Y: p.TPR}
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("ROC of -dot_product (AUC %.4f)", auc)
	p.X.Label.Text = "false-positive rate"
	p.Y.Label.Text = "true-positive rate (recall)"
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	line, err := plotter.NewLine(xy)
	if err != nil {
		return err
	}
	line.Color = colorAnomalous
	diag, _ := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
	diag.Dashes = []vg.Length{vg.Points(4), vg.Points(4)}
	p.Add(plotter.NewGrid(), diag, line)
	return p.Save(plotWidth, plotHeight, path)
}

// writeHistogram writes overlaid, normalised histograms of the dot products
// of normal and anomalous rows as PNG. The range is clipped to the 0.5th to
// 99.5th percentiles of all scores so that a few extreme scores do not
// squash the picture.
func writeHistogram(path string, dots []float64, anomalous []bool) error {
	sorted := append([]float64(nil), dots...)
	sort.Float64s(sorted)
	lo := sorted[len(sorted)*5/1000]
	hi := sorted[min(len(sorted)-1, len(sorted)*995/1000)]
	if hi <= lo {
		lo, hi = lo-1, hi+1
	}
	clip := func(v float64) float64 { return min(max(v, lo), hi) }
	var normal, anom plotter.Values
	for i, d := range dots {
		if anomalous[i] {
			anom = append(anom, clip(d))
		} else {
			normal = append(normal, clip(d))
		}
	}
	p := plot.New()
	p.Title.Text = "dot_product of normal and anomalous rows"
	p.X.Label.Text = "dot_product (higher = more normal)"
	p.Y.Label.Text = "density"
	p.Add(plotter.NewGrid())
	for _, s := range []struct {
		v     plotter.Values
		c     color.RGBA
		label string
	}{{normal, colorNormal, "normal (label 0)"}, {anom, colorAnomalous, "anomalous (label 1)"}} {
		if len(s.v) == 0 {
			continue
		}
		h, err := plotter.NewHist(s.v, 60)
		if err != nil {
			return err
		}
		h.Normalize(1)
		h.FillColor = color.RGBA{R: s.c.R, G: s.c.G, B: s.c.B, A: 110}
		h.LineStyle.Color = s.c
		p.Add(h)
		p.Legend.Add(s.label, h)
	}
	p.Legend.Top = true
	return p.Save(plotWidth, plotHeight, path)
}
