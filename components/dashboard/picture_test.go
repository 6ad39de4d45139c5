package dashboard_test

import (
	"context"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

var update = flag.Bool("update", false, "redraw docs/dashboard.png from testdata/day.yaml")

// picture is the committed drawing of the dashboard, and day the synthetic
// series it is drawn from.
const (
	picture = "docs/dashboard.png"
	day     = "testdata/day.yaml"
	step    = 5 * time.Minute
)

// docs/dashboard.png is the dashboard as Grafana would draw it over
// testdata/day.yaml: every panel's queries, with the variables set for the
// rendered Hub, evaluated by Prometheus' own engine over the day, one plot a
// panel. A change to the dashboard or the day that changes the picture fails
// here until it is redrawn:
//
//	go test ./components/dashboard -run TestThePictureIsInStep -update
func TestThePictureIsInStep(t *testing.T) {
	h := rendered(t, root(t, operated))
	series := loadDay(t)
	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 10_000_000, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})
	var panels []drawnPanel
	for _, p := range h.board.Panels {
		dp := drawnPanel{title: p.Title, unit: p.FieldConfig.Defaults.Unit}
		if v, ok := p.threshold(); ok {
			dp.threshold = &v
		}
		for _, target := range p.Targets {
			q, err := set(target.Expr, h.variables())
			require.NoError(t, err)
			query, err := engine.NewRangeQuery(context.Background(), series, nil, q, time.Unix(0, 0), time.Unix(0, 0).Add(24*time.Hour), step)
			require.NoError(t, err)
			res := query.Exec(context.Background())
			require.NoError(t, res.Err, q)
			m, err := res.Matrix()
			require.NoError(t, err)
			require.NotEmpty(t, m, "%s: %s has no values over the day: the picture would show nothing", p.Title, q)
			for _, s := range m {
				l := drawnLine{name: legend(target.Legend, s.Metric.Map())}
				for _, pt := range s.Floats {
					l.points = append(l.points, plotter.XY{X: float64(pt.T) / float64(time.Hour.Milliseconds()), Y: pt.F})
				}
				dp.lines = append(dp.lines, l)
			}
			query.Close()
		}
		panels = append(panels, dp)
	}
	img := drawDashboard(panels)

	path := root(t, picture)
	if *update {
		require.NoError(t, writePNG(path, img))
		t.Logf("redrew %s", picture)
		return
	}
	drawn, committed := img.Image(), readPNG(t, path)
	require.Equal(t, drawn.Bounds(), committed.Bounds(), "%s has another size: redraw it (-update)", picture)
	// A hundred-thousandth of the pixels (17) may differ: another
	// platform's rounding in the rasteriser (arm64 fuses multiply-adds), not
	// another picture; moving one threshold line changes 2,700.
	assert.LessOrEqual(t, differing(drawn, committed), drawn.Bounds().Dx()*drawn.Bounds().Dy()/100_000,
		"%s is not the dashboard over %s: redraw it with go test ./components/dashboard -run TestThePictureIsInStep -update", picture, day)
}

// legend is Grafana's legendFormat with {{label}} set from the series.
func legend(format string, lbls map[string]string) string {
	for k, v := range lbls {
		format = strings.ReplaceAll(format, "{{"+k+"}}", v)
	}
	return format
}

type drawnPanel struct {
	title, unit string
	threshold   *float64
	lines       []drawnLine
}

type drawnLine struct {
	name   string
	points plotter.XYs
}

// units turns Grafana's unit into a scale and an axis label.
func units(unit string) (scale float64, label string) {
	switch unit {
	case "bytes":
		return 1.0 / (1 << 30), "GiB"
	case "percentunit":
		return 100, "%"
	case "cores":
		return 1, "cores"
	}
	return 1, ""
}

