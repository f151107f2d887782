package seedview

import (
	"slices"

	"kube-netbench/internal/report"
)

// mib converts bytes to the seed's "mb", which came from kubectl top's Mi.
const mib = 1.0 / (1 << 20)

// agents map the seed's resources keys to the agents' container names.
var agents = []struct{ seed, agent string }{
	{"cilium_agent", "cilium-agent"},
	{"kubeproxy", "kube-proxy"},
}

// resources: the seed's steady-state agent CPU and memory (spec §10), from
// our idle rounds read from the agents' cgroups (what kubectl top shows),
// pooled over the nodes: avg_* are medians of every node's rounds, max_*
// the largest of them, pods_sampled the nodes. cilium_agent_rss_mb is the
// agent process's RSS, idle. "under_load" has the same keys from the rounds
// with keepalive traffic crossing a Service.
func (v *view) resources() map[string]any {
	out := map[string]any{}
	for _, a := range agents {
		if idle := v.agentUse(a.agent, "idle", "cgroup"); idle != nil {
			if load := v.agentUse(a.agent, "load", "cgroup"); load != nil {
				idle["under_load"] = load
			}
			out[a.seed] = idle
		}
	}
	if len(out) == 0 {
		v.leftOut("resources.{cilium_agent,kubeproxy}", "the Resources run has no idle cgroup rounds of cilium-agent or kube-proxy")
	} else {
		v.note("resources: idle means no test traffic and no dummy Services; the seed sampled after its largest Service-scale step")
	}
	if use, ok := v.pool("cilium-agent", "idle", "proc", report.UnitBytes, mib); ok {
		s, err := pooled(use.all)
		if err == nil {
			s.put(out, "cilium_agent_rss_mb")
		}
	} else if _, isCilium := out["cilium_agent"]; isCilium {
		v.leftOut("resources.cilium_agent_rss_mb", "the Resources run has no idle process rounds of cilium-agent")
	}
	if _, isCilium := out["cilium_agent"]; isCilium {
		v.leftOut("resources.bpf_maps", "not in the run's results (ServiceScale records the Cilium BPF maps per step in its own summary)")
	}
	return out
}

// use is one metric's rounds per node and pooled.
type use struct {
	perNode map[string][]float64
	all     []float64
}

// pool gathers the metric with unit of every node's result for agent,
// state and source, scaled.
func (v *view) pool(agent, state, source, unit string, scale float64) (use, bool) {
	rs, why := v.results(want{report.DimResources, "Resources", []string{"agent", agent, "state", state, "source", source}})
	if why != "" {
		return use{}, false
	}
	u := use{perNode: map[string][]float64{}}
	for _, r := range rs {
		for _, m := range r.Metrics {
			if m.Unit != unit {
				continue
			}
			s := fromMetric(m, scale)
			u.perNode[key(r, "node")] = append(u.perNode[key(r, "node")], s.samples...)
			u.all = append(u.all, s.samples...)
		}
	}
	return u, len(u.all) > 0
}

// agentUse is the seed's keys for one agent in one state, nil without
// data.
func (v *view) agentUse(agent, state, source string) map[string]any {
	cpu, okCPU := v.pool(agent, state, source, "millicores", 1)
	mem, okMem := v.pool(agent, state, source, report.UnitBytes, mib)
	if !okCPU && !okMem {
		return nil
	}
	out := map[string]any{"source": source}
	perNode := map[string]any{}
	for _, m := range []struct {
		u        use
		ok       bool
		avg, max string
		node     string
	}{{cpu, okCPU, "avg_cpu_m", "max_cpu_m", "cpu_m"}, {mem, okMem, "avg_mem_mb", "max_mem_mb", "mem_mb"}} {
		if !m.ok {
			continue
		}
		s, err := pooled(m.u.all)
		if err != nil {
			continue
		}
		s.put(out, m.avg)
		out[m.max] = slices.Max(m.u.all)
		for node, samples := range m.u.perNode {
			e, _ := perNode[node].(map[string]any)
			if e == nil {
				e = map[string]any{}
				perNode[node] = e
			}
			e[m.node] = samples
		}
	}
	out["pods_sampled"] = len(perNode)
	out["per_node"] = perNode
	return out
}
