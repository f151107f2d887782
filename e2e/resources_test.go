package e2e

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"kube-netbench/fixtures"
	"kube-netbench/internal/podexec"
	"kube-netbench/internal/report"
	"kube-netbench/internal/resources"
	"kube-netbench/internal/stats"
	"kube-netbench/internal/tools/fortio"
)

// agentProc is one node's dataplane agent, read through its container's
// PID 1 (the agent itself in cilium-agent's and kube-proxy's images).
type agentProc struct {
	node, name string
	target     podexec.Target
}

// agentUse is one agent's per-round CPU (millicores) and resident memory
// in one state.
type agentUse struct {
	Millicores []float64 `json:"millicores"`
	RSSBytes   []float64 `json:"rss_bytes"`
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
	r := &agentResources{dimension: newDimension(t, "resources"), use: map[string]map[string]*agentUse{}}
	f := features.New("dataplane agent resources").
		WithLabel("dimension", "resources").WithLabel("tier", "full").
		Setup(r.setup).
		Assess("agent CPU and memory on every node, idle and under load, interleaved rounds", r.measure).
		Feature()
	testEnv.Test(t, f)
}

func (r *agentResources) setup(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
	r.start(ctx, t, cfg)
	defer r.progress.To(t).Phase("setup: fortio server and client, Service")()
	_, r.svcIP = fortioPair(ctx, t, r.run)
	var pods map[string]string
	container := ""
	switch {
	case r.det.Cilium != nil:
		pods, container = r.det.Cilium.Pods, "cilium-agent"
	case r.det.KubeProxy != nil:
		pods, container = r.det.KubeProxy.Pods, "kube-proxy"
	}
	nodes := make([]string, 0, len(pods))
	for n := range pods {
		nodes = append(nodes, n)
	}
	sort.Strings(nodes)
	for _, n := range nodes {
		a := agentProc{node: n, name: container, target: podexec.Target{Namespace: "kube-system", Pod: pods[n], Container: container}}
		s, err := r.sample(ctx, a)
		if err != nil {
			t.Fatalf("node %s: read the %s process: %v", n, container, err)
		}
		if s.Comm != container {
			t.Fatalf("node %s: PID 1 of the %s container is %q, not the agent: its CPU and memory cannot be read this way", n, container, s.Comm)
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

// window reads every agent, runs during (an idle wait or a load) and reads
// them again; it records each agent's millicores and RSS in state.
func (r *agentResources) window(ctx context.Context, t *testing.T, state string, during func() error) error {
	before := make([]resources.Sample, len(r.agents))
	for i, a := range r.agents {
		s, err := r.sample(ctx, a)
		if err != nil {
			return fmt.Errorf("node %s: %w", a.node, err)
		}
		before[i] = s
	}
	start := time.Now()
	if err := during(); err != nil {
		return err
	}
	elapsed := time.Since(start)
	for i, a := range r.agents {
		s, err := r.sample(ctx, a)
		if err != nil {
			return fmt.Errorf("node %s: %w", a.node, err)
		}
		m, err := resources.Millicores(before[i], s, elapsed)
		if err != nil {
			return fmt.Errorf("node %s: %w", a.node, err)
		}
		u := r.use[a.node][state]
		u.Millicores, u.RSSBytes = append(u.Millicores, m), append(u.RSSBytes, float64(s.RSSBytes))
		t.Logf("%s on %s, %s: %.1f millicores over %s, RSS %.1f MiB", a.name, a.node, state, m, elapsed.Round(time.Millisecond), float64(s.RSSBytes)/(1<<20))
	}
	return nil
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
			if err := r.window(ctx, t, state, during); err != nil {
				t.Errorf("round %d, %s: %v", round, state, err)
			}
		}
	}
	return ctx
}

func (r *agentResources) writeResults(t *testing.T) {
	for _, a := range r.agents {
		for _, state := range []string{"idle", "load"} {
			u := r.use[a.node][state]
			if len(u.Millicores) == 0 {
				continue
			}
			cpu, err := report.NewMetric("millicores", report.LowerIsBetter, u.Millicores, stats.DefaultConfidence)
			if err != nil {
				t.Errorf("%s %s: %v", a.node, state, err)
				continue
			}
			rss, err := report.NewMetric(report.UnitBytes, report.LowerIsBetter, u.RSSBytes, stats.DefaultConfidence)
			if err != nil {
				t.Errorf("%s %s: %v", a.node, state, err)
				continue
			}
			r.add("Resources", []report.KV{{Key: "agent", Value: a.name}, {Key: "node", Value: a.node}, {Key: "state", Value: state}}, cpu, rss)
		}
	}
	if len(r.results) > 0 {
		r.write(t)
	}
}
