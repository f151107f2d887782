package seedview

import (
	"kube-netbench/internal/report"
)

// throughputKeys map the seed's iperf3 scenarios (spec §4) onto ours, and
// add ours that the seed did not run.
var throughputKeys = []struct {
	seed     string
	kv       []string
	fromSeed bool // a key of the seed's summary, noted when left out
}{
	{"node_level_8stream", []string{"path", "host", "node", "cross", "streams", "8"}, true},
	{"pod2pod_single", []string{"path", "pod", "node", "cross", "streams", "1"}, true},
	{"pod2pod_8stream", []string{"path", "pod", "node", "cross", "streams", "8"}, true},
	{"pod2pod_16stream", []string{"path", "pod", "node", "cross", "streams", "16"}, true},
	{"via_service_8stream", []string{"path", "svc", "node", "cross", "streams", "8"}, true},
	{"via_service_single", []string{"path", "svc", "node", "cross", "streams", "1"}, false},
	{"pod2pod_single_same_node", []string{"path", "pod", "node", "same", "streams", "1"}, false},
}

// throughput: {"gbps": [per round], "avg": median Gbps, "ci95", "n"}.
func (v *view) throughput() map[string]any {
	out := map[string]any{}
	for _, t := range throughputKeys {
		w := want{report.DimThroughput, "Throughput", t.kv}
		met, why := v.metric(w, report.UnitBitsPerSec)
		path := ""
		if t.seed == "node_level_8stream" {
			// The seed's "node level" ran pod -> host (W-BUG-2); ours runs
			// host -> host. A run imported from the seed has pod-to-host.
			path = "host-to-host"
			if why != "" {
				w.kv = []string{"path", "pod-to-host", "node", "cross", "streams", "8"}
				if m, why2 := v.metric(w, report.UnitBitsPerSec); why2 == "" {
					met, why, path = m, "", "pod-to-host"
				}
			}
		}
		if why != "" {
			if t.fromSeed {
				v.leftOut("throughput."+t.seed, why)
			}
			continue
		}
		s := fromMetric(met, 1e-9)
		e := map[string]any{"gbps": s.samples, "avg": s.center, "ci95": ci(s.bounded, s.lo, s.hi), "n": s.n}
		if path != "" {
			e["path"] = path
			if path == "host-to-host" {
				v.note("throughput.node_level_8stream: both ends in the host network (host -> host); the seed's ran from a pod to the host (W-BUG-2)")
			}
		}
		out[t.seed] = e
	}
	return out
}

// rpsKeys map the seed's fortio scenarios (spec §5) onto ours.
var rpsKeys = []struct {
	seed string
	kv   []string
}{
	{"pod2pod_c64", []string{"target", "pod", "conn", "keepalive", "c", "64"}},
	{"svc_c64", []string{"target", "svc", "conn", "keepalive", "c", "64"}},
	{"svc_c256", []string{"target", "svc", "conn", "keepalive", "c", "256"}},
	{"svc_short_c64", []string{"target", "svc", "conn", "short", "c", "64"}},
}

// rps: {"qps": [per round], "avg_qps": median req/s, "ci95", "n"}.
func (v *view) rps() map[string]any {
	out := map[string]any{}
	for _, r := range rpsKeys {
		met, why := v.metric(want{report.DimRPS, "RPS", r.kv}, report.UnitReqPerSec)
		if why != "" {
			v.leftOut("rps."+r.seed, why)
			continue
		}
		s := fromMetric(met, 1)
		out[r.seed] = map[string]any{"qps": s.samples, "avg_qps": s.center, "ci95": ci(s.bounded, s.lo, s.hi), "n": s.n}
	}
	return out
}

// latency: per-round percentiles summarized by their median across rounds
// (the seed averaged them, W-STAT-2), in the seed's µs and ms.
func (v *view) latency() map[string]any {
	out := map[string]any{}
	for _, l := range []struct {
		seed, test, target, unit string
		scale                    float64
	}{
		{"tcp_rr_p50_us", "TCP_RR", "pod", "p50-sec", 1e6},
		{"tcp_rr_p99_us", "TCP_RR", "pod", "p99-sec", 1e6},
		{"tcp_crr_p99_us", "TCP_CRR", "pod", "p99-sec", 1e6},
		{"http_p99_1k_qps_ms", "HTTP-1000qps", "svc", "p99-sec", 1e3},
	} {
		w := want{report.DimLatency, "Latency", []string{"test", l.test, "target", l.target}}
		v.scalar(out, "latency."+l.seed, l.seed, w, l.unit, l.scale)
	}
	return out
}

