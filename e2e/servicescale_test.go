package e2e

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"kube-netbench/fixtures"
	"kube-netbench/internal/bpfmaps"
	"kube-netbench/internal/config"
	"kube-netbench/internal/dataplane"
	"kube-netbench/internal/kube"
	"kube-netbench/internal/podexec"
	"kube-netbench/internal/progress"
	"kube-netbench/internal/report"
	"kube-netbench/internal/scale"
	"kube-netbench/internal/scaleresult"
	"kube-netbench/internal/suiteconfig"
)

// serviceScale measures how short-connection and keepalive RPS through a
// ClusterIP Service change as thousands of dummy Services are added: the
// study's O(n) (iptables) against O(1) (nftables, Cilium) curve. Beside
// the saturating RPS, whose intervals on a small machine are wide, it
// measures what needs no saturated machine: new connections' latency at a
// fixed rate (fortio, netperf TCP_CRR through a second Service) and their
// kernel CPU cost (servicescale_conn_test.go).
type serviceScale struct {
	*run
	*outcome
	cfg      config.Config
	profile  config.Profile
	det      dataplane.Detection
	kind     dataplane.Kind
	plan     scale.Plan
	creator  scale.Creator
	fortioIP string
	// own are the ClusterIPs of the run's Services as last listed: what
	// the programming waits count (dataplane.Converged).
	own      []string
	canaries int
	prev     int
	// peak is the most dummy Services present so far (deleting them takes
	// the dataplane about as long as adding them)
	peak  int
	steps []*scaleresult.Step
	// creation rates measured side by side (ours, the seed's method) for
	// sideBySide Services
	oursRate, seedRate float64
	sideBySide         int
	kubeconfig         string
	fortioVersion      string
	// netperfIP is the ClusterIP of the netserver Service; netperfMissing
	// says why TCP_CRR is not measured ("" when it is).
	netperfIP, netperfMissing, netperfVersion string
	started                                   time.Time
	// sysctls of the client pod that shape short connections (lab-recipe §5)
	sysctls map[string]string
	// progress prints a line per phase with the run's elapsed time.
	progress *progress.Tracker
}

func TestServiceScale(t *testing.T) {
	cfg := suite.Config.Clone()
	s := &serviceScale{outcome: recordOutcome(t, report.DimServiceScale), cfg: cfg, profile: suite.Profile}
	f := features.New("service scale").
		WithLabel("dimension", "service-scale").WithLabel("tier", "full").WithLabel("disruptive", "true").
		Setup(s.setup).
		// First, on a quiet apiserver: once thousands of Services exist, a
		// kube-proxy in iptables mode re-syncs its whole table on every
		// change and takes the CPU both methods need (measured at 10,000
		// Services on 2 cores: 13.8 vs 9.9 Services/s, where a quiet
		// apiserver gives 94.5 vs 15.6).
		Assess("creation rate side by side with the seed script's method", s.seedComparison).
		Assess("baseline at 0 dummy Services", s.step(0))
	for _, n := range cfg.SvcScaleSteps {
		f = f.Assess(fmt.Sprintf("%d dummy Services", n), s.step(n))
	}
	f = f.Assess("baseline again after deleting the dummy Services (drift check)", s.closingBaseline)
	testEnv.Test(t, f.Assess("degradation per step against the same run's baseline", s.judge).Feature())
}

