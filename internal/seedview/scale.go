package seedview

import (
	"fmt"
	"slices"
	"strconv"

	"kube-netbench/internal/report"
)

// closingSvc is the svc key of the 0-Service baseline measured again after
// the dummy Services were deleted.
const closingSvc = "0-closing"

// serviceScale: the seed's service_scale keys (spec §9.5). The baseline is
// the 0-Service step of the same ServiceScale run, not the RPS phase's
// svc_c64 / svc_short_c64 measured much earlier as in the seed (W-STAT-3);
// a run without one gets no baseline and no degradation, never the RPS
// phase's. Each step's *_degradation_pct is (step - baseline) / baseline *
// 100 of the medians: negative when the step serves fewer req/s.
func (v *view) serviceScale() map[string]any {
	out := map[string]any{}
	run, _ := v.dimRun(report.DimServiceScale)
	if eps, err := strconv.Atoi(run.Fingerprint.Config["SVC_ENDPOINTS"]); err == nil {
		out["endpoints_per_svc"] = eps
	} else {
		v.leftOut("service_scale.endpoints_per_svc", "the ServiceScale run's configuration has no SVC_ENDPOINTS")
	}
	sc := func(svc, conn string) want {
		return want{report.DimServiceScale, "ServiceScale", []string{"svc", svc, "conn", conn}}
	}
	conns := []struct{ conn, qps, baseline, pct string }{
		{"keepalive", "keepalive_qps", "keepalive_baseline_qps", "keepalive_degradation_pct"},
		{"short", "short_conn_qps", "short_conn_baseline_qps", "short_conn_degradation_pct"},
	}
	base := map[string]report.Metric{}
	for _, c := range conns {
		if m, ok := v.scalar(out, "service_scale."+c.baseline, c.baseline, sc("0", c.conn), report.UnitReqPerSec, 1); ok {
			base[c.conn] = m
		}
	}
	if len(base) > 0 {
		v.note("service_scale: the baseline is the 0-Service step of the same ServiceScale run; the seed's was the RPS phase's svc_c64 and svc_short_c64, measured long before (W-STAT-3)")
	}
	steps := []any{}
	for _, n := range v.scaleSteps(run) {
		svc := strconv.Itoa(n)
		st := map[string]any{"svc_count": n}
		for _, c := range conns {
			where := fmt.Sprintf("service_scale.steps[svc_count=%d].", n)
			m, ok := v.scalar(st, where+c.qps, c.qps, sc(svc, c.conn), report.UnitReqPerSec, 1)
			b, okBase := base[c.conn]
			switch {
			case ok && okBase:
				v.change(st, where+c.pct, c.pct, b, m)
			case ok:
				v.leftOut(where+c.pct, "no 0-Service baseline in the ServiceScale run")
			}
		}
		steps = append(steps, st)
	}
	if len(steps) > 0 {
		out["steps"] = steps
		v.leftOut("service_scale.steps[].{tcp_crr_p99_us,tcp_rr_p99_us,rules_count,kube_services_chain}",
			"not in the run's results (ServiceScale records req/s per step; its rule and ClusterIP counts stay in its own summary)")
	} else {
		v.leftOut("service_scale.steps", "the ServiceScale run has no step with dummy Services")
	}
	if cl := v.closing(sc, base); len(cl) > 0 {
		out["closing_baseline"] = cl
	}
	return out
}

// scaleSteps are the run's Service counts above 0, ascending.
func (v *view) scaleSteps(run report.Run) []int {
	var out []int
	for _, r := range run.Results {
		if r.Name != "ServiceScale" {
			continue
		}
		n, err := strconv.Atoi(key(r, "svc"))
		if err != nil || n <= 0 {
			continue // the baselines, 0 and 0-closing
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// closing is the 0-Service baseline measured again at the end, with its
// drift against the first: an extra key, not the seed's.
func (v *view) closing(sc func(svc, conn string) want, base map[string]report.Metric) map[string]any {
	out := map[string]any{}
	for _, c := range []struct{ conn, qps, pct string }{
		{"keepalive", "keepalive_qps", "keepalive_drift_pct"},
		{"short", "short_conn_qps", "short_conn_drift_pct"},
	} {
		m, why := v.metric(sc(closingSvc, c.conn), report.UnitReqPerSec)
		if why != "" {
			continue
		}
		fromMetric(m, 1).put(out, c.qps)
		if b, ok := base[c.conn]; ok {
			v.change(out, "service_scale.closing_baseline."+c.pct, c.pct, b, m)
		}
	}
	return out
}
