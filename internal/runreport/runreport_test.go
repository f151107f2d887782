package runreport

import (
	"bytes"
	"encoding/json"
	"flag"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	goldenfile "kube-netbench/internal/golden"
	"kube-netbench/internal/report"
	"kube-netbench/internal/results"
	"kube-netbench/internal/stats"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/runreport")

var goldenDir = filepath.Join("..", "..", "testdata", "runreport")

// load reads run directories of testdata/runs by name.
func load(t *testing.T, names ...string) []results.Loaded {
	t.Helper()
	var out []results.Loaded
	for _, n := range names {
		l, err := results.Read(filepath.Join(runsDir, n))
		require.NoError(t, err)
		out = append(out, l)
	}
	return out
}

var (
	ciRuns        = []string{"ci-iptables", "ci-nftables", "ci-cilium-overlay"}
	syntheticRuns = []string{"synthetic-iptables", "synthetic-cilium-overlay", "synthetic-cilium-native"}
)

func markdown(t *testing.T, r Report) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, WriteMarkdown(&b, r))
	return b.Bytes()
}

// TestGolden renders the real CI runs and the synthetic ones; the order
// of the arguments does not change the report.
func TestGolden(t *testing.T) {
	for name, runs := range map[string][]string{"ci": ciRuns, "synthetic": syntheticRuns} {
		t.Run(name, func(t *testing.T) {
			r, err := Build(load(t, runs...))
			require.NoError(t, err)
			md := markdown(t, r)
			goldenfile.Check(t, filepath.Join(goldenDir, name+".md"), md, *update)

			rev := slices.Clone(runs)
			slices.Reverse(rev)
			r2, err := Build(load(t, rev...))
			require.NoError(t, err)
			require.Equal(t, string(md), string(markdown(t, r2)), "the order of RUN_DIRs does not matter")
		})
	}
}

// TestCI checks what the real 2-round runs must show: no interval
// anywhere it is due, no winner, no crossover, the skipped dimensions with
// their reasons and the study's missing rows.
func TestCI(t *testing.T) {
	r, err := Build(load(t, ciRuns...))
	require.NoError(t, err)
	require.Equal(t, []string{"iptables", "nftables", "cilium-overlay"}, labels(r.Columns))
	md := string(markdown(t, r))
	require.Contains(t, md, "| target=svc conn=short c=64 | `req/s` | 3138 req/s, no interval (n=2) | 2968 req/s, no interval (n=2) | 1530 req/s, no interval (n=2) |")
	require.Contains(t, md, "- iptables: skipped: dataplane kube-proxy-iptables: this cluster does not enforce NetworkPolicy")
	require.Contains(t, md, "- Short-connection RPS @20,000 Services: no run has a ServiceScale step there (measured: 1000)")
	require.Contains(t, md, "iptables vs cilium-overlay: no crossover in the measured range (0–1,000 Services): iptables is above cilium-overlay at every common step")
	for _, row := range r.Glance.Rows {
		require.NotEqual(t, "iptables", row.Winner, "%s: no winner without intervals", row.Label)
	}
	require.Equal(t, 3, count(r.Findings, FindingRounds))
	require.Equal(t, 2, count(r.Findings, FindingDrift), "two connection kinds; CI runs the drift check on its first dataplane")
	require.Contains(t, texts(r.Findings, FindingDrift)[0], "cannot be judged: no interval")
	require.Equal(t, 3, count(r.Findings, FindingSaturation), "iperf3 at its 600m CPU limit in every run")
	require.Contains(t, texts(r.Findings, FindingSaturation)[0], "path=host node=cross streams=8 (median 59.5 %)")
	require.Zero(t, count(r.Findings, FindingBPF), "1,000 Services are far from 65,536 entries")
	require.Empty(t, r.ScaleMeasures, "runs from before the measures without saturation have none")
	require.NotContains(t, md, "Without saturating the machine")
	for _, p := range r.Plots {
		require.Equal(t, "n=2 per point: no 95 % interval — cannot be trusted", p.Note, p.File)
	}
}

