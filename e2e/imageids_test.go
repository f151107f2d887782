package e2e

import (
	"context"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kube-netbench/fixtures"
	"kube-netbench/internal/imageid"
)

// runImages reads, from the run's pods (its run label, in its namespace), the image
// each container ran, as the kubelets report it.
func runImages(r *run) ([]imageid.Image, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pods, err := r.client.CoreV1().Pods(r.ns).List(ctx, metav1.ListOptions{LabelSelector: fixtures.LabelRun + "=" + r.id})
	if err != nil {
		return nil, fmt.Errorf("image IDs of the run's pods: %w", err)
	}
	return imageid.FromPods(pods.Items), nil
}

// oneLine makes an error a fingerprint value (one line, no edge spaces).
func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }
