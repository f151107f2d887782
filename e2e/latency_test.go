package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"kube-netbench/fixtures"
	"kube-netbench/internal/bench"
	"kube-netbench/internal/kube"
	"kube-netbench/internal/podexec"
	"kube-netbench/internal/report"
	"kube-netbench/internal/stats"
	"kube-netbench/internal/tools/fortio"
	"kube-netbench/internal/tools/netperf"
)

// latencySeries are one test's per-round percentiles, in seconds, and its
// per-round rate (transactions or requests per second).
type latencySeries struct {
	tool          string
	percentiles   []string // "p50", "p90", ...
	perRound      map[string][]float64
	rate          []float64
	rateUnit      string
	failed        int
	resolution    time.Duration // fortio's histogram resolution
	serverVersion string
}

func newSeries(tool, rateUnit string, pcts ...string) *latencySeries {
	return &latencySeries{tool: tool, rateUnit: rateUnit, percentiles: pcts, perRound: map[string][]float64{}}
}

// HTTPQPS and HTTPConnections are the seed's fixed-rate HTTP latency load
// (spec §6): 1000 QPS over 16 connections through the Service.
const (
	HTTPQPS         = 1000
	HTTPConnections = 16
)

// latencyDim measures TCP request/response latency with netperf (TCP_RR and
// TCP_CRR, 1-byte request and response, to the server pod, as the seed) and
// HTTP latency at a fixed 1000 QPS through the Service with fortio at 10 µs
// histogram resolution, in interleaved rounds.
type latencyDim struct {
	*dimension
	netperfIP, svcIP string
	// netperfMissing says why netperf cannot run on this cluster ("" when
	// it can): its sub-tests are then skipped with that reason.
	netperfMissing string
	rr, crr, http  *latencySeries
	fortioVersion  string
}

func TestLatency(t *testing.T) {
	l := &latencyDim{dimension: newDimension(t, report.DimLatency),
		rr:   newSeries("netperf", "trans/s", "p50", "p90", "p99"),
		crr:  newSeries("netperf", "trans/s", "p50", "p90", "p99"),
		http: newSeries("fortio", "req/s", "p50", "p90", "p99", "p99.9")}
	l.test(t, feature{title: "latency", setup: l.setup, assess: []step{
		{"interleaved rounds: netperf TCP_RR and TCP_CRR to the server pod, HTTP at 1000 QPS through the Service", l.measure},
		{"TCP_RR and TCP_CRR percentiles with netperf", l.assessNetperf},
		{"HTTP percentiles at 1000 QPS resolved in microseconds", l.assessHTTP},
	}})
}

