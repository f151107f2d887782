package e2e

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"kube-netbench/fixtures"
	"kube-netbench/internal/dataplane"
	"kube-netbench/internal/kube"
	"kube-netbench/internal/podexec"
	"kube-netbench/internal/progress"
	"kube-netbench/internal/scale"
	"kube-netbench/internal/scaleresult"
	"kube-netbench/internal/tools/fortio"
)

// step grows the dummy Services to n, waits until every node's dataplane
// programmed them and a fresh canary Service answers, then measures ROUNDS
// rounds of saturating keepalive and short-connection fortio runs, short
// connections at a fixed rate and netperf TCP_CRR (measure).
func (s *serviceScale) step(n int) features.Func {
	return func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
		s.measureStep(ctx, t, &scaleresult.Step{Services: n})
		return ctx
	}
}

// closingBaseline deletes every dummy Service, waits until every node
// removed them, and measures the 0-Service baseline again: the difference
// between the two baselines is the drift of the machine over the run, which
// the step-to-baseline changes cannot tell from an effect of the Services
// (W-STAT-3: the baseline is early, the large steps much later).
func (s *serviceScale) closingBaseline(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	done := s.progress.To(t).Phase("deleting the %d dummy Services for the closing baseline", s.prev)
	st, err := scale.Delete(ctx, s.creator.Client, s.plan.RunID)
	done()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("dummy Services deleted: %d namespaces in %s", st.Namespaces, st.Wall.Round(time.Millisecond))
	s.prev = 0
	s.measureStep(ctx, t, &scaleresult.Step{Services: 0, Closing: true})
	return ctx
}

