package dataplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"kube-netbench/internal/podexec"
)

// prober answers /proxyMode per node; a node absent from answers fails as
// a probe refused by admission would.
func prober(t *testing.T, answers map[string]string, asked *[]string) ProxyModeProber {
	var mu sync.Mutex // nodes are probed in parallel (perNode)
	return func(_ context.Context, node, url string) (string, error) {
		mu.Lock()
		*asked = append(*asked, node+" "+url)
		mu.Unlock()
		if a, ok := answers[node]; ok {
			return a, nil
		}
		return "", errors.New(`pods "proxymode-` + node + `" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true)`)
	}
}

// running makes a captured pod run on node.
func running(p *corev1.Pod, name, node string) *corev1.Pod {
	p = p.DeepCopy()
	p.Name, p.Spec.NodeName, p.Status.Phase = name, node, corev1.PodRunning
	return p
}

func capturedConfigMap(t *testing.T, name string) *corev1.ConfigMap {
	var cm corev1.ConfigMap
	testdataYAML(t, name, &cm)
	return &cm
}

func gkeStaticPod(t *testing.T) *corev1.Pod {
	var p corev1.Pod
	testdataYAML(t, "gke-v1.34.static-pod.yaml", &p)
	return &p
}

// rke2StaticPod is RKE2's kube-proxy static pod with the captured command
// line (RKE2 labels it component=kube-proxy, tier=control-plane).
func rke2StaticPod(t *testing.T) *corev1.Pod {
	p := gkeStaticPod(t)
	p.Labels = map[string]string{"component": "kube-proxy", "tier": "control-plane"}
	p.Spec.Containers[0].Command = strings.Fields(testdata(t, "rke2-v1.23.9.cmdline.txt"))
	p.Spec.Containers[0].Args = nil
	return p
}

// TestDetectKubeProxyShapes: each distribution's real kube-proxy objects,
// with kube-proxy's /proxyMode answering and without (a probe refused, as
// under Pod Security baseline), with a log that no longer holds the
// start-up line (rotated).
func TestDetectKubeProxyShapes(t *testing.T) {
	kubeadm, _ := daemonSetPod(t, "kubeadm-v1.34.daemonset.yaml")
	kubeadm.Labels = map[string]string{"k8s-app": "kube-proxy"}
	eks, _ := daemonSetPod(t, "eks-kube-proxy.daemonset.yaml")
	eks.Labels = map[string]string{"k8s-app": "kube-proxy"}
	rotated := map[string]string{"a": "running-tail.log", "b": "running-tail.log"}
	cases := []struct {
		name    string
		objs    []runtime.Object
		answers map[string]string
		logs    map[string]string
		want    string // Decided(), or the error
		url     string
		wantErr bool
	}{
		{"kubeadm, rotated log: /proxyMode decides",
			[]runtime.Object{running(kubeadm, "a", "n1"), running(kubeadm, "b", "n2"), capturedConfigMap(t, "kubeadm-v1.34-kube-proxy.configmap.yaml")},
			map[string]string{"n1": "iptables", "n2": "iptables"}, rotated,
			"iptables from /proxyMode on node n1; iptables from /proxyMode on node n2", "http://127.0.0.1:10249/proxyMode", false},
		{"kubeadm, rotated log, no probe: the blank mode is kube-proxy's default, which only it can tell",
			[]runtime.Object{running(kubeadm, "a", "n1"), capturedConfigMap(t, "kubeadm-v1.34-kube-proxy.configmap.yaml")},
			nil, rotated,
			`node n1: /proxyMode: pods "proxymode-n1" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true); ` +
				`log of kube-system/a: kube-proxy log: no "Using <mode> Proxier" line in 7 lines: kube-proxy has not chosen its proxier yet, or the log does not reach back to its start; ` +
				`configuration of kube-system/a: no mode set (ConfigMap), so kube-proxy runs its version's default, which only it can tell`, "", true},
		{"kubeadm, start-up log kept, no probe: the log decides",
			[]runtime.Object{running(kubeadm, "a", "n1"), capturedConfigMap(t, "kubeadm-v1.34-kube-proxy.configmap.yaml")},
			nil, map[string]string{"a": "v1.37.2-nftables.log"}, "nftables from the log of pod kube-system/a", "", false},
		{"EKS, rotated log, no probe: its kube-proxy-config decides",
			[]runtime.Object{running(eks, "a", "n1"), capturedConfigMap(t, "eks-kube-proxy-config.configmap.yaml")},
			nil, rotated, "iptables from ConfigMap kube-system/kube-proxy-config key config", "http://127.0.0.1:10249/proxyMode", false},
		{"EKS: a config that says another mode than runs is refused",
			[]runtime.Object{running(eks, "a", "n1"), capturedConfigMap(t, "eks-kube-proxy-config.configmap.yaml")},
			map[string]string{"n1": "nftables"}, rotated,
			`ConfigMap kube-system/kube-proxy-config key config (kube-proxy on node n1) says mode "iptables" but the running kube-proxy uses "nftables"`, "", true},
		{"GKE static pod (component label, logs to a file): /proxyMode decides",
			[]runtime.Object{running(gkeStaticPod(t), "a", "n1")},
			map[string]string{"n1": "iptables"}, map[string]string{"a": "iptables-save-nat-empty.txt"},
			"iptables from /proxyMode on node n1", "http://127.0.0.1:10249/proxyMode", false},
		{"RKE2 static pod, rotated log, no probe: --proxy-mode decides",
			[]runtime.Object{running(rke2StaticPod(t), "a", "n1")},
			nil, rotated, "iptables from the flags of pod kube-system/a", "", false},
		{"k3s: no kube-proxy pod, the embedded one answers",
			nil, map[string]string{"n1": "iptables", "n2": "iptables"}, nil,
			"iptables from /proxyMode on node n1; iptables from /proxyMode on node n2", "", false},
		{"nothing answers",
			nil, nil, nil, "no running kube-proxy pod (labels k8s-app=kube-proxy or component=kube-proxy, any namespace) and no Cilium, and no embedded kube-proxy answered", "", true},
		{"nodes disagree",
			[]runtime.Object{running(kubeadm, "a", "n1"), running(kubeadm, "b", "n2")},
			map[string]string{"n1": "iptables", "n2": "nftables"}, rotated,
			"kube-proxy runs in different modes on different nodes (iptables on n1; nftables on n2)", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var asked []string
			d, err := detect(context.Background(), fake.NewClientset(tc.objs...), logsFrom(t, tc.logs), agentExec(t, nil),
				Options{Nodes: []string{"n1", "n2"}[:max(1, len(tc.answers))], Probe: prober(t, tc.answers, &asked)})
			if tc.wantErr {
				require.ErrorContains(t, err, tc.want)
				return
			}
			require.NoError(t, err)
			var decided []string
			for _, e := range d.KubeProxy.Evidence {
				decided = append(decided, e.String())
				if e.Source != SourceProxyMode {
					// What a weaker source decided says why the stronger did not.
					require.Contains(t, d.KubeProxy.Decided(), "(unanswered: /proxyMode: pods \"proxymode-n1\" is forbidden")
				}
			}
			require.Equal(t, tc.want, strings.Join(decided, "; "))
			require.Equal(t, Kind("kube-proxy-"+d.KubeProxy.Mode), d.Kind)
			require.Equal(t, len(tc.objs) == 0, d.KubeProxy.Embedded)
			if tc.url != "" {
				require.Contains(t, asked, "n1 "+tc.url)
			}
		})
	}
}