// TestSynthetic: the curves with intervals, the crossover with its band
// interval, and every finding kind.
func TestSynthetic(t *testing.T) {
	r, err := Build(load(t, syntheticRuns...))
	require.NoError(t, err)
	require.Equal(t, []string{"iptables", "cilium-native", "cilium-overlay"}, labels(r.Columns))
	require.Len(t, r.Crossovers, 3)
	x := r.Crossovers[0]
	require.Equal(t, [2]string{"iptables", "cilium-native"}, [2]string{x.Above, x.Below})
	require.True(t, x.Found && x.Bounded)
	require.True(t, x.Lo < x.At && x.At < x.Hi && x.Lo > 5000 && x.Hi < 10000, "%+v", x)
	require.False(t, r.Crossovers[2].Found, "native stays above overlay")

	winners := map[string]string{}
	for _, row := range r.Glance.Rows {
		winners[row.Label] = row.Winner
	}
	require.Equal(t, "iptables", winners["Short-connection RPS @1,000 Services (change against the run's 0)"])
	require.Equal(t, "cilium-native", winners["Short-connection RPS @10,000 Services (change against the run's 0)"])

	drift := texts(r.Findings, FindingDrift)
	require.Contains(t, drift[0], "iptables ServiceScale short")
	require.Contains(t, drift[0], "excludes 0: the run drifted")
	require.Contains(t, strings.Join(drift, "\n"), "cilium-overlay ServiceScale short: the 0-Service baseline measured again after deleting the Services, against the first: +1.4 % [-3.4, +4.2] (n=6/6); the change's 95 % interval includes 0: no drift detected")
	require.Equal(t, []string{"iptables servicescale: the client's node was at least 90 % busy in svc=0 conn=short (6 of 6 rounds): the load generator may be the bottleneck, not the dataplane (W-STAT-6)"},
		texts(r.Findings, FindingSaturation))
	require.Equal(t, 2, count(r.Findings, FindingBPF))
	require.Contains(t, texts(r.Findings, FindingBPF)[0], "≈ 60,000 entries (6 per Service, as observed; W-BUG-7) of cilium-config-bpf-lb-map-max=65,536: 92 %: close to full")
	require.Zero(t, count(r.Findings, FindingRounds))
	for _, p := range r.Plots {
		require.Empty(t, p.Note, "%s: 6 rounds have intervals", p.File)
	}

	// Issue 14: per run and step, the saturating req/s's half-widths beside
	// those of the measures that need no saturated machine.
	require.Len(t, r.ScaleMeasures, 3)
	ipt := r.ScaleMeasures[0]
	require.Equal(t, "iptables", r.Columns[ipt.Column].Label)
	require.Equal(t, []string{"short req/s (saturating)", "keepalive req/s (saturating)", "fixed-rate short p50", "fixed-rate short p90",
		"fixed-rate short p99", "TCP_CRR trans/s", "TCP_CRR p50", "TCP_CRR p90", "TCP_CRR p99", "kernel CPU / conn, short", "kernel CPU / conn, TCP_CRR"}, ipt.Labels)
	var steps []string
	for _, row := range ipt.Rows {
		steps = append(steps, row.Step)
	}
	require.Equal(t, []string{"0", "1,000", "5,000", "10,000", "0 (closing)"}, steps)
	base, top := ipt.Rows[0], ipt.Rows[3]
	require.Nil(t, base.Cells[2].Change, "the baseline has no change")
	p50 := top.Cells[2]
	require.InDelta(t, 90, p50.Change.Center, 5, "made up: 1.9 times the baseline's cost")
	for i, c := range top.Cells {
		_, ok := c.Summary.HalfWidthPct()
		require.True(t, ok, "%s: 6 rounds give every measure a half-width", ipt.Labels[i])
	}
	md := string(markdown(t, r))
	require.Contains(t, md, "### Without saturating the machine")
	require.Contains(t, md, "| Services | short req/s (saturating) | keepalive req/s (saturating) | fixed-rate short p50 |")
	require.Contains(t, md, "µs/conn ±")
}

// TestWrite writes the report and plots; each plot is a PNG of a real
// size. Bytes are not compared: font rendering may change with the library.
func TestWrite(t *testing.T) {
	r, err := Build(load(t, append(slices.Clone(ciRuns), "synthetic-cilium-native")...))
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "out")
	paths, err := Write(dir, r)
	require.NoError(t, err)
	var names []string
	for _, p := range paths {
		names = append(names, filepath.Base(p))
	}
	require.Equal(t, []string{"report.md", "servicescale-short.png", "servicescale-short-relative.png", "servicescale-keepalive.png",
		"servicescale-keepalive-relative.png", "bars-throughput.png", "bars-rps.png", "bars-latency.png", "bars-policy.png",
		"bars-hubble.png", "bars-resources.png"}, names)
	md, err := os.ReadFile(paths[0])
	require.NoError(t, err)
	for _, p := range paths[1:] {
		require.Contains(t, string(md), "]("+filepath.Base(p)+")", "report.md shows every plot")
		f, err := os.Open(p)
		require.NoError(t, err)
		img, err := png.Decode(f)
		f.Close()
		require.NoError(t, err, p)
		require.Greater(t, img.Bounds().Dx(), 500, p)
		fi, err := os.Stat(p)
		require.NoError(t, err)
		require.Greater(t, fi.Size(), int64(20000), "%s: a plot with content, not a blank image", p)
	}
}