// hubble: req/s with Hubble on and off; overhead_pct = (on - off) / off *
// 100, negative when Hubble costs req/s (spec §7).
func (v *view) hubble() map[string]any {
	out := map[string]any{}
	hub := func(state string) want {
		return want{report.DimHubble, "Hubble", []string{"hubble", state, "conn", "keepalive", "c", "64"}}
	}
	on, okOn := v.scalar(out, "hubble.with_hubble_qps", "with_hubble_qps", hub("on"), report.UnitReqPerSec, 1)
	off, okOff := v.scalar(out, "hubble.without_hubble_qps", "without_hubble_qps", hub("off"), report.UnitReqPerSec, 1)
	if okOn && okOff {
		v.change(out, "hubble.overhead_pct", "overhead_pct", off, on)
	} else {
		v.leftOut("hubble.overhead_pct", "needs both with_hubble_qps and without_hubble_qps")
	}
	return out
}

// Policy kinds as the NetworkPolicy results name them.
const (
	kindCNP = "CiliumNetworkPolicy"
	kindNP  = "NetworkPolicy"
	kindL7  = "L7"
)

// networkPolicy: the seed's baseline, L3/L4 and L7 req/s with the
// overheads (policy - baseline) / baseline * 100 (spec §8). The seed used a
// CiliumNetworkPolicy; a run without one (kube-proxy) gives the Kubernetes
// NetworkPolicy's, and "l3l4_kind" says which. Each kind is measured
// against its own baseline, interleaved in the same rounds; "by_kind" holds
// every kind.
func (v *view) networkPolicy() map[string]any {
	out := map[string]any{}
	np := func(kind, state string) want {
		return want{report.DimPolicy, "NetworkPolicy", []string{"kind", kind, "policy", state, "conn", "keepalive", "c", "64"}}
	}
	kind := kindCNP
	if _, why := v.results(np(kindCNP, "l3l4")); why != "" {
		if _, whyNP := v.results(np(kindNP, "l3l4")); whyNP == "" {
			kind = kindNP
		}
	}
	base, okBase := v.scalar(out, "networkpolicy.baseline_qps", "baseline_qps", np(kind, "none"), report.UnitReqPerSec, 1)
	l3l4, okL3L4 := v.scalar(out, "networkpolicy.l3l4_qps", "l3l4_qps", np(kind, "l3l4"), report.UnitReqPerSec, 1)
	if okL3L4 {
		out["l3l4_kind"] = kind
	}
	if okBase && okL3L4 {
		v.change(out, "networkpolicy.l3l4_overhead_pct", "l3l4_overhead_pct", base, l3l4)
	} else {
		v.leftOut("networkpolicy.l3l4_overhead_pct", "needs both baseline_qps and l3l4_qps")
	}
	l7, okL7 := v.scalar(out, "networkpolicy.l7_qps", "l7_qps", np(kindL7, "l7"), report.UnitReqPerSec, 1)
	l7base, okL7Base := base, okBase
	if m, why := v.metric(np(kindL7, "none"), report.UnitReqPerSec); why == "" {
		l7base, okL7Base = m, true
		fromMetric(m, 1).put(out, "l7_baseline_qps")
	}
	if okL7 && okL7Base {
		v.change(out, "networkpolicy.l7_overhead_pct", "l7_overhead_pct", l7base, l7)
	} else {
		v.leftOut("networkpolicy.l7_overhead_pct", "needs l7_qps and a baseline for the L7 policy")
	}
	if byKind := v.policyKinds(np); len(byKind) > 0 {
		out["by_kind"] = byKind
	}
	return out
}

// policyKinds is every kind's baseline, policy req/s and overhead.
func (v *view) policyKinds(np func(kind, state string) want) map[string]any {
	out := map[string]any{}
	for _, k := range []struct{ kind, state string }{{kindNP, "l3l4"}, {kindCNP, "l3l4"}, {kindL7, "l7"}} {
		base, why := v.metric(np(k.kind, "none"), report.UnitReqPerSec)
		pol, whyPol := v.metric(np(k.kind, k.state), report.UnitReqPerSec)
		if why != "" || whyPol != "" {
			continue
		}
		e := map[string]any{"policy": k.state}
		fromMetric(base, 1).put(e, "baseline_qps")
		fromMetric(pol, 1).put(e, "policy_qps")
		v.change(e, "networkpolicy.by_kind."+k.kind+".overhead_pct", "overhead_pct", base, pol)
		out[k.kind] = e
	}
	return out
}
