package runreport

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"kube-netbench/internal/report"
	"kube-netbench/internal/stats"
)

// Glance is the study's "At a glance" table rebuilt from the runs: the
// rows whose data exists, and the others with the reason they are missing.
type Glance struct {
	Rows    []GlanceRow
	Missing []string
}

// GlanceRow is one line: a cell per column and which run wins.
type GlanceRow struct {
	Label  string
	Cells  []string
	Winner string
}

// glanceSpec is one row of the study's table and where our results hold it.
type glanceSpec struct {
	label, dim, result string
	keys               map[string]string
	unit               string
	// change: the row is the change of unit from keys+{changeKey: from}
	// to keys+{changeKey: to}, measured in interleaved pairs.
	changeKey, from, to string
	// perNode: the row is the largest median over the result's nodes.
	perNode bool
	// missing explains a row our suite has no scenario for.
	missing string
	// serviceScale stands for the Service-scale rows, one per measured
	// step (serviceRows).
	serviceScale bool
}

var glanceSpecs = []glanceSpec{
	{label: "Pod-to-pod throughput, cross-node, 8 streams", dim: "throughput", result: "Throughput",
		keys: map[string]string{"path": "pod", "node": "cross", "streams": "8"}, unit: "bits/s"},
	{label: "RPS keepalive (c64, via Service)", dim: "rps", result: "RPS",
		keys: map[string]string{"target": "svc", "conn": "keepalive", "c": "64"}, unit: "req/s"},
	{label: "RPS short connections (c64, via Service)", dim: "rps", result: "RPS",
		keys: map[string]string{"target": "svc", "conn": "short", "c": "64"}, unit: "req/s"},
	{label: "TCP_RR p99 (pod to pod)", dim: "latency", result: "Latency",
		keys: map[string]string{"test": "TCP_RR", "target": "pod"}, unit: "p99-sec"},
	{label: "HTTP p99 @1000 QPS (via Service)", dim: "latency", result: "Latency",
		keys: map[string]string{"test": "HTTP-1000qps", "target": "svc"}, unit: "p99-sec"},
	{label: "Service scale", serviceScale: true},
	{label: "L3/L4 NetworkPolicy: req/s change", dim: "policy", result: "NetworkPolicy",
		keys: map[string]string{"kind": "NetworkPolicy"}, unit: "req/s", changeKey: "policy", from: "none", to: "l3l4"},
	{label: "L3/L4 CiliumNetworkPolicy: req/s change", dim: "policy", result: "NetworkPolicy",
		keys: map[string]string{"kind": "CiliumNetworkPolicy"}, unit: "req/s", changeKey: "policy", from: "none", to: "l3l4"},
	{label: "L7 NetworkPolicy: req/s change", missing: "the suite has no L7 policy scenario (the lab runs Cilium without Envoy, enable-l7-proxy=false)"},
	{label: "Hubble on: req/s change", dim: "hubble", result: "Hubble",
		keys: map[string]string{}, unit: "req/s", changeKey: "hubble", from: "off", to: "on"},
	{label: "BPF map memory / node", missing: "not in the runs' report/v1 results (ServiceScale's summary JSON records each node's Cilium maps per step)"},
	{label: "Datapath agent memory / node, under load (largest node)", dim: "resources", result: "Resources",
		keys: map[string]string{"state": "load", "source": "cgroup"}, unit: "B", perNode: true},
	{label: "Datapath agent CPU / node, under load (largest node)", dim: "resources", result: "Resources",
		keys: map[string]string{"state": "load", "source": "cgroup"}, unit: "millicores", perNode: true},
}

// studySteps are the Service counts of the study's table.
var studySteps = []int{20000, 30000}

func buildGlance(cols []Column, short []Curve, xs []Crossover) Glance {
	var g Glance
	for _, sp := range glanceSpecs {
		if sp.serviceScale {
			g.serviceRows(cols, short, xs)
			continue
		}
		g.add(cols, sp)
	}
	return g
}

func (g *Glance) add(cols []Column, sp glanceSpec) {
	if sp.missing != "" {
		g.Missing = append(g.Missing, sp.label+": "+sp.missing)
		return
	}
	row := GlanceRow{Label: sp.label, Cells: slices.Repeat([]string{"—"}, len(cols)), Winner: "—"}
	var found []int
	var sums []stats.Summary
	var why []string
	better := ""
	for i, c := range cols {
		_, run, ok := c.dimension(sp.dim)
		if !ok || run == nil {
			if ok {
				why = append(why, fmt.Sprintf("%s: %s", c.Label, status(c, sp.dim)))
			}
			continue
		}
		if sp.changeKey != "" {
			if s, ok := changeCell(*run, sp); ok {
				row.Cells[i] = s
				found = append(found, i)
			}
			continue
		}
		m, node, ok := pick(*run, sp)
		if !ok {
			continue
		}
		row.Cells[i] = cell(m.Summary, m.Unit)
		if node != "" {
			row.Cells[i] += " " + node
		}
		found, sums, better = append(found, i), append(sums, m.Summary), m.Better
	}
	if len(found) == 0 {
		reason := "no run measured it"
		if len(why) > 0 {
			reason = strings.Join(why, "; ")
		}
		g.Missing = append(g.Missing, sp.label+": "+reason)
		return
	}
	if sp.changeKey == "" {
		row.Winner = winner(cols, found, sums, better)
	}
	g.Rows = append(g.Rows, row)
}

