package scale

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func namespaceNames(t *testing.T, cs *fake.Clientset) []string {
	t.Helper()
	l, err := cs.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{})
	require.NoError(t, err)
	return names(l.Items)
}

func TestDeleteRemovesOnlyTheRun(t *testing.T) {
	ctx := context.Background()
	sys := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system"}}
	cs := fake.NewClientset(sys)
	a, b := testPlan("a"), testPlan("b")
	c := newCreator(t, cs)
	_, err := c.Grow(ctx, a, 0, 25)
	require.NoError(t, err)
	_, err = c.Grow(ctx, b, 0, 5)
	require.NoError(t, err)
	require.Len(t, namespaceNames(t, cs), 5)

	s, err := Delete(ctx, cs, "a")
	require.NoError(t, err)
	require.Equal(t, 25, s.Services, "each Service deleted by itself, not by its namespace's deletecollection")
	require.Equal(t, 3, s.Namespaces)
	require.Positive(t, s.Wall)
	require.Empty(t, s.Remaining)
	require.ElementsMatch(t, []string{"kube-system", "nb-scale-b-0"}, namespaceNames(t, cs))
	require.NoError(t, c.Verify(ctx, b, 5), "the other run is untouched")

	s, err = Delete(ctx, cs, "a")
	require.NoError(t, err, "nothing left to delete is not an error")
	require.Zero(t, s.Namespaces)

	_, err = Delete(ctx, cs, "")
	require.ErrorContains(t, err, "empty run ID")
}

func TestDeleteTimesOutNamingWhatRemains(t *testing.T) {
	p := testPlan("a")
	cs := fake.NewClientset()
	_, err := newCreator(t, cs).Grow(context.Background(), p, 0, 15)
	require.NoError(t, err)
	// Namespaces that start terminating but never go, as with a finalizer
	// that nothing removes.
	var deletes int
	cs.PrependReactor("delete", "namespaces", func(a k8stesting.Action) (bool, runtime.Object, error) {
		deletes++
		gvr := corev1.SchemeGroupVersion.WithResource("namespaces")
		o, err := cs.Tracker().Get(gvr, "", a.(k8stesting.DeleteAction).GetName())
		if err != nil {
			return true, nil, err
		}
		ns := o.(*corev1.Namespace)
		now := metav1.Now()
		ns.DeletionTimestamp = &now
		ns.Status.Phase = corev1.NamespaceTerminating
		ns.Status.Conditions = []corev1.NamespaceCondition{{Type: corev1.NamespaceContentRemaining, Status: corev1.ConditionTrue,
			Message: "Some resources are remaining: services. has 10 resource instances"}}
		return true, nil, cs.Tracker().Update(gvr, ns, "")
	})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	s, err := Delete(ctx, cs, "a")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "delete run a: 2 namespaces not gone after ")
	require.ErrorContains(t, err, `nb-scale-a-0 (run "a"; Terminating; NamespaceContentRemaining: Some resources are remaining: services. has 10 resource instances)`)
	require.ErrorContains(t, err, "remove them with `kubectl delete ns -l netbench.io/run=a`")
	require.Equal(t, []string{"nb-scale-a-0", "nb-scale-a-1"}, s.Remaining)
	require.GreaterOrEqual(t, s.Wall, 400*time.Millisecond)
	require.Equal(t, 2, deletes)

	// A second Delete does not ask again for what is already going.
	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	s, err = Delete(ctx, cs, "a")
	require.Error(t, err)
	require.Equal(t, 2, deletes)
	require.Zero(t, s.Namespaces)
}

func TestDeleteRefused(t *testing.T) {
	cs := fake.NewClientset()
	_, err := newCreator(t, cs).Grow(context.Background(), testPlan("a"), 0, 5)
	require.NoError(t, err)
	cs.PrependReactor("delete", "namespaces", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(corev1.Resource("namespaces"), "x", errors.New("gatekeeper says no"))
	})
	start := time.Now()
	s, err := Delete(context.Background(), cs, "a")
	require.ErrorContains(t, err, "delete namespace nb-scale-a-0: ")
	require.ErrorContains(t, err, "gatekeeper says no")
	require.True(t, apierrors.IsForbidden(err))
	require.Less(t, time.Since(start), 5*time.Second, "a refused delete is not waited for")
	require.Equal(t, []string{"nb-scale-a-0"}, s.Remaining)
}

func TestLeftovers(t *testing.T) {
	ctx := context.Background()
	left, err := Leftovers(ctx, fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}}))
	require.NoError(t, err)
	require.Empty(t, left)

	now := metav1.Now()
	cs := fake.NewClientset(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "test-services", DeletionTimestamp: &now},
			Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "nb-scale-old-0",
			Labels: map[string]string{"netbench.io/managed-by": "kube-netbench", "netbench.io/run": "old"}}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "netbench-x",
			Labels: map[string]string{"netbench.io/managed-by": "kube-netbench", "netbench.io/run": "x"}}},
	)
	left, err = Leftovers(ctx, cs)
	require.ErrorIs(t, err, ErrLeftovers)
	require.Equal(t, []string{"nb-scale-old-0", "netbench-x", "test-services"}, left)
	require.EqualError(t, err, "leftovers in the cluster: 3 namespaces: "+
		`nb-scale-old-0 (run "old"), netbench-x (run "x"), test-services (not kube-netbench's; Terminating); `+
		"remove them with `kubectl delete ns -l netbench.io/managed-by=kube-netbench` and wait until no namespace is Terminating (`kubectl get ns`)")

	cs.PrependReactor("list", "namespaces", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewServiceUnavailable("down")
	})
	_, err = Leftovers(ctx, cs)
	require.ErrorContains(t, err, "leftovers: list namespaces")
	require.NotErrorIs(t, err, ErrLeftovers)
}

// TestDeleteServicesOneByOne: the Services go first, one request each,
// retried when the apiserver answers later (its 60 s timeout on a slow
// ClusterIP release); a refused one stops the deletion, named, with the
// namespaces left for the hint's command.
func TestDeleteServicesOneByOne(t *testing.T) {
	ctx := context.Background()
	p := testPlan("a")
	cs := fake.NewClientset()
	_, err := newCreator(t, cs).Grow(ctx, p, 0, 15)
	require.NoError(t, err)
	var calls int
	cs.PrependReactor("delete", "services", func(a k8stesting.Action) (bool, runtime.Object, error) {
		calls++
		switch name := a.(k8stesting.DeleteAction).GetName(); {
		case calls <= 2:
			return true, nil, apierrors.NewTimeoutError("the server was unable to return a response in the time allotted", 1)
		case name == "dummy-7":
			return true, nil, apierrors.NewForbidden(corev1.Resource("services"), name, errors.New("not allowed"))
		}
		return false, nil, nil
	})
	s, err := Delete(ctx, cs, "a")
	require.ErrorContains(t, err, "1 of 15 Services not deleted")
	require.ErrorContains(t, err, `services "dummy-7" is forbidden`)
	require.ErrorContains(t, err, "kubectl delete ns -l")
	require.Equal(t, 14, s.Services)
	require.Equal(t, 2, s.Retries)
	require.Zero(t, s.Namespaces, "the namespaces are left while a Service is refused")
	require.Len(t, s.Remaining, 2)
}
