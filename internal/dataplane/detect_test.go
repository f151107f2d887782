package dataplane

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"kube-netbench/internal/podexec"
)

// kubeProxyPod is a running pod of kubeadm's kube-proxy DaemonSet
// (captured, testdata/kube-proxy/kubeadm-v1.34.daemonset.yaml) on node.
func kubeProxyPod(t *testing.T, name, node string) *corev1.Pod {
	p, _ := daemonSetPod(t, "kubeadm-v1.34.daemonset.yaml")
	p.Name, p.Labels, p.Spec.NodeName, p.Status.Phase = name, map[string]string{"k8s-app": "kube-proxy"}, node, corev1.PodRunning
	p.Spec.Containers[0].Image = "registry.k8s.io/kube-proxy:v1.37.2"
	return p
}

func configMap(mode string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kube-proxy", Namespace: "kube-system"},
		Data: map[string]string{"config.conf": "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: " + mode + "\n"}}
}

// logsFrom serves each pod's log from a captured kube-proxy log file.
func logsFrom(t *testing.T, files map[string]string) logFunc {
	return func(_ context.Context, p *corev1.Pod) (string, error) {
		b, err := os.ReadFile("../../testdata/kube-proxy/" + files[p.Name])
		require.NoError(t, err)
		return string(b), nil
	}
}

func TestDetect(t *testing.T) {
	cases := []struct {
		name string
		objs []runtime.Object
		logs map[string]string
		want Kind
		err  string
	}{
		{"iptables on every node", []runtime.Object{kubeProxyPod(t, "a", "n1"), kubeProxyPod(t, "b", "n2"), configMap("iptables")},
			map[string]string{"a": "v1.37.2-iptables.log", "b": "v1.37.2-iptables.log"}, KubeProxyIptables, ""},
		// The seed script read the ConfigMap only and called everything but
		// ipvs "iptables" (W-BUG-6); what runs decides.
		{"nftables, ConfigMap without a mode", []runtime.Object{kubeProxyPod(t, "a", "n1"), configMap(`""`)},
			map[string]string{"a": "v1.37.2-nftables.log"}, KubeProxyNftables, ""},
		{"ipvs without a ConfigMap", []runtime.Object{kubeProxyPod(t, "a", "n1")},
			map[string]string{"a": "v1.37.2-ipvs.log"}, KubeProxyIPVS, ""},
		{"modes differ between nodes", []runtime.Object{kubeProxyPod(t, "a", "n1"), kubeProxyPod(t, "b", "n2")},
			map[string]string{"a": "v1.37.2-iptables.log", "b": "v1.37.2-nftables.log"}, "", "different modes on different nodes (iptables on n1; nftables on n2)"},
		{"ConfigMap disagrees with what runs", []runtime.Object{kubeProxyPod(t, "a", "n1"), configMap("nftables")},
			map[string]string{"a": "v1.37.2-iptables.log"}, "", `ConfigMap kube-system/kube-proxy key config.conf (kube-proxy on node n1) says mode "nftables" but the running kube-proxy uses "iptables" (iptables from the log of pod kube-system/a)`},
		{"nothing runs", nil, nil, "", "no running kube-proxy pod (labels k8s-app=kube-proxy or component=kube-proxy, any namespace), no Cilium"},
		{"log without a proxier line", []runtime.Object{kubeProxyPod(t, "a", "n1")},
			map[string]string{"a": "iptables-save-nat-empty.txt"}, "", "log of kube-system/a: kube-proxy log: no \"Using <mode> Proxier\" line"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := detect(context.Background(), fake.NewClientset(tc.objs...), logsFrom(t, tc.logs), agentExec(t, nil), Options{})
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, d.Kind)
			require.Equal(t, "registry.k8s.io/kube-proxy:v1.37.2", d.KubeProxy.Image)
		})
	}
}

func ciliumPod(name, node string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "kube-system", Labels: map[string]string{"k8s-app": "cilium"}},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "cilium-agent", Image: "quay.io/cilium/cilium:v1.19.4"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
}

// agentExec answers `cilium-dbg status -o json` and `cilium-dbg version` in
// each pod from captured files (testdata/cilium/<status|version>-<suffix>),
// by pod name; other commands fail.
func agentExec(t *testing.T, suffix map[string]string) podexec.Executor {
	return execFunc(func(_ context.Context, tg podexec.Target, argv []string, _ io.Reader, stdout, _ io.Writer) error {
		var file string
		switch strings.Join(argv, " ") {
		case "cilium-dbg status -o json":
			file = "status-" + suffix[tg.Pod] + ".json"
		case "cilium-dbg version":
			file = "version-" + suffix[tg.Pod] + ".txt"
		default:
			return fmt.Errorf("unexpected exec %v in %s", argv, tg.Pod)
		}
		b, err := os.ReadFile("../../testdata/cilium/" + file)
		require.NoError(t, err)
		_, err = stdout.Write(b)
		return err
	})
}

type execFunc func(ctx context.Context, t podexec.Target, argv []string, stdin io.Reader, stdout, stderr io.Writer) error

