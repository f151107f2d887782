package runreport

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
)

// WriteMarkdown writes report.md: the runs, the findings, the glance
// table, ServiceScale, a section per dimension and the fingerprints.
func WriteMarkdown(w io.Writer, r Report) error {
	b := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	header := func(firsts ...string) {
		p("|")
		for _, f := range firsts {
			p(" %s |", f)
		}
		for _, c := range r.Columns {
			p(" %s |", escape(c.Label))
		}
		p("\n|")
		for range len(firsts) + len(r.Columns) {
			p("---|")
		}
		p("\n")
	}
	p("# Dataplane benchmark report\n\n")
	p("Runs, one column each:\n\n")
	for _, c := range r.Columns {
		p("- **%s**: run `%s` (`%s`), %s, %s\n", c.Label, c.Run.Manifest.ID, c.Run.Dir,
			orDash(c.Run.Manifest.Fingerprint.Dataplane), orDash(c.Run.Manifest.Fingerprint.DataplaneVersion))
	}
	p("\nEvery number is the median of the rounds with its distribution-free 95 %% interval, `median [lo, hi] unit (n=rounds)`; " +
		"\"no interval\" means fewer than 6 rounds, too few for one: such a number is one draw of the noise. " +
		"Runs on different machines or at different times are compared only as far as their fingerprints (below) agree.\n\n")

	p("## Findings\n\n")
	if len(r.Findings) == 0 {
		p("None.\n")
	}
	for _, f := range r.Findings {
		p("- **%s**: %s\n", f.Kind, f.Text)
	}

	p("\n## At a glance\n\n")
	p("The study's summary table, rebuilt from these runs: only rows whose data exists. A winner is named only when " +
		"its interval is clear of every other run's.\n\n")
	p("| |")
	for _, c := range r.Columns {
		p(" %s |", escape(c.Label))
	}
	p(" winner |\n|%s\n", strings.Repeat("---|", len(r.Columns)+2))
	for _, row := range r.Glance.Rows {
		p("| %s |", escape(row.Label))
		for _, c := range row.Cells {
			p(" %s |", escape(c))
		}
		p(" %s |\n", escape(row.Winner))
	}
	if len(r.Glance.Missing) > 0 {
		p("\nRows of the study not shown:\n\n")
		for _, m := range r.Glance.Missing {
			p("- %s\n", m)
		}
	}

	writeScale(p, header, r)

	for _, t := range r.Tables {
		p("\n## %s\n\n", t.Dimension)
		for i, s := range t.Status {
			p("- %s: %s\n", r.Columns[i].Label, escape(s))
		}
		if t.Dimension == scaleDimension && len(r.Short)+len(r.Keepalive) > 0 {
			p("\nIts results are in [Service scale](#service-scale) above.\n")
			continue
		}
		if len(t.Rows) > 0 {
			p("\n")
			header("configuration", "metric")
			for _, row := range t.Rows {
				p("| %s | `%s` |", escape(orDash(row.Config)), row.Unit)
				for _, c := range row.Cells {
					p(" %s |", escape(c))
				}
				p("\n")
			}
		}
		for _, pl := range r.Plots {
			if pl.File == "bars-"+t.Dimension+".png" {
				p("\n![%s](%s)\n", pl.Title, pl.File)
			}
		}
		if len(t.Warnings) > 0 {
			p("\nStatistical caveats:\n\n")
			for _, w := range t.Warnings {
				p("- %s\n", w)
			}
		}
	}

	p("\n## Fingerprints\n\n")
	p("Properties that differ between the runs are marked ≠ (%s).\n\n", differing(r.Fingerprint))
	header("", "property")
	for _, row := range r.Fingerprint {
		mark := ""
		if row.Differs {
			mark = "≠"
		}
		p("| %s | %s |", mark, escape(row.Name))
		for _, v := range row.Values {
			p(" %s |", escape(v))
		}
		p("\n")
	}
	return b.Flush()
}

