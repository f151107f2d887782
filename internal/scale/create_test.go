package scale

import (
	"context"
	"errors"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"
)

func newCreator(t *testing.T, cs kubernetes.Interface) Creator {
	return Creator{Client: cs, Workers: 8, Backoff: time.Millisecond, Log: t.Logf}
}

// requireExactly checks that the cluster holds exactly dummy objects
// [0, n) of p, built by the plan's own builders, and their namespaces.
func requireExactly(t *testing.T, cs kubernetes.Interface, p Plan, n int) {
	t.Helper()
	ctx := context.Background()
	svcs, err := cs.CoreV1().Services("").List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, svcs.Items, n)
	for _, s := range svcs.Items {
		i, ok := serviceIndex(s.Name)
		require.True(t, ok, s.Name)
		want := p.Service(i)
		require.Equal(t, want.Namespace, s.Namespace, s.Name)
		require.Equal(t, want.Labels, s.Labels, s.Name)
		require.Equal(t, want.Spec.Ports, s.Spec.Ports, s.Name)
		require.Empty(t, s.Spec.Selector, s.Name)
	}
	slices, err := cs.DiscoveryV1().EndpointSlices("").List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, slices.Items, n)
	for _, es := range slices.Items {
		i, ok := serviceIndex(es.Labels["kubernetes.io/service-name"])
		require.True(t, ok, es.Name)
		want := p.Slice(i)
		require.Equal(t, want.Name, es.Name)
		require.Equal(t, want.Namespace, es.Namespace)
		require.Equal(t, want.Labels, es.Labels)
		require.Equal(t, want.Endpoints, es.Endpoints)
		require.Equal(t, want.Ports, es.Ports)
	}
	nss, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	var names []string
	for _, ns := range nss.Items {
		names = append(names, ns.Name)
		require.Equal(t, map[string]string{"netbench.io/managed-by": "kube-netbench", "netbench.io/run": p.RunID,
			// They hold Services only: the least privileged level.
			"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/warn": "restricted",
			"pod-security.kubernetes.io/audit": "restricted"}, ns.Labels)
	}
	require.ElementsMatch(t, p.namespaces(0, n), names)
}

func TestGrowCreatesThePlanAndResumes(t *testing.T) {
	cs := fake.NewClientset()
	p := testPlan("r1")
	c := newCreator(t, cs)
	s, err := c.Grow(context.Background(), p, 0, 10)
	require.NoError(t, err)
	require.Equal(t, 10, s.Services)
	require.Equal(t, 10, s.Slices)
	require.Equal(t, 1, s.Namespaces)
	require.Zero(t, s.Failed+s.Existing+s.Retries)
	require.Equal(t, 10, s.ServiceLatency.N)
	require.Equal(t, 10, s.SliceLatency.N)
	require.Positive(t, s.ServicesPerSec)
	require.Positive(t, s.Wall)
	require.Empty(t, s.Warnings, "the fake client has no rate limiter")
	requireExactly(t, cs, p, 10)

	s, err = c.Grow(context.Background(), p, 10, 25)
	require.NoError(t, err)
	require.Equal(t, 15, s.Services)
	require.Equal(t, 2, s.Namespaces, "nb-scale-r1-1 and -2")
	requireExactly(t, cs, p, 25)

	// A repeated step creates nothing and fails nothing.
	s, err = c.Grow(context.Background(), p, 0, 25)
	require.NoError(t, err)
	require.Zero(t, s.Services+s.Slices+s.Namespaces)
	require.Equal(t, 50, s.Existing)
	requireExactly(t, cs, p, 25)
}

func TestGrowRetriesServerErrors(t *testing.T) {
	cs := fake.NewClientset()
	var creates, failed, svcCreates, sliceCreates atomic.Int64
	cs.PrependReactor("create", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		switch a.GetResource().Resource {
		case "services":
			svcCreates.Add(1)
		case "endpointslices":
			sliceCreates.Add(1)
		}
		if creates.Add(1)%7 == 0 {
			failed.Add(1)
			return true, nil, apierrors.NewInternalError(errors.New("etcdserver: leader changed"))
		}
		return false, nil, nil
	})
	p := testPlan("r1")
	c := newCreator(t, cs)
	s, err := c.Grow(context.Background(), p, 0, 25)
	require.NoError(t, err)
	require.Positive(t, failed.Load())
	require.Equal(t, int(failed.Load()), s.Retries, "every failure is counted as a retry")
	require.Equal(t, 25, s.Services)
	require.Equal(t, 25, s.Slices)
	require.Zero(t, s.Failed+s.Existing)
	require.Equal(t, int(svcCreates.Load()), s.ServiceLatency.N, "every request is timed")
	require.Equal(t, int(sliceCreates.Load()), s.SliceLatency.N, "every request is timed")
	requireExactly(t, cs, p, 25)
}