func (s *serviceScale) setup(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
	// Refuse to run over an earlier run's leftovers (W-OPS-1), before this
	// run creates anything.
	pre, err := kubernetes.NewForConfig(cfg.Client().RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := scale.Leftovers(ctx, pre); err != nil {
		t.Fatalf("an earlier run left objects behind: %v", err)
	}
	// The largest step must fit the Service range, known only now on a
	// cluster the suite did not make: checked before anything is created.
	// The dry-run source needs a namespace that exists: default does.
	rng, err := scale.DiscoverServiceRange(ctx, pre, metav1.NamespaceDefault)
	if err != nil {
		t.Fatal(err)
	}
	if err := suiteconfig.CheckServiceRange(s.cfg, rng.Prefix, rng.Source); err != nil {
		t.Fatalf("configuration: %v", err)
	}
	s.outcome.started = true
	s.started = time.Now()
	s.progress = progress.New(nil)
	defer s.progress.To(t).Phase("setup: workloads, detection, Service range")()
	s.run = startRun(ctx, t, cfg, "scale", 2)
	s.run.res = workloadResources(s.cfg)
	det, err := detect(ctx, s.run)
	if err != nil {
		t.Fatalf("detect the dataplane: %v", err)
	}
	s.det, s.kind = det, det.Kind
	logDetection(t, det)
	s.guardWith(ctx, t, det)
	// Service-scale results stand on each node's programmed state.
	if err := det.ProgrammedReadable(); err != nil {
		s.skipf(t, "dataplane %s: %v", det.Kind, err)
	}
	cidr := rng.Prefix
	s.plan = suiteconfig.ScalePlan(s.cfg)
	maxSvc := s.plan.MaxServices
	if err := s.plan.Validate(); err != nil {
		t.Fatal(err)
	}
	s.kubeconfig = cfg.KubeconfigFile()
	rc := cfg.Client().RESTConfig()
	fast := *rc
	fast.QPS, fast.Burst = -1, 0 // the apiserver, not the client, is the limit under test
	fc, err := kubernetes.NewForConfig(&fast)
	if err != nil {
		t.Fatal(err)
	}
	s.creator = scale.Creator{Client: fc, Workers: s.cfg.SvcCreateParallel, ClusterIPs: scale.Explicit(cidr), Log: t.Logf}
	t.Cleanup(func() {
		st, err := scale.Delete(context.WithoutCancel(ctx), fc, s.plan.RunID) // unthrottled, as creation
		if err != nil {
			t.Errorf("delete the dummy Services: %v", err)
			return
		}
		t.Logf("dummy Services deleted: %d namespaces in %s", st.Namespaces, st.Wall.Round(time.Millisecond))
	})
	if _, err := s.client.CoreV1().Pods(s.hostNS).Create(ctx, fixtures.NodeProbe(s.hostNS, nodeProbePod, s.id, s.nodes[1].Name, s.workload(t)), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, s.fortioIP = fortioPair(ctx, t, s.run)
	s.netperfSetup(ctx, t)
	if _, err := kube.WaitFor(ctx, "node probe Ready", 2*time.Minute, kube.PodsReady(s.client, s.hostNS, nodeProbePod)); err != nil {
		t.Fatal(err)
	}
	t.Logf("dataplane %s; server on %s, client on %s; Service range %s (from %s)", s.kind, s.nodes[0].Name, s.nodes[1].Name, cidr, rng.Source)
	if s.det.ServiceAgent() == "cilium" {
		s.preflightLBMap(ctx, t, maxSvc)
	}
	if s.own, err = s.ownClusterIPs(ctx); err != nil {
		t.Fatal(err)
	}
	// The baseline snapshot: what the nodes hold before any dummy Service,
	// the run's own and the cluster's others (which may change meanwhile:
	// the waits count the run's own).
	prog, err := s.programmed(ctx, s.own)
	if err != nil {
		t.Fatal(err)
	}
	_, status := dataplane.Converged(prog, s.own, nil)
	t.Logf("before the dummy Services: %s", status)
	s.sysctls = s.readSysctls(ctx, t)
	return ctx
}

// nodeProbePod is the hostNetwork busybox on the client's node that reads
// its conntrack count.
const nodeProbePod = "node-probe"

// readSysctls records the client pod's settings that decide how short
// connections reuse ports (lab-recipe §5); unreadable ones are logged.
func (s *serviceScale) readSysctls(ctx context.Context, t *testing.T) map[string]string {
	out := map[string]string{}
	for _, name := range []string{"net.ipv4.ip_local_port_range", "net.ipv4.tcp_tw_reuse", "net.ipv4.tcp_fin_timeout"} {
		ectx, cancel := context.WithTimeout(ctx, 20*time.Second)
		b, err := podexec.Output(ectx, s.exec, s.target("fortio-client", fixtures.ProbeContainer),
			"cat", "/proc/sys/"+strings.ReplaceAll(name, ".", "/"))
		cancel()
		if err != nil {
			t.Logf("client sysctl %s unreadable: %v", name, err)
			continue
		}
		out[name] = strings.Join(strings.Fields(string(b)), " ")
	}
	t.Logf("client pod: %v", out)
	return out
}

func (s *serviceScale) target(pod, container string) podexec.Target {
	return podexec.Target{Namespace: s.ns, Pod: pod, Container: container}
}

// programmed reads every node's Service entries, with the positions of
// watch (the fortio Service's among them).
func (s *serviceScale) programmed(ctx context.Context, watch []string) ([]dataplane.Programmed, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return dataplane.ReadProgrammed(ctx, s.exec, s.det, append([]string{s.fortioIP}, watch...))
}

// ownClusterIPs lists the ClusterIPs of the run's Services.
func (s *serviceScale) ownClusterIPs(ctx context.Context) ([]string, error) {
	return scale.ClusterIPs(ctx, s.client, s.plan.RunID, s.ns)
}

// nodeNames lists the nodes of a reading in order, for stable logs.
func nodeNames(prog []dataplane.Programmed) []string {
	var out []string
	for _, p := range prog {
		out = append(out, p.Node)
	}
	sort.Strings(out)
	return out
}

// preflightLBMap checks, on every node, that Cilium's Service map holds the
// run's peak, predicted from the entries it holds per frontend now (W-BUG-7).
// When it does not, the run stops before creating anything, unless
// AUTO_FIX_LB_MAP=true: then bpf-lb-map-max is raised and the agents rolled
// out, verified, before the baseline (so that every step runs under the same
// agent configuration), and both are put back when the test ends.
func (s *serviceScale) preflightLBMap(ctx context.Context, t *testing.T, maxSvc int) {
	t.Helper()
	plans, err := s.lbMapPlans(ctx, maxSvc+len(s.cfg.SvcScaleSteps)+2)
	if err != nil {
		t.Fatal(err)
	}
	need, fits := 0, true
	for node, p := range plans {
		t.Logf("node %s: %s", node, p)
		need = max(need, p.Size())
		fits = fits && p.Fits()
	}
	if fits {
		return
	}
	if !s.cfg.AutoFixLBMap {
		t.Fatalf("Cilium's Service map is too small for %d Services (see the lines above); set %s=true to let the run raise bpf-lb-map-max to %d "+
			"and roll the agents out before its baseline (restored afterwards), or raise it yourself", maxSvc, config.EnvAutoFixLBMap, need)
	}
	done := s.progress.To(t).Phase("bpf-lb-map-max to %d and roll the Cilium agents out, before the baseline", need)
	mark, err := dataplane.CiliumRestartMark(ctx, s.client, s.det.Cilium.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	prev, had, err := dataplane.SetCiliumConfig(ctx, s.client, s.det.Cilium.Namespace, "bpf-lb-map-max", strconv.Itoa(need))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.WithoutCancel(ctx)
		if err := dataplane.RestoreCiliumConfig(ctx, s.client, s.det.Cilium.Namespace, "bpf-lb-map-max", prev, had); err != nil {
			t.Errorf("restore bpf-lb-map-max: %v", err)
			return
		}
		if _, err := dataplane.RestoreCilium(ctx, s.client, s.det.Cilium.Namespace, mark, rolloutTimeout); err != nil {
			t.Errorf("roll the Cilium agents out with bpf-lb-map-max restored: %v", err)
			return
		}
		t.Logf("bpf-lb-map-max restored (%q) and the agents rolled out", prev)
	})
	if _, err := dataplane.RestartCilium(ctx, s.client, s.det.Cilium.Namespace, rolloutTimeout); err != nil {
		t.Fatal(err)
	}
	if s.det, err = detect(ctx, s.run); err != nil {
		t.Fatal(err)
	}
	s.guardWith(ctx, t, s.det)
	if _, err := s.answers(ctx, s.fortioIP, time.Minute); err != nil {
		t.Fatal(err)
	}
	done()
	// Verified: every agent's map now holds the peak.
	plans, err = s.lbMapPlans(ctx, maxSvc+len(s.cfg.SvcScaleSteps)+2)
	if err != nil {
		t.Fatal(err)
	}
	for node, p := range plans {
		if !p.Fits() {
			t.Fatalf("node %s: bpf-lb-map-max=%d was rolled out, yet %s", node, need, p)
		}
	}
}

// lbMapPlans sizes every node's Service map for add more Services.
func (s *serviceScale) lbMapPlans(ctx context.Context, add int) (map[string]dataplane.LBMapPlan, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	maps, err := dataplane.ReadCiliumBPFMaps(ctx, s.exec, s.det.Cilium)
	if err != nil {
		return nil, fmt.Errorf("read the Cilium agents' BPF maps: %w", err)
	}
	plans := map[string]dataplane.LBMapPlan{}
	for node, pod := range s.det.Cilium.Pods {
		b, err := podexec.Output(ctx, s.exec, podexec.Target{Namespace: s.det.Cilium.Namespace, Pod: pod, Container: "cilium-agent"},
			"cilium-dbg", "service", "list", "-o", "json")
		if err != nil {
			return nil, fmt.Errorf("node %s: %w", node, err)
		}
		fes, err := dataplane.CiliumServices(b)
		if err != nil {
			return nil, fmt.Errorf("node %s: %w", node, err)
		}
		i := slices.IndexFunc(maps[node], func(m bpfmaps.Map) bool { return m.Name == dataplane.LBServiceMap })
		if i < 0 {
			return nil, fmt.Errorf("node %s: the agent pinned no %s", node, dataplane.LBServiceMap)
		}
		m := maps[node][i]
		if plans[node], err = dataplane.PlanLBMap(m.MaxEntries, m.Entries, fes, add, s.cfg.SvcEndpoints); err != nil {
			return nil, fmt.Errorf("node %s: %w", node, err)
		}
	}
	return plans, nil
}
