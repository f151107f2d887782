package scale

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
)

// grown returns a fake cluster holding Services [0, n) of p.
func grown(t *testing.T, p Plan, n int) (*fake.Clientset, Creator) {
	t.Helper()
	cs := fake.NewClientset()
	c := newCreator(t, cs)
	_, err := c.Grow(context.Background(), p, 0, n)
	require.NoError(t, err)
	return cs, c
}

func verifyError(t *testing.T, err error) *VerifyError {
	t.Helper()
	var ve *VerifyError
	require.ErrorAs(t, err, &ve)
	return ve
}

func TestVerify(t *testing.T) {
	ctx := context.Background()
	p := testPlan("r1")
	cs, c := grown(t, p, 12)
	require.NoError(t, c.Verify(ctx, p, 12))

	// Another run's objects are not this run's business.
	q := testPlan("r2")
	_, err := Creator{Client: cs}.Grow(ctx, q, 0, 3)
	require.NoError(t, err)
	require.NoError(t, c.Verify(ctx, p, 12))

	ve := verifyError(t, c.Verify(ctx, p, 13))
	require.Equal(t, Sample{Count: 1, First: []string{"nb-scale-r1-1/dummy-12"}}, ve.MissingServices)
	require.Equal(t, Sample{Count: 1, First: []string{"nb-scale-r1-1/dummy-12-1"}}, ve.MissingSlices)
	require.Zero(t, ve.ExtraServices.Count+ve.ExtraSlices.Count+ve.WrongSlices.Count)

	ve = verifyError(t, c.Verify(ctx, p, 10))
	require.Equal(t, 2, ve.ExtraServices.Count)
	require.ElementsMatch(t, []string{"nb-scale-r1-1/dummy-10", "nb-scale-r1-1/dummy-11"}, ve.ExtraServices.First)
	require.Equal(t, 2, ve.ExtraSlices.Count)
	require.Zero(t, ve.MissingServices.Count+ve.MissingSlices.Count)
}

func TestCheckSlice(t *testing.T) {
	p := testPlan("r1")
	for _, i := range []int{0, 12, 99} {
		require.Empty(t, p.checkSlice(i, p.Slice(i)), "the plan's own slice %d", i)
	}
	v6 := p.Slice(3)
	v6.AddressType = discoveryv1.AddressTypeIPv6
	require.Equal(t, "addressType IPv6, want IPv4", p.checkSlice(3, v6))
	two := p.Slice(3)
	two.Endpoints[1].Addresses = append(two.Endpoints[1].Addresses, "198.18.0.200")
	require.Equal(t, "endpoint 1 has addresses [198.18.0.14 198.18.0.200], want [198.18.0.14]", p.checkSlice(3, two))
}