// measureStep grows (or finds shrunk) the dummy Services to st.Services,
// waits for programming and measures the step.
func (s *serviceScale) measureStep(ctx context.Context, t *testing.T, st *scaleresult.Step) {
	{
		n := st.Services
		s.steps = append(s.steps, st)
		p := s.progress.To(t)
		if n > s.prev {
			done := p.Phase("%d Services: creating %d Services with their EndpointSlices", n, n-s.prev)
			stats, err := s.creator.Grow(ctx, s.plan, s.prev, n)
			if err != nil {
				t.Fatalf("create dummy Services %d..%d: %v", s.prev, n, err)
			}
			st.CreateRate = stats.ServicesPerSec
			t.Logf("created %d Services with their EndpointSlices in %s: %.1f Services/s (p50 %s, p99 %s per Service POST)",
				stats.Services, stats.Wall.Round(time.Millisecond), stats.ServicesPerSec, stats.ServiceLatency.P50, stats.ServiceLatency.P99)
			if err := s.creator.Verify(ctx, s.plan, n); err != nil {
				t.Fatal(err)
			}
			s.prev = n
			s.peak = max(s.peak, n)
			done()
		}
		// Programming: every node holds every ClusterIP (W-SYNC-1). On two
		// cores iptables mode needs minutes for 10,000 Services: the timeout
		// grows with the step.
		own, err := s.ownClusterIPs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		gone := slices.DeleteFunc(slices.Clone(s.own), func(ip string) bool { return slices.Contains(own, ip) })
		s.own = own
		timeout := 2*time.Minute + time.Duration(max(n, s.peak))*40*time.Millisecond
		var last []dataplane.Programmed
		done := p.Phase("%d Services: waiting until every node programmed the run's %d ClusterIPs and removed %d deleted ones (timeout %s)", n, len(own), len(gone), timeout)
		took, err := kube.WaitEvery(ctx, fmt.Sprintf("every node programmed the run's %d ClusterIPs, none of %d deleted", len(own), len(gone)), timeout, 2*time.Second,
			func(ctx context.Context) (bool, string, error) {
				prog, err := s.programmed(ctx, append(slices.Clone(own), gone...))
				if err != nil {
					return false, err.Error(), nil
				}
				last = prog
				ok, status := dataplane.Converged(prog, own, gone)
				return ok, status, nil
			})
		if err != nil {
			t.Fatal(err)
		}
		done()
		st.Programming = took
		st.Position, st.ClusterIPs = map[string]int{}, map[string]int{}
		for _, p := range last {
			st.Position[p.Node], st.ClusterIPs[p.Node] = p.Position[s.fortioIP], p.ClusterIPs
		}
		canary, err := s.client.CoreV1().Services(s.ns).Create(ctx,
			fixtures.ClusterIPService(s.ns, fmt.Sprintf("canary-%d", s.canaries), s.id, "fortio-server", fixtures.FortioHTTPPort), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s.canaries++
		if st.CanaryAnswer, err = s.answers(ctx, canary.Spec.ClusterIP, timeout); err != nil {
			t.Fatal(err)
		}
		if s.det.Cilium != nil {
			// W-BUG-8: the BPF maps at every step, on every node.
			bctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			st.BPFMaps, err = dataplane.ReadCiliumBPFMaps(bctx, s.exec, s.det.Cilium)
			cancel()
			if err != nil {
				t.Fatalf("%d Services: read the Cilium agents' BPF maps: %v", n, err)
			}
		}
		client := s.nodes[1].Name
		where := fmt.Sprintf("the fortio Service is entry %d of %d (all nodes: %v)", st.Position[client], st.ClusterIPs[client], st.Position)
		if s.det.ServiceAgent() == "cilium" {
			where = fmt.Sprintf("Cilium's service table holds %d ClusterIPs, looked up by hash (no position)", st.ClusterIPs[client])
		}
		t.Logf("%d Services: programmed on %v after %s (the seed slept a fixed 80-180 s); a new Service answered after %s; "+
			"on the client's node %s, where its packets are DNATed, %s",
			n, nodeNames(last), took.Round(time.Millisecond), st.CanaryAnswer.Round(time.Millisecond), client, where)
		s.waitQuiet(ctx, t, fmt.Sprintf("the rounds at %d Services", n))
		s.measure(ctx, t, p, st)
	}
}

// measure runs ROUNDS rounds, each in the same order: TIME_WAIT drain,
// short connections at the fixed rate SVC_SCALE_QPS, saturating short
// connections, saturating keepalive, then netperf TCP_CRR through its
// Service. The fixed-rate run leaves fewer TIME_WAIT sockets than the
// drain allows (config.TimeWaitDrainBelow bounds SVC_SCALE_QPS ×
// FORTIO_DURATION), so the saturating short run after it starts from the
// same state in every round and step without a second drain (W-STAT-9).
// A run with any failed call, or a fixed rate not held, is not a sample:
// it fails the step and is counted (W-BUG-4).
func (s *serviceScale) measure(ctx context.Context, t *testing.T, p *progress.Tracker, st *scaleresult.Step) {
	url := fmt.Sprintf("http://%s:%d/echo?size=512", s.fortioIP, fixtures.FortioHTTPPort)
	margin := s.cfg.ExecTimeout(s.cfg.FortioDuration) - s.cfg.FortioDuration
	for r := 1; r <= s.cfg.Rounds; r++ {
		p.Note("%d Services: round %d of %d", st.Services, r, s.cfg.Rounds)
		drained := false
		s.measureRound(ctx, t, s.outcome, r, stepLabel(st, connFixed), func(ctx context.Context) (func(), error) {
			if err := s.drainBeforeShort(ctx, t, r, st); err != nil {
				return nil, err
			}
			drained = true
			return s.fixedRate(ctx, t, url, margin, st)
		})
		s.measureRound(ctx, t, s.outcome, r, stepLabel(st, connShort), func(ctx context.Context) (func(), error) {
			if !drained {
				if err := s.drainBeforeShort(ctx, t, r, st); err != nil {
					return nil, err
				}
			}
			return s.saturatingShort(ctx, t, url, margin, st)
		})
		s.measureRound(ctx, t, s.outcome, r, stepLabel(st, connKeepalive), func(ctx context.Context) (func(), error) {
			l := fortio.Load{URL: url, Connections: s.cfg.FortioConnections, Duration: s.cfg.FortioDuration, Keepalive: true}
			res, busy, err := s.fortioLoad(ctx, l, margin)
			if err != nil {
				st.Failed++
				return nil, err
			}
			return func() {
				s.fortioVersion = res.Version
				st.Keepalive, st.CPUBusyKeepalive = append(st.Keepalive, res.ActualQPS), append(st.CPUBusyKeepalive, busy)
			}, nil
		})
		if s.netperfMissing == "" {
			s.measureRound(ctx, t, s.outcome, r, stepLabel(st, connCRR), func(ctx context.Context) (func(), error) {
				return s.crr(ctx, t, st)
			})
		}
	}
	t.Logf("%d Services: keepalive req/s %v; short-connection req/s %v; TCP_CRR trans/s %v", st.Services, rounded(st.Keepalive), rounded(st.Short), rounded(st.CRR))
}

// drainBeforeShort waits for the fortio server's TIME_WAIT to drain and
// records the wait, the count it ended at and the conntrack entries on the
// client's node, before a round's short-connection runs.
func (s *serviceScale) drainBeforeShort(ctx context.Context, t *testing.T, r int, st *scaleresult.Step) error {
	wait, tw, err := s.drainTimeWait(ctx, "fortio-server")
	if err != nil {
		return err
	}
	st.DrainWaits, st.TimeWait = append(st.DrainWaits, wait), append(st.TimeWait, tw)
	ct := s.conntrackCount(ctx)
	st.Conntrack = append(st.Conntrack, ct)
	t.Logf("round %d: server TIME_WAIT %d after waiting %s; conntrack entries on the client's node %d",
		r, tw, wait.Round(time.Millisecond), ct)
	return nil
}

// The kinds of run of a round, as failed samples and results name them.
const (
	connKeepalive = "keepalive"
	connShort     = "short"
	connFixed     = "short-fixed"
	connCRR       = "crr"
)

// stepLabel names a step's kind of run in failed samples: "3000
// Services, short", "0-closing Services, keepalive".
func stepLabel(st *scaleresult.Step, conn string) string {
	return stepSvc(st) + " Services, " + conn
}

// stepSvc is a step's svc key: its Service count, the closing baseline
// marked as its own row (benchstat must not pool it with the first).
func stepSvc(st *scaleresult.Step) string {
	svc := strconv.Itoa(st.Services)
	if st.Closing {
		svc += "-closing"
	}
	return svc
}

func rounded(v []float64) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x + 0.5)
	}
	return out
}

// conntrackCount reads the number of conntrack entries on the client's node
// (where its connections are DNATed) from /proc/sys/net in the node's
// network namespace, through the run's hostNetwork busybox probe on that
// node (kube-proxy's image has no conntrack binary); -1 when it cannot be
// read (recorded, not fatal: the count describes the sample, it does not
// decide it), and with Cilium, whose connection tracking is its own BPF map,
// not netfilter's.
func (s *serviceScale) conntrackCount(ctx context.Context) int {
	if s.det.KubeProxy == nil {
		return -1
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out, err := podexec.Output(ctx, s.exec, podTarget(s.hostNS, nodeProbePod, fixtures.NodeProbeContainer), "cat", fixtures.ConntrackCountPath)
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		return -1
	}
	return n
}