// pick finds the spec's metric in a run; perNode picks the node with the
// largest median.
func pick(run report.Run, sp glanceSpec) (report.Metric, string, bool) {
	var best report.Metric
	node, ok := "", false
	for _, r := range run.Results {
		if r.Name != sp.result || !matches(r, sp.keys) {
			continue
		}
		m, has := metric(r, sp.unit)
		if !has {
			continue
		}
		if !ok || m.Summary.Center > best.Summary.Center {
			best, ok = m, true
			if sp.perNode {
				node = "(" + key(r, "agent") + " on " + key(r, "node") + ")"
			}
		}
		if !sp.perNode {
			break
		}
	}
	return best, node, ok
}

// changeCell is the change from the spec's "from" to its "to" result:
// paired when both have the same number of rounds (the suite interleaves
// them), independent otherwise.
func changeCell(run report.Run, sp glanceSpec) (string, bool) {
	var from, to *report.Metric
	for _, r := range run.Results {
		if r.Name != sp.result || !matches(r, sp.keys) {
			continue
		}
		m, ok := metric(r, sp.unit)
		if !ok {
			continue
		}
		switch key(r, sp.changeKey) {
		case sp.from:
			from = &m
		case sp.to:
			to = &m
		}
	}
	if from == nil || to == nil {
		return "", false
	}
	var c stats.Comparison
	var err error
	method := "independent"
	if len(from.Samples) == len(to.Samples) {
		pairs := make([][2]float64, len(from.Samples))
		for i := range pairs {
			pairs[i] = [2]float64{from.Samples[i], to.Samples[i]}
		}
		c, err = stats.PairedChange(pairs, stats.DefaultConfidence)
		method = "paired"
	} else {
		c, err = stats.Change(from.Samples, to.Samples, stats.DefaultConfidence)
	}
	if err != nil {
		return "cannot compare: " + err.Error(), true
	}
	return pct(c) + " " + method, true
}

// winner names the column whose median is best when its interval is clear
// of every other's; otherwise it says why there is none.
func winner(cols []Column, found []int, sums []stats.Summary, better string) string {
	if len(found) < 2 {
		return "—"
	}
	for _, s := range sums {
		if !s.Bounded() {
			return "cannot tell: no interval (n<6)"
		}
	}
	best := 0
	for i, s := range sums {
		if better == report.LowerIsBetter && s.Center < sums[best].Center || better != report.LowerIsBetter && s.Center > sums[best].Center {
			best = i
		}
	}
	for i, s := range sums {
		if i != best && s.Hi >= sums[best].Lo && s.Lo <= sums[best].Hi {
			return "no clear winner: intervals overlap"
		}
	}
	return cols[found[best]].Label
}

// serviceRows adds short-connection req/s at every measured step and says
// which of the study's steps were not measured.
func (g *Glance) serviceRows(cols []Column, short []Curve, xs []Crossover) {
	steps := map[int]bool{}
	for _, c := range short {
		for _, p := range c.Points[1:] {
			steps[p.Services] = true
		}
	}
	var sorted []int
	for s := range steps {
		sorted = append(sorted, s)
	}
	sort.Ints(sorted)
	for _, n := range sorted {
		row := GlanceRow{Label: fmt.Sprintf("Short-connection RPS @%s Services (change against the run's 0)", thousands(float64(n))),
			Cells: slices.Repeat([]string{"—"}, len(cols))}
		var found []int
		var sums []stats.Summary
		for _, c := range short {
			for _, p := range c.Points {
				if p.Services == n {
					row.Cells[c.Column] = cell(p.Summary, "req/s") + "; " + pct(*p.Change)
					found, sums = append(found, c.Column), append(sums, p.Summary)
				}
			}
		}
		row.Winner = winner(cols, found, sums, report.HigherIsBetter)
		g.Rows = append(g.Rows, row)
	}
	var measured []string
	for _, n := range sorted {
		measured = append(measured, strconv.Itoa(n))
	}
	for _, n := range studySteps {
		if !steps[n] {
			why := "no run has a ServiceScale step there"
			if len(measured) > 0 {
				why += " (measured: " + strings.Join(measured, ", ") + ")"
			}
			g.Missing = append(g.Missing, fmt.Sprintf("Short-connection RPS @%s Services: %s", thousands(float64(n)), why))
		}
	}
	if len(xs) > 0 {
		row := GlanceRow{Label: "Short-connection crossover (medians)", Cells: slices.Repeat([]string{"see below"}, len(cols)), Winner: "—"}
		var parts []string
		for _, x := range xs {
			switch {
			case x.Note != "":
			case x.Found:
				parts = append(parts, fmt.Sprintf("%s below %s at ≈ %s Services", x.Above, x.Below, thousands(sig3(x.At))))
			default:
				part := fmt.Sprintf("%s above %s throughout", x.Above, x.Below)
				if n := x.apartNote(); n != "" {
					part += " (" + n + ")"
				}
				parts = append(parts, part)
			}
		}
		if len(parts) > 0 {
			row.Winner = strings.Join(parts, "; ")
			for i := range row.Cells {
				row.Cells[i] = "—"
			}
			g.Rows = append(g.Rows, row)
		}
	}
}
