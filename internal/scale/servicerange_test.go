package scale

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestServiceRangeFromError(t *testing.T) {
	for msg, want := range map[string]string{
		// kube-apiserver's allocator, as kubectl prints it.
		`The Service "x" is invalid: spec.clusterIPs: Invalid value: []string{"1.1.1.1"}: failed to allocate IP 1.1.1.1: the provided IP (1.1.1.1) is not in the valid range. The range of valid IPs is 10.32.0.0/12`: "10.32.0.0/12",
		`spec.clusterIPs: Invalid value: []string{"1.1.1.1"}: failed to allocate an IP. The range of valid IPs is CIDR 10.96.0.0/12`:                                                                                  "10.96.0.0/12",
		`... The range of valid IPs is fd01::/108 ... The range of valid IPs is 172.20.0.0/16`:                                                                                                                        "172.20.0.0/16",
	} {
		got, ok := ServiceRangeFromError(msg)
		require.True(t, ok, msg)
		require.Equal(t, want, got.String())
	}
	_, ok := ServiceRangeFromError("services is forbidden")
	require.False(t, ok)
}

func TestServiceRangeFromArgs(t *testing.T) {
	got, ok := ServiceRangeFromArgs([]string{"kube-apiserver", "--secure-port=6443", "--service-cluster-ip-range=fd00:10:96::/112,10.96.0.0/16"})
	require.True(t, ok)
	require.Equal(t, "10.96.0.0/16", got.String())
	got, ok = ServiceRangeFromArgs([]string{"kube-apiserver", "--service-cluster-ip-range", "10.43.0.0/16"})
	require.True(t, ok)
	require.Equal(t, "10.43.0.0/16", got.String())
	_, ok = ServiceRangeFromArgs([]string{"kube-apiserver"})
	require.False(t, ok)
}

// TestDiscoverServiceRange: each source in turn, as a cluster without the
// ServiceCIDR API (before 1.33) answers.
func TestDiscoverServiceRange(t *testing.T) {
	ctx := context.Background()
	noAPI := func(cs *fake.Clientset) {
		cs.PrependReactor("list", "servicecidrs", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewNotFound(schema.GroupResource{Group: "networking.k8s.io", Resource: "servicecidrs"}, "")
		})
	}
	cs := fake.NewClientset(&networkingv1.ServiceCIDR{ObjectMeta: metav1.ObjectMeta{Name: "kubernetes"}, Spec: networkingv1.ServiceCIDRSpec{CIDRs: []string{"10.96.0.0/16"}}})
	r, err := DiscoverServiceRange(ctx, cs, "nb")
	require.NoError(t, err)
	require.Equal(t, ServiceRange{netip.MustParsePrefix("10.96.0.0/16"), "ServiceCIDR kubernetes"}, r)

	cs = fake.NewClientset(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "kube-apiserver-cp", Namespace: "kube-system", Labels: map[string]string{"component": "kube-apiserver"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "kube-apiserver", Command: []string{"kube-apiserver", "--service-cluster-ip-range=10.100.0.0/16"}}}}})
	noAPI(cs)
	r, err = DiscoverServiceRange(ctx, cs, "nb")
	require.NoError(t, err)
	require.Equal(t, "10.100.0.0/16", r.Prefix.String())
	require.Equal(t, "--service-cluster-ip-range of pod kube-system/kube-apiserver-cp", r.Source)

	cs = fake.NewClientset()
	noAPI(cs)
	var dryRun []string
	cs.PrependReactor("create", "services", func(a k8stesting.Action) (bool, runtime.Object, error) {
		dryRun = a.(k8stesting.CreateActionImpl).CreateOptions.DryRun
		return true, nil, errors.New(`Service "netbench-range-probe-x" is invalid: spec.clusterIPs: Invalid value: []string{"192.0.2.1"}: failed to allocate IP 192.0.2.1: the provided IP (192.0.2.1) is not in the valid range. The range of valid IPs is 172.20.0.0/16`)
	})
	r, err = DiscoverServiceRange(ctx, cs, "nb")
	require.NoError(t, err)
	require.Equal(t, "172.20.0.0/16", r.Prefix.String())
	require.Equal(t, []string{metav1.DryRunAll}, dryRun, "nothing may be stored")

	cs = fake.NewClientset()
	noAPI(cs)
	_, err = DiscoverServiceRange(ctx, cs, "nb")
	require.ErrorContains(t, err, "the cluster's IPv4 Service range cannot be read: ServiceCIDRs: ")
	require.ErrorContains(t, err, "kube-apiserver pods: 0, none with an IPv4 --service-cluster-ip-range; dry-run Service with clusterIP 192.0.2.1 accepted")
}
