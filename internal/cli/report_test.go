package cli

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"kube-netbench/internal/report"
	"kube-netbench/internal/results"
	"kube-netbench/internal/stats"
)

var runs = filepath.Join(testdata, "runs")

// TestReport renders the CI runs: report.md is internal/runreport's golden
// for them, and every plot it names is written.
func TestReport(t *testing.T) {
	out := filepath.Join(t.TempDir(), "new")
	code, stdout, stderr := run("", "report", "-o", out,
		filepath.Join(runs, "ci-cilium-overlay"), filepath.Join(runs, "ci-iptables"), filepath.Join(runs, "ci-nftables"))
	require.Empty(t, stderr)
	require.Equal(t, 0, code, stdout)
	require.Contains(t, stdout, "too few rounds: iptables: 75 of 75 metrics have fewer than 6 samples")
	require.Contains(t, stdout, "wrote "+filepath.Join(out, "report.md")+"\n")
	got, err := os.ReadFile(filepath.Join(out, "report.md"))
	require.NoError(t, err)
	want, err := os.ReadFile(filepath.Join(testdata, "runreport", "ci.md"))
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "what internal/runreport renders (its golden)")
	for _, name := range []string{"servicescale-short.png", "servicescale-short-relative.png", "servicescale-keepalive.png", "servicescale-keepalive-relative.png", "bars-rps.png"} {
		require.FileExists(t, filepath.Join(out, name))
	}
}

func TestReportBadInput(t *testing.T) {
	mixed := t.TempDir()
	started := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	d, err := results.Create(mixed, "mixed", started)
	require.NoError(t, err)
	m, err := report.NewMetric(report.UnitReqPerSec, report.HigherIsBetter, []float64{1, 2}, stats.DefaultConfidence)
	require.NoError(t, err)
	res := func(dp string) report.Result {
		return report.Result{Name: "RPS", Keys: []report.KV{{Key: "dataplane", Value: dp}, {Key: "c", Value: dp}}, Metrics: []report.Metric{m}}
	}
	require.NoError(t, d.Put("rps", report.Run{ID: "x", Started: started, Results: []report.Result{res("iptables"), res("cilium-overlay")}}, report.StatusPassed, ""))

	ok := filepath.Join(runs, "ci-iptables")
	for name, tc := range map[string]struct {
		args []string
		err  string
	}{
		"no run":         {nil, "netbench report: want at least one RUN_DIR (flags first)"},
		"bad flag":       {[]string{"--color", ok}, "netbench report: flag provided but not defined: -color"},
		"missing dir":    {[]string{ok, filepath.Join(runs, "nope")}, "netbench report: RUN_DIR " + filepath.Join(runs, "nope") + ": results: open " + filepath.Join(runs, "nope", "run.json") + ": no such file or directory (a run's directory holds run.json); give a run's directory, <results>/<run ID>/ with its run.json"},
		"not a run dir":  {[]string{runs}, "netbench report: RUN_DIR " + runs + ": results: open "},
		"same run twice": {[]string{ok, ok}, "are the same run (ID nb-20261206-100311-7fc1ac)"},
		"mixed run":      {[]string{filepath.Join(mixed, "mixed")}, "result RPS/dataplane=cilium-overlay/c=cilium-overlay is of dataplane cilium-overlay, the run's others of iptables: give one run per dataplane"},
	} {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			code, stdout, stderr := run("", append([]string{"report", "-o", out}, tc.args...)...)
			require.Equal(t, 2, code)
			require.Empty(t, stdout)
			require.Contains(t, stderr, tc.err)
			require.NoDirExists(t, out, "bad input writes nothing")
		})
	}
}
