package kube

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Workers returns n schedulable worker nodes: Ready, not cordoned, not
// control-plane, without NoSchedule/NoExecute taints and not virtual
// (W-OPS-5). It fails, naming why each node was excluded, if fewer remain.
func Workers(ctx context.Context, c kubernetes.Interface, n int) ([]corev1.Node, error) {
	list, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	var ok []corev1.Node
	var excluded []string
	for _, node := range list.Items {
		if why := unschedulable(&node); why != "" {
			excluded = append(excluded, node.Name+": "+why)
			continue
		}
		ok = append(ok, node)
	}
	sort.Slice(ok, func(i, j int) bool { return ok[i].Name < ok[j].Name })
	if len(ok) < n {
		return nil, fmt.Errorf("need %d schedulable worker nodes, found %d (excluded: %v)", n, len(ok), excluded)
	}
	return ok[:n], nil
}

// unschedulable says why a node cannot host benchmark workloads ("" = it can).
func unschedulable(n *corev1.Node) string {
	if n.Spec.Unschedulable {
		return "cordoned"
	}
	for _, l := range []string{"node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master"} {
		if _, ok := n.Labels[l]; ok {
			return "control-plane"
		}
	}
	if n.Labels["type"] == "virtual-kubelet" || n.Annotations["kwok.x-k8s.io/node"] == "fake" {
		return "virtual node"
	}
	for _, t := range n.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute {
			return "tainted " + t.Key + ":" + string(t.Effect)
		}
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady && c.Status != corev1.ConditionTrue {
			return "not Ready"
		}
	}
	return ""
}
