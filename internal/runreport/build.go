package runreport

import (
	"fmt"

	"kube-netbench/internal/results"
)

// Report is everything report.md and the plots show.
type Report struct {
	Columns []Column
	Tables  []Table
	// Short and Keepalive are the ServiceScale curves; Crossovers compare
	// every two short-connection curves.
	Short, Keepalive []Curve
	Crossovers       []Crossover
	// ScaleMeasures are each run's ServiceScale measures per step, the
	// saturating RPS's interval half-widths beside those of the measures
	// that need no saturated machine.
	ScaleMeasures []ScaleMeasures
	Glance        Glance
	Fingerprint   []FingerprintRow
	Findings      []Finding
	// Plots are the files Write renders, in report order.
	Plots []Plot
}

// Build checks the runs and computes the report. Bad input is an error
// naming the run directory and what is wrong with it, before anything is
// written.
func Build(runs []results.Loaded) (Report, error) {
	cols, err := Columns(runs)
	if err != nil {
		return Report{}, err
	}
	r := Report{Columns: cols}
	for _, d := range dimensions(cols) {
		r.Tables = append(r.Tables, buildTable(cols, d))
	}
	if r.Short, err = curves(cols, "short"); err != nil {
		return Report{}, err
	}
	if r.Keepalive, err = curves(cols, "keepalive"); err != nil {
		return Report{}, err
	}
	r.Crossovers = crossovers(cols, r.Short)
	if r.ScaleMeasures, err = scaleMeasuresOf(cols); err != nil {
		return Report{}, err
	}
	r.Glance = buildGlance(cols, r.Short, r.Crossovers)
	r.Fingerprint = fingerprintRows(cols)
	r.Findings = findings(cols, r.Short, r.Keepalive)
	r.Plots = plots(r)
	return r, nil
}

// rounds describes the fewest samples per point over curves, for a plot's
// warning.
func rounds(cs []Curve) (int, bool) {
	n, bounded := 0, true
	for i, c := range cs {
		if i == 0 || c.minN() < n {
			n = c.minN()
		}
		bounded = bounded && c.Bounded()
	}
	return n, bounded
}

func untrusted(n int) string {
	return fmt.Sprintf("n=%d per point: no 95 %% interval — cannot be trusted", n)
}
