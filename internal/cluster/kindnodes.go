package cluster

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"kube-netbench/internal/kube"
)

// kindNodes is the number of nodes KindConfig creates.
const kindNodes = 3

// waitNodesReady waits until the cluster's nodes are all Ready: with Cilium
// they become Ready only once its agents run, and the suite picks only Ready
// workers.
func waitNodesReady(ctx context.Context, kubeconfig string) error {
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	_, err = kube.WaitEvery(ctx, fmt.Sprintf("%d Ready nodes", kindNodes), 5*time.Minute, 2*time.Second,
		func(ctx context.Context) (bool, string, error) {
			list, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
			if err != nil {
				// The API server may still be settling: observe and retry.
				return false, err.Error(), nil
			}
			done, observed := NodesReady(list.Items, kindNodes)
			return done, observed, nil
		})
	return err
}

// NodesReady reports whether there are want nodes and all are Ready, and
// what it saw.
func NodesReady(nodes []corev1.Node, want int) (bool, string) {
	var notReady []string
	for i := range nodes {
		if !kube.NodeReady(&nodes[i]) {
			notReady = append(notReady, nodes[i].Name)
		}
	}
	observed := fmt.Sprintf("%d of %d nodes; not Ready: [%s]", len(nodes), want, strings.Join(notReady, " "))
	return len(nodes) == want && len(notReady) == 0, observed
}
