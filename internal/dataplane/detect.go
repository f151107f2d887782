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

	"kube-netbench/internal/podexec"
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
	Kind Kind
	// KubeProxy is set when kube-proxy runs (with Cilium: when Cilium does
	// not replace it).
	KubeProxy *KubeProxy
	// Cilium is set when Cilium agents run.
	Cilium *Cilium
}

// ServiceAgent names the component that programs Services on every node:
// "kube-proxy" or "cilium".
func (d Detection) ServiceAgent() string {
	if d.Cilium != nil && d.Cilium.ReplacesKubeProxy() {
		return "cilium"
	}
	return "kube-proxy"
}

// Detect reads the dataplane from what really runs (W-BUG-6): with Cilium,
// every running agent's own status (routing mode, kube-proxy replacement,
// Hubble) and version, by exec into its pod; with kube-proxy, the proxier
// each running kube-proxy pod logged it uses, on every node that runs one,
// cross-checked with the kube-proxy ConfigMap. Anything it cannot read, any
// disagreement between nodes, and no dataplane at all are errors: "unknown"
// is never a default. ctx must carry the exec deadline.
func Detect(ctx context.Context, c kubernetes.Interface, e podexec.Executor) (Detection, error) {
	return detect(ctx, c, apiLogs(c), e)
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

func detect(ctx context.Context, c kubernetes.Interface, logs logFunc, e podexec.Executor) (Detection, error) {
	cil, err := detectCilium(ctx, c, e)
	if err != nil {
		return Detection{}, err
	}
	if cil != nil {
		st := CiliumStatus{Routing: cil.Routing}
		kind, err := st.Kind()
		if err != nil {
			return Detection{}, err
		}
		det := Detection{Kind: kind, Cilium: cil}
		if !cil.ReplacesKubeProxy() {
			// Services are kube-proxy's: it must run, and its mode is recorded.
			if det.KubeProxy, err = detectKubeProxy(ctx, c, logs); err != nil {
				return Detection{}, fmt.Errorf("cilium runs without kube-proxy replacement (%q), so kube-proxy carries Services: %w", cil.KubeProxyReplacement, err)
			}
		}
		return det, nil
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
		return nil, fmt.Errorf("kube-proxy runs in different modes on different nodes (%s): results would mix dataplanes", byNodes(modes))
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

// detectCilium reads every running Cilium agent (pods k8s-app=cilium in
// kube-system); nil when none runs. The agents must agree on routing, kube-
// proxy replacement and version.
func detectCilium(ctx context.Context, c kubernetes.Interface, e podexec.Executor) (*Cilium, error) {
	pods, err := c.CoreV1().Pods(metav1.NamespaceSystem).List(ctx, metav1.ListOptions{LabelSelector: "k8s-app=cilium"})
	if err != nil {
		return nil, fmt.Errorf("list cilium pods: %w", err)
	}
	cil := &Cilium{Pods: map[string]string{}, Hubble: map[string]string{}}
	seen := map[string][]string{}
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodRunning {
			continue
		}
		node := p.Spec.NodeName
		target := podexec.Target{Namespace: p.Namespace, Pod: p.Name, Container: p.Spec.Containers[0].Name}
		out, err := podexec.Output(ctx, e, target, "cilium-dbg", "status", "-o", "json")
		if err != nil {
			return nil, fmt.Errorf("cilium agent %s on %s: %w", p.Name, node, err)
		}
		st, err := ParseCiliumStatus(out)
		if err != nil {
			return nil, fmt.Errorf("cilium agent %s on %s: %w", p.Name, node, err)
		}
		vout, err := podexec.Output(ctx, e, target, "cilium-dbg", "version")
		if err != nil {
			return nil, fmt.Errorf("cilium agent %s on %s: %w", p.Name, node, err)
		}
		version, err := ParseCiliumVersion(string(vout))
		if err != nil {
			return nil, fmt.Errorf("cilium agent %s on %s: %w", p.Name, node, err)
		}
		key := fmt.Sprintf("version %s, routing %s %s, kube-proxy replacement %s", version, st.Routing, st.TunnelProtocol, st.KubeProxyReplacement)
		seen[key] = append(seen[key], node)
		cil.Version, cil.Routing, cil.TunnelProtocol, cil.KubeProxyReplacement = version, st.Routing, st.TunnelProtocol, st.KubeProxyReplacement
		cil.Hubble[node] = st.Hubble
		cil.Pods[node] = p.Name
		if cil.Image == "" {
			cil.Image = p.Spec.Containers[0].Image
		}
	}
	if len(seen) == 0 {
		return nil, nil
	}
	if len(seen) > 1 {
		return nil, fmt.Errorf("the cilium agents disagree (%s): results would mix dataplanes", byNodes(seen))
	}
	cm, err := c.CoreV1().ConfigMaps(metav1.NamespaceSystem).Get(ctx, "cilium-config", metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return nil, fmt.Errorf("read the cilium-config ConfigMap: %w", err)
	default:
		cil.Config = cm.Data
	}
	return cil, nil
}

// byNodes describes which nodes saw which value: "a on n1,n2; b on n3".
func byNodes(seen map[string][]string) string {
	var parts []string
	for v, nodes := range seen {
		sort.Strings(nodes)
		parts = append(parts, fmt.Sprintf("%s on %s", v, strings.Join(nodes, ",")))
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}