func TestBadInput(t *testing.T) {
	_, err := Build(nil)
	require.EqualError(t, err, "no run given")

	_, err = Build(load(t, "ci-iptables", "ci-iptables"))
	require.ErrorContains(t, err, "are the same run (ID nb-20261206-100311-7fc1ac)")

	mixed := load(t, "ci-nftables")
	mixed[0].Runs[0].Run.Results[0].Keys[0].Value = "iptables"
	_, err = Build(mixed)
	require.ErrorContains(t, err, "is of dataplane nftables, the run's others of iptables: give one run per dataplane")

	noKey := load(t, "ci-nftables")
	noKey[0].Runs[0].Run.Results[0].Keys = noKey[0].Runs[0].Run.Results[0].Keys[1:]
	_, err = Build(noKey)
	require.ErrorContains(t, err, "does not start with the dataplane key")

	badSvc := load(t, "synthetic-cilium-native")
	setKey(badSvc[0].Runs[0].Run.Results, "svc", "0", "lots")
	_, err = Build(badSvc)
	require.ErrorContains(t, err, `svc="lots" is not a Service count (want N or N-closing)`)

	noBase := load(t, "synthetic-cilium-native")
	res := noBase[0].Runs[0].Run.Results
	noBase[0].Runs[0].Run.Results = slices.DeleteFunc(res, func(r report.Result) bool { return key(r, "svc") == "0" })
	_, err = Build(noBase)
	require.ErrorContains(t, err, "has no svc=0 baseline")
}

func setKey(rs []report.Result, k, from, to string) {
	for i := range rs {
		for j := range rs[i].Keys {
			if rs[i].Keys[j].Key == k && rs[i].Keys[j].Value == from {
				rs[i].Keys[j].Value = to
			}
		}
	}
}

func labels(cols []Column) []string {
	var out []string
	for _, c := range cols {
		out = append(out, c.Label)
	}
	return out
}

func count(fs []Finding, kind string) int { return len(texts(fs, kind)) }

func texts(fs []Finding, kind string) []string {
	var out []string
	for _, f := range fs {
		if f.Kind == kind {
			out = append(out, f.Text)
		}
	}
	return out
}

// TestBPFFinding: the service map's estimated fill against
// bpf-lb-map-max, overflowing, close to full or not recorded.
func TestBPFFinding(t *testing.T) {
	for max, want := range map[string]string{
		"32768":  "≈ 60,000 entries (6 per Service, as observed; W-BUG-7) of cilium-config-bpf-lb-map-max=32,768: 183 %: it overflows",
		"65536":  "of cilium-config-bpf-lb-map-max=65,536: 92 %: close to full",
		"262144": "",
		"":       "cilium-native: cilium-config-bpf-lb-map-max is not recorded: whether 10,000 Services fit Cilium's service map cannot be told",
	} {
		runs := load(t, "synthetic-cilium-native")
		extra := runs[0].Manifest.Fingerprint.Extra
		if max == "" {
			delete(extra, lbMapKey)
		} else {
			extra[lbMapKey] = max
		}
		r, err := Build(runs)
		require.NoError(t, err)
		got := strings.Join(texts(r.Findings, FindingBPF), "\n")
		if want == "" {
			require.Empty(t, got, max)
			continue
		}
		require.Contains(t, got, want)
	}
}

// TestBrokenFinding: a round that broke is named first among the
// findings, with its reason; the CI runs have none.
func TestBrokenFinding(t *testing.T) {
	runs := load(t, "synthetic-iptables")
	res := &runs[0].Runs[0].Run.Results[0]
	res.Failures = []report.Failure{{Round: 2, Reason: "fortio: 310 of 2000 calls failed: the server pod was deleted"}}
	r, err := Build(runs)
	require.NoError(t, err)
	require.Equal(t, FindingBroken, r.Findings[0].Kind)
	require.Contains(t, r.Findings[0].Text, "iptables: "+res.BenchmarkName()+": 1 of its rounds gave no sample (round 2: fortio: 310 of 2000 calls failed")

	ci, err := Build(load(t, ciRuns...))
	require.NoError(t, err)
	require.Zero(t, count(ci.Findings, FindingBroken))
}

