package dataplane

import (
	"context"
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
	// Mode is the proxier kube-proxy runs on every node asked.
	Mode string
	// Evidence says, per node asked, what decided its mode.
	Evidence []ModeEvidence
	// ConfigMode is the mode kube-proxy's configuration sets ("" when it
	// sets none and kube-proxy runs its default), for the fingerprint.
	ConfigMode string
	// Namespace holds the kube-proxy pods; Pods maps each node to its
	// pod. Both empty when kube-proxy is Embedded in another process (k3s),
	// found only through /proxyMode.
	Namespace string
	Pods      map[string]string
	Embedded  bool
	// Image is the kube-proxy image (from the first pod).
	Image string
}

// Decided says which source decided the mode on each node asked.
func (k *KubeProxy) Decided() string {
	var s []string
	for _, e := range k.Evidence {
		if len(e.Unanswered) > 0 {
			s = append(s, fmt.Sprintf("%s (unanswered: %s)", e, strings.Join(e.Unanswered, "; ")))
			continue
		}
		s = append(s, e.String())
	}
	return strings.Join(s, "; ")
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
// Hubble) and version, by exec into its pod; with kube-proxy, the mode it
// answers on each node of opts.Nodes (detectKubeProxy), cross-checked with
// every kube-proxy pod's configuration. Anything it cannot read, any
// disagreement between nodes, and no dataplane at all are errors: "unknown"
// is never a default. ctx must carry the deadline.
func Detect(ctx context.Context, c kubernetes.Interface, e podexec.Executor, opts Options) (Detection, error) {
	return detect(ctx, c, apiLogs(c), e, opts)
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

func detect(ctx context.Context, c kubernetes.Interface, logs logFunc, e podexec.Executor, opts Options) (Detection, error) {
	cil, err := detectCilium(ctx, c, e, opts)
	if err != nil {
		return Detection{}, err
	}
	if cil != nil {
		kind := GKEDataplaneV2
		if cil.Managed == "" {
			st := CiliumStatus{Routing: cil.Routing}
			if kind, err = st.Kind(); err != nil {
				return Detection{}, err
			}
		}
		det := Detection{Kind: kind, Cilium: cil}
		if !cil.ReplacesKubeProxy() {
			// Services are kube-proxy's: it must run, and its mode is recorded.
			if det.KubeProxy, err = detectKubeProxy(ctx, c, logs, opts); err != nil {
				return Detection{}, fmt.Errorf("cilium runs without kube-proxy replacement (%q), so kube-proxy carries Services: %w", cil.KubeProxyReplacement, err)
			}
		}
		return det, nil
	}
	kp, err := detectKubeProxy(ctx, c, logs, opts)
	if err != nil {
		return Detection{}, err
	}
	kind := map[string]Kind{"iptables": KubeProxyIptables, "ipvs": KubeProxyIPVS, "nftables": KubeProxyNftables}[kp.Mode]
	return Detection{Kind: kind, KubeProxy: kp}, nil
}

// ciliumSelector finds Cilium agents, in whatever namespace a Helm release
// put them; GKE Dataplane V2's anetd carries it too.
const ciliumSelector = "k8s-app=cilium"

// gkeAnetd reports whether p is GKE Dataplane V2's agent: a pod of
// kube-system's DaemonSet anetd (cloud.google.com/kubernetes-engine/docs/
// concepts/dataplane-v2).
func gkeAnetd(p *corev1.Pod) bool {
	for _, o := range p.OwnerReferences {
		if o.Kind == "DaemonSet" && o.Name == "anetd" {
			return true
		}
	}
	return strings.HasPrefix(p.Name, "anetd-")
}

// detectCilium reads every running Cilium agent (pods k8s-app=cilium in any
// namespace), in parallel; nil when none runs. The agents must agree on
// routing, kube-proxy replacement and version. GKE Dataplane V2 is named
// as such; when its managed agent cannot be read, detection still succeeds
// and says why in Cilium.Unreadable.
func detectCilium(ctx context.Context, c kubernetes.Interface, e podexec.Executor, opts Options) (*Cilium, error) {
	list, err := c.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: ciliumSelector})
	if err != nil {
		return nil, fmt.Errorf("list cilium pods (%s, any namespace): %w", ciliumSelector, err)
	}
	byNode := map[string]*corev1.Pod{}
	cil := &Cilium{Pods: map[string]string{}, Hubble: map[string]string{}}
	for i := range list.Items {
		p := &list.Items[i]
		if p.Status.Phase != corev1.PodRunning {
			continue
		}
		if gkeAnetd(p) {
			cil.Managed = GKEDataplaneV2Name
		}
		byNode[p.Spec.NodeName] = p
		cil.Pods[p.Spec.NodeName] = p.Name
		cil.Namespace = p.Namespace
		if cil.Image == "" {
			cil.Image = p.Spec.Containers[0].Image
		}
	}
	if len(byNode) == 0 {
		return nil, nil
	}
	type agent struct {
		st      CiliumStatus
		version string
	}
	agents, err := perNode(ctx, cil.Pods, func(ctx context.Context, node, _ string) (agent, error) {
		st, version, err := readAgent(ctx, e, byNode[node])
		return agent{st, version}, err
	})
	if err != nil {
		err = fmt.Errorf("cilium agents in %s: %w", cil.Namespace, err)
		if cil.Managed == "" {
			return nil, err
		}
		// Google manages anetd: its image need not carry cilium-dbg.
		cil.Unreadable = err.Error()
		cil.KubeProxyReplacement = "True" // Dataplane V2 runs without kube-proxy (see gkeAnetd)
		return cil, nil
	}
	seen := map[string][]string{}
	for node, a := range agents {
		key := fmt.Sprintf("version %s, routing %s %s, kube-proxy replacement %s, socket LB %s", a.version, a.st.Routing, a.st.TunnelProtocol, a.st.KubeProxyReplacement, a.st.SocketLB)
		seen[key] = append(seen[key], node)
		cil.Version, cil.Routing, cil.TunnelProtocol, cil.KubeProxyReplacement = a.version, a.st.Routing, a.st.TunnelProtocol, a.st.KubeProxyReplacement
		cil.SocketLB = a.st.SocketLB
		cil.Hubble[node] = a.st.Hubble
	}
	if len(seen) > 1 {
		return nil, fmt.Errorf("the cilium agents disagree (%s): results would mix dataplanes", byNodes(seen))
	}
	cm, err := c.CoreV1().ConfigMaps(cil.Namespace).Get(ctx, "cilium-config", metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return nil, fmt.Errorf("read the cilium-config ConfigMap in %s: %w", cil.Namespace, err)
	default:
		cil.Config = cm.Data
	}
	return cil, nil
}

// readAgent asks one Cilium agent its status and version.
func readAgent(ctx context.Context, e podexec.Executor, p *corev1.Pod) (CiliumStatus, string, error) {
	target := podexec.Target{Namespace: p.Namespace, Pod: p.Name, Container: p.Spec.Containers[0].Name}
	out, err := podexec.Output(ctx, e, target, "cilium-dbg", "status", "-o", "json")
	if err != nil {
		return CiliumStatus{}, "", err
	}
	st, err := ParseCiliumStatus(out)
	if err != nil {
		return CiliumStatus{}, "", err
	}
	vout, err := podexec.Output(ctx, e, target, "cilium-dbg", "version")
	if err != nil {
		return CiliumStatus{}, "", err
	}
	version, err := ParseCiliumVersion(string(vout))
	return st, version, err
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
