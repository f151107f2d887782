#!/usr/bin/env python3
"""Writes DIR/benchmark-summary.json the way the seed script's generate_summary does, as
/work/shared/design/seed-script-spec.md §4-§11 describes it (this project's own re-implementation of
those formulas, not the seed's code): every number is the arithmetic mean of the per-round values
(n = ROUNDS, default 1), a percentile is the mean of per-round percentiles, a file that does not parse
the seed's way is left out silently, and fortio's ActualQPS counts failed calls.

usage: testdata/seed-results/summarize.py DIR
"""
import glob, json, os, sys

d = sys.argv[1]


def files(pattern):
    return sorted(glob.glob(os.path.join(d, pattern)))


def gbps(path):  # d["end"]["sum_received"]["bits_per_second"] / 1e9
    with open(path) as f:
        return round(json.load(f)["end"]["sum_received"]["bits_per_second"] / 1e9, 2)


def qps(path):  # int(d["ActualQPS"]): RetCodes and errors are ignored (W-BUG-4)
    with open(path) as f:
        return int(json.load(f)["ActualQPS"])


def netperf(path, idx):  # last line, split on commas: mean=1, p50=2, p99=4
    with open(path) as f:
        lines = [l.strip() for l in f if l.strip()]
    return float(lines[-1].split(",")[idx])


def values(pattern, fn):
    out = []
    for p in files(pattern):
        try:
            out.append(fn(p))
        except Exception:  # the seed's "except: pass"
            pass
    return out


def one(path, fn):
    v = values(path, fn)
    return v[0] if v else None


s = {"cluster": {}, "throughput": {}, "rps": {}, "latency": {}, "service_scale": {}}
with open(os.path.join(d, "context.yaml")) as f:
    for line in f:
        if ":" in line:
            k, v = line.strip().split(":", 1)
            s["cluster"][k.strip()] = v.strip()

for key, name in [("node_level_8stream", "node_throughput"), ("pod2pod_single", "pod2pod_single"),
                  ("pod2pod_8stream", "pod2pod_8stream"), ("pod2pod_16stream", "pod2pod_16stream"),
                  ("via_service_8stream", "via_service_8stream")]:
    v = values("throughput/%s_r*.json" % name, gbps)
    if v:
        s["throughput"][key] = {"gbps": v, "avg": round(sum(v) / len(v), 2)}

for key in ["pod2pod_c64", "svc_c64", "svc_c256", "svc_short_c64"]:
    v = values("rps/%s_r*.json" % key, qps)
    if v:
        s["rps"][key] = {"qps": v, "avg_qps": int(sum(v) / len(v))}

for key, pattern, idx in [("tcp_rr_p50_us", "latency/tcp_rr_r*.txt", 2), ("tcp_rr_p99_us", "latency/tcp_rr_r*.txt", 4),
                          ("tcp_crr_p99_us", "latency/tcp_crr_r*.txt", 4)]:
    v = values(pattern, lambda p: netperf(p, idx))
    if v:
        s["latency"][key] = int(sum(v) / len(v))
try:
    with open(os.path.join(d, "latency/http_1k_qps.json")) as f:
        for p in json.load(f)["DurationHistogram"]["Percentiles"]:
            if p["Percentile"] == 99:
                s["latency"]["http_p99_1k_qps_ms"] = round(p["Value"] * 1000, 2)
except Exception:
    pass


def pct(x, base):
    return round((x - base) / base * 100, 1)


on, off = one("hubble/hubble_on.json", qps), one("hubble/hubble_off.json", qps)
if on and off:
    s["hubble"] = {"with_hubble_qps": on, "without_hubble_qps": off, "overhead_pct": pct(on, off)}
base, l3, l7 = (one("networkpolicy/%s.json" % n, qps) for n in ["no_policy", "l3l4_policy", "l7_policy"])
if base:
    s["networkpolicy"] = {"baseline_qps": base}
    if l3:
        s["networkpolicy"].update(l3l4_qps=l3, l3l4_overhead_pct=pct(l3, base))
    if l7:
        s["networkpolicy"].update(l7_qps=l7, l7_overhead_pct=pct(l7, base))

ka_base = s["rps"].get("svc_c64", {}).get("avg_qps")  # the RPS phase is the scale baseline
short_base = s["rps"].get("svc_short_c64", {}).get("avg_qps")
ss = {"keepalive_baseline_qps": ka_base, "short_conn_baseline_qps": short_base, "steps": []}
with open(os.path.join(d, "service-scale/endpoints_per_svc.txt")) as f:
    ss["endpoints_per_svc"] = int(f.read())
with open(os.path.join(d, "service-scale/scale_steps.txt")) as f:
    steps = [int(x) for x in f.read().replace(",", " ").split()]
for n in steps:
    st = {"svc_count": n}
    ka = values("service-scale/ka_at_%dsvc_r*.json" % n, qps)
    if ka:
        st["keepalive_qps"] = int(sum(ka) / len(ka))
        if ka_base:
            st["keepalive_degradation_pct"] = pct(st["keepalive_qps"], ka_base)
    sh = values("service-scale/short_at_%dsvc_r*.json" % n, qps)
    if sh:
        st["short_conn_qps"] = int(sum(sh) / len(sh))
        if short_base:
            st["short_conn_degradation_pct"] = pct(st["short_conn_qps"], short_base)
    for key, name in [("tcp_crr_p99_us", "crr"), ("tcp_rr_p99_us", "rr")]:
        v = values("service-scale/%s_at_%dsvc_r*.txt" % (name, n), lambda p: netperf(p, 4))
        if v:
            st[key] = int(sum(v) / len(v))
    for key, name in [("rules_count", "lb_entries"), ("kube_services_chain", "kube_services_chain")]:
        try:
            with open(os.path.join(d, "service-scale/%s_at_%dsvc.txt" % (name, n))) as f:
                st[key] = int(f.read())
        except Exception:
            pass
    ss["steps"].append(st)
s["service_scale"] = ss

with open(os.path.join(d, "benchmark-summary.json"), "w") as f:
    json.dump(s, f, indent=2, ensure_ascii=False)
    f.write("\n")