func (l *latencyDim) setup(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
	l.start(ctx, t, cfg)
	defer l.progress.To(t).Phase("setup: netperf and fortio servers and clients")()
	for _, p := range []*corev1.Pod{
		fixtures.NetperfServer(l.ns, "netperf-server", l.id, l.nodes[0].Name, l.workload(t)),
		fixtures.NetperfClient(l.ns, "netperf-client", l.id, l.nodes[1].Name, l.workload(t)),
	} {
		if _, err := l.client.CoreV1().Pods(l.ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	_, l.svcIP = fortioPair(ctx, t, l.run)
	t.Cleanup(func() { l.writeResults(t) })
	// netperf's image may be unavailable (not mirrored in an air-gapped
	// registry): its tests are then skipped with the reason, HTTP still runs.
	if _, err := kube.WaitFor(ctx, "netperf pods Ready", 2*time.Minute, kube.PodsReady(l.client, l.ns, "netperf-server", "netperf-client")); err != nil {
		l.netperfMissing = fmt.Sprintf("netperf pods (image %s) did not become Ready: %v", fixtures.NetperfImage, err)
		t.Logf("netperf cannot run: %s", l.netperfMissing)
		return ctx
	}
	server, err := l.client.CoreV1().Pods(l.ns).Get(ctx, "netperf-server", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	l.netperfIP = server.Status.PodIP
	ectx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	// "Netperf version 2.7.0" -> "2.7.0"
	if out, err := podexec.Output(ectx, l.exec, podTarget(l.ns, "netperf-client", "netperf"), "netperf", "-V"); err == nil {
		if f := strings.Fields(string(out)); len(f) > 0 {
			l.rr.serverVersion = f[len(f)-1]
			l.crr.serverVersion = f[len(f)-1]
		}
	} else {
		t.Logf("netperf -V: %v (the version is not recorded)", err)
	}
	return ctx
}

// measure runs ROUNDS rounds of TCP_RR, TCP_CRR and HTTP, the order
// reversed every other round. Before each TCP_CRR round both ends' TIME_WAIT
// sockets drain (every transaction is a new connection, W-STAT-9).
func (l *latencyDim) measure(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	p := l.progress.To(t)
	type step struct {
		name   string
		series *latencySeries
		run    measurement
	}
	var steps []step
	if l.netperfMissing == "" {
		steps = append(steps, step{"netperf TCP_RR", l.rr, func(ctx context.Context) (func(), error) { return l.netperf(ctx, t, netperf.TCPRR, l.rr) }},
			step{"netperf TCP_CRR", l.crr, func(ctx context.Context) (func(), error) { return l.netperf(ctx, t, netperf.TCPCRR, l.crr) }})
	}
	steps = append(steps, step{"HTTP at 1000 QPS", l.http, func(ctx context.Context) (func(), error) { return l.httpRound(ctx, t) }})
	for round := 1; round <= l.cfg.Rounds; round++ {
		for _, s := range abba(steps, round) {
			if !l.measureRound(ctx, t, l.outcome, round, s.name, func(ctx context.Context) (func(), error) {
				defer p.Phase("round %d of %d: %s", round, l.cfg.Rounds, s.name)()
				return s.run(ctx)
			}) {
				s.series.failed++
			}
		}
	}
	return ctx
}

func (l *latencyDim) netperf(ctx context.Context, t *testing.T, typ netperf.Type, s *latencySeries) (func(), error) {
	if typ == netperf.TCPCRR {
		for _, pod := range []string{"netperf-client", "netperf-server"} {
			wait, tw, err := l.drainTimeWait(ctx, pod)
			if err != nil {
				return nil, err
			}
			t.Logf("%s TIME_WAIT %d after waiting %s", pod, tw, wait.Round(time.Millisecond))
		}
	}
	d := l.cfg.FortioDuration.Truncate(time.Second)
	test := netperf.Test{Type: typ, Host: l.netperfIP, Port: fixtures.NetperfPort, Duration: d, RequestSize: 1, ResponseSize: 1}
	res, err := bench.Netperf(ctx, l.exec, podTarget(l.ns, "netperf-client", "netperf"), test, l.cfg.ExecTimeout(d))
	if err != nil {
		return nil, err
	}
	return func() {
		us := func(v float64) float64 { return v / 1e6 }
		s.perRound["p50"] = append(s.perRound["p50"], us(res.Latency.P50))
		s.perRound["p90"] = append(s.perRound["p90"], us(res.Latency.P90))
		s.perRound["p99"] = append(s.perRound["p99"], us(res.Latency.P99))
		s.rate = append(s.rate, res.TransactionsPerSecond)
		t.Logf("%s: p50 %.0fµs p90 %.0fµs p99 %.0fµs, %.0f trans/s", typ, res.Latency.P50, res.Latency.P90, res.Latency.P99, res.TransactionsPerSecond)
	}, nil
}

func (l *latencyDim) httpRound(ctx context.Context, t *testing.T) (func(), error) {
	url := fmt.Sprintf("http://%s:%d/echo?size=512", l.svcIP, fixtures.FortioHTTPPort)
	load := fortio.Load{URL: url, QPS: HTTPQPS, Connections: HTTPConnections, Duration: l.cfg.FortioDuration, Keepalive: true}
	margin := l.cfg.ExecTimeout(l.cfg.FortioDuration) - l.cfg.FortioDuration
	res, _, err := bench.Fortio(ctx, l.exec, podTarget(l.ns, "fortio-client", "fortio"), load, margin)
	if err != nil {
		return nil, err
	}
	values := make([]float64, len(l.http.percentiles))
	for i, name := range l.http.percentiles {
		v, ok := res.Latency.Percentile(pctValue(name))
		if !ok {
			return nil, fmt.Errorf("fortio reported no %s (percentiles %v)", name, res.Latency.Percentiles)
		}
		values[i] = v
	}
	return func() {
		l.fortioVersion, l.http.resolution = res.Version, res.Resolution
		var line []string
		for i, name := range l.http.percentiles {
			l.http.perRound[name] = append(l.http.perRound[name], values[i])
			line = append(line, name+" "+seconds(values[i]))
		}
		l.http.rate = append(l.http.rate, res.ActualQPS)
		t.Logf("HTTP at %d QPS: %s (%.0f req/s, resolution %s)", HTTPQPS, strings.Join(line, ", "), res.ActualQPS, res.Resolution)
	}, nil
}

// pctValue turns "p99.9" into 99.9 (names are this file's constants).
func pctValue(name string) float64 {
	v, err := strconv.ParseFloat(strings.TrimPrefix(name, "p"), 64)
	if err != nil {
		panic(fmt.Sprintf("percentile name %q: %v", name, err))
	}
	return v
}

func (l *latencyDim) assessNetperf(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	if l.netperfMissing != "" {
		l.partSkipf(t, "netperf cannot run on this cluster, TCP_RR/TCP_CRR not measured: %s", l.netperfMissing)
	}
	for _, s := range []struct {
		name string
		*latencySeries
	}{{"TCP_RR", l.rr}, {"TCP_CRR", l.crr}} {
		l.checkSeries(t, s.name, s.latencySeries)
	}
	return ctx
}

// checkSeries reports each percentile as the median of its per-round
// values with an interval (never an average, W-STAT-2) and checks that the
// percentiles are ordered and every round gave a sample.
func (l *latencyDim) checkSeries(t *testing.T, name string, s *latencySeries) {
	t.Helper()
	if s.failed > 0 || len(s.rate) != l.cfg.Rounds {
		t.Errorf("%s: %d of %d rounds gave a sample (%d failed)", name, len(s.rate), l.cfg.Rounds, s.failed)
	}
	if len(s.rate) == 0 {
		return
	}
	var prev float64
	for _, pc := range s.percentiles {
		sm, err := stats.PercentileAcrossRounds(s.perRound[pc], stats.DefaultConfidence)
		if err != nil {
			t.Errorf("%s %s: %v", name, pc, err)
			continue
		}
		if sm.Bounded() {
			t.Logf("%s %s (%s): median of %d rounds %s [%.0f %% CI %s, %s]", name, pc, s.tool, sm.N, seconds(sm.Center), sm.Confidence*100, seconds(sm.Lo), seconds(sm.Hi))
		} else {
			t.Logf("%s %s (%s): median of %d rounds %s (no interval: %v)", name, pc, s.tool, sm.N, seconds(sm.Center), sm.Warnings)
		}
		if sm.Center < prev {
			t.Errorf("%s: %s %s is below the previous percentile %s", name, pc, seconds(sm.Center), seconds(prev))
		}
		prev = sm.Center
	}
}

// assessHTTP checks the HTTP series and that its percentiles are resolved
// in microseconds: fortio's histogram at 10 µs, not its 1 ms default whose
// first bucket edge gave the seed "0.99 ms on all three clusters" (W-BUG-3,
// W-STAT-4), and that no round's p50 sits on a millisecond bucket edge.
// These hold whatever the machine's load. The p50 level itself is a
// benchmark figure: it is reported, and judged against the profile's
// latency.httpP50Ms only with an interval (6+ rounds, make bench), never
// on a millisecond edge from CI's two rounds on a shared 2-core machine.
func (l *latencyDim) assessHTTP(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	l.checkSeries(t, "HTTP at 1000 QPS", l.http)
	if len(l.http.rate) == 0 {
		t.Fatal("no HTTP round gave a sample")
	}
	if l.http.resolution <= 0 || l.http.resolution > fortio.DefaultResolution {
		t.Errorf("fortio's histogram resolution was %s, want at most %s", l.http.resolution, fortio.DefaultResolution)
	}
	p50 := l.http.perRound["p50"]
	ms := make([]float64, len(p50))
	for i, v := range p50 {
		ms[i] = v * 1e3
	}
	if sm, err := stats.PercentileAcrossRounds(ms, stats.DefaultConfidence); err != nil {
		t.Errorf("HTTP p50: %v", err)
	} else if b := l.profile.Bound(&l.profile.Latency.HTTPP50Ms); b == nil {
		t.Logf("HTTP p50, median of %d rounds: %.3f ms (reported only: no bound in the profile)", sm.N, sm.Center)
	} else {
		bb := *b
		bb.Metric = "HTTP p50 at 1000 QPS through the Service"
		reportVerdict(t, bb.CheckLevel(sm, "ms"))
	}
	for i, v := range p50 {
		if edge := v / 1e-3; v >= 1e-3 && edge == float64(int(edge)) {
			t.Errorf("round %d: HTTP p50 %s sits exactly on a millisecond edge: a histogram bucket, not a measurement", i+1, seconds(v))
		}
	}
	return ctx
}

// writeResults records each series: rate and per-round percentiles.
func (l *latencyDim) writeResults(t *testing.T) {
	l.tools = []report.Tool{{Name: "fortio", Image: fixtures.FortioImage, Version: l.fortioVersion}}
	if l.netperfMissing == "" {
		l.tools = append(l.tools, report.Tool{Name: "netperf", Image: fixtures.NetperfImage, Version: l.rr.serverVersion})
	}
	for _, s := range []struct {
		label, test, target string
		*latencySeries
	}{{"netperf TCP_RR", "TCP_RR", "pod", l.rr}, {"netperf TCP_CRR", "TCP_CRR", "pod", l.crr}, {"HTTP at 1000 QPS", "HTTP-1000qps", "svc", l.http}} {
		keys := []report.KV{{Key: "test", Value: s.test}, {Key: "target", Value: s.target}, {Key: "tool", Value: s.tool}}
		if len(s.rate) == 0 {
			l.addCase(s.label, "Latency", keys)
			continue
		}
		rate, err := report.NewMetric(s.rateUnit, report.HigherIsBetter, s.rate, stats.DefaultConfidence)
		if err != nil {
			t.Errorf("%s: %v", s.test, err)
			continue
		}
		metrics := []report.Metric{rate}
		for _, pc := range s.percentiles {
			m, err := percentileMetric(pc+"-sec", s.perRound[pc])
			if err != nil {
				t.Errorf("%s %s: %v", s.test, pc, err)
				continue
			}
			metrics = append(metrics, m)
		}
		l.addCase(s.label, "Latency", keys, metrics...)
	}
	if len(l.results) == 0 {
		return
	}
	l.write(t)
}