func TestProxyModeURL(t *testing.T) {
	for in, want := range map[string]string{
		"":                "http://127.0.0.1:10249/proxyMode",
		"0.0.0.0:10249":   "http://127.0.0.1:10249/proxyMode",
		"[::]:10249":      "http://[::1]:10249/proxyMode",
		"10.0.0.5:9999":   "http://10.0.0.5:9999/proxyMode",
		"127.0.0.1:10249": "http://127.0.0.1:10249/proxyMode",
	} {
		got, err := ProxyModeURL(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for in, want := range map[string]string{
		"0.0.0.0:0":  `port "0": kube-proxy serves no /proxyMode there`,
		"10249":      "missing port in address",
		"host:10249": `host "host" is not an IP address`,
	} {
		_, err := ProxyModeURL(in)
		require.ErrorContains(t, err, want, in)
	}
}

// TestDetectCiliumAnywhere: a Helm release in its own namespace, and GKE
// Dataplane V2 (anetd) whose managed agent cannot be read.
func TestDetectCiliumAnywhere(t *testing.T) {
	p := ciliumPod("a", "n1")
	p.Namespace = "cilium-system"
	d, err := detect(context.Background(), fake.NewClientset(p), logsFrom(t, nil), agentExec(t, map[string]string{"a": "overlay-idle"}), Options{})
	require.NoError(t, err)
	require.Equal(t, CiliumOverlay, d.Kind)
	require.Equal(t, "cilium-system", d.Cilium.Namespace)
	require.NoError(t, d.Cilium.Readable())

	anetd := ciliumPod("anetd-x7k2p", "n1")
	anetd.OwnerReferences = []metav1.OwnerReference{{Kind: "DaemonSet", Name: "anetd", APIVersion: "apps/v1"}}
	noDbg := execFunc(func(_ context.Context, _ podexec.Target, argv []string, _ io.Reader, _, _ io.Writer) error {
		return fmt.Errorf(`exec: %q: executable file not found in $PATH`, argv[0])
	})
	d, err = detect(context.Background(), fake.NewClientset(anetd), logsFrom(t, nil), noDbg, Options{})
	require.NoError(t, err)
	require.Equal(t, GKEDataplaneV2, d.Kind)
	require.Equal(t, "cilium", d.ServiceAgent(), "Dataplane V2 runs without kube-proxy")
	require.ErrorContains(t, d.Cilium.Readable(), `GKE Dataplane V2: the agent cannot be read (cilium agents in kube-system: node n1: exec: "cilium-dbg": executable file not found`)
	_, err = ReadCiliumBPFMaps(context.Background(), noDbg, d.Cilium)
	require.ErrorContains(t, err, "GKE Dataplane V2: the agent cannot be read")
}
