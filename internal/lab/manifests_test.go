//go:build linux

package lab

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"
)

// agentObjects are a dataplane manifest's objects, each decoded strictly (an
// unknown or misspelt field fails).
type agentObjects struct {
	sa  corev1.ServiceAccount
	crb rbacv1.ClusterRoleBinding
	cm  corev1.ConfigMap
	ds  appsv1.DaemonSet
}

func decodeManifest(t *testing.T, m []byte) agentObjects {
	t.Helper()
	var o agentObjects
	targets := map[string]any{"ServiceAccount": &o.sa, "ClusterRoleBinding": &o.crb, "ConfigMap": &o.cm, "DaemonSet": &o.ds}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(m)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		var tm metav1.TypeMeta
		require.NoError(t, yaml.Unmarshal(doc, &tm))
		target, ok := targets[tm.Kind]
		require.True(t, ok, "unexpected or repeated kind %q", tm.Kind)
		require.NoError(t, yaml.UnmarshalStrict(doc, target), tm.Kind)
		delete(targets, tm.Kind)
	}
	require.Empty(t, targets, "kinds missing from the manifest")
	return o
}

func TestDataplaneManifests(t *testing.T) {
	for _, dp := range Dataplanes {
		t.Run(string(dp), func(t *testing.T) {
			p := manifestParams{PodCIDR: "10.244.0.0/16", Server: "https://10.250.0.1:6443", Device: "eth0",
				APIHost: "10.250.0.1", APIPort: "6443", Image: KubeProxyImage, Mode: string(dp)}
			name := "kube-proxy.yaml"
			if dp.Cilium() {
				p.Image, p.Mode, p.Native, name = CiliumImage, "", dp == CiliumNative, "cilium.yaml"
			}
			m, err := renderManifest(name, p)
			require.NoError(t, err)
			o := decodeManifest(t, m)

			spec := o.ds.Spec.Template.Spec
			assert.Equal(t, o.sa.Name, spec.ServiceAccountName)
			require.Len(t, o.crb.Subjects, 1)
			assert.Equal(t, o.sa.Name, o.crb.Subjects[0].Name)
			assert.Equal(t, metav1.NamespaceSystem, o.crb.Subjects[0].Namespace)
			assert.Subset(t, o.ds.Spec.Template.Labels, o.ds.Spec.Selector.MatchLabels, "the selector matches the pods")
			assert.True(t, spec.HostNetwork)
			vols := map[string]bool{}
			for _, v := range spec.Volumes {
				vols[v.Name] = true
			}
			for _, c := range append(spec.InitContainers, spec.Containers...) {
				assert.Equal(t, p.Image, c.Image, c.Name)
				for _, vm := range c.VolumeMounts {
					assert.True(t, vols[vm.Name], "%s mounts volume %q, which the pod does not have", c.Name, vm.Name)
				}
			}

			if !dp.Cilium() {
				var cfg struct {
					Mode        string `json:"mode"`
					ClusterCIDR string `json:"clusterCIDR"`
				}
				require.NoError(t, yaml.Unmarshal([]byte(o.cm.Data["config.conf"]), &cfg))
				assert.Equal(t, string(dp), cfg.Mode)
				assert.Equal(t, p.PodCIDR, cfg.ClusterCIDR)
				kc, err := clientcmd.Load([]byte(o.cm.Data["kubeconfig.conf"]))
				require.NoError(t, err)
				assert.Equal(t, p.Server, kc.Clusters["default"].Server)
				return
			}
			want := map[string]string{"routing-mode": "tunnel", "tunnel-protocol": "vxlan", "devices": "eth0", "kube-proxy-replacement": "true"}
			if dp == CiliumNative {
				want = map[string]string{"routing-mode": "native", "ipv4-native-routing-cidr": p.PodCIDR, "auto-direct-node-routes": "true", "devices": "eth0"}
			}
			for k, v := range want {
				assert.Equal(t, v, o.cm.Data[k], k)
			}
			env := map[string]string{}
			for _, e := range spec.Containers[0].Env {
				env[e.Name] = e.Value
			}
			assert.Equal(t, p.APIHost, env["KUBERNETES_SERVICE_HOST"])
			assert.Equal(t, p.APIPort, env["KUBERNETES_SERVICE_PORT"])
			assert.Equal(t, "false", o.cm.Data["enable-hubble"], "Hubble off unless LAB_CILIUM_HUBBLE=on")
			p.Hubble = true
			m, err = renderManifest(name, p)
			require.NoError(t, err)
			assert.Equal(t, "true", decodeManifest(t, m).cm.Data["enable-hubble"])
		})
	}
}
