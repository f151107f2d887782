package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"kube-netbench/fixtures"
	"kube-netbench/internal/bench"
	"kube-netbench/internal/config"
	"kube-netbench/internal/guard"
	"kube-netbench/internal/kube"
	"kube-netbench/internal/podexec"
	"kube-netbench/internal/tools/fortio"
)

// run is what every feature's setup acquires: clients, a run ID, the
// workers it places workloads on, and two namespaces of its own that
// t.Cleanup deletes and waits for (it survives t.Fatal, unlike a Teardown
// step): ns, which enforces Pod Security's restricted level and holds every
// workload, and hostNS, privileged, which holds only the pods that must run
// in their node's network namespace (hostNetwork, refused by baseline too).
type run struct {
	id, ns, hostNS string
	client         kubernetes.Interface
	exec           podexec.Client
	nodes          []corev1.Node
	// res sizes the workload pods, from the validated configuration.
	res fixtures.Resources
	// guard tells broken rounds from slow ones (measureRound).
	guard *guard.Guard
}

// startRun sets up a run named after the feature, on `workers` schedulable
// worker nodes.
func startRun(ctx context.Context, t *testing.T, cfg *envconf.Config, name string, workers int) *run {
	t.Helper()
	rc := cfg.Client().RESTConfig()
	c, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	r := &run{client: c, exec: podexec.Client{Config: rc, Client: c}}
	// The run's ID labels everything; the feature's namespaces are its own.
	r.id = runID
	r.ns = fmt.Sprintf("nb-%s-%d", name, time.Now().UnixNano()%1e6)
	r.hostNS = r.ns + "-host"
	if r.nodes, err = kube.Workers(ctx, c, workers); err != nil {
		t.Fatal(err)
	}
	var created []string
	// One cleanup deletes whichever of the run's namespaces were created, in
	// parallel: each deletion waits for its pods to end.
	t.Cleanup(func() {
		t.Logf("teardown: deleting namespaces %s", strings.Join(created, ", "))
		var wg sync.WaitGroup
		for _, ns := range created {
			wg.Go(func() { deleteNamespace(t, c, ns) })
		}
		wg.Wait()
	})
	for _, ns := range []*corev1.Namespace{
		fixtures.Namespace(r.ns, r.id, fixtures.PodSecurityRestricted),
		fixtures.Namespace(r.hostNS, r.id, fixtures.PodSecurityPrivileged),
	} {
		if _, err := c.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		created = append(created, ns.Name)
	}
	return r
}

// deleteNamespace deletes a run's namespace and waits until it is gone.
func deleteNamespace(t *testing.T, c kubernetes.Interface, ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("delete namespace %s: %v", ns, err)
		return
	}
	if took, err := kube.WaitFor(ctx, "namespace "+ns+" deleted", 2*time.Minute, kube.NamespaceGone(c, ns)); err != nil {
		t.Error(err)
	} else {
		t.Logf("namespace %s deleted in %s", ns, took.Round(time.Millisecond))
	}
}

// workload is the run's pod sizing; a feature that did not set it fails
// rather than create pods nobody sized.
func (r *run) workload(t *testing.T) fixtures.Resources {
	t.Helper()
	if r.res.QoS == "" {
		t.Fatal("the run's workload resources were not set from the configuration")
	}
	return r.res
}

func podTarget(ns, pod, container string) podexec.Target {
	return podexec.Target{Namespace: ns, Pod: pod, Container: container}
}

// answers waits until one request from the run's fortio-client to ip
// through the dataplane returns 200 (a functional readiness proof).
func (r *run) answers(ctx context.Context, ip string, timeout time.Duration) (time.Duration, error) {
	l := fortio.Load{URL: fmt.Sprintf("http://%s:%d/echo", ip, fixtures.FortioHTTPPort), Connections: 1, Requests: 1, Keepalive: true}
	return kube.WaitFor(ctx, ip+" answers", timeout, func(ctx context.Context) (bool, string, error) {
		_, _, err := bench.Fortio(ctx, r.exec, podTarget(r.ns, "fortio-client", "fortio"), l, 10*time.Second)
		if err != nil {
			return false, err.Error(), nil
		}
		return true, "", nil
	})
}

// drainTimeWait waits until the pod's TIME_WAIT sockets (read by its
// busybox probe) fall under config.TimeWaitDrainBelow, so that every short-connection
// round starts from the same state (W-STAT-9); it returns the wait and the
// count it ended at.
func (r *run) drainTimeWait(ctx context.Context, pod string) (time.Duration, int, error) {
	return bench.DrainTimeWait(ctx, r.exec, podTarget(r.ns, pod, fixtures.ProbeContainer), config.TimeWaitDrainBelow, 3*time.Minute, time.Second)
}

// fortioLoad runs one fortio load from the run's fortio-client with the
// client node's busy CPU share (bench.LoadWithCPU, W-STAT-6).
func (r *run) fortioLoad(ctx context.Context, l fortio.Load, margin time.Duration) (fortio.Result, float64, error) {
	return bench.LoadWithCPU(ctx, r.exec, podTarget(r.ns, "fortio-client", "fortio"),
		podTarget(r.ns, "fortio-client", fixtures.ProbeContainer), l, margin)
}

// waitQuiet waits, verified, until the client node (the machine, on the
// lab) is quiet (bench.DefaultQuiet), read through the fortio client's
// probe. Not quiet in time is logged, not fatal: the measurement then
// records its CPU share, and the report says so.
func (r *run) waitQuiet(ctx context.Context, t *testing.T, before string) {
	t.Helper()
	q, err := bench.WaitQuiet(ctx, r.exec, podTarget(r.ns, "fortio-client", fixtures.ProbeContainer), bench.DefaultQuiet)
	switch {
	case err != nil:
		t.Logf("the client node is not quiet before %s: measuring anyway, its CPU share is recorded: %v", before, err)
	case q.Steady:
		t.Logf("client node steady at %.0f %% busy before %s, after %s: a constant load shares it, its CPU share is recorded", q.Busy*100, before, q.Took.Round(10*time.Millisecond))
	default:
		t.Logf("client node quiet (%.0f %% busy) before %s, after %s", q.Busy*100, before, q.Took.Round(10*time.Millisecond))
	}
}

// nodeNames are the run's nodes' names, in order.
func (r *run) nodeNames() []string {
	out := make([]string, len(r.nodes))
	for i, n := range r.nodes {
		out[i] = n.Name
	}
	return out
}

// perCase gives each case an empty sample set.
func perCase[K comparable, V any](cases []K) map[K]*V {
	m := make(map[K]*V, len(cases))
	for _, c := range cases {
		m[c] = new(V)
	}
	return m
}

// stopIfInterrupted ends the assessment once the run's context has ended
// (SIGINT, SIGTERM): every further round would break the same way, and a
// broken round is no sample.
func stopIfInterrupted(ctx context.Context, t *testing.T, where string) {
	t.Helper()
	if ctx.Err() != nil {
		t.Fatalf("%s: interrupted (%v): no further rounds", where, context.Cause(ctx))
	}
}
