//go:build linux

package lab

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// A node Ready but still carrying the lifecycle controller's not-ready
// taint takes no pod: the lab is not ready for the suite until it is lifted
// (seen on a Cilium lab: "need 2 schedulable worker nodes, found 1
// (excluded: [nb-node-2: tainted node.kubernetes.io/not-ready:NoExecute])").
func TestLabReadyWaitsForTheNotReadyTaintToBeLifted(t *testing.T) {
	node := func(name string, taints ...corev1.Taint) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{Taints: taints},
			Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}}
	}
	agent := func(name, node string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: name, Labels: map[string]string{"k8s-app": "cilium"}},
			Spec:   corev1.PodSpec{NodeName: node},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}}
	}
	c := fake.NewClientset(node("nb-node-1"), node("nb-node-2", corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoExecute}),
		agent("cilium-a", "nb-node-1"), agent("cilium-b", "nb-node-2"))
	done, observed, err := labReady(c, 2, "cilium")(context.Background())
	require.NoError(t, err)
	assert.False(t, done)
	assert.Contains(t, observed, "nb-node-2: node.kubernetes.io/not-ready:NoExecute")

	n, err := c.CoreV1().Nodes().Get(context.Background(), "nb-node-2", metav1.GetOptions{})
	require.NoError(t, err)
	n.Spec.Taints = nil
	_, err = c.CoreV1().Nodes().Update(context.Background(), n, metav1.UpdateOptions{})
	require.NoError(t, err)
	done, _, err = labReady(c, 2, "cilium")(context.Background())
	require.NoError(t, err)
	assert.True(t, done)
}
