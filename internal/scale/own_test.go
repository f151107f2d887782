package scale

import (
	"context"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// TestClusterIPs: the run's dummies and its namespace's Services, never
// another run's or anybody else's, headless ones left out.
func TestClusterIPs(t *testing.T) {
	ctx := context.Background()
	svc := func(ns, name, ip string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.ServiceSpec{ClusterIP: ip}}
	}
	cs := fake.NewClientset(svc("nb-run", "fortio", "10.96.0.50"), svc("nb-run", "headless", corev1.ClusterIPNone),
		svc("default", "kubernetes", "10.96.0.1"), svc("other", "app", "10.96.200.9"))
	c := newCreator(t, cs)
	c.ClusterIPs = Explicit(netip.MustParsePrefix("10.96.0.0/16"))
	_, err := c.Grow(ctx, testPlan("a"), 0, 25)
	require.NoError(t, err)
	_, err = c.Grow(ctx, testPlan("b"), 0, 5)
	require.NoError(t, err)

	ips, err := ClusterIPs(ctx, cs, "a", "nb-run")
	require.NoError(t, err)
	require.Len(t, ips, 26)
	require.Contains(t, ips, "10.96.0.50")
	require.Contains(t, ips, "10.96.0.2", "dummy 0 of run a")
	require.NotContains(t, ips, "10.96.0.1")
	require.NotContains(t, ips, "10.96.200.9")
}
