package seedview

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"kube-netbench/internal/report"
	"kube-netbench/internal/results"
	"kube-netbench/internal/stats"
)

var t0 = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

// res is a result with one metric; kv are key=value pairs after dataplane.
func res(t *testing.T, name, unit string, samples []float64, kv ...string) report.Result {
	t.Helper()
	better := report.HigherIsBetter
	if strings.HasSuffix(unit, "sec") || unit == "millicores" || unit == report.UnitBytes {
		better = report.LowerIsBetter
	}
	m, err := report.NewMetric(unit, better, samples, stats.DefaultConfidence)
	require.NoError(t, err)
	r := report.Result{Name: name, Keys: []report.KV{{Key: "dataplane", Value: "cilium-native"}}, Metrics: []report.Metric{m}}
	for i := 0; i+1 < len(kv); i += 2 {
		r.Keys = append(r.Keys, report.KV{Key: kv[i], Value: kv[i+1]})
	}
	return r
}

// fill is n copies of x.
func fill(n int, x float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = x
	}
	return out
}

// load writes dims through results.Dir and reads the run back.
func load(t *testing.T, dims map[string][]report.Result, skipped map[string]string) results.Loaded {
	t.Helper()
	d, err := results.Create(t.TempDir(), "nb-test", t0)
	require.NoError(t, err)
	fp := report.Fingerprint{Dataplane: "cilium-native", KubernetesVersion: "v1.37.2", Kernel: "6.18",
		Nodes:  []report.Node{{Name: "n1", Role: "server", InstanceType: "m"}, {Name: "n2", Role: "client", InstanceType: "m"}},
		Config: map[string]string{"SVC_ENDPOINTS": "4", "ROUNDS": "6"}}
	for _, name := range []string{report.DimThroughput, report.DimRPS, report.DimLatency, report.DimHubble, report.DimPolicy, report.DimServiceScale, report.DimResources} {
		if rs, ok := dims[name]; ok {
			run := report.Run{ID: "nb-test", Started: t0, Finished: t0.Add(time.Minute), Fingerprint: fp, Results: rs}
			require.NoError(t, d.Put(name, run, report.StatusPassed, ""))
		}
	}
	for name, msg := range skipped {
		require.NoError(t, d.Record(name, report.StatusSkipped, msg))
	}
	l, err := results.Read(d.Path)
	require.NoError(t, err)
	return l
}

func section(t *testing.T, doc map[string]any, k string) map[string]any {
	t.Helper()
	m, ok := doc[k].(map[string]any)
	require.True(t, ok, "no section %s in %v", k, doc)
	return m
}