func writeScale(p func(string, ...any), header func(...string), r Report) {
	if len(r.Short) == 0 && len(r.Keepalive) == 0 {
		return
	}
	p("\n## Service scale\n\n")
	p("Requests per second through one Service while dummy Services grow, against the same run's baseline at 0 " +
		"Services; \"0 (closing)\" is that baseline measured again after the dummy Services were deleted (drift check).\n")
	for _, s := range []struct {
		what string
		cs   []Curve
	}{{"Short connections", r.Short}, {"Keepalive", r.Keepalive}} {
		if len(s.cs) == 0 {
			continue
		}
		p("\n### %s\n\n", s.what)
		byCol := map[int]Curve{}
		var steps []int
		seen := map[int]bool{}
		for _, c := range s.cs {
			byCol[c.Column] = c
			for _, pt := range c.Points {
				if !seen[pt.Services] {
					seen[pt.Services] = true
					steps = append(steps, pt.Services)
				}
			}
		}
		slices.Sort(steps)
		header("Services")
		for _, n := range steps {
			p("| %s |", thousands(float64(n)))
			for i := range r.Columns {
				p(" %s |", escape(pointCell(byCol, i, func(c Curve) *Point {
					for j := range c.Points {
						if c.Points[j].Services == n {
							return &c.Points[j]
						}
					}
					return nil
				})))
			}
			p("\n")
		}
		p("| 0 (closing) |")
		for i := range r.Columns {
			p(" %s |", escape(pointCell(byCol, i, func(c Curve) *Point { return c.Closing })))
		}
		p("\n")
		for _, pl := range r.Plots {
			if strings.HasPrefix(pl.File, "servicescale-"+strings.ToLower(strings.Fields(s.what)[0])) {
				p("\n![%s](%s)\n", pl.Title, pl.File)
			}
		}
	}
	if len(r.Crossovers) > 0 {
		p("\n### Crossovers (short connections)\n\n")
		for _, x := range r.Crossovers {
			p("- %s\n", x.describe())
		}
	}
	writeScaleMeasures(p, r)
}

// writeScaleMeasures writes each run's ServiceScale measures per step, the
// saturating req/s first.
func writeScaleMeasures(p func(string, ...any), r Report) {
	if len(r.ScaleMeasures) == 0 {
		return
	}
	p("\n### Without saturating the machine\n\n")
	p("Beside the saturating req/s, measures that need no saturated machine: the latency of new connections at a " +
		"fixed rate well below saturation (fortio short connections, the connect included; netperf TCP_CRR through a " +
		"Service) and the kernel CPU (system, irq, softirq) per new connection, read from the client node's /proc/stat: " +
		"on the lab, whose nodes share one kernel, the whole machine's, client, server and dataplane together. " +
		"Each cell: median ±half the width of its 95 %% interval, in %% of the median; then the change against the " +
		"run's 0-Service baseline. A measure whose half-width is well under the saturating req/s's at the same step " +
		"can tell dataplanes apart where req/s cannot.\n")
	for _, t := range r.ScaleMeasures {
		p("\n#### %s\n\n| Services |", escape(r.Columns[t.Column].Label))
		for _, l := range t.Labels {
			p(" %s |", escape(l))
		}
		p("\n|%s\n", strings.Repeat("---|", len(t.Labels)+1))
		for _, row := range t.Rows {
			p("| %s |", row.Step)
			for _, c := range row.Cells {
				p(" %s |", escape(c.String()))
			}
			p("\n")
		}
	}
}

func pointCell(byCol map[int]Curve, col int, get func(Curve) *Point) string {
	c, ok := byCol[col]
	if !ok {
		return "—"
	}
	pt := get(c)
	if pt == nil {
		return "—"
	}
	s := cell(pt.Summary, "req/s")
	if pt.Change != nil {
		s += "; " + pct(*pt.Change)
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
