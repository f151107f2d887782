package e2e

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kube-netbench/fixtures"
	"kube-netbench/internal/imageid"
)

// runImages reads, from the run's pods (its run label, in its namespace
// and its host namespace), the image each container ran, as the kubelets
// report it.
func runImages(r *run) ([]imageid.Image, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var pods []corev1.Pod
	for _, ns := range []string{r.ns, r.hostNS} {
		list, err := r.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: fixtures.LabelRun + "=" + r.id})
		if err != nil {
			return nil, fmt.Errorf("image IDs of the run's pods: %w", err)
		}
		pods = append(pods, list.Items...)
	}
	return imageid.FromPods(pods), nil
}
