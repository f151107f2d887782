// Package seedimport turns a results folder written by the seed bash script
// (imroc/tke-guide network-benchmark.sh; its layout in
// /work/shared/design/seed-script-spec.md §11) into a run of this suite: its
// raw iperf3, fortio and netperf files are re-parsed with internal/tools and
// summarized with internal/stats, under the benchmark names the suite's
// dimensions write, so that `netbench compare` lines old and new runs up.
// Every file of the folder is accounted for (imported, rejected,
// unparseable, missing or not imported, each with its reason), and where the
// seed's own benchmark-summary.json exists its numbers are set against ours
// as findings naming the seed's flaws (W-BUG-*, W-STAT-*).
package seedimport

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"kube-netbench/internal/report"
	"kube-netbench/internal/tools/netperf"
)

// dimensions in the order the seed runs them.
var dimensions = []string{report.DimThroughput, report.DimRPS, report.DimLatency, report.DimHubble, report.DimPolicy, report.DimServiceScale}

// seedDirs maps the seed's subdirectories to dimensions.
var seedDirs = map[string]string{"throughput": report.DimThroughput, "rps": report.DimRPS, "latency": report.DimLatency,
	"hubble": report.DimHubble, "networkpolicy": report.DimPolicy, "service-scale": report.DimServiceScale}

// kind is what a file holds and which metrics it gives.
type kind int

const (
	kindIperf   kind = iota // iperf3 -J: bits/s, retransmits, both ends' CPU
	kindRPS                 // fortio at full rate: req/s, p50, p99 (the suite's RPS)
	kindReq                 // fortio at full rate: req/s (Hubble, NetworkPolicy, ServiceScale)
	kindHTTP                // fortio at 1000 QPS: req/s, p50, p90, p99, p99.9
	kindNetperf             // netperf -o with the seed's selectors: trans/s, p50, p90, p99
)

// unit is one metric a kind gives.
type unit struct {
	name, better string
	// pct is the percentile a latency unit reports; 0 for a rate.
	pct float64
}

var units = map[kind][]unit{
	kindIperf: {{report.UnitBitsPerSec, report.HigherIsBetter, 0}, {"retrans", report.LowerIsBetter, 0},
		{"client-cpu-%", report.LowerIsBetter, 0}, {"server-cpu-%", report.LowerIsBetter, 0}},
	kindRPS:     {{report.UnitReqPerSec, report.HigherIsBetter, 0}, {"p50-sec", report.LowerIsBetter, 50}, {"p99-sec", report.LowerIsBetter, 99}},
	kindReq:     {{report.UnitReqPerSec, report.HigherIsBetter, 0}},
	kindHTTP:    {{report.UnitReqPerSec, report.HigherIsBetter, 0}, {"p50-sec", report.LowerIsBetter, 50}, {"p90-sec", report.LowerIsBetter, 90}, {"p99-sec", report.LowerIsBetter, 99}, {"p99.9-sec", report.LowerIsBetter, 99.9}},
	kindNetperf: {{"trans/s", report.HigherIsBetter, 0}, {"p50-sec", report.LowerIsBetter, 50}, {"p90-sec", report.LowerIsBetter, 90}, {"p99-sec", report.LowerIsBetter, 99}},
}

// seedValue is one number of the seed's benchmark-summary.json and how it
// maps onto one of our metrics.
type seedValue struct {
	// path is the JSON path in the summary; a step of service_scale.steps
	// is addressed as "steps[N]" for svc_count N.
	path []string
	// unit is our metric's unit; scale converts the seed's value into it.
	unit  string
	scale float64
	// how says how the seed computed it.
	how string
}

// scenario is one measured configuration of the seed and the result it
// becomes.
type scenario struct {
	dim  string
	base string // path in the folder without "_r{r}" and extension, e.g. "rps/svc_c64"
	ext  string
	// rounds: files are base_r{1..ROUNDS}.ext; else one file base.ext.
	rounds bool
	kind   kind
	name   string
	keys   []report.KV // without dataplane
	// What the seed ran, checked against what the file says.
	streams int          // iperf3 -P
	conns   int          // fortio -c
	short   bool         // fortio keepalive off
	test    netperf.Type // netperf -t
	seed    []seedValue
	// flaws are the seed's flaws that shape this scenario, for the findings.
	flaws []flaw
}

// flaw is a catalogued weakness of the seed and what it means here.
type flaw struct{ id, text string }

func (s scenario) file(round int) string {
	if !s.rounds {
		return s.base + s.ext
	}
	return fmt.Sprintf("%s_r%d%s", s.base, round, s.ext)
}

func kv(pairs ...string) []report.KV {
	var out []report.KV
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, report.KV{Key: pairs[i], Value: pairs[i+1]})
	}
	return out
}

func gbps(key string) []seedValue {
	return []seedValue{{path: []string{"throughput", key, "avg"}, unit: report.UnitBitsPerSec, scale: 1e9, how: "mean of the rounds' Gbps, each rounded to 0.01"}}
}

