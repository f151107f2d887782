package runreport

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"kube-netbench/internal/report"
)

// dimensionOrder is the order of the study's sections; other dimensions
// follow by name.
var dimensionOrder = []string{"throughput", "rps", "latency", "servicescale", "policy", "hubble", "resources"}

// Table is one dimension: each run's status and a row per configuration
// and metric with a cell per run.
type Table struct {
	Dimension string
	// Status is each column's "passed", "skipped: why", ... or "not run".
	Status []string
	Rows   []Row
	// Warnings are the summaries' statistical caveats, each once, with
	// how many cells carry it.
	Warnings []string
}

// Row is one configuration's metric across runs; a cell is "—" where the
// run has no such result.
type Row struct {
	Config, Unit string
	Cells        []string
}

// dimensions lists every dimension any run recorded, in the study's order.
func dimensions(cols []Column) []string {
	seen := map[string]bool{}
	for _, c := range cols {
		for _, d := range c.Run.Manifest.Dimensions {
			seen[d.Name] = true
		}
	}
	var out []string
	for _, d := range dimensionOrder {
		if seen[d] {
			out = append(out, d)
			delete(seen, d)
		}
	}
	var rest []string
	for d := range seen {
		rest = append(rest, d)
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// status is a column's outcome of a dimension, with the run's scenario
// statuses that did not pass.
func status(c Column, dim string) string {
	d, run, ok := c.dimension(dim)
	if !ok {
		return "not run"
	}
	s := d.Status
	if d.Message != "" {
		s += ": " + d.Message
	}
	if run != nil {
		for _, sc := range run.Scenarios {
			if sc.Status != report.StatusPassed {
				s += fmt.Sprintf("; scenario %s %s: %s", sc.Name, sc.Status, sc.Message)
			}
		}
	}
	return s
}

// buildTable lays a dimension's results out with the runs as columns. Rows
// come in the order the runs list their results, first column first.
func buildTable(cols []Column, dim string) Table {
	t := Table{Dimension: dim}
	type rowKey struct{ config, unit string }
	var keys []rowKey
	cells := map[rowKey][]string{}
	warnings := map[string]int{}
	names := map[string]bool{}
	for _, c := range cols {
		if _, run, ok := c.dimension(dim); ok && run != nil {
			for _, r := range run.Results {
				names[r.Name] = true
			}
		}
	}
	for i, c := range cols {
		t.Status = append(t.Status, status(c, dim))
		_, run, ok := c.dimension(dim)
		if !ok || run == nil {
			continue
		}
		for _, r := range run.Results {
			cfg := config(r)
			if len(names) > 1 {
				cfg = strings.TrimSpace(r.Name + " " + cfg)
			}
			for _, m := range r.Metrics {
				k := rowKey{cfg, m.Unit}
				if _, ok := cells[k]; !ok {
					keys = append(keys, k)
					cells[k] = slices.Repeat([]string{"—"}, len(cols))
				}
				cells[k][i] = cell(m.Summary, m.Unit)
				for _, w := range m.Summary.Warnings {
					warnings[w]++
				}
			}
		}
	}
	for _, k := range keys {
		t.Rows = append(t.Rows, Row{Config: k.config, Unit: k.unit, Cells: cells[k]})
	}
	for w, n := range warnings {
		t.Warnings = append(t.Warnings, fmt.Sprintf("%s (%d cells)", w, n))
	}
	sort.Strings(t.Warnings)
	return t
}
