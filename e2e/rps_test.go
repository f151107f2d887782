package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"kube-netbench/fixtures"
	"kube-netbench/internal/bench"
	"kube-netbench/internal/kube"
	"kube-netbench/internal/report"
	"kube-netbench/internal/stats"
	"kube-netbench/internal/tools/fortio"
)

// rpsCase is one HTTP load: target (pod IP or ClusterIP), connections and
// connection mode, as the seed's four RPS loops (spec §5).
type rpsCase struct {
	target    string // "pod" or "svc"
	conns     int
	keepalive bool
}

func (c rpsCase) conn() string {
	if c.keepalive {
		return "keepalive"
	}
	return "short"
}

func (c rpsCase) String() string { return fmt.Sprintf("%s c%d %s", c.target, c.conns, c.conn()) }

// rpsSamples are one case's per-round values.
type rpsSamples struct {
	QPS      []float64 `json:"req_per_s"`
	P50, P99 []float64 `json:"-"`
	// ClientCPUBusy is the client node's busy CPU share during each round
	// (-1: unreadable); Saturated counts rounds at or above
	// bench.SaturationThreshold: the load generator may have been the
	// bottleneck.
	ClientCPUBusy []float64 `json:"client_node_cpu_busy"`
	Saturated     int       `json:"saturated_rounds"`
	Failed        int       `json:"failed_rounds"`
	// Rounds are the rounds that gave the samples, to pair cases by round.
	Rounds     []int     `json:"rounds"`
	DrainWaits []float64 `json:"drain_wait_s,omitempty"`
}

// rps measures HTTP requests per second with fortio: pod to pod and through
// a ClusterIP Service, keepalive at 64 and 256 connections and short
// connections at 64, in interleaved rounds.
type rps struct {
	*dimension
	podIP, svcIP  string
	cases         []rpsCase
	samples       map[rpsCase]*rpsSamples
	fortioVersion string
}

func TestRPS(t *testing.T) {
	r := &rps{dimension: newDimension(t, report.DimRPS),
		cases: []rpsCase{{"pod", 64, true}, {"svc", 64, true}, {"svc", 256, true}, {"svc", 64, false}}}
	r.test(t, feature{title: "http rps", setup: r.setup, assess: []step{
		{"interleaved rounds: pod and Service, keepalive c64 and c256, short c64, every call a 200", r.measure},
		{"keepalive req/s through the Service against pod to pod", r.judgeService},
		{"a server answering errors fails the sample, naming the codes and their counts", r.errorsFail},
	}})
}

func (r *rps) setup(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
	r.start(ctx, t, cfg)
	defer r.progress.To(t).Phase("setup: fortio server and client, Service")()
	r.samples = perCase[rpsCase, rpsSamples](r.cases)
	r.podIP, r.svcIP = fortioPair(ctx, t, r.run)
	// Written when the feature ends, also after a failed assessment.
	t.Cleanup(func() { r.writeResults(t) })
	return ctx
}

