package results

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"kube-netbench/internal/report"
	"kube-netbench/internal/stats"
)

var t0 = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

func rpsRun(t *testing.T, dataplane string, tools ...report.Tool) report.Run {
	t.Helper()
	m, err := report.NewMetric(report.UnitReqPerSec, report.HigherIsBetter, []float64{100, 110, 105}, stats.DefaultConfidence)
	require.NoError(t, err)
	return report.Run{ID: "nb-1", Started: t0, Finished: t0.Add(time.Minute),
		Fingerprint: report.Fingerprint{Dataplane: dataplane, Kernel: "6.18", Tools: tools},
		Results:     []report.Result{{Name: "RPS", Keys: []report.KV{{Key: "dataplane", Value: dataplane}}, Metrics: []report.Metric{m}}}}
}

func TestDirRoundTrip(t *testing.T) {
	root := t.TempDir()
	d, err := Create(root, "nb-1", t0)
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(root, "nb-1", ManifestFile), "the manifest exists from the start, for an interrupted run")

	fortio := report.Tool{Name: "fortio", Image: "fortio/fortio:1.66.5"}
	netperf := report.Tool{Name: "netperf", Image: "tools:r1"}
	view := View{Name: "benchmark-summary.json", Write: func(w io.Writer) error { _, err := io.WriteString(w, "{}\n"); return err }}
	require.NoError(t, d.Put("rps", rpsRun(t, "iptables", fortio), report.StatusPassed, ""))
	require.NoError(t, d.Put("latency", rpsRun(t, "iptables", netperf, fortio), report.StatusFailed, "p99 over bound", view))
	require.NoError(t, d.Record("hubble", report.StatusSkipped, "no Cilium"))
	require.NoError(t, d.Record("rps", report.StatusError, "teardown failed"))
	require.True(t, d.Has("hubble"))
	require.NoError(t, d.Finish(t0.Add(time.Hour)))

	l, err := Read(d.Path)
	require.NoError(t, err)
	m := l.Manifest
	require.Equal(t, "nb-1", m.ID)
	require.Equal(t, t0.Add(time.Hour), m.Finished)
	require.Equal(t, "iptables", m.Fingerprint.Dataplane)
	require.Equal(t, []report.Tool{fortio, netperf}, m.Fingerprint.Tools, "every dimension's tools, once each")
	require.Equal(t, []report.Dimension{
		{Name: "rps", Status: report.StatusError, Message: "teardown failed", Files: []string{"rps.json", "rps.bench.txt"}},
		{Name: "latency", Status: report.StatusFailed, Message: "p99 over bound", Files: []string{"latency.json", "latency.bench.txt", "benchmark-summary.json"}},
		{Name: "hubble", Status: report.StatusSkipped, Message: "no Cilium"},
	}, m.Dimensions)
	require.Len(t, l.Runs, 2)
	require.Equal(t, "latency", l.Runs[1].Dimension.Name)
	require.Equal(t, []float64{100, 110, 105}, l.Runs[1].Run.Results[0].Metrics[0].Samples)
	require.True(t, IsRun(d.Path))
	require.False(t, IsRun(root))
}

func TestCreateRefusesReuseAndBadIDs(t *testing.T) {
	root := t.TempDir()
	_, err := Create(root, "nb-1", t0)
	require.NoError(t, err)
	_, err = Create(root, "nb-1", t0)
	require.ErrorContains(t, err, "already holds a run's manifest")
	for _, id := range []string{"", "..", "a/b", "/abs"} {
		_, err := Create(root, id, t0)
		require.ErrorContains(t, err, "cannot name a directory", "id %q", id)
	}
}

func TestPutRefusesAnInvalidRun(t *testing.T) {
	d, err := Create(t.TempDir(), "nb-1", t0)
	require.NoError(t, err)
	bad := rpsRun(t, "iptables")
	bad.ID = ""
	require.ErrorContains(t, d.Put("rps", bad, report.StatusPassed, ""), "run ID is empty")
	require.Empty(t, d.Manifest().Dimensions, "nothing recorded for a run that was not written")
}

func TestReadNamesMissingAndBrokenFiles(t *testing.T) {
	d, err := Create(t.TempDir(), "nb-1", t0)
	require.NoError(t, err)
	require.NoError(t, d.Put("rps", rpsRun(t, "iptables"), report.StatusPassed, ""))
	require.NoError(t, d.Put("latency", rpsRun(t, "iptables"), report.StatusPassed, ""))
	require.NoError(t, os.Remove(filepath.Join(d.Path, "rps.bench.txt")))
	require.NoError(t, os.WriteFile(filepath.Join(d.Path, "latency.json"), []byte(`{"schema":"other"}`), 0o644))
	_, err = Read(d.Path)
	require.Error(t, err)
	require.Contains(t, err.Error(), "dimension rps")
	require.Contains(t, err.Error(), "rps.bench.txt")
	require.Contains(t, err.Error(), "dimension latency")

	_, err = Read(t.TempDir())
	require.ErrorContains(t, err, "a run's directory holds run.json")
	require.NoError(t, os.WriteFile(filepath.Join(d.Path, ManifestFile), []byte(`{"schema":"kube-netbench/run/v2"}`), 0o644))
	_, err = Read(d.Path)
	require.ErrorContains(t, err, `schema "kube-netbench/run/v2"`)
}
