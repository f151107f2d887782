package runreport

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"kube-netbench/internal/stats"
)

// scaleMeasure is one ServiceScale measure of the half-widths table: the
// conn key and metric unit of its results.
type scaleMeasure struct {
	conn, unit, label string
}

// scaleMeasures are the saturating RPS, then the measures that need no
// saturated machine: fixed-rate short-connection latency, netperf TCP_CRR
// through the Service and kernel CPU per new connection (issue 14).
var scaleMeasures = []scaleMeasure{
	{"short", "req/s", "short req/s (saturating)"},
	{"keepalive", "req/s", "keepalive req/s (saturating)"},
	{"short-fixed", "p50-sec", "fixed-rate short p50"},
	{"short-fixed", "p90-sec", "fixed-rate short p90"},
	{"short-fixed", "p99-sec", "fixed-rate short p99"},
	{"crr", "trans/s", "TCP_CRR trans/s"},
	{"crr", "p50-sec", "TCP_CRR p50"},
	{"crr", "p90-sec", "TCP_CRR p90"},
	{"crr", "p99-sec", "TCP_CRR p99"},
	{"short", "kernel-sec/conn", "kernel CPU / conn, short"},
	{"crr", "kernel-sec/conn", "kernel CPU / conn, TCP_CRR"},
}

// saturating is how many of scaleMeasures lead the table as the
// saturating RPS.
const saturating = 2

// ScaleMeasures is one run's ServiceScale measures at every step: each
// measure's median, its interval's half-width in percent of the median and
// its change against the run's own 0-Service baseline.
type ScaleMeasures struct {
	Column int
	// Labels name the measures the run has, in scaleMeasures' order.
	Labels []string
	Rows   []ScaleRow
}

// ScaleRow is one step: "0", "1000", ..., "0 (closing)".
type ScaleRow struct {
	Step  string
	Cells []ScaleCell
}

// ScaleCell is one measure at one step; Unit is "" where the run has no
// such result.
type ScaleCell struct {
	Unit    string
	Summary stats.Summary
	Change  *stats.Comparison
}

// String reads "183 µs ±3.2 %; +1.1 % [-2.0, +4.0] (n=6/6)", with "no
// interval" where there is none, "—" where nothing was measured.
func (c ScaleCell) String() string {
	if c.Unit == "" {
		return "—"
	}
	sc := scaleFor(c.Unit, c.Summary.Center)
	s := num(c.Summary.Center/sc.factor) + " " + sc.label
	if hw, ok := c.Summary.HalfWidthPct(); ok {
		s += fmt.Sprintf(" ±%.1f %%", hw)
	} else {
		s += fmt.Sprintf(", no interval (n=%d)", c.Summary.N)
	}
	if c.Change != nil {
		s += "; " + pct(*c.Change)
	}
	return s
}

// scaleMeasuresOf builds each run's table of measures; only runs with a
// measure beyond the saturating RPS have one (earlier runs had none).
func scaleMeasuresOf(cols []Column) ([]ScaleMeasures, error) {
	var out []ScaleMeasures
	for i, c := range cols {
		_, run, ok := c.dimension(scaleDimension)
		if !ok || run == nil {
			continue
		}
		// points[measure][svc]
		points := make([]map[string]Point, len(scaleMeasures))
		var steps []string
		for _, r := range run.Results {
			if r.Name != "ServiceScale" {
				continue
			}
			svc := key(r, "svc")
			for j, m := range scaleMeasures {
				mt, ok := metric(r, m.unit)
				if !ok || key(r, "conn") != m.conn {
					continue
				}
				if points[j] == nil {
					points[j] = map[string]Point{}
				}
				points[j][svc] = Point{Samples: mt.Samples, Summary: mt.Summary}
				if !slices.Contains(steps, svc) {
					steps = append(steps, svc)
				}
			}
		}
		if !slices.ContainsFunc(points[saturating:], func(p map[string]Point) bool { return p != nil }) {
			continue
		}
		if err := sortSteps(steps); err != nil {
			return nil, fmt.Errorf("%s: ServiceScale: %w", c.Run.Dir, err)
		}
		t := ScaleMeasures{Column: i}
		var have []int
		for j, m := range scaleMeasures {
			if points[j] != nil {
				have = append(have, j)
				t.Labels = append(t.Labels, m.label)
			}
		}
		for _, svc := range steps {
			row := ScaleRow{Step: stepLabel(svc)}
			for _, j := range have {
				p, ok := points[j][svc]
				if !ok {
					row.Cells = append(row.Cells, ScaleCell{})
					continue
				}
				cell := ScaleCell{Unit: scaleMeasures[j].unit, Summary: p.Summary}
				if b, ok := points[j]["0"]; ok && svc != "0" {
					if err := setChange(&p, b.Samples); err != nil {
						return nil, fmt.Errorf("%s: ServiceScale %s svc=%s: %w", c.Run.Dir, scaleMeasures[j].label, svc, err)
					}
					cell.Change = p.Change
				}
				row.Cells = append(row.Cells, cell)
			}
			t.Rows = append(t.Rows, row)
		}
		out = append(out, t)
	}
	return out, nil
}

// sortSteps orders svc values by Service count, the closing baseline
// last; a value that is not a count is an error.
func sortSteps(steps []string) error {
	n := map[string]int{}
	for _, s := range steps {
		v, err := strconv.Atoi(strings.TrimSuffix(s, closingSuffix))
		if err != nil || v < 0 {
			return fmt.Errorf("svc=%q is not a Service count (want N or N-closing)", s)
		}
		n[s] = v
		if strings.HasSuffix(s, closingSuffix) {
			n[s] = -1
		}
	}
	slices.SortFunc(steps, func(a, b string) int {
		if n[a] < 0 || n[b] < 0 {
			return n[b] - n[a]
		}
		return n[a] - n[b]
	})
	return nil
}

// stepLabel is a step's row label: "10,000", "0 (closing)".
func stepLabel(svc string) string {
	if strings.HasSuffix(svc, closingSuffix) {
		return "0 (closing)"
	}
	v, _ := strconv.Atoi(svc)
	return thousands(float64(v))
}