// TestSigns: every percentage is (treatment - baseline) / baseline * 100
// of the medians, so fewer req/s with Hubble, a policy or more Services
// is negative, as in the seed's published numbers (-0.3 %, -86.1 %, -29.1 %).
func TestSigns(t *testing.T) {
	const req = report.UnitReqPerSec
	l := load(t, map[string][]report.Result{
		report.DimHubble: {
			res(t, "Hubble", req, []float64{90, 91, 89, 90, 92, 88}, "hubble", "on", "conn", "keepalive", "c", "64"),
			res(t, "Hubble", req, []float64{100, 101, 99, 100, 102, 98}, "hubble", "off", "conn", "keepalive", "c", "64"),
		},
		report.DimPolicy: {
			res(t, "NetworkPolicy", req, fill(6, 200), "kind", kindCNP, "policy", "none", "conn", "keepalive", "c", "64"),
			res(t, "NetworkPolicy", req, fill(6, 150), "kind", kindCNP, "policy", "l3l4", "conn", "keepalive", "c", "64"),
			res(t, "NetworkPolicy", req, fill(6, 220), "kind", kindNP, "policy", "none", "conn", "keepalive", "c", "64"),
			res(t, "NetworkPolicy", req, fill(6, 231), "kind", kindNP, "policy", "l3l4", "conn", "keepalive", "c", "64"),
			res(t, "NetworkPolicy", req, fill(6, 400), "kind", kindL7, "policy", "none", "conn", "keepalive", "c", "64"),
			res(t, "NetworkPolicy", req, fill(6, 100), "kind", kindL7, "policy", "l7", "conn", "keepalive", "c", "64"),
		},
		report.DimServiceScale: {
			res(t, "ServiceScale", req, fill(6, 1000), "svc", "0", "conn", "keepalive"),
			res(t, "ServiceScale", req, fill(6, 300), "svc", "0", "conn", "short"),
			res(t, "ServiceScale", req, fill(6, 1100), "svc", "5000", "conn", "keepalive"),
			res(t, "ServiceScale", req, fill(6, 150), "svc", "5000", "conn", "short"),
			res(t, "ServiceScale", req, fill(6, 900), "svc", "1000", "conn", "keepalive"),
			res(t, "ServiceScale", req, fill(6, 270), "svc", "1000", "conn", "short"),
			res(t, "ServiceScale", req, fill(6, 950), "svc", "0-closing", "conn", "keepalive"),
		},
	}, nil)
	doc, _ := Summary(l)

	h := section(t, doc, "hubble")
	require.Equal(t, 90.0, h["with_hubble_qps"])
	require.Equal(t, 100.0, h["without_hubble_qps"])
	require.InDelta(t, -10.0, h["overhead_pct"], 1e-9, "(on - off) / off * 100")
	require.Len(t, h["overhead_pct_ci95"], 2, "6 rounds a side give an interval")
	require.Len(t, h["with_hubble_qps_ci95"], 2)
	require.Equal(t, 6, h["with_hubble_qps_n"])

	np := section(t, doc, "networkpolicy")
	require.Equal(t, kindCNP, np["l3l4_kind"], "the seed's kind first")
	require.Equal(t, 200.0, np["baseline_qps"])
	require.InDelta(t, -25.0, np["l3l4_overhead_pct"], 1e-9)
	require.Equal(t, 400.0, np["l7_baseline_qps"], "L7 has its own interleaved baseline")
	require.InDelta(t, -75.0, np["l7_overhead_pct"], 1e-9, "against its own baseline")
	kinds := np["by_kind"].(map[string]any)
	require.InDelta(t, 5.0, kinds[kindNP].(map[string]any)["overhead_pct"], 1e-9, "more req/s is positive")

	ss := section(t, doc, "service_scale")
	require.Equal(t, 1000.0, ss["keepalive_baseline_qps"])
	require.Equal(t, 300.0, ss["short_conn_baseline_qps"])
	steps := ss["steps"].([]any)
	require.Len(t, steps, 2)
	s1, s5 := steps[0].(map[string]any), steps[1].(map[string]any)
	require.Equal(t, 1000, s1["svc_count"], "steps ascend")
	require.InDelta(t, -10.0, s1["keepalive_degradation_pct"], 1e-9)
	require.InDelta(t, -10.0, s1["short_conn_degradation_pct"], 1e-9)
	require.Equal(t, 5000, s5["svc_count"])
	require.InDelta(t, 10.0, s5["keepalive_degradation_pct"], 1e-9)
	require.InDelta(t, -50.0, s5["short_conn_degradation_pct"], 1e-9)
	cl := ss["closing_baseline"].(map[string]any)
	require.InDelta(t, -5.0, cl["keepalive_drift_pct"], 1e-9)
	require.NotContains(t, cl, "short_conn_qps", "not measured, not 0")
}