func avgQPS(key string) []seedValue {
	return []seedValue{{path: []string{"rps", key, "avg_qps"}, unit: report.UnitReqPerSec, scale: 1, how: "int(mean of the rounds' int(ActualQPS)), failed calls included"}}
}

func oneQPS(section, key string) []seedValue {
	return []seedValue{{path: []string{section, key}, unit: report.UnitReqPerSec, scale: 1, how: "int(ActualQPS) of one run, failed calls included"}}
}

var (
	flawNodeLevel = flaw{"W-BUG-2", "the seed's \"node level (hostNetwork)\" runs from the iperf-client pod to the host-network server: pod → host, not host → host; imported as path=pod-to-host, which the suite's path=host (both ends in the host network) does not line up with"}
	flawHubble    = flaw{"W-BUG-1", "the seed's Hubble toggle (`cilium config set hubble-disable …`) is invalid syntax and not a runtime option: on and off ran the same configuration, so their difference is noise"}
	flawPolicy    = flaw{"W-STAT-3", "one run per state, in sequence (none → L3/L4 → L7), with fixed sleeps instead of a realized-policy check (W-SYNC-3)"}
	flawHTTP      = flaw{"W-STAT-1", "one run, whatever ROUNDS says"}
	flawBaseline  = flaw{"W-STAT-3", "the seed's degradation is against the RPS phase's svc_c64 / svc_short_c64 averages, measured much earlier (before any Cilium restart), not against a 0-Service baseline of the same run"}
)

// scenarios returns the seed's fixed scenarios (ServiceScale steps are
// added per step).
func scenarios() []scenario {
	var out []scenario
	for _, t := range []struct {
		base, path string
		streams    int
		seedKey    string
	}{
		{"node_throughput", "pod-to-host", 8, "node_level_8stream"},
		{"pod2pod_single", "pod", 1, "pod2pod_single"},
		{"pod2pod_8stream", "pod", 8, "pod2pod_8stream"},
		{"pod2pod_16stream", "pod", 16, "pod2pod_16stream"},
		{"via_service_8stream", "svc", 8, "via_service_8stream"},
	} {
		s := scenario{dim: report.DimThroughput, base: "throughput/" + t.base, ext: ".json", rounds: true, kind: kindIperf,
			name: "Throughput", keys: kv("path", t.path, "node", "cross", "streams", strconv.Itoa(t.streams)),
			streams: t.streams, seed: gbps(t.seedKey)}
		if t.path == "pod-to-host" {
			s.flaws = []flaw{flawNodeLevel}
		}
		out = append(out, s)
	}
	for _, r := range []struct {
		base, target string
		conns        int
		short        bool
	}{{"pod2pod_c64", "pod", 64, false}, {"svc_c64", "svc", 64, false}, {"svc_c256", "svc", 256, false}, {"svc_short_c64", "svc", 64, true}} {
		conn := "keepalive"
		if r.short {
			conn = "short"
		}
		out = append(out, scenario{dim: report.DimRPS, base: "rps/" + r.base, ext: ".json", rounds: true, kind: kindRPS,
			name: "RPS", keys: kv("target", r.target, "conn", conn, "c", strconv.Itoa(r.conns)),
			conns: r.conns, short: r.short, seed: avgQPS(r.base)})
	}
	us := func(key, unit string) seedValue {
		return seedValue{path: []string{"latency", key}, unit: unit, scale: 1e-6,
			how: "int(mean of the rounds' percentiles) (W-STAT-2: a mean of percentiles is no percentile)"}
	}
	out = append(out,
		scenario{dim: report.DimLatency, base: "latency/tcp_rr", ext: ".txt", rounds: true, kind: kindNetperf, name: "Latency",
			keys: kv("test", "TCP_RR", "target", "pod", "tool", "netperf"), test: netperf.TCPRR,
			seed: []seedValue{us("tcp_rr_p50_us", "p50-sec"), us("tcp_rr_p99_us", "p99-sec")}},
		scenario{dim: report.DimLatency, base: "latency/tcp_crr", ext: ".txt", rounds: true, kind: kindNetperf, name: "Latency",
			keys: kv("test", "TCP_CRR", "target", "pod", "tool", "netperf"), test: netperf.TCPCRR,
			seed: []seedValue{us("tcp_crr_p99_us", "p99-sec")}},
		scenario{dim: report.DimLatency, base: "latency/http_1k_qps", ext: ".json", kind: kindHTTP, name: "Latency",
			keys: kv("test", "HTTP-1000qps", "target", "svc", "tool", "fortio"), conns: 16,
			seed:  []seedValue{{path: []string{"latency", "http_p99_1k_qps_ms"}, unit: "p99-sec", scale: 1e-3, how: "p99 of one run, ×1000, rounded to 0.01 ms"}},
			flaws: []flaw{flawHTTP}},
		scenario{dim: report.DimHubble, base: "hubble/hubble_on", ext: ".json", kind: kindReq, name: "Hubble",
			keys: kv("hubble", "on", "conn", "keepalive", "c", "64"), conns: 64, seed: oneQPS("hubble", "with_hubble_qps"), flaws: []flaw{flawHubble}},
		scenario{dim: report.DimHubble, base: "hubble/hubble_off", ext: ".json", kind: kindReq, name: "Hubble",
			keys: kv("hubble", "off", "conn", "keepalive", "c", "64"), conns: 64, seed: oneQPS("hubble", "without_hubble_qps"), flaws: []flaw{flawHubble}},
		scenario{dim: report.DimPolicy, base: "networkpolicy/no_policy", ext: ".json", kind: kindReq, name: "NetworkPolicy",
			keys: kv("kind", "CiliumNetworkPolicy", "policy", "none", "conn", "keepalive", "c", "64"), conns: 64,
			seed: oneQPS("networkpolicy", "baseline_qps"), flaws: []flaw{flawPolicy}},
		scenario{dim: report.DimPolicy, base: "networkpolicy/l3l4_policy", ext: ".json", kind: kindReq, name: "NetworkPolicy",
			keys: kv("kind", "CiliumNetworkPolicy", "policy", "l3l4", "conn", "keepalive", "c", "64"), conns: 64,
			seed: oneQPS("networkpolicy", "l3l4_qps"), flaws: []flaw{flawPolicy}},
		scenario{dim: report.DimPolicy, base: "networkpolicy/l7_policy", ext: ".json", kind: kindReq, name: "NetworkPolicy",
			keys: kv("kind", "L7", "policy", "l7", "conn", "keepalive", "c", "64"), conns: 64,
			seed: oneQPS("networkpolicy", "l7_qps"), flaws: []flaw{flawPolicy}},
	)
	return out
}

