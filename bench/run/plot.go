package main

import (
	"fmt"
	"os"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// drawPlot draws wall time and peak memory against items, log-log, one line a tool.
func drawPlot(rows []row, path string) error {
	var tools []string
	for _, r := range rows {
		if !slices.Contains(tools, r.tool) {
			tools = append(tools, r.tool)
		}
	}
	panel := func(title, ylabel string, value func(stats) float64) (*plot.Plot, error) {
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text = "items"
		p.Y.Label.Text = ylabel
		p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
		p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, plot.LogTicks{Prec: -1}
		p.Legend.Top, p.Legend.Left = true, true
		var lines []any
		for _, tool := range tools {
			var xys plotter.XYs
			for _, r := range rows {
				if r.tool == tool {
					xys = append(xys, plotter.XY{X: float64(r.items), Y: value(r.st)})
				}
			}
			lines = append(lines, tool, xys)
		}
		if err := plotutil.AddLinePoints(p, lines...); err != nil {
			return nil, fmt.Errorf("plot %s: %w", title, err)
		}
		return p, nil
	}
	timePlot, err := panel("Wall time (median)", "seconds", func(s stats) float64 { return s.wall.Seconds() })
	if err != nil {
		return err
	}
	memPlot, err := panel("Peak RSS (median)", "MiB", func(s stats) float64 { return float64(s.rss) / (1 << 20) })
	if err != nil {
		return err
	}
	img := vgimg.New(16*vg.Inch, 6*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Inch / 2}
	timePlot.Draw(tiles.At(dc, 0, 0))
	memPlot.Draw(tiles.At(dc, 1, 0))
	return writePNG(img, path)
}

func writePNG(img *vgimg.Canvas, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