// TestGlanceMissing: a row no run has says why, with each run's status.
func TestGlanceMissing(t *testing.T) {
	r, err := Build(load(t, "ci-iptables", "ci-nftables"))
	require.NoError(t, err)
	// Hubble was not started on kube-proxy (label dataplane=cilium): no entry, no status.
	require.Contains(t, r.Glance.Missing, "Hubble on: req/s change: no run measured it")
	require.Contains(t, r.Glance.Missing, "L3/L4 NetworkPolicy: req/s change: iptables: skipped: dataplane kube-proxy-iptables: "+
		"this cluster does not enforce NetworkPolicy (its CNI ignores it): with NetworkPolicy applied the deny canary still got 200 for 30s")
	require.Contains(t, r.Glance.Missing, "L7 NetworkPolicy: req/s change: the suite has no L7 policy scenario (the lab runs Cilium without Envoy, enable-l7-proxy=false)")
}

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
	// cost scales, per step, what a new connection costs: the fixed-rate
	// and TCP_CRR latencies and kernel CPU per connection grow with it,
	// TCP_CRR's rate falls with it.
	cost  map[string]float64
	busy  float64
	extra map[string]string
}

var syntheticSteps = []string{"0", "1000", "5000", "10000", "0-closing"}

// synthetic: iptables degrades with the Service count, Cilium does not; the
// iptables run drifts (its closing baseline is higher) and its client is
// saturated at the baseline; both Cilium runs come near bpf-lb-map-max.
var synthetic = []syntheticRun{
	{id: "synthetic-iptables", dataplane: "iptables", fpDataplane: "kube-proxy-iptables", kubeProxyMode: "iptables",
		short: map[string]float64{"0": 3000, "1000": 2850, "5000": 2100, "10000": 1350, "0-closing": 3500}, busy: 0.95,
		cost: map[string]float64{"0": 1, "1000": 1.05, "5000": 1.4, "10000": 1.9, "0-closing": 1.02}},
	{id: "synthetic-cilium-overlay", dataplane: "cilium-overlay", fpDataplane: "cilium-overlay",
		short: map[string]float64{"0": 1600, "1000": 1590, "5000": 1570, "10000": 1540, "0-closing": 1600}, busy: 0.5,
		cost:  map[string]float64{"0": 1.2, "1000": 1.2, "5000": 1.21, "10000": 1.22, "0-closing": 1.2},
		extra: map[string]string{"cilium-config-bpf-lb-map-max": "65536"}},
	{id: "synthetic-cilium-native", dataplane: "cilium-native", fpDataplane: "cilium-native",
		short: map[string]float64{"0": 1750, "1000": 1740, "5000": 1700, "10000": 1650, "0-closing": 1760}, busy: 0.5,
		cost:  map[string]float64{"0": 1.1, "1000": 1.1, "5000": 1.1, "10000": 1.11, "0-closing": 1.1},
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
	// The measures without saturation, from their own generator so that
	// the req/s above stay as they were: ±2 % noise around cost × a level.
	rng = rand.New(rand.NewPCG(2, uint64(len(s.id))))
	noisy := func(center float64) []float64 {
		xs := make([]float64, 6)
		for i := range xs {
			xs[i] = center * (1 + 0.02*(2*rng.Float64()-1))
		}
		return xs
	}
	metric := func(unit, better string, xs []float64) report.Metric {
		m, err := report.NewMetric(unit, better, xs, stats.DefaultConfidence)
		require.NoError(t, err)
		return m
	}
	for _, svc := range syntheticSteps {
		c := s.cost[svc]
		keys := func(conn string, more ...report.KV) []report.KV {
			return append([]report.KV{{Key: "dataplane", Value: s.dataplane}, {Key: "svc", Value: svc}, {Key: "conn", Value: conn}}, more...)
		}
		lower, higher := report.LowerIsBetter, report.HigherIsBetter
		for i := range run.Results {
			if r := &run.Results[i]; key(*r, "svc") == svc && key(*r, "conn") == "short" {
				r.Metrics = append(r.Metrics, metric("kernel-sec/conn", lower, noisy(40e-6*c)))
			}
		}
		run.Results = append(run.Results,
			report.Result{Name: "ServiceScale", Keys: keys("short-fixed", report.KV{Key: "qps", Value: "80"}), Metrics: []report.Metric{
				metric("p50-sec", lower, noisy(180e-6*c)), metric("p90-sec", lower, noisy(260e-6*c)), metric("p99-sec", lower, noisy(520e-6*c))}},
			report.Result{Name: "ServiceScale", Keys: keys("crr"), Metrics: []report.Metric{
				metric("trans/s", higher, noisy(3000/c)), metric("p50-sec", lower, noisy(300e-6*c)), metric("p90-sec", lower, noisy(420e-6*c)),
				metric("p99-sec", lower, noisy(900e-6*c)), metric("kernel-sec/conn", lower, noisy(60e-6*c))}})
	}
	require.NoError(t, os.RemoveAll(filepath.Join(runsDir, s.id)))
	d, err := results.Create(runsDir, s.id, start)
	require.NoError(t, err)
	require.NoError(t, d.Put("servicescale", run, report.StatusPassed, ""))
	require.NoError(t, d.Finish(run.Finished))
}
