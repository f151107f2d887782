package runreport

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"kube-netbench/internal/stats"
)

// Plot is one PNG of the report.
type Plot struct {
	// File is its name in the output directory; Title says what it shows.
	File, Title string
	// Note is the warning the plot carries when its data has no interval.
	Note   string
	render func() (*plot.Plot, error)
}

// Render writes the plot as PNG.
func (p Plot) Render(w io.Writer) error {
	pl, err := p.render()
	if err != nil {
		return fmt.Errorf("plot %s: %w", p.File, err)
	}
	wt, err := pl.WriterTo(9*vg.Inch, 5.5*vg.Inch, "png")
	if err != nil {
		return fmt.Errorf("plot %s: %w", p.File, err)
	}
	if _, err := wt.WriteTo(w); err != nil {
		return fmt.Errorf("plot %s: %w", p.File, err)
	}
	return nil
}

// plots lists the report's plots: ServiceScale's curves, absolute and
// relative to each run's baseline, then a bar chart per dimension.
func plots(r Report) []Plot {
	var out []Plot
	for _, s := range []struct {
		conn, what string
		cs         []Curve
	}{{"short", "short connections", r.Short}, {"keepalive", "keepalive", r.Keepalive}} {
		if len(s.cs) == 0 {
			continue
		}
		note := ""
		if n, bounded := rounds(s.cs); !bounded {
			note = untrusted(n)
		}
		for _, rel := range []bool{false, true} {
			p := Plot{File: "servicescale-" + s.conn + ".png", Title: "ServiceScale, " + s.what + ": req/s against dummy Services", Note: note}
			if rel {
				p.File = "servicescale-" + s.conn + "-relative.png"
				p.Title = "ServiceScale, " + s.what + ": change against each run's 0-Service baseline"
			}
			cols, cs, rel := r.Columns, s.cs, rel
			var xs []Crossover
			if s.conn == "short" && !rel {
				xs = r.Crossovers
			}
			p.render = func() (*plot.Plot, error) { return curvePlot(p.Title, p.Note, cols, cs, rel, xs) }
			out = append(out, p)
		}
	}
	for _, t := range r.Tables {
		if t.Dimension == scaleDimension || len(t.Rows) == 0 {
			continue
		}
		if p, ok := barPlot(r.Columns, t); ok {
			out = append(out, p)
		}
	}
	return out
}

// newPlot is a plot with the title and, below it, the warning.
func newPlot(title, note string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	if note != "" {
		p.Title.Text += "\n" + note
		p.Title.TextStyle.Color = color.RGBA{R: 0xb0, A: 0xff}
	}
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return p
}

// curvePlot draws one line per run with its band and rounds, and a dashed
// vertical line at every crossover of xs.
func curvePlot(title, note string, cols []Column, cs []Curve, relative bool, xs []Crossover) (*plot.Plot, error) {
	p := newPlot(title, note)
	p.X.Label.Text = "dummy Services"
	p.Y.Label.Text = "req/s (line: median; band: 95 % interval; dots: rounds)"
	p.Y.Min = 0
	// Curves start high on the left and fall: the bottom left stays free.
	p.Legend.Top, p.Legend.Left = false, true
	if relative {
		p.Y.Label.Text = "change in % (line: median; band: 95 % interval)"
	}
	for _, c := range cs {
		var line, lo, hi plotter.XYs
		bounded := true
		for _, pt := range c.Points {
			x := float64(pt.Services)
			y, l, h := pt.Summary.Center, pt.Summary.Lo, pt.Summary.Hi
			if relative {
				y, l, h = 0, 0, 0
				if pt.Change != nil {
					y, l, h = pt.Change.Center, pt.Change.Lo, pt.Change.Hi
				}
			}
			line = append(line, plotter.XY{X: x, Y: y})
			lo, hi = append(lo, plotter.XY{X: x, Y: l}), append(hi, plotter.XY{X: x, Y: h})
			bounded = bounded && !math.IsInf(l, 0) && !math.IsInf(h, 0)
		}
		col := plotutil.Color(c.Column)
		if bounded {
			band := append(plotter.XYs{}, lo...)
			for i := len(hi) - 1; i >= 0; i-- {
				band = append(band, hi[i])
			}
			poly, err := plotter.NewPolygon(band)
			if err != nil {
				return nil, err
			}
			r, g, b, _ := col.RGBA()
			poly.Color = color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: 0x40}
			poly.LineStyle.Width = 0
			p.Add(poly)
		}
		l, s, err := plotter.NewLinePoints(line)
		if err != nil {
			return nil, err
		}
		l.Color, s.Color = col, col
		s.Shape = plotutil.Shape(c.Column)
		p.Add(l, s)
		if !relative {
			var rounds plotter.XYs
			for _, pt := range c.Points {
				for _, v := range pt.Samples {
					rounds = append(rounds, plotter.XY{X: float64(pt.Services), Y: v})
				}
			}
			dots, err := plotter.NewScatter(rounds)
			if err != nil {
				return nil, err
			}
			dots.Color, dots.Radius, dots.Shape = col, vg.Points(1.5), draw.CircleGlyph{}
			p.Add(dots)
		}
		p.Legend.Add(cols[c.Column].Label, l, s)
	}
	top := 0.0
	for _, c := range cs {
		for _, pt := range c.Points {
			top = math.Max(top, pt.Summary.Center)
		}
	}
	shown := 0
	for _, x := range xs {
		if !x.Found {
			continue
		}
		// Labels sit low, away from the legend, and step down so that near
		// crossovers stay legible.
		y := top * (0.3 - 0.06*float64(shown))
		shown++
		l, err := plotter.NewLine(plotter.XYs{{X: x.At, Y: 0}, {X: x.At, Y: top}})
		if err != nil {
			return nil, err
		}
		l.Color, l.Dashes = color.Gray{Y: 0x60}, []vg.Length{vg.Points(4), vg.Points(3)}
		lb, err := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: x.At, Y: y}},
			Labels: []string{fmt.Sprintf(" %s < %s at ≈ %s", x.Above, x.Below, thousands(sig3(x.At)))}})
		if err != nil {
			return nil, err
		}
		p.Add(l, lb)
	}
	return p, nil
}

