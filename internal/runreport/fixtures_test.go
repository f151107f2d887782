package runreport

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/perf/benchfmt"

	"kube-netbench/internal/report"
	"kube-netbench/internal/results"
	"kube-netbench/internal/stats"
)

// The run directories under testdata/runs are made by TestMakeRuns, only when
// asked: go test ./internal/runreport -run TestMakeRuns -make-runs=DIR, with
// DIR the results/ of the CI run testdata/runs/README.md names.
var makeRuns = flag.String("make-runs", "", "rewrite testdata/runs from this CI results directory (old flat layout)")

var runsDir = filepath.Join("..", "..", "testdata", "runs")

// ciDataplanes are the CI's per-dataplane result directories and the file
// suffix its flat layout used.
var ciDataplanes = []struct{ dir, suffix string }{
	{"ci-iptables", "kube-proxy-iptables"},
	{"ci-nftables", "kube-proxy-nftables"},
	{"ci-cilium-overlay", "cilium-overlay"},
}

// ciSkipped are the dimensions the CI skipped on kube-proxy, with the skip
// reasons of its junit-e2e-<dataplane>.xml; they wrote no file.
var ciSkipped = map[string]string{
	"hubble": "dataplane %s runs no Cilium: Hubble is Cilium's",
	"policy": "dataplane %s: this cluster does not enforce NetworkPolicy (its CNI ignores it): with NetworkPolicy applied the deny canary still got 200 for 30s",
}

func TestMakeRuns(t *testing.T) {
	if *makeRuns == "" {
		t.Skip("regenerates testdata/runs: pass -make-runs=DIR")
	}
	for _, dp := range ciDataplanes {
		convertCI(t, filepath.Join(*makeRuns, dp.dir), dp.dir, dp.suffix)
	}
	for _, s := range synthetic {
		makeSynthetic(t, s)
	}
}

// convertCI writes one CI dataplane directory as a run directory: each
// dimension's report/v1 JSON as it is, ServiceScale from its bench.txt.
func convertCI(t *testing.T, src, id, suffix string) {
	type dim struct {
		name string
		run  report.Run
	}
	var dims []dim
	for _, name := range []string{"hubble", "latency", "policy", "resources", "rps", "servicescale", "throughput"} {
		if name == "servicescale" {
			dims = append(dims, dim{name, serviceScaleRun(t, src, suffix)})
			continue
		}
		f, err := os.Open(filepath.Join(src, name+"-"+suffix+".json"))
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		run, err := report.ReadJSON(f)
		f.Close()
		require.NoError(t, err)
		dims = append(dims, dim{name, run})
	}
	slices.SortStableFunc(dims, func(a, b dim) int { return a.run.Started.Compare(b.run.Started) })
	dst := filepath.Join(runsDir, id)
	require.NoError(t, os.RemoveAll(dst))
	d, err := results.Create(runsDir, id, dims[0].run.Started)
	require.NoError(t, err)
	for _, name := range []string{"hubble", "policy"} {
		if !slices.ContainsFunc(dims, func(x dim) bool { return x.name == name }) {
			require.NoError(t, d.Record(name, report.StatusSkipped, fmt.Sprintf(ciSkipped[name], suffix)))
		}
	}
	for _, x := range dims {
		require.NoError(t, d.Put(x.name, x.run, report.StatusPassed, ""))
	}
	require.NoError(t, d.Finish(dims[len(dims)-1].run.Finished))
}

// serviceScaleRun reads ServiceScale's bench.txt into a report.Run with
// the rps run's fingerprint (the same lab and configuration: the two files'
// configuration lines are checked equal) and, per result, the client
// node's busy CPU share from the summary.json as Raw.
func serviceScaleRun(t *testing.T, src, suffix string) report.Run {
	bench := filepath.Join(src, "servicescale-"+suffix+".bench.txt")
	require.Equal(t, configLines(t, filepath.Join(src, "rps-"+suffix+".bench.txt")), configLines(t, bench))
	f, err := os.Open(filepath.Join(src, "rps-"+suffix+".json"))
	require.NoError(t, err)
	rps, err := report.ReadJSON(f)
	f.Close()
	require.NoError(t, err)

	b, err := os.ReadFile(filepath.Join(src, "servicescale-"+suffix+".summary.json"))
	require.NoError(t, err)
	var sum struct {
		S struct {
			Steps []struct {
				Svc       int       `json:"svc_count"`
				Closing   bool      `json:"closing_baseline"`
				Keepalive []float64 `json:"client_node_cpu_busy_keepalive"`
				Short     []float64 `json:"client_node_cpu_busy_short"`
			} `json:"steps"`
		} `json:"service_scale"`
	}
	require.NoError(t, json.Unmarshal(b, &sum))
	busy := map[string][]float64{}
	for _, st := range sum.S.Steps {
		svc := fmt.Sprint(st.Svc)
		if st.Closing {
			svc += "-closing"
		}
		busy[svc+"/keepalive"], busy[svc+"/short"] = st.Keepalive, st.Short
	}

	in, err := os.Open(bench)
	require.NoError(t, err)
	defer in.Close()
	var order []string
	samples := map[string][]float64{}
	r := benchfmt.NewReader(in, bench)
	for r.Scan() {
		res, ok := r.Result().(*benchfmt.Result)
		if !ok {
			continue
		}
		name := string(res.Name)
		v, ok := res.Value("req/s")
		require.True(t, ok, name)
		if _, seen := samples[name]; !seen {
			order = append(order, name)
		}
		samples[name] = append(samples[name], v)
	}
	require.NoError(t, r.Err())
	run := report.Run{ID: headerValue(t, bench, "# kube-netbench run "), Fingerprint: rps.Fingerprint}
	run.Started, run.Finished = headerTimes(t, bench)
	for _, name := range order {
		parts := strings.Split(name, "/")
		res := report.Result{Name: parts[0]}
		for _, p := range parts[1:] {
			k, v, ok := strings.Cut(p, "=")
			require.True(t, ok, name)
			res.Keys = append(res.Keys, report.KV{Key: k, Value: v})
		}
		m, err := report.NewMetric(report.UnitReqPerSec, report.HigherIsBetter, samples[name], stats.DefaultConfidence)
		require.NoError(t, err)
		res.Metrics = []report.Metric{m}
		cpu, ok := busy[res.Keys[1].Value+"/"+res.Keys[2].Value]
		require.True(t, ok, name)
		res.Raw, err = json.Marshal(map[string][]float64{"client_node_cpu_busy": cpu})
		require.NoError(t, err)
		run.Results = append(run.Results, res)
	}
	return run
}

// configLines are a benchmark file's configuration lines ("key: value").
func configLines(t *testing.T, path string) []string {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, _, ok := strings.Cut(s.Text(), ": "); ok && !strings.ContainsAny(k, " #") {
			out = append(out, s.Text())
		}
	}
	require.NoError(t, s.Err())
	return out
}

func headerValue(t *testing.T, path, prefix string) string {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, prefix); ok {
			return v
		}
	}
	t.Fatalf("%s: no line %q", path, prefix)
	return ""
}

// headerTimes reads "# started A, finished B".
func headerTimes(t *testing.T, path string) (time.Time, time.Time) {
	a, b, ok := strings.Cut(headerValue(t, path, "# started "), ", finished ")
	require.True(t, ok)
	started, err := time.Parse(time.RFC3339, a)
	require.NoError(t, err)
	finished, err := time.Parse(time.RFC3339, b)
	require.NoError(t, err)
	return started, finished
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
