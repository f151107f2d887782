package runreport

import (
	"encoding/json"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"kube-netbench/internal/report"
	"kube-netbench/internal/results"
	"kube-netbench/internal/stats"
)

// The synthetic run directories under testdata/runs are made by
// TestMakeRuns, only when asked: go test ./internal/runreport -run
// TestMakeRuns -make-runs. The ci-* ones are real: copied as the suite wrote
// them (testdata/runs/README.md).
var makeRuns = flag.Bool("make-runs", false, "rewrite testdata/runs/synthetic-*")

var runsDir = filepath.Join("..", "..", "testdata", "runs")

func TestMakeRuns(t *testing.T) {
	if !*makeRuns {
		t.Skip("regenerates testdata/runs/synthetic-*: pass -make-runs")
	}
	for _, s := range synthetic {
		makeSynthetic(t, s)
	}
}

// syntheticRun describes a made-up ServiceScale run: short-connection
// req/s at each step (keepalive stays near 14,000), a closing baseline and
// the client's busy CPU share at the baseline.
type syntheticRun struct {
	id, dataplane, fpDataplane, kubeProxyMode string
	short                                     map[string]float64
	busy                                      float64
	extra                                     map[string]string
}

var syntheticSteps = []string{"0", "1000", "5000", "10000", "0-closing"}

// synthetic: iptables degrades with the Service count, Cilium does not; the
// iptables run drifts (its closing baseline is higher) and its client is
// saturated at the baseline; both Cilium runs come near bpf-lb-map-max.
var synthetic = []syntheticRun{
	{id: "synthetic-iptables", dataplane: "iptables", fpDataplane: "kube-proxy-iptables", kubeProxyMode: "iptables",
		short: map[string]float64{"0": 3000, "1000": 2850, "5000": 2100, "10000": 1350, "0-closing": 3500}, busy: 0.95},
	{id: "synthetic-cilium-overlay", dataplane: "cilium-overlay", fpDataplane: "cilium-overlay",
		short: map[string]float64{"0": 1600, "1000": 1590, "5000": 1570, "10000": 1540, "0-closing": 1600}, busy: 0.5,
		extra: map[string]string{"cilium-config-bpf-lb-map-max": "65536"}},
	{id: "synthetic-cilium-native", dataplane: "cilium-native", fpDataplane: "cilium-native",
		short: map[string]float64{"0": 1750, "1000": 1740, "5000": 1700, "10000": 1650, "0-closing": 1760}, busy: 0.5,
		extra: map[string]string{"cilium-config-bpf-lb-map-max": "65536"}},
}

// makeSynthetic writes a 6-round ServiceScale run with ±3 % noise from a
// fixed seed, so that the curves, bands and crossovers have intervals.
func makeSynthetic(t *testing.T, s syntheticRun) {
	rng := rand.New(rand.NewPCG(1, uint64(len(s.id))))
	start := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	extra := map[string]string{"synthetic": "made up by internal/runreport TestMakeRuns: not a measurement"}
	for k, v := range s.extra {
		extra[k] = v
	}
	run := report.Run{ID: s.id, Started: start, Finished: start.Add(time.Hour), Fingerprint: report.Fingerprint{
		Dataplane: s.fpDataplane, DataplaneVersion: "synthetic", KubeProxyMode: s.kubeProxyMode, KubernetesVersion: "v1.37.2",
		Kernel: "synthetic", Nodes: []report.Node{{Name: "node-1", Role: "server"}, {Name: "node-2", Role: "client"}},
		Config: map[string]string{"ROUNDS": "6", "SVC_SCALE_STEPS": "1000,5000,10000", "SVC_ENDPOINTS": "4", "WORKLOAD_CPU": "600m"},
		Extra:  extra}}
	for _, svc := range syntheticSteps {
		for _, conn := range []string{"keepalive", "short"} {
			center := 14000.0
			if conn == "short" {
				center = s.short[svc]
			}
			xs := make([]float64, 6)
			busy := make([]float64, 6)
			for i := range xs {
				xs[i] = math.Round(center * (1 + 0.03*(2*rng.Float64()-1)))
				busy[i] = 0.5
				if svc == "0" && conn == "short" {
					busy[i] = s.busy
				}
			}
			m, err := report.NewMetric(report.UnitReqPerSec, report.HigherIsBetter, xs, stats.DefaultConfidence)
			require.NoError(t, err)
			raw, err := json.Marshal(map[string][]float64{"client_node_cpu_busy": busy})
			require.NoError(t, err)
			run.Results = append(run.Results, report.Result{Name: "ServiceScale",
				Keys:    []report.KV{{Key: "dataplane", Value: s.dataplane}, {Key: "svc", Value: svc}, {Key: "conn", Value: conn}},
				Metrics: []report.Metric{m}, Raw: raw})
		}
	}
	require.NoError(t, os.RemoveAll(filepath.Join(runsDir, s.id)))
	d, err := results.Create(runsDir, s.id, start)
	require.NoError(t, err)
	require.NoError(t, d.Put("servicescale", run, report.StatusPassed, ""))
	require.NoError(t, d.Finish(run.Finished))
}