func TestGrowAlreadyExistsOnRetryIsSuccess(t *testing.T) {
	cs := fake.NewClientset()
	var lost atomic.Bool
	cs.PrependReactor("create", "services", func(a k8stesting.Action) (bool, runtime.Object, error) {
		svc := a.(k8stesting.CreateAction).GetObject().(*corev1.Service)
		if svc.Name == "dummy-3" && !lost.Swap(true) {
			// The apiserver stores the Service but the answer is lost.
			require.NoError(t, cs.Tracker().Create(corev1.SchemeGroupVersion.WithResource("services"), svc, svc.Namespace))
			return true, nil, apierrors.NewServerTimeout(svcGR, "create", 0)
		}
		return false, nil, nil
	})
	p := testPlan("r1")
	s, err := newCreator(t, cs).Grow(context.Background(), p, 0, 5)
	require.NoError(t, err)
	require.Equal(t, 5, s.Services, "the retry's AlreadyExists is the first attempt's success")
	require.Zero(t, s.Existing)
	require.Equal(t, 1, s.Retries)
	requireExactly(t, cs, p, 5)
}

func TestGrowPermanentErrorIsCounted(t *testing.T) {
	cs := fake.NewClientset()
	cs.PrependReactor("create", "services", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(svcGR, "dummy", errors.New("quota exceeded"))
	})
	p := testPlan("r1")
	s, err := newCreator(t, cs).Grow(context.Background(), p, 0, 25)
	require.ErrorContains(t, err, "grow run r1, Services [0, 25): 25 objects failed (0 Services, 0 EndpointSlices created); the first 5:")
	require.ErrorContains(t, err, "quota exceeded")
	require.True(t, apierrors.IsForbidden(err), "the API error stays inspectable")
	require.Equal(t, 25, s.Failed)
	require.Zero(t, s.Services+s.Slices+s.Retries, "a 403 is not retried")
	require.Equal(t, 3, s.Namespaces)

	// A systematic refusal stops early instead of being repeated for every index.
	c := newCreator(t, fake.NewClientset())
	c.Workers, c.MaxFailures = 1, 4
	cs2 := c.Client.(*fake.Clientset)
	cs2.PrependReactor("create", "endpointslices", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(svcGR, "dummy", errors.New("no"))
	})
	s, err = c.Grow(context.Background(), p, 0, 25)
	require.ErrorContains(t, err, "4 objects failed (4 Services, 0 EndpointSlices created)")
	require.ErrorContains(t, err, "stopped after 4 failed objects (MaxFailures); 21 Services not done")
	require.Equal(t, 4, s.Failed)
}

func TestGrowStopsPromptlyOnCancel(t *testing.T) {
	cs := fake.NewClientset()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var creates atomic.Int64
	cs.PrependReactor("create", "services", func(k8stesting.Action) (bool, runtime.Object, error) {
		if creates.Add(1) == 5 {
			cancel()
		}
		return false, nil, nil
	})
	p := testPlan("r1")
	p.MaxServices = 100
	c := newCreator(t, cs)
	c.Workers = 2
	s, err := c.Grow(ctx, p, 0, 100)
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorContains(t, err, "Services not done")
	require.Less(t, s.Services, 10)
	require.Zero(t, s.Failed, "objects cut by the cancellation are not failures")

	// Cancellation also ends a long Retry-After wait.
	cs = fake.NewClientset()
	cs.PrependReactor("create", "services", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewTooManyRequests("slow down", 60)
	})
	ctx, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	start := time.Now()
	s, err = newCreator(t, cs).Grow(ctx, p, 0, 25)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 2*time.Second)
	require.Zero(t, s.Failed)
	require.Positive(t, s.Retries)
	require.LessOrEqual(t, s.Retries, 8, "at most each worker's first 429, then the wait that was cut")
}

