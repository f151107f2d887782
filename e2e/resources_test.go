package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"kube-netbench/fixtures"
	"kube-netbench/internal/podexec"
	"kube-netbench/internal/report"
	"kube-netbench/internal/resources"
	"kube-netbench/internal/stats"
	"kube-netbench/internal/tools/fortio"
)

// agentProc is one node's dataplane agent: its container's cgroup as the
// kubelet reports it, and, where the image has `cat`, its container's PID 1
// (the agent itself in cilium-agent's and kube-proxy's images).
type agentProc struct {
	node, name string
	target     podexec.Target
	// noProc says why /proc cannot be read in this image ("" when it can):
	// kube-proxy's distroless image has no cat.
	noProc string
}

// agentUse is one agent's per-round CPU (millicores) and memory in one
// state: from its cgroup (what metrics-server and cAdvisor report) and,
// where readable, from its process.
type agentUse struct {
	CgroupMillicores []float64 `json:"cgroup_millicores"`
	WorkingSetBytes  []float64 `json:"working_set_bytes"`
	Millicores       []float64 `json:"millicores"`
	RSSBytes         []float64 `json:"rss_bytes"`
}

// agentResources measures what the dataplane agents themselves cost on
// every node, at steady state and while keepalive traffic crosses a
// Service, in interleaved rounds: CPU from the agent's utime + stime over
// the window, memory its VmRSS at the end (the seed sampled `kubectl top`
// once).
type agentResources struct {
	*dimension
	svcIP  string
	agents []agentProc
	use    map[string]map[string]*agentUse // agent key -> state -> samples
}

func TestResources(t *testing.T) {
	r := &agentResources{dimension: newDimension(t, report.DimResources), use: map[string]map[string]*agentUse{}}
	r.test(t, feature{title: "dataplane agent resources", setup: r.setup, assess: []step{
		{"agent CPU and memory on every node, idle and under load, interleaved rounds", r.measure},
	}})
}

func (r *agentResources) setup(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
	r.start(ctx, t, cfg)
	defer r.progress.To(t).Phase("setup: fortio server and client, Service")()
	_, r.svcIP = fortioPair(ctx, t, r.run)
	var pods map[string]string
	container, ns := "", ""
	switch {
	case r.det.Cilium != nil:
		if err := r.det.Cilium.Readable(); err != nil {
			r.skipf(t, "dataplane %s: the agents' cgroups are read through them: %v", r.det.Kind, err)
		}
		pods, container, ns = r.det.Cilium.Pods, "cilium-agent", r.det.Cilium.Namespace
	case r.det.KubeProxy != nil:
		if r.det.KubeProxy.Embedded {
			r.skipf(t, "dataplane %s: kube-proxy runs inside the node's agent (k3s), no pod of its own to measure", r.det.Kind)
		}
		pods, container, ns = r.det.KubeProxy.Pods, "kube-proxy", r.det.KubeProxy.Namespace
	}
	nodes := make([]string, 0, len(pods))
	for n := range pods {
		nodes = append(nodes, n)
	}
	sort.Strings(nodes)
	for _, n := range nodes {
		a := agentProc{node: n, name: container, target: podexec.Target{Namespace: ns, Pod: pods[n], Container: container}}
		if _, err := r.cgroupSample(ctx, a); err != nil {
			t.Fatalf("node %s: read the %s container's cgroup through the kubelet: %v", n, container, err)
		}
		switch s, err := r.sample(ctx, a); {
		case err != nil:
			a.noProc = fmt.Sprintf("its image cannot show /proc/1 (%v)", err)
			t.Logf("node %s: %s: process CPU and RSS not read, %s; its cgroup is", n, container, a.noProc)
		case s.Comm != container:
			t.Fatalf("node %s: PID 1 of the %s container is %q, not the agent: its process cannot be read this way", n, container, s.Comm)
		}
		r.agents = append(r.agents, a)
		r.use[a.node] = map[string]*agentUse{"idle": {}, "load": {}}
	}
	t.Cleanup(func() { r.writeResults(t) })
	return ctx
}

func (r *agentResources) sample(ctx context.Context, a agentProc) (resources.Sample, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out, err := podexec.Output(ctx, r.exec, a.target, "cat", "/proc/1/stat", "/proc/1/status")
	if err != nil {
		return resources.Sample{}, err
	}
	return resources.Parse(string(out))
}

// cgroupSample reads the agent container's cgroup as the kubelet reports it
// (its resource metrics endpoint, through the apiserver's node proxy).
func (r *agentResources) cgroupSample(ctx context.Context, a agentProc) (resources.CgroupSample, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	b, err := r.client.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes", a.node, "proxy", resources.ResourceMetricsPath).DoRaw(ctx)
	if err != nil {
		return resources.CgroupSample{}, err
	}
	m, err := resources.ParseResourceMetrics(bytes.NewReader(b))
	if err != nil {
		return resources.CgroupSample{}, err
	}
	s, ok := m[resources.Container{Namespace: a.target.Namespace, Pod: a.target.Pod, Name: a.target.Container}]
	if !ok {
		return resources.CgroupSample{}, fmt.Errorf("the kubelet of %s reports no container %s/%s %s", a.node, a.target.Namespace, a.target.Pod, a.target.Container)
	}
	return s, nil
}

// reading is one agent's state at one moment.
type reading struct {
	cg   resources.CgroupSample
	proc resources.Sample
}

func (r *agentResources) read(ctx context.Context, a agentProc) (reading, error) {
	var rd reading
	var err error
	if rd.cg, err = r.cgroupSample(ctx, a); err != nil {
		return rd, fmt.Errorf("node %s: cgroup: %w", a.node, err)
	}
	if a.noProc == "" {
		if rd.proc, err = r.sample(ctx, a); err != nil {
			return rd, fmt.Errorf("node %s: /proc: %w", a.node, err)
		}
	}
	return rd, nil
}

