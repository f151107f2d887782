package scale

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/pager"
)

// ClusterIPs lists the ClusterIPs of a run's Services: its dummies (by
// their run label, in every namespace) and every Service of the run's own
// namespace ns (the workloads', the canaries). Programming waits count
// these, not every Service of the cluster, which others may change.
func ClusterIPs(ctx context.Context, c kubernetes.Interface, runID, ns string) ([]string, error) {
	var ips []string
	for _, l := range []struct{ ns, selector string }{
		{metav1.NamespaceAll, labels.SelectorFromSet(Labels(runID)).String()},
		{ns, ""},
	} {
		list := func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.CoreV1().Services(l.ns).List(ctx, o)
		}
		err := pager.New(list).EachListItem(ctx, metav1.ListOptions{LabelSelector: l.selector, Limit: ListLimit}, func(o runtime.Object) error {
			if ip := o.(*corev1.Service).Spec.ClusterIP; ip != "" && ip != corev1.ClusterIPNone {
				ips = append(ips, ip)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list the run's Services: %w", err)
		}
	}
	return ips, nil
}