// scaleScenarios are one ServiceScale step's keepalive and short runs.
func scaleScenarios(svc int) []scenario {
	n := strconv.Itoa(svc)
	step := "steps[" + n + "]"
	return []scenario{
		{dim: report.DimServiceScale, base: "service-scale/ka_at_" + n + "svc", ext: ".json", rounds: true, kind: kindReq, name: "ServiceScale",
			keys: kv("svc", n, "conn", "keepalive"), conns: 64, flaws: []flaw{flawBaseline},
			seed: []seedValue{{path: []string{"service_scale", step, "keepalive_qps"}, unit: report.UnitReqPerSec, scale: 1, how: "int(mean of the rounds' int(ActualQPS)), failed calls included"}}},
		{dim: report.DimServiceScale, base: "service-scale/short_at_" + n + "svc", ext: ".json", rounds: true, kind: kindReq, name: "ServiceScale",
			keys: kv("svc", n, "conn", "short"), conns: 64, short: true, flaws: []flaw{flawBaseline},
			seed: []seedValue{{path: []string{"service_scale", step, "short_conn_qps"}, unit: report.UnitReqPerSec, scale: 1, how: "int(mean of the rounds' int(ActualQPS)), failed calls included"}}},
	}
}

// legacyScale matches the older seed's single scale step: keepalive runs
// at 1000 Services, against the RPS phase's svc_c64.
var legacyScale = regexp.MustCompile(`^service-scale/svc_1k_svc_r[0-9]+\.json$`)

func legacyScaleScenario() scenario {
	return scenario{dim: report.DimServiceScale, base: "service-scale/svc_1k_svc", ext: ".json", rounds: true, kind: kindReq, name: "ServiceScale",
		keys: kv("svc", "1000", "conn", "keepalive"), conns: 64, flaws: []flaw{flawBaseline},
		seed: []seedValue{{path: []string{"service_scale", "1k_svc_qps"}, unit: report.UnitReqPerSec, scale: 1, how: "int(mean of the rounds' int(ActualQPS)), failed calls included"}}}
}

// Context is the seed's context.yaml.
type Context struct {
	// Values are its keys and values in file order, quotes removed.
	Keys   []string
	Values map[string]string
}

// contextKeys are the keys the seed writes (spec §2).
var contextKeys = []string{"cluster_name", "cluster_type", "test_date", "k8s_version", "node_count", "node_os", "kernel_version", "node_model"}

// parseContext reads context.yaml the way the seed writes it: one
// "key: value" per line, the value possibly quoted.
func parseContext(b []byte) (Context, error) {
	c := Context{Values: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return c, fmt.Errorf("line %d %q is not \"key: value\"", n, line)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		} else if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
			v = v[1 : len(v)-1]
		}
		if _, dup := c.Values[k]; !dup {
			c.Keys = append(c.Keys, k)
		}
		c.Values[k] = v
	}
	return c, sc.Err()
}

// dataplaneOf maps the seed's cluster_type onto the suite's dataplane name,
// kube-proxy mode and benchmark-name key.
func dataplaneOf(clusterType string) (name, mode, key string, err error) {
	switch clusterType {
	case "kubeproxy-iptables":
		return "kube-proxy-iptables", "iptables", "iptables", nil
	case "kubeproxy-ipvs":
		return "kube-proxy-ipvs", "ipvs", "ipvs", nil
	case "cilium-native", "cilium-overlay":
		return clusterType, "", clusterType, nil
	}
	return "", "", "", fmt.Errorf("cluster_type %q is not one the seed writes (cilium-native, cilium-overlay, kubeproxy-iptables, kubeproxy-ipvs)", clusterType)
}