// errPoints are bar tops with their intervals, for YErrorBars.
type errPoints struct {
	plotter.XYs
	plotter.YErrors
}

// barPlot draws the dimension's rows of its first unit as grouped bars,
// one per run, with the 95 % interval as error bars.
func barPlot(cols []Column, t Table) (Plot, bool) {
	unit := t.Rows[0].Unit
	var rows []Row
	for _, r := range t.Rows {
		if r.Unit == unit {
			rows = append(rows, r)
		}
	}
	p := Plot{File: "bars-" + t.Dimension + ".png", Title: fmt.Sprintf("%s: %s by configuration", t.Dimension, unit)}
	sums, typical, n, bounded := barData(cols, t.Dimension, rows, unit)
	if typical == 0 && len(sums) == 0 {
		return Plot{}, false
	}
	if !bounded {
		p.Note = untrusted(n)
	}
	p.render = func() (*plot.Plot, error) {
		sc := scaleFor(unit, typical)
		pl := newPlot(p.Title, p.Note)
		pl.Y.Label.Text = sc.label + " (median; bars: 95 % interval)"
		var names []string
		for _, r := range rows {
			names = append(names, strings.ReplaceAll(r.Config, " ", "\n"))
		}
		pl.NominalX(names...)
		// Room for the outer bars and, above the tallest, for the legend.
		pl.X.Min, pl.X.Max = -0.5, float64(len(rows))-0.5
		top := 0.0
		for _, s := range sums {
			top = math.Max(top, s.Center/sc.factor)
			if s.Bounded() {
				top = math.Max(top, s.Hi/sc.factor)
			}
		}
		pl.Y.Max = top * 1.25
		k := float64(len(cols))
		w := vg.Length(6.5*72/float64(len(rows))) * 0.8 / vg.Length(k)
		for j := range cols {
			vals := make(plotter.Values, len(rows))
			var ep errPoints
			has := false
			for i := range rows {
				s, ok := sums[[2]int{i, j}]
				if !ok {
					continue
				}
				has = true
				vals[i] = s.Center / sc.factor
				if s.Bounded() {
					ep.XYs = append(ep.XYs, plotter.XY{X: float64(i) + (float64(j)-(k-1)/2)*0.8/k, Y: vals[i]})
					ep.YErrors = append(ep.YErrors, struct{ Low, High float64 }{vals[i] - s.Lo/sc.factor, s.Hi/sc.factor - vals[i]})
				}
			}
			if !has {
				continue
			}
			bc, err := plotter.NewBarChart(vals, w)
			if err != nil {
				return nil, err
			}
			bc.Color = plotutil.Color(j)
			bc.LineStyle.Width = 0
			bc.XMin = (float64(j) - (k-1)/2) * 0.8 / k
			pl.Add(bc)
			pl.Legend.Add(cols[j].Label, bc)
			if len(ep.XYs) > 0 {
				eb, err := plotter.NewYErrorBars(ep)
				if err != nil {
					return nil, err
				}
				eb.LineStyle = draw.LineStyle{Color: color.Black, Width: vg.Points(1)}
				pl.Add(eb)
			}
		}
		return pl, nil
	}
	return p, true
}

// barData finds each (row, column)'s summary of unit.
func barData(cols []Column, dim string, rows []Row, unit string) (map[[2]int]stats.Summary, float64, int, bool) {
	out := map[[2]int]stats.Summary{}
	typical, n, bounded := 0.0, 0, true
	for j, c := range cols {
		_, run, ok := c.dimension(dim)
		if !ok || run == nil {
			continue
		}
		names := map[string]bool{}
		for _, r := range run.Results {
			names[r.Name] = true
		}
		for _, r := range run.Results {
			m, ok := metric(r, unit)
			if !ok {
				continue
			}
			for i, row := range rows {
				if row.Config == config(r) || row.Config == strings.TrimSpace(r.Name+" "+config(r)) {
					out[[2]int{i, j}] = m.Summary
					typical = math.Max(typical, math.Abs(m.Summary.Center))
					if n == 0 || m.Summary.N < n {
						n = m.Summary.N
					}
					bounded = bounded && m.Summary.Bounded()
				}
			}
		}
	}
	return out, typical, n, bounded
}
