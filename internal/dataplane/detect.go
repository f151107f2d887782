package dataplane

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Kind names a dataplane as results report it.
type Kind string

// The dataplanes kube-netbench tells apart.
const (
	KubeProxyIptables Kind = "kube-proxy-iptables"
	KubeProxyIPVS     Kind = "kube-proxy-ipvs"
	KubeProxyNftables Kind = "kube-proxy-nftables"
)

// KubeProxy is what detection found about kube-proxy.
type KubeProxy struct {
	// Mode is the proxier every running kube-proxy logged it uses.
	Mode string
	// ConfigMode is the mode in the kube-proxy ConfigMap ("" when the
	// ConfigMap does not set it or does not exist), for the fingerprint.
	ConfigMode string
	// Pods maps each node to its kube-proxy pod.
	Pods map[string]string
	// Image is the kube-proxy image (from the first pod).
	Image string
}

// Detection is the dataplane of a cluster, read from what runs.
type Detection struct {
	Kind      Kind
	KubeProxy *KubeProxy
}

// Detect reads the dataplane from what really runs (W-BUG-6): the proxier
// each running kube-proxy pod logged it uses, on every node that runs one,
// cross-checked with the kube-proxy ConfigMap. Anything it cannot read, any
// disagreement, and no dataplane at all are errors: "unknown" is never a
// default.
func Detect(ctx context.Context, c kubernetes.Interface) (Detection, error) {
	return detect(ctx, c, apiLogs(c))
}

// logFunc returns a pod's log.
type logFunc func(ctx context.Context, p *corev1.Pod) (string, error)

// apiLogs reads a pod's first container's log through the API.
func apiLogs(c kubernetes.Interface) logFunc {
	return func(ctx context.Context, p *corev1.Pod) (string, error) {
		b, err := c.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: p.Spec.Containers[0].Name}).DoRaw(ctx)
		return string(b), err
	}
}

func detect(ctx context.Context, c kubernetes.Interface, logs logFunc) (Detection, error) {
	if ds, err := c.AppsV1().DaemonSets(metav1.NamespaceSystem).Get(ctx, "cilium", metav1.GetOptions{}); err == nil && ds.Status.NumberReady > 0 {
		return Detection{}, errors.New("a Cilium DaemonSet runs in kube-system: Cilium detection is not implemented yet, so the dataplane is unknown")
	}
	kp, err := detectKubeProxy(ctx, c, logs)
	if err != nil {
		return Detection{}, err
	}
	kind := map[string]Kind{"iptables": KubeProxyIptables, "ipvs": KubeProxyIPVS, "nftables": KubeProxyNftables}[kp.Mode]
	return Detection{Kind: kind, KubeProxy: kp}, nil
}

func detectKubeProxy(ctx context.Context, c kubernetes.Interface, logs logFunc) (*KubeProxy, error) {
	pods, err := c.CoreV1().Pods(metav1.NamespaceSystem).List(ctx, metav1.ListOptions{LabelSelector: "k8s-app=kube-proxy"})
	if err != nil {
		return nil, fmt.Errorf("list kube-proxy pods: %w", err)
	}
	kp := &KubeProxy{Pods: map[string]string{}}
	modes := map[string][]string{}
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodRunning {
			continue
		}
		log, err := logs(ctx, &p)
		if err != nil {
			return nil, fmt.Errorf("read the log of kube-proxy pod %s: %w", p.Name, err)
		}
		mode, err := KubeProxyModeFromLog(log)
		if err != nil {
			return nil, fmt.Errorf("kube-proxy pod %s on %s: %w", p.Name, p.Spec.NodeName, err)
		}
		modes[mode] = append(modes[mode], p.Spec.NodeName)
		kp.Pods[p.Spec.NodeName] = p.Name
		if kp.Image == "" {
			kp.Image = p.Spec.Containers[0].Image
		}
	}
	if len(modes) == 0 {
		return nil, errors.New("no running kube-proxy pod (label k8s-app=kube-proxy in kube-system) and no Cilium: the dataplane is unknown")
	}
	if len(modes) > 1 {
		var parts []string
		for m, nodes := range modes {
			sort.Strings(nodes)
			parts = append(parts, fmt.Sprintf("%s on %s", m, strings.Join(nodes, ",")))
		}
		sort.Strings(parts)
		return nil, fmt.Errorf("kube-proxy runs in different modes on different nodes (%s): results would mix dataplanes", strings.Join(parts, "; "))
	}
	for m := range modes {
		kp.Mode = m
	}
	cm, err := c.CoreV1().ConfigMaps(metav1.NamespaceSystem).Get(ctx, "kube-proxy", metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return nil, fmt.Errorf("read the kube-proxy ConfigMap: %w", err)
	default:
		mode, explicit, err := KubeProxyModeFromConfig(cm.Data["config.conf"])
		if err != nil {
			return nil, fmt.Errorf("kube-proxy ConfigMap: %w", err)
		}
		if explicit && mode != kp.Mode {
			return nil, fmt.Errorf("the kube-proxy ConfigMap says mode %q but the running kube-proxy uses %q: restart kube-proxy or fix the ConfigMap before benchmarking", mode, kp.Mode)
		}
		kp.ConfigMode = mode
	}
	return kp, nil
}
