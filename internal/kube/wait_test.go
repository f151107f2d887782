package kube

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPodReady(t *testing.T) {
	now := metav1.Now()
	cases := []struct {
		name string
		pod  corev1.Pod
		ok   bool
		why  string
	}{
		{"ready", corev1.Pod{Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}}, true, ""},
		{"not ready", corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Status: corev1.PodStatus{Phase: corev1.PodRunning,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}}}, false, "p not Ready (phase Running)"},
		{"image not mapped", corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
			Name: "c", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: `image "nginx"`}}}}}},
			false, `p/c waiting: ErrImagePull: image "nginx"`},
		{"deleting", corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", DeletionTimestamp: &now}}, false, "p is being deleted"},
		{"no status", corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Status: corev1.PodStatus{Phase: corev1.PodPending}}, false, "p phase Pending"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ok, why := PodReady(&tc.pod)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.why, why)
		})
	}
}

func TestWaitForReportsLastObservedState(t *testing.T) {
	n := 0
	took, err := WaitFor(context.Background(), "the thing", 300*time.Millisecond, func(context.Context) (bool, string, error) {
		n++
		return false, "seen 3 of 4", nil
	})
	require.ErrorContains(t, err, "wait for the thing: not reached after 300ms; last observed: seen 3 of 4")
	require.GreaterOrEqual(t, took, 300*time.Millisecond)
	require.Greater(t, n, 1)
	took, err = WaitFor(context.Background(), "done", time.Second, func(context.Context) (bool, string, error) { return true, "", nil })
	require.NoError(t, err)
	require.Less(t, took, 50*time.Millisecond, "a condition already met must not wait a poll")
}

// A poll that the wait's deadline cuts short observes nothing: the timeout
// error keeps the last observation a poll completed.
func TestWaitForKeepsTheLastCompletedObservation(t *testing.T) {
	_, err := WaitFor(context.Background(), "the thing", 300*time.Millisecond, func(ctx context.Context) (bool, string, error) {
		select {
		case <-ctx.Done():
			return false, "Get ...: context deadline exceeded", nil
		case <-time.After(250 * time.Millisecond):
			return false, "seen 3 of 4", nil
		}
	})
	require.ErrorContains(t, err, "last observed: seen 3 of 4")
}

// An interrupt (the caller's context ended) is not the wait's timeout: the
// error says so and wraps the cause (found by TestInterruptAtEveryPoint:
// a SIGTERM in the programming wait read "not reached after 3m20s").
func TestWaitForInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	took, err := WaitFor(ctx, "the thing", time.Minute, func(context.Context) (bool, string, error) {
		return false, "seen 3 of 4", nil
	})
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorContains(t, err, "wait for the thing: stopped after")
	require.ErrorContains(t, err, "of its 1m0s: context canceled; last observed: seen 3 of 4")
	require.NotContains(t, err.Error(), "not reached")
	require.Less(t, took, time.Second)
}

func TestNodeReady(t *testing.T) {
	node := func(conds ...corev1.NodeCondition) *corev1.Node {
		return &corev1.Node{Status: corev1.NodeStatus{Conditions: conds}}
	}
	require.True(t, NodeReady(node(corev1.NodeCondition{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse},
		corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue})))
	require.False(t, NodeReady(node(corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionUnknown})))
	require.False(t, NodeReady(node()), "no Ready condition yet")
}