// TestMissing: what the run lacks is left out and noted, never 0.
func TestMissing(t *testing.T) {
	const req = report.UnitReqPerSec
	l := load(t, map[string][]report.Result{
		report.DimRPS: {
			res(t, "RPS", req, []float64{10, 12}, "target", "svc", "conn", "keepalive", "c", "64"),
		},
		report.DimPolicy: {
			res(t, "NetworkPolicy", req, fill(2, 150), "kind", kindNP, "policy", "l3l4", "conn", "keepalive", "c", "64"),
		},
		report.DimServiceScale: {
			res(t, "ServiceScale", req, fill(2, 900), "svc", "1000", "conn", "keepalive"),
		},
		report.DimThroughput: {
			res(t, "Throughput", report.UnitBitsPerSec, []float64{8e9, 9e9}, "path", "pod-to-host", "node", "cross", "streams", "8"),
		},
	}, map[string]string{report.DimHubble: "dataplane iptables runs no Cilium"})
	doc, notes := Summary(l)
	all := strings.Join(notes, "\n")

	rps := section(t, doc, "rps")
	require.Equal(t, []string{"svc_c64"}, keys(rps))
	require.Nil(t, rps["svc_c64"].(map[string]any)["ci95"], "2 rounds: null, not a made-up interval")
	require.Contains(t, all, "rps.pod2pod_c64: left out: dimension rps has no result RPS/target=pod/conn=keepalive/c=64")

	require.NotContains(t, doc, "hubble")
	require.Contains(t, notes, "hubble: left out: dimension hubble skipped without results: dataplane iptables runs no Cilium")
	require.NotContains(t, doc, "latency")
	require.Contains(t, notes, "latency: left out: the run has no latency dimension")

	np := section(t, doc, "networkpolicy")
	require.Equal(t, kindNP, np["l3l4_kind"], "without a CiliumNetworkPolicy, the Kubernetes one")
	require.NotContains(t, np, "baseline_qps")
	require.NotContains(t, np, "l3l4_overhead_pct")
	require.Contains(t, all, "networkpolicy.baseline_qps: left out:")
	require.Contains(t, all, "networkpolicy.l3l4_overhead_pct: left out:")

	ss := section(t, doc, "service_scale")
	require.NotContains(t, ss, "keepalive_baseline_qps", "no 0-Service step, and never the RPS phase's")
	step := ss["steps"].([]any)[0].(map[string]any)
	require.Equal(t, 900.0, step["keepalive_qps"])
	require.NotContains(t, step, "keepalive_degradation_pct")
	require.NotContains(t, step, "short_conn_qps")
	require.Contains(t, all, "service_scale.steps[svc_count=1000].keepalive_degradation_pct: left out: no 0-Service baseline")
	require.Contains(t, all, "service_scale.steps[svc_count=1000].short_conn_qps: left out:")

	th := section(t, doc, "throughput")
	node := th["node_level_8stream"].(map[string]any)
	require.Equal(t, "pod-to-host", node["path"], "a run imported from the seed keeps the seed's pod -> host")
	require.Equal(t, 8.5, node["avg"])
	require.Contains(t, all, "throughput.pod2pod_single: left out:")

	require.Contains(t, notes, "resources: left out: the run has no resources dimension")
	kn := section(t, doc, "kube_netbench")
	require.Equal(t, Schema, kn["schema"])
	require.Equal(t, notes, kn["notes"])
	assertNoZeroFill(t, doc)
}

// assertNoZeroFill fails on any numeric 0 in the view: none of these runs
// measured one, so a 0 would be a missing value written as a number.
func assertNoZeroFill(t *testing.T, doc map[string]any) {
	t.Helper()
	b, err := json.Marshal(doc)
	require.NoError(t, err)
	var generic any
	require.NoError(t, json.Unmarshal(b, &generic))
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				walk(path+"."+k, e)
			}
		case []any:
			for _, e := range x {
				walk(path+"[]", e)
			}
		case float64:
			require.NotZero(t, x, "%s is 0", path)
		}
	}
	walk("", generic)
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestFailedDimension: results of a failed dimension are shown, with its
// status in the notes.
func TestFailedDimension(t *testing.T) {
	d, err := results.Create(t.TempDir(), "nb-f", t0)
	require.NoError(t, err)
	run := report.Run{ID: "nb-f", Started: t0, Fingerprint: report.Fingerprint{Dataplane: "kube-proxy-nftables"},
		Results: []report.Result{res(t, "RPS", report.UnitReqPerSec, fill(6, 5), "target", "pod", "conn", "keepalive", "c", "64")}}
	require.NoError(t, d.Put(report.DimRPS, run, report.StatusFailed, "p99 over bound"))
	l, err := results.Read(d.Path)
	require.NoError(t, err)
	doc, notes := Summary(l)
	require.Contains(t, section(t, doc, "rps"), "pod2pod_c64")
	require.Contains(t, notes, "rps: dimension rps failed: p99 over bound")
	require.Equal(t, "kubeproxy-nftables", section(t, doc, "cluster")["cluster_type"], "the seed's spelling")
	var b bytes.Buffer
	require.NoError(t, Write(&b, l))
	require.True(t, strings.HasSuffix(b.String(), "}\n"))
}
