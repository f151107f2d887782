package report

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
	"golang.org/x/perf/benchproc"

	"kube-netbench/internal/stats"
)

// TestBenchstatCompares does what "benchstat old.txt new.txt" does, with
// its libraries and its default projection (-table .config -row .fullname
// -col .file), on two runs of the same setup: the runs land in one table,
// no cell mixes results that differ in other configuration, every sample
// arrives, and benchmath's comparison agrees with package stats.
func TestBenchstatCompares(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, run Run) string {
		path := filepath.Join(dir, name)
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := WriteBenchfmt(f, run); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		return path
	}
	// Different run IDs and times, as two real runs have.
	oldRun, newRun := olderRun(t), newerRun(t)
	files := &benchfmt.Files{
		Paths:       []string{"old=" + write("old.txt", oldRun), "new=" + write("new.txt", newRun)},
		AllowLabels: true,
	}

	var pp benchproc.ProjectionParser
	tableBy, err := pp.Parse(".config", nil)
	if err != nil {
		t.Fatal(err)
	}
	rowBy, err := pp.Parse(".fullname", nil)
	if err != nil {
		t.Fatal(err)
	}
	colBy, err := pp.Parse(".file", nil)
	if err != nil {
		t.Fatal(err)
	}
	residue := pp.Residue()

	type cell struct {
		row, col, unit string
	}
	samples := map[cell][]float64{}
	residues := map[cell][]benchproc.Key{}
	tables := map[benchproc.Key]bool{}
	for files.Scan() {
		switch rec := files.Result().(type) {
		case *benchfmt.SyntaxError:
			t.Errorf("syntax error: %v", rec)
		case *benchfmt.Result:
			tables[tableBy.Project(rec)] = true
			for _, v := range rec.Values {
				c := cell{rowBy.Project(rec).StringValues(), colBy.Project(rec).StringValues(), v.Unit}
				samples[c] = append(samples[c], v.Value)
				residues[c] = append(residues[c], residue.Project(rec))
			}
		}
	}
	if err := files.Err(); err != nil {
		t.Fatal(err)
	}
	if len(tables) != 1 {
		t.Fatalf("benchstat would print %d tables, want 1: two runs of one setup must be comparable", len(tables))
	}
	for c, keys := range residues {
		if fields := benchproc.NonSingularFields(keys); len(fields) > 0 {
			t.Errorf("%v: benchstat would warn that results vary in %v", c, fields)
		}
	}

	// Every metric of every result arrives with all of its samples.
	for label, run := range map[string]Run{"old": oldRun, "new": newRun} {
		for _, res := range run.Results {
			for _, m := range res.Metrics {
				c := cell{res.BenchmarkName(), label, m.Unit}
				if !slices.Equal(samples[c], m.Samples) {
					t.Errorf("%v: benchstat sees %v, the run has %v", c, samples[c], m.Samples)
				}
			}
		}
	}

	// The short-connection row: benchstat's median and U test against
	// package stats on the same numbers.
	row := "ServiceScale/dataplane=iptables/svc=10000/conn=short"
	oldS := benchmath.NewSample(samples[cell{row, "old", "req/s"}], &benchmath.DefaultThresholds)
	newS := benchmath.NewSample(samples[cell{row, "new", "req/s"}], &benchmath.DefaultThresholds)
	units := benchfmt.UnitMetadataMap(files.Units())
	if units.GetBetter("req/s") != +1 {
		t.Errorf("req/s: better = %d, want +1 (higher)", units.GetBetter("req/s"))
	}
	assume := units.GetAssumption("req/s")
	cmp := assume.Compare(oldS, newS)
	oldSum, newSum := assume.Summary(oldS, 0.95), assume.Summary(newS, 0.95)

	change, err := stats.Change(shortOld, shortNew, stats.DefaultConfidence)
	if err != nil {
		t.Fatal(err)
	}
	if cmp.P != change.P || cmp.P >= 0.05 {
		t.Errorf("benchstat p = %v, stats p = %v; want equal and significant", cmp.P, change.P)
	}
	if oldSum.Center != change.Baseline.Center || newSum.Center != change.Treatment.Center {
		t.Errorf("benchstat medians %v -> %v, stats %v -> %v",
			oldSum.Center, newSum.Center, change.Baseline.Center, change.Treatment.Center)
	}
	// benchstat prints the delta as (new/old - 1) * 100: the same number
	// as package stats' center.
	if delta := (newSum.Center/oldSum.Center - 1) * 100; math.Abs(delta-change.Center) > 1e-9 {
		t.Errorf("benchstat delta %.4f %%, stats %.4f %%", delta, change.Center)
	}
	t.Logf("%s: %s -> %s, %s (%s)", row, fmtSummary(oldSum), fmtSummary(newSum), cmp.FormatDelta(oldSum.Center, newSum.Center), cmp)
}

func fmtSummary(s benchmath.Summary) string {
	return fmt.Sprintf("%.0f ± %s", s.Center, s.PctRangeString())
}