func TestVerifyFindsBrokenSlices(t *testing.T) {
	ctx := context.Background()
	p := testPlan("r1")
	cs, c := grown(t, p, 12)
	slices := cs.DiscoveryV1().EndpointSlices(p.Namespace(4))
	require.NoError(t, slices.Delete(ctx, SliceName(4), metav1.DeleteOptions{}))
	short := p.Slice(7)
	short.Endpoints = short.Endpoints[:3]
	_, err := cs.DiscoveryV1().EndpointSlices(p.Namespace(7)).Update(ctx, short, metav1.UpdateOptions{})
	require.NoError(t, err)
	swapped := p.Slice(8)
	swapped.Endpoints[0].Addresses = []string{"198.18.0.1"}
	_, err = cs.DiscoveryV1().EndpointSlices(p.Namespace(8)).Update(ctx, swapped, metav1.UpdateOptions{})
	require.NoError(t, err)
	notReady := p.Slice(9)
	notReady.Endpoints[2].Conditions.Ready = ptr.To(false)
	_, err = cs.DiscoveryV1().EndpointSlices(p.Namespace(9)).Update(ctx, notReady, metav1.UpdateOptions{})
	require.NoError(t, err)
	// A second slice for Service 3, and the Service of index 5 in the wrong namespace.
	extra := p.Slice(3)
	extra.Name = "dummy-3-2"
	_, err = cs.DiscoveryV1().EndpointSlices(extra.Namespace).Create(ctx, extra, metav1.CreateOptions{})
	require.NoError(t, err)
	moved := p.Service(5)
	moved.Namespace = p.Namespace(11)
	_, err = cs.CoreV1().Services(moved.Namespace).Create(ctx, moved, metav1.CreateOptions{})
	require.NoError(t, err)

	err = c.Verify(ctx, p, 12)
	ve := verifyError(t, err)
	require.Equal(t, Sample{Count: 1, First: []string{"nb-scale-r1-0/dummy-4-1"}}, ve.MissingSlices)
	require.Equal(t, Sample{Count: 1, First: []string{"nb-scale-r1-0/dummy-3-2"}}, ve.ExtraSlices)
	require.Equal(t, Sample{Count: 1, First: []string{"nb-scale-r1-1/dummy-5"}}, ve.ExtraServices)
	require.Equal(t, 3, ve.WrongSlices.Count)
	require.ElementsMatch(t, []string{
		"nb-scale-r1-0/dummy-7-1: 3 endpoints, want 4",
		"nb-scale-r1-0/dummy-8-1: endpoint 0 has addresses [198.18.0.1], want [198.18.0.33]",
		"nb-scale-r1-0/dummy-9-1: endpoint 2 (198.18.0.39) is not ready",
	}, ve.WrongSlices.First)
	require.Equal(t, 13, ve.FoundServices)
	require.Equal(t, 12, ve.FoundSlices)
	require.Contains(t, err.Error(), "verify run r1, want Services [0, 12), found 13 Services and 12 EndpointSlices: Services: 1 extra (nb-scale-r1-1/dummy-5); EndpointSlices: 1 missing (nb-scale-r1-0/dummy-4-1), 1 extra (nb-scale-r1-0/dummy-3-2), 3 wrong (")
}

func TestVerifyErrorNamesFirstFew(t *testing.T) {
	p := testPlan("r1")
	_, c := grown(t, p, 0)
	ve := verifyError(t, c.Verify(context.Background(), p, 25))
	require.Equal(t, 25, ve.MissingServices.Count)
	require.Len(t, ve.MissingServices.First, maxReported)
	require.Contains(t, ve.Error(), "Services: 25 missing (nb-scale-r1-0/dummy-0, nb-scale-r1-0/dummy-1, nb-scale-r1-0/dummy-2, nb-scale-r1-0/dummy-3, nb-scale-r1-0/dummy-4, ...)")
}

func TestVerifyPaginatesAndReportsListErrors(t *testing.T) {
	ctx := context.Background()
	p := testPlan("r1")
	cs, c := grown(t, p, 3)
	var opts []metav1.ListOptions
	cs.PrependReactor("list", "services", func(a k8stesting.Action) (bool, runtime.Object, error) {
		o := a.(k8stesting.ListActionImpl).GetListOptions()
		opts = append(opts, o)
		if o.Continue == "" {
			return true, &corev1.ServiceList{ListMeta: metav1.ListMeta{Continue: "page-2"}, Items: []corev1.Service{*p.Service(0)}}, nil
		}
		return true, &corev1.ServiceList{Items: []corev1.Service{*p.Service(1), *p.Service(2)}}, nil
	})
	require.NoError(t, c.Verify(ctx, p, 3), "both pages seen")
	require.Len(t, opts, 2)
	for _, o := range opts {
		require.Equal(t, int64(ListLimit), o.Limit)
		require.Equal(t, "netbench.io/managed-by=kube-netbench,netbench.io/role=dummy,netbench.io/run=r1", o.LabelSelector)
	}
	require.Equal(t, "page-2", opts[1].Continue)

	cs.PrependReactor("list", "endpointslices", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewServiceUnavailable("etcd is gone")
	})
	err := c.Verify(ctx, p, 3)
	require.ErrorContains(t, err, "verify run r1: list EndpointSlices")
	require.False(t, errors.As(err, new(*VerifyError)), "an API failure is not a finding")
	require.True(t, apierrors.IsServiceUnavailable(err))
}
