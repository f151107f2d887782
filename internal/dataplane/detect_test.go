package dataplane

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

func kubeProxyPod(name, node string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "kube-system", Labels: map[string]string{"k8s-app": "kube-proxy"}},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "kube-proxy", Image: "registry.k8s.io/kube-proxy:v1.37.2"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
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
		{"iptables on every node", []runtime.Object{kubeProxyPod("a", "n1"), kubeProxyPod("b", "n2"), configMap("iptables")},
			map[string]string{"a": "v1.37.2-iptables.log", "b": "v1.37.2-iptables.log"}, KubeProxyIptables, ""},
		// The seed script read the ConfigMap only and called everything but
		// ipvs "iptables" (W-BUG-6); what runs decides.
		{"nftables, ConfigMap without a mode", []runtime.Object{kubeProxyPod("a", "n1"), configMap(`""`)},
			map[string]string{"a": "v1.37.2-nftables.log"}, KubeProxyNftables, ""},
		{"ipvs without a ConfigMap", []runtime.Object{kubeProxyPod("a", "n1")},
			map[string]string{"a": "v1.37.2-ipvs.log"}, KubeProxyIPVS, ""},
		{"modes differ between nodes", []runtime.Object{kubeProxyPod("a", "n1"), kubeProxyPod("b", "n2")},
			map[string]string{"a": "v1.37.2-iptables.log", "b": "v1.37.2-nftables.log"}, "", "different modes on different nodes (iptables on n1; nftables on n2)"},
		{"ConfigMap disagrees with what runs", []runtime.Object{kubeProxyPod("a", "n1"), configMap("nftables")},
			map[string]string{"a": "v1.37.2-iptables.log"}, "", `ConfigMap says mode "nftables" but the running kube-proxy uses "iptables"`},
		{"nothing runs", nil, nil, "", "no running kube-proxy pod"},
		{"log without a proxier line", []runtime.Object{kubeProxyPod("a", "n1")},
			map[string]string{"a": "iptables-save-nat-empty.txt"}, "", "kube-proxy pod a on n1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := detect(context.Background(), fake.NewClientset(tc.objs...), logsFrom(t, tc.logs))
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