// drawDashboard lays the panels out two a row, as the dashboard's grid does.
func drawDashboard(panels []drawnPanel) *vgimg.Canvas {
	const cols = 2
	rows := (len(panels) + cols - 1) / cols
	img := vgimg.New(16*vg.Inch, vg.Length(rows)*4*vg.Inch)
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Inch / 3, PadY: vg.Inch / 4, PadTop: vg.Inch / 8, PadBottom: vg.Inch / 8, PadLeft: vg.Inch / 8, PadRight: vg.Inch / 8}
	dc := draw.New(img)
	for i, p := range panels {
		p.plot().Draw(tiles.At(dc, i%cols, i/cols))
	}
	return img
}

// plot draws one panel: its lines, a gap where a series has no value, and
// its alert threshold dashed.
func (p drawnPanel) plot() *plot.Plot {
	scale, label := units(p.unit)
	pl := plot.New()
	pl.Title.Text = p.title
	pl.X.Label.Text = "hour of the day"
	pl.Y.Label.Text = label
	pl.X.Min, pl.X.Max = 0, 24
	pl.X.Tick.Marker = plot.ConstantTicks(hourTicks())
	pl.Y.Min = 0
	pl.Legend.Top, pl.Legend.Left = true, true
	pl.Add(plotter.NewGrid())
	colours := map[string]int{}
	for _, l := range p.lines {
		c, ok := colours[l.name]
		if !ok {
			c = len(colours)
			colours[l.name] = c
		}
		for j, run := range runs(l.points, scale) {
			line := &plotter.Line{XYs: run, LineStyle: plotter.DefaultLineStyle}
			line.Color = palette[c%len(palette)]
			line.Width = vg.Points(1.5)
			pl.Add(line)
			if j == 0 && !ok {
				pl.Legend.Add(l.name, line)
			}
		}
	}
	// Room above the lines for the legend.
	pl.Y.Max += (pl.Y.Max - pl.Y.Min) / 4
	if p.threshold != nil {
		y := *p.threshold * scale
		th := &plotter.Line{XYs: plotter.XYs{{X: 0, Y: y}, {X: 24, Y: y}}, LineStyle: plotter.DefaultLineStyle}
		th.Color = thresholdColour
		th.Dashes = []vg.Length{vg.Points(6), vg.Points(4)}
		pl.Add(th)
		pl.Legend.Add("alert threshold", th)
	}
	return pl
}

// runs splits a series where it has no value for longer than a step (the
// Hub not running, say) and scales it, so the picture leaves a gap there.
func runs(points plotter.XYs, scale float64) []plotter.XYs {
	var out []plotter.XYs
	var cur plotter.XYs
	gap := 1.5 * step.Hours()
	for i, p := range points {
		if i > 0 && p.X-points[i-1].X > gap {
			out, cur = append(out, cur), nil
		}
		if !math.IsNaN(p.Y) {
			cur = append(cur, plotter.XY{X: p.X, Y: p.Y * scale})
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// palette colours the lines as Grafana's classic palette does; thresholds
// are red and dashed.
var (
	palette         = []color.Color{color.RGBA{31, 119, 180, 255}, color.RGBA{255, 127, 14, 255}, color.RGBA{44, 160, 44, 255}}
	thresholdColour = color.RGBA{214, 39, 40, 255}
)

func hourTicks() []plot.Tick {
	var ticks []plot.Tick
	for h := 0; h <= 24; h += 3 {
		ticks = append(ticks, plot.Tick{Value: float64(h), Label: fmt.Sprintf("%02d:00", h)})
	}
	return ticks
}

func writePNG(path string, img *vgimg.Canvas) error {
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

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err, "%s is missing: draw it with -update", filepath.Base(path))
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	return img
}

// differing counts the pixels in which two pictures of one size differ.
func differing(a, b image.Image) int {
	n := 0
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, a1 := a.At(x, y).RGBA()
			r2, g2, b2, a2 := b.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				n++
			}
		}
	}
	return n
}