// window reads every agent, runs during (an idle wait or a load) and reads
// them again; it records each agent's millicores and memory in state. The
// cgroup rate is taken between the kubelet's own reading times, which must
// cover the window: a reading from before it (cAdvisor refreshes every
// 10-15 s) is a failed sample, not a diluted number.
func (r *agentResources) window(ctx context.Context, t *testing.T, state string, during func() error) (func(), error) {
	before := make([]reading, len(r.agents))
	for i, a := range r.agents {
		rd, err := r.read(ctx, a)
		if err != nil {
			return nil, err
		}
		before[i] = rd
	}
	start := time.Now()
	if err := during(); err != nil {
		return nil, err
	}
	elapsed := time.Since(start)
	var errs []error
	var keep []func()
	for i, a := range r.agents {
		after, err := r.read(ctx, a)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		u := r.use[a.node][state]
		span := after.cg.CPUAt.Sub(before[i].cg.CPUAt)
		cg, err := resources.CgroupMillicores(before[i].cg, after.cg)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("node %s: cgroup: %w", a.node, err))
		case span < elapsed*8/10 || span > elapsed*12/10+2*time.Second:
			errs = append(errs, fmt.Errorf("node %s: the kubelet's cgroup readings span %s, not the %s window: cached readings (cAdvisor refreshes every 10-15 s; make windows longer)",
				a.node, span.Round(time.Millisecond), elapsed.Round(time.Millisecond)))
		default:
			keep = append(keep, func() {
				u.CgroupMillicores, u.WorkingSetBytes = append(u.CgroupMillicores, cg), append(u.WorkingSetBytes, after.cg.WorkingSetBytes)
				t.Logf("%s on %s, %s: cgroup %.1f millicores over %s, working set %.1f MiB", a.name, a.node, state, cg, span.Round(time.Millisecond), after.cg.WorkingSetBytes/(1<<20))
			})
		}
		if a.noProc != "" {
			continue
		}
		m, err := resources.Millicores(before[i].proc, after.proc, elapsed)
		if err != nil {
			errs = append(errs, fmt.Errorf("node %s: /proc: %w", a.node, err))
			continue
		}
		keep = append(keep, func() {
			u.Millicores, u.RSSBytes = append(u.Millicores, m), append(u.RSSBytes, float64(after.proc.RSSBytes))
			t.Logf("%s on %s, %s: process %.1f millicores over %s, RSS %.1f MiB", a.name, a.node, state, m, elapsed.Round(time.Millisecond), float64(after.proc.RSSBytes)/(1<<20))
		})
	}
	// A window is one sample of every agent: all of it or none.
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return func() {
		for _, k := range keep {
			k()
		}
	}, nil
}

// measure alternates idle and load windows of FORTIO_DURATION in ABBA
// order. The idle window is the measurement itself (nothing is awaited).
func (r *agentResources) measure(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	margin := r.cfg.ExecTimeout(r.cfg.FortioDuration) - r.cfg.FortioDuration
	load := fortio.Load{URL: fmt.Sprintf("http://%s:%d/echo?size=512", r.svcIP, fixtures.FortioHTTPPort),
		Connections: 64, Duration: r.cfg.FortioDuration, Keepalive: true}
	for round := 1; round <= r.cfg.Rounds; round++ {
		for _, state := range abba([]string{"idle", "load"}, round) {
			r.waitQuiet(ctx, t, fmt.Sprintf("round %d, %s", round, state))
			during := func() error {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(r.cfg.FortioDuration):
					return nil
				}
			}
			if state == "load" {
				during = func() error {
					res, _, err := r.fortioLoad(ctx, load, margin)
					if err == nil {
						t.Logf("round %d: load %.0f req/s keepalive c64 through the Service, all 200", round, res.ActualQPS)
					}
					return err
				}
			}
			r.measureRound(ctx, t, r.outcome, round, state, func(context.Context) (func(), error) {
				return r.window(ctx, t, state, during)
			})
		}
	}
	return ctx
}

func (r *agentResources) writeResults(t *testing.T) {
	for _, a := range r.agents {
		for _, state := range []string{"idle", "load"} {
			u := r.use[a.node][state]
			for _, src := range []struct {
				source   string
				cpu, mem []float64
				memUnit  string
			}{
				{"cgroup", u.CgroupMillicores, u.WorkingSetBytes, report.UnitBytes},
				{"proc", u.Millicores, u.RSSBytes, report.UnitBytes},
			} {
				keys := []report.KV{{Key: "agent", Value: a.name}, {Key: "node", Value: a.node}, {Key: "state", Value: state}, {Key: "source", Value: src.source}}
				if len(src.cpu) == 0 {
					if src.source == "cgroup" || a.noProc == "" {
						r.addCase(state, "Resources", keys)
					}
					continue
				}
				cpu, err := report.NewMetric("millicores", report.LowerIsBetter, src.cpu, stats.DefaultConfidence)
				if err != nil {
					t.Errorf("%s %s %s: %v", a.node, state, src.source, err)
					continue
				}
				mem, err := report.NewMetric(src.memUnit, report.LowerIsBetter, src.mem, stats.DefaultConfidence)
				if err != nil {
					t.Errorf("%s %s %s: %v", a.node, state, src.source, err)
					continue
				}
				r.addCase(state, "Resources", keys, cpu, mem)
			}
		}
	}
	if len(r.results) > 0 {
		r.write(t)
	}
}