func TestGrowExplicitClusterIPs(t *testing.T) {
	cs := fake.NewClientset()
	// A stand-in for the apiserver's allocator: 10.96.0.12 belongs to a
	// Service outside the run; the first create of dummy-5 goes through but
	// its answer is lost, so its retry meets its own address.
	taken := map[string]string{"10.96.0.12": "kube-system/other"}
	lost := false
	cs.PrependReactor("create", "services", func(a k8stesting.Action) (bool, runtime.Object, error) {
		svc := a.(k8stesting.CreateAction).GetObject().(*corev1.Service)
		ip := svc.Spec.ClusterIP
		if _, ok := taken[ip]; ok {
			return true, nil, errIPTaken(svc.Name, ip)
		}
		taken[ip] = svc.Namespace + "/" + svc.Name
		if svc.Name == "dummy-5" && !lost {
			lost = true
			require.NoError(t, cs.Tracker().Create(corev1.SchemeGroupVersion.WithResource("services"), svc, svc.Namespace))
			return true, nil, apierrors.NewInternalError(errors.New("connection lost"))
		}
		return false, nil, nil
	})
	p := testPlan("r1")
	c := newCreator(t, cs)
	c.ClusterIPs = Explicit(netip.MustParsePrefix("10.96.0.0/16"))
	s, err := c.Grow(context.Background(), p, 0, 25)
	require.NoError(t, err)
	require.Equal(t, 25, s.Services)
	require.Equal(t, 2, s.IPConflicts, "the foreign address and dummy-5's own")
	require.Equal(t, 1, s.Retries)
	svcs, err := cs.CoreV1().Services("").List(context.Background(), metav1.ListOptions{})
	require.NoError(t, err)
	got := map[string]string{}
	for _, svc := range svcs.Items {
		got[svc.Name] = svc.Spec.ClusterIP
		require.Equal(t, []string{svc.Spec.ClusterIP}, svc.Spec.ClusterIPs)
	}
	require.Equal(t, "10.96.0.2", got["dummy-0"])
	require.Equal(t, "10.96.0.7", got["dummy-5"], "kept its first address")
	require.Equal(t, "10.96.0.112", got["dummy-10"], "moved past the taken .12 by MaxServices (100)")
	require.Equal(t, "10.96.0.26", got["dummy-24"])
	requireExactly(t, cs, p, 25)
}

func TestGrowRejectsBadInput(t *testing.T) {
	p := testPlan("r1")
	c := newCreator(t, fake.NewClientset())
	_, err := c.Grow(context.Background(), p, 0, 101)
	require.ErrorContains(t, err, "to <= MaxServices (100)")
	bad := p
	bad.Endpoints = 0
	_, err = c.Grow(context.Background(), bad, 0, 1)
	require.ErrorContains(t, err, "Endpoints 0: must be 1..100")
	c.ClusterIPs = Explicit(netip.MustParsePrefix("10.96.0.0/26"))
	_, err = c.Grow(context.Background(), p, 0, 1)
	require.ErrorContains(t, err, "has 61 assignable addresses; MaxServices 100 needs more")
	_, err = Creator{}.Grow(context.Background(), p, 0, 1)
	require.ErrorContains(t, err, "Client is nil")
}

func TestGrowRefusesTerminatingNamespace(t *testing.T) {
	p := testPlan("r1")
	now := metav1.Now()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: p.Namespace(0), DeletionTimestamp: &now,
		Labels: map[string]string{"netbench.io/managed-by": "kube-netbench", "netbench.io/run": "r1"}},
		Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}}
	_, err := newCreator(t, fake.NewClientset(ns)).Grow(context.Background(), p, 0, 5)
	require.ErrorContains(t, err, "namespace nb-scale-r1-0 is Terminating: wait until it is gone")

	other := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: p.Namespace(0), Labels: map[string]string{"netbench.io/run": "r0"}}}
	_, err = newCreator(t, fake.NewClientset(other)).Grow(context.Background(), p, 0, 5)
	require.ErrorContains(t, err, `namespace nb-scale-r1-0 exists with netbench.io/run="r0", not this run's "r1"`)
}

func TestGrowReportsProgress(t *testing.T) {
	cs := fake.NewClientset()
	cs.PrependReactor("create", "services", func(k8stesting.Action) (bool, runtime.Object, error) {
		time.Sleep(2 * time.Millisecond)
		return false, nil, nil
	})
	var reports []Progress
	c := newCreator(t, cs)
	c.ProgressEvery = 5 * time.Millisecond
	c.Progress = func(p Progress) { reports = append(reports, p) }
	_, err := c.Grow(context.Background(), testPlan("r1"), 0, 25)
	require.NoError(t, err)
	require.NotEmpty(t, reports)
	for i, r := range reports {
		require.Equal(t, 25, r.Total)
		require.LessOrEqual(t, r.Done, 25)
		if i > 0 {
			require.GreaterOrEqual(t, r.Done, reports[i-1].Done)
		}
	}
	require.Contains(t, reports[0].String(), "/25 Services after ")
}

func TestRateLimitWarning(t *testing.T) {
	limited, err := kubernetes.NewForConfig(&rest.Config{Host: "http://127.0.0.1:1", QPS: 5, Burst: 10})
	require.NoError(t, err)
	require.Contains(t, rateLimitWarning(limited), "the client allows 5 requests/s, so at most 2 Services/s")
	unlimited, err := kubernetes.NewForConfig(&rest.Config{Host: "http://127.0.0.1:1", QPS: -1})
	require.NoError(t, err)
	require.Empty(t, rateLimitWarning(unlimited))
	fast, err := kubernetes.NewForConfig(&rest.Config{Host: "http://127.0.0.1:1", QPS: 2000, Burst: 4000})
	require.NoError(t, err)
	require.Empty(t, rateLimitWarning(fast))
	require.Empty(t, rateLimitWarning(fake.NewClientset()))
}