func (f execFunc) Exec(ctx context.Context, t podexec.Target, argv []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return f(ctx, t, argv, stdin, stdout, stderr)
}

func TestDetectCilium(t *testing.T) {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cilium-config", Namespace: "kube-system"},
		Data: map[string]string{"bpf-lb-map-max": "65536"}}
	cases := []struct {
		name   string
		objs   []runtime.Object
		suffix map[string]string
		want   Kind
		err    string
	}{
		{"overlay with kube-proxy replacement on every node", []runtime.Object{ciliumPod("a", "n1"), ciliumPod("b", "n2"), cm},
			map[string]string{"a": "overlay-idle", "b": "overlay-idle"}, CiliumOverlay, ""},
		{"native", []runtime.Object{ciliumPod("a", "n1")}, map[string]string{"a": "native-idle"}, CiliumNative, ""},
		{"agents disagree", []runtime.Object{ciliumPod("a", "n1"), ciliumPod("b", "n2")},
			map[string]string{"a": "overlay-idle", "b": "native-idle"}, "", "the cilium agents disagree"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := detect(context.Background(), fake.NewClientset(tc.objs...), logsFrom(t, nil), agentExec(t, tc.suffix), Options{})
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, d.Kind)
			require.Equal(t, "1.19.4", d.Cilium.Version)
			require.Equal(t, "True", d.Cilium.KubeProxyReplacement)
			require.Equal(t, "cilium", d.ServiceAgent())
			require.Nil(t, d.KubeProxy, "kube-proxy replaced: not looked for")
			require.Len(t, d.Cilium.Pods, len(tc.suffix))
			for node := range d.Cilium.Pods {
				require.Equal(t, "Ok", d.Cilium.Hubble[node])
			}
		})
	}
	t.Run("an agent that does not answer", func(t *testing.T) {
		_, err := detect(context.Background(), fake.NewClientset(ciliumPod("a", "n1")), logsFrom(t, nil),
			execFunc(func(_ context.Context, _ podexec.Target, argv []string, _ io.Reader, stdout, _ io.Writer) error {
				if argv[1] == "version" {
					_, err := io.WriteString(stdout, "Client: 1.19.4 95e477fdcf 2026-05-13T14:29:21Z go version go1.26.8 linux/amd64\nDaemon: Not responding\n")
					return err
				}
				b, err := os.ReadFile("../../testdata/cilium/status-overlay-idle.json")
				require.NoError(t, err)
				_, err = stdout.Write(b)
				return err
			}), Options{})
		require.ErrorContains(t, err, "cilium agents in kube-system: node n1: cilium-dbg version: the agent gave no version")
	})
}

func TestParseCiliumStatus(t *testing.T) {
	b, err := os.ReadFile("../../testdata/cilium/status-overlay-idle.json")
	require.NoError(t, err)
	st, err := ParseCiliumStatus(b)
	require.NoError(t, err)
	require.Equal(t, CiliumStatus{State: "Ok", KubeProxyReplacement: "True", Routing: "Tunnel", TunnelProtocol: "vxlan", Hubble: "Ok", SocketLB: "on"}, st)
	// The agent's own state decides socket LB, not a setting: an agent that
	// does not report it is "unknown", never assumed off.
	st, err = ParseCiliumStatus([]byte(`{"cilium":{"state":"Ok"},"kube-proxy-replacement":{"mode":"False","features":{"socketLB":{}}},"routing":{"inter-host-routing-mode":"Native"}}`))
	require.NoError(t, err)
	require.Equal(t, "off", st.SocketLB)
	st, err = ParseCiliumStatus([]byte(`{"cilium":{"state":"Ok"},"kube-proxy-replacement":{"mode":"False"},"routing":{"inter-host-routing-mode":"Native"}}`))
	require.NoError(t, err)
	require.Equal(t, "unknown", st.SocketLB)
	_, err = ParseCiliumStatus([]byte(`{"cilium":{"state":"Ok"}}`))
	require.EqualError(t, err, "cilium-dbg status -o json: no kube-proxy-replacement.mode, routing.inter-host-routing-mode")
	_, err = ParseCiliumStatus([]byte(`{"cilium":`))
	require.ErrorContains(t, err, "cilium-dbg status -o json: unexpected end of JSON input")
}

func TestCiliumServices(t *testing.T) {
	b, err := os.ReadFile("../../testdata/cilium/service-list-overlay-idle.json")
	require.NoError(t, err)
	fes, err := CiliumServices(b)
	require.NoError(t, err)
	require.Len(t, fes, 1)
	require.Equal(t, "10.96.0.1", fes[0].IP.String())
	require.Equal(t, CiliumFrontend{IP: fes[0].IP, Port: 443, Protocol: "TCP", Type: "ClusterIP", Namespace: "default", Name: "kubernetes", Backends: 1}, fes[0])
	_, err = CiliumServices([]byte(`[{"spec":{"frontend-address":{"ip":"x"}}}]`))
	require.ErrorContains(t, err, `entry 0: frontend "x"`)
}