// fortioPair starts a fortio server on the first node and a client on the
// second, a ClusterIP Service in front of the server, and proves both paths
// with a functional request; it returns the server's pod IP and the
// Service's ClusterIP.
func fortioPair(ctx context.Context, t *testing.T, r *run) (podIP, svcIP string) {
	t.Helper()
	for _, p := range []*corev1.Pod{
		fixtures.FortioServer(r.ns, "fortio-server", r.id, r.nodes[0].Name, r.workload(t)),
		fixtures.FortioClient(r.ns, "fortio-client", r.id, r.nodes[1].Name, r.workload(t)),
	} {
		if _, err := r.client.CoreV1().Pods(r.ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	svc, err := r.client.CoreV1().Services(r.ns).Create(ctx,
		fixtures.ClusterIPService(r.ns, "fortio", r.id, "fortio-server", fixtures.FortioHTTPPort), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kube.WaitFor(ctx, "fortio pods Ready", 2*time.Minute, kube.PodsReady(r.client, r.ns, "fortio-server", "fortio-client")); err != nil {
		t.Fatal(err)
	}
	server, err := r.client.CoreV1().Pods(r.ns).Get(ctx, "fortio-server", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ip := range []string{server.Status.PodIP, svc.Spec.ClusterIP} {
		if took, err := r.answers(ctx, ip, time.Minute); err != nil {
			t.Fatal(err)
		} else {
			t.Logf("%s answers through the dataplane (after %s)", ip, took.Round(time.Millisecond))
		}
	}
	return server.Status.PodIP, svc.Spec.ClusterIP
}

func (r *rps) url(c rpsCase) string {
	ip := r.podIP
	if c.target == "svc" {
		ip = r.svcIP
	}
	return fmt.Sprintf("http://%s:%d/echo?size=512", ip, fixtures.FortioHTTPPort)
}

// measure runs ROUNDS rounds of every case, in ABBA order (odd rounds in
// the listed order, even rounds reversed) so that drift hits pod and
// Service alike. A short-connection run starts only once the server's
// TIME_WAIT drained (W-STAT-9). A run with any non-200 code or socket error
// is not a sample: it fails the test and is counted (W-BUG-4).
func (r *rps) measure(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	p := r.progress.To(t)
	margin := r.cfg.ExecTimeout(r.cfg.FortioDuration) - r.cfg.FortioDuration
	for round := 1; round <= r.cfg.Rounds; round++ {
		for _, c := range abba(r.cases, round) {
			s := r.samples[c]
			if !r.measureRound(ctx, t, r.outcome, round, c.String(), func(ctx context.Context) (func(), error) {
				if !c.keepalive {
					wait, tw, err := r.drainTimeWait(ctx, "fortio-server")
					if err != nil {
						return nil, err
					}
					s.DrainWaits = append(s.DrainWaits, wait.Seconds())
					t.Logf("round %d, %s: server TIME_WAIT %d after waiting %s", round, c, tw, wait.Round(time.Millisecond))
				}
				done := p.Phase("round %d of %d: %s", round, r.cfg.Rounds, c)
				l := fortio.Load{URL: r.url(c), Connections: c.conns, Duration: r.cfg.FortioDuration, Keepalive: c.keepalive}
				res, busy, err := r.fortioLoad(ctx, l, margin)
				done()
				return func() { r.keep(t, round, c, res, busy) }, err
			}) {
				s.Failed++
			}
		}
	}
	for _, c := range r.cases {
		if s := r.samples[c]; s.Saturated > 0 {
			t.Logf("%s: the client's node was at least %.0f %% busy in %d of %d rounds: these req/s may measure the load generator, not the dataplane",
				c, bench.SaturationThreshold*100, s.Saturated, len(s.QPS))
		}
	}
	return ctx
}

// keep records a round's sample of case c.
func (r *rps) keep(t *testing.T, round int, c rpsCase, res fortio.Result, busy float64) {
	s := r.samples[c]
	r.fortioVersion = res.Version
	s.QPS, s.Rounds = append(s.QPS, res.ActualQPS), append(s.Rounds, round)
	p50, _ := res.Latency.Percentile(50)
	p99, _ := res.Latency.Percentile(99)
	s.P50, s.P99 = append(s.P50, p50), append(s.P99, p99)
	s.ClientCPUBusy = append(s.ClientCPUBusy, busy)
	sat := ""
	if busy >= bench.SaturationThreshold {
		s.Saturated++
		sat = " (saturated: the load generator may be the bottleneck)"
	}
	t.Logf("round %d, %s: %.0f req/s, p50 %s, p99 %s, %d calls all 200; client node CPU %.0f %% busy%s",
		round, c, res.ActualQPS, seconds(p50), seconds(p99), res.Requests, busy*100, sat)
}

// judgeService compares keepalive c64 through the Service with pod to pod,
// pair by pair (the rounds ran them back to back), against the profile's
// bound.
func (r *rps) judgeService(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	pod, svc := r.samples[r.cases[0]], r.samples[r.cases[1]]
	podQPS, svcQPS := byRound(pod.Rounds, pod.QPS, svc.Rounds, svc.QPS)
	judgePaired(t, podQPS, svcQPS, r.profile.Bound(&r.profile.Datapath.ServiceVsPodKeepaliveRPSPct), "keepalive c64 req/s, Service vs pod")
	return ctx
}

// judge checks c against b and reports the verdict: a violated bound fails
// the test, an inconclusive one is logged with the reason.
func judge(t *testing.T, b *stats.Bound, metric string, c stats.Comparison) {
	t.Helper()
	if b == nil {
		t.Logf("%s: reported only (no bound in the profile)", metric)
		return
	}
	bb := *b
	bb.Metric = metric
	reportVerdict(t, bb.Check(c))
}

// reportVerdict fails the test on a violated bound and logs the others.
func reportVerdict(t *testing.T, v stats.Verdict) {
	t.Helper()
	switch v.Outcome {
	case stats.Fail:
		t.Error(v.Message)
	case stats.Inconclusive:
		t.Logf("inconclusive (measure more rounds): %s", v.Message)
	default:
		t.Log(v.Message)
	}
}

var codeCount = regexp.MustCompile(`503: (\d+)`)

// errorsFail proves that a run whose calls fail is not a sample: fortio's
// echo server answers a quarter of the calls with 503, and the run must
// fail with a message naming the code and its count (W-BUG-4: the seed
// read only ActualQPS, which counts failed calls too).
func (r *rps) errorsFail(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	url := fmt.Sprintf("http://%s:%d/echo?status=503:25", r.podIP, fixtures.FortioHTTPPort)
	l := fortio.Load{URL: url, Connections: 4, Requests: 400, Keepalive: true}
	res, _, err := bench.Fortio(ctx, r.exec, podTarget(r.ns, "fortio-client", "fortio"), l, time.Minute)
	if err == nil {
		t.Fatalf("a run with 503 answers was accepted as a sample: %+v", res.RetCodes)
	}
	m := codeCount.FindStringSubmatch(err.Error())
	if m == nil {
		t.Fatalf("the error does not name the code 503 with its count: %v", err)
	}
	n, _ := strconv.Atoi(m[1])
	if int64(n) != res.RetCodes["503"] || n == 0 {
		t.Fatalf("the error says %d answers were 503, fortio counted %d: %v", n, res.RetCodes["503"], err)
	}
	t.Logf("rejected as expected: %v", err)
	return ctx
}

// writeResults records every case: req/s, and the per-round p50 and p99
// (each summarized across rounds, never averaged, W-STAT-2), with the
// client CPU and failures in the JSON.
func (r *rps) writeResults(t *testing.T) {
	r.tools = []report.Tool{{Name: "fortio", Image: fixtures.FortioImage, Version: r.fortioVersion}}
	for _, c := range r.cases {
		s := r.samples[c]
		keys := []report.KV{{Key: "target", Value: c.target}, {Key: "conn", Value: c.conn()}, {Key: "c", Value: strconv.Itoa(c.conns)}}
		if len(s.QPS) == 0 {
			r.addCase(c.String(), "RPS", keys)
			continue
		}
		qps, err := report.NewMetric(report.UnitReqPerSec, report.HigherIsBetter, s.QPS, stats.DefaultConfidence)
		if err != nil {
			t.Errorf("%s: %v", c, err)
			continue
		}
		metrics := []report.Metric{qps}
		for _, pc := range []struct {
			unit string
			v    []float64
		}{{"p50-sec", s.P50}, {"p99-sec", s.P99}} {
			m, err := percentileMetric(pc.unit, pc.v)
			if err != nil {
				t.Errorf("%s %s: %v", c, pc.unit, err)
				continue
			}
			metrics = append(metrics, m)
		}
		r.addCase(c.String(), "RPS", keys, metrics...)
		raw, err := json.Marshal(s)
		if err == nil {
			r.results[len(r.results)-1].Raw = raw
		}
	}
	r.write(t)
}

// percentileMetric is a latency percentile's per-round values, summarized
// across rounds (stats.PercentileAcrossRounds), never averaged (W-STAT-2).
func percentileMetric(unit string, perRound []float64) (report.Metric, error) {
	sm, err := stats.PercentileAcrossRounds(perRound, stats.DefaultConfidence)
	if err != nil {
		return report.Metric{}, err
	}
	return report.Metric{Unit: unit, Better: report.LowerIsBetter, Samples: perRound, Summary: sm}, nil
}

// seconds prints a latency in µs below a millisecond.
func seconds(s float64) string {
	d := time.Duration(s * float64(time.Second))
	if d < time.Millisecond {
		return fmt.Sprintf("%.0fµs", s*1e6)
	}
	return d.Round(10 * time.Microsecond).String()
}
