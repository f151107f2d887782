package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kube-netbench/fixtures"
	"kube-netbench/internal/bench"
	"kube-netbench/internal/kube"
	"kube-netbench/internal/podexec"
	"kube-netbench/internal/scaleresult"
	"kube-netbench/internal/tools/fortio"
	"kube-netbench/internal/tools/netperf"
)

// ServiceScale's measures that need no saturated machine (issue 14): the
// latency of new connections at a fixed rate well below saturation, and
// the kernel CPU each new connection costs.

// fixedRateConnections is fortio's -c for the fixed-rate run: a few
// connections share the rate, so one slow handshake does not stall it.
const fixedRateConnections = 2

// crrDuration bounds a TCP_CRR run: at a few thousand connections a
// second, 5 s give p99 from over ten thousand transactions and a kernel
// CPU window of hundreds of ticks, while each connection leaves a
// conntrack entry on the client's node for 120 s (TIME_WAIT) beside the
// saturating short-connection run's.
const crrDuration = 5 * time.Second

// Names of the netperf pods and Service of ServiceScale.
const (
	netperfServerPod = "netperf-server"
	netperfClientPod = "netperf-client"
)

// netperfSetup starts netserver on the server's node, a netperf client on
// the client's node and a ClusterIP Service with netserver's control port
// and the data port TCP_CRR pins. It runs before the run's ClusterIPs are
// first listed, so that every programming wait counts this Service too.
// When the netperf image cannot start, the pods are removed (the guard
// would wait on them before every round) and TCP_CRR is not measured,
// saying why.
func (s *serviceScale) netperfSetup(ctx context.Context, t *testing.T) {
	t.Helper()
	pods := []string{netperfServerPod, netperfClientPod}
	for _, pod := range []*corev1.Pod{
		fixtures.NetperfServer(s.ns, netperfServerPod, s.id, s.nodes[0].Name, s.workload(t)),
		fixtures.NetperfClient(s.ns, netperfClientPod, s.id, s.nodes[1].Name, s.workload(t)),
	} {
		if _, err := s.client.CoreV1().Pods(s.ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	svc, err := s.client.CoreV1().Services(s.ns).Create(ctx, fixtures.NetperfService(s.ns, "netperf", s.id, netperfServerPod), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kube.WaitFor(ctx, "netperf pods Ready", 2*time.Minute, kube.PodsReady(s.client, s.ns, pods...)); err != nil {
		s.netperfMissing = fmt.Sprintf("netperf pods (image %s) did not become Ready: %v", fixtures.NetperfImage, err)
		t.Logf("TCP_CRR through the Service is not measured: %s", s.netperfMissing)
		s.outcome.note("ServiceScale: TCP_CRR not measured: " + s.netperfMissing)
		s.removePods(ctx, t, pods...)
		return
	}
	s.netperfIP = svc.Spec.ClusterIP
	ectx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	// "Netperf version 2.7.0" -> "2.7.0"
	if out, err := podexec.Output(ectx, s.exec, s.target(netperfClientPod, "netperf"), "netperf", "-V"); err == nil {
		if f := strings.Fields(string(out)); len(f) > 0 {
			s.netperfVersion = f[len(f)-1]
		}
	} else {
		t.Logf("netperf -V: %v (the version is not recorded)", err)
	}
	t.Logf("netperf: netserver on %s behind ClusterIP %s (control %d, data %d), client on %s",
		s.nodes[0].Name, s.netperfIP, fixtures.NetperfPort, fixtures.NetperfDataPort, s.nodes[1].Name)
}

// removePods deletes pods of the run and waits until they are gone.
func (s *serviceScale) removePods(ctx context.Context, t *testing.T, pods ...string) {
	t.Helper()
	for _, p := range pods {
		if err := s.client.CoreV1().Pods(s.ns).Delete(ctx, p, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
	}
	if _, err := kube.WaitFor(ctx, "netperf pods gone", 2*time.Minute, func(ctx context.Context) (bool, string, error) {
		for _, p := range pods {
			if _, err := s.client.CoreV1().Pods(s.ns).Get(ctx, p, metav1.GetOptions{}); err == nil {
				return false, p + " still exists", nil
			} else if !apierrors.IsNotFound(err) {
				return false, err.Error(), nil
			}
		}
		return true, "", nil
	}); err != nil {
		t.Fatal(err)
	}
}

// fixedRate runs fortio with short connections at SVC_SCALE_QPS through
// the Service and keeps its p50, p90 and p99. Every request opens a new
// connection, and fortio times the whole call, connect included: its
// periodic runner records time.Since(fStart) around f.Run (periodic.go
// l. 773-795 at fortio v1.66.5, commit 3af89dc91ec8), and for an HTTP
// run f.Run is FastClient.StreamFetch, which dials when it holds no
// socket (fhttp/http_client.go l. 998), as it never does with
// keepalive=false. A run that did not hold the rate is no sample: its
// latencies would describe a queue.
func (s *serviceScale) fixedRate(ctx context.Context, t *testing.T, url string, margin time.Duration, st *scaleresult.Step) (func(), error) {
	l := fortio.Load{URL: url, QPS: s.cfg.SvcScaleQPS, Connections: fixedRateConnections, Duration: s.cfg.FortioDuration}
	res, _, err := bench.Fortio(ctx, s.exec, s.target("fortio-client", "fortio"), l, margin)
	if err == nil {
		err = res.CheckRate(l.QPS)
	}
	if err != nil {
		st.Failed++
		return nil, err
	}
	var v [3]float64
	for i, p := range []float64{50, 90, 99} {
		var ok bool
		if v[i], ok = res.Latency.Percentile(p); !ok {
			st.Failed++
			return nil, fmt.Errorf("fortio reported no p%v (percentiles %v)", p, res.Latency.Percentiles)
		}
	}
	return func() {
		st.FixedRate.Add(v[0], v[1], v[2])
		t.Logf("short connections at %v/s: p50 %s, p90 %s, p99 %s (%.1f req/s)", s.cfg.SvcScaleQPS, seconds(v[0]), seconds(v[1]), seconds(v[2]), res.ActualQPS)
	}, nil
}

// saturatingShort runs the saturating short-connection fortio run with the
// client node's CPU read around it: its busy share, and its kernel CPU
// (system + irq + softirq) per connection made, fortio's SocketCount (its
// connect attempts, fhttp/http_client.go l. 925 at v1.66.5: one per call
// with keepalive=false; a run with a failed call is no sample). The window
// also holds the exec's own cost, small against the tens of thousands of
// connections of a saturating run (W-STAT-6).
func (s *serviceScale) saturatingShort(ctx context.Context, t *testing.T, url string, margin time.Duration, st *scaleresult.Step) (func(), error) {
	l := fortio.Load{URL: url, Connections: s.cfg.FortioConnections, Duration: s.cfg.FortioDuration}
	res, use, err := bench.LoadCPU(ctx, s.exec, s.target("fortio-client", "fortio"), s.target("fortio-client", fixtures.ProbeContainer), l, margin)
	if err != nil {
		st.Failed++
		return nil, err
	}
	return func() {
		s.fortioVersion = res.Version
		st.Short, st.CPUBusyShort = append(st.Short, res.ActualQPS), append(st.CPUBusyShort, use.Busy)
		if us, ok := perConnection(t, "saturating short connections", use, res.Sockets); ok {
			st.KernelPerConnShort = append(st.KernelPerConnShort, us)
		}
	}, nil
}

// crr runs one netperf TCP_CRR through the netserver Service, for
// FORTIO_DURATION in whole seconds up to crrDuration, with the client node's CPU read around
// it. netserver closes each connection first (nettest_omni.c, recv_omni:
// close_data_socket; the client waits for its FIN, disconnect_data_socket
// with initiate 0), so the TIME_WAIT sockets are netserver's: they are
// drained first (W-STAT-9). The round's saturating short-connection run
// needs a full drain of fortio's server before it, so netserver's
// sockets of the previous round have long expired and this drain ends at
// its first reading. netperf's latency spans socket, connect, request,
// response and close (the histogram's start precedes the socket in
// send_omni_inner). Kernel CPU per connection: transactions are
// connections.
func (s *serviceScale) crr(ctx context.Context, t *testing.T, st *scaleresult.Step) (func(), error) {
	wait, tw, err := s.drainTimeWait(ctx, netperfServerPod)
	if err != nil {
		st.Failed++
		return nil, err
	}
	d := min(crrDuration, max(time.Second, s.cfg.FortioDuration.Truncate(time.Second)))
	test := netperf.Test{Type: netperf.TCPCRR, Host: s.netperfIP, Port: fixtures.NetperfPort, DataPort: fixtures.NetperfDataPort,
		Duration: d, RequestSize: 1, ResponseSize: 1}
	res, use, err := bench.WithCPU(ctx, s.exec, s.target(netperfClientPod, fixtures.ProbeContainer), func(ctx context.Context) (netperf.Result, error) {
		return bench.Netperf(ctx, s.exec, s.target(netperfClientPod, "netperf"), test, s.cfg.ExecTimeout(d))
	})
	if err != nil {
		st.Failed++
		return nil, err
	}
	return func() {
		us := func(v float64) float64 { return v / 1e6 }
		st.CRR = append(st.CRR, res.TransactionsPerSecond)
		st.CRRLatency.Add(us(res.Latency.P50), us(res.Latency.P90), us(res.Latency.P99))
		st.CRRDrainWaits = append(st.CRRDrainWaits, wait)
		t.Logf("TCP_CRR through the Service: %.0f trans/s, p50 %.0fµs p90 %.0fµs p99 %.0fµs (netserver TIME_WAIT %d after waiting %s)",
			res.TransactionsPerSecond, res.Latency.P50, res.Latency.P90, res.Latency.P99, tw, wait.Round(time.Millisecond))
		if us, ok := perConnection(t, "TCP_CRR", use, res.Transactions()); ok {
			st.KernelPerConnCRR = append(st.KernelPerConnCRR, us)
		}
	}, nil
}

// perConnection is the run's kernel CPU per connection in µs, and false
// (logged) when /proc/stat was unreadable or nothing was connected: the
// CPU describes a sample, it does not decide it.
func perConnection(t *testing.T, what string, use bench.CPUUse, conns int64) (float64, bool) {
	t.Helper()
	if use.Kernel < 0 {
		t.Logf("%s: the client node's /proc/stat was unreadable: no kernel CPU per connection", what)
		return 0, false
	}
	us, err := bench.PerConnection(use.Kernel, conns)
	if err != nil {
		t.Logf("%s: %v", what, err)
		return 0, false
	}
	t.Logf("%s: %s of kernel CPU over %d connections: %.1f µs per connection", what, use.Kernel, conns, us)
	return us, true
}
