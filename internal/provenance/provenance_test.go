package provenance

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kube-netbench/internal/config"
	"kube-netbench/internal/dataplane"
	"kube-netbench/internal/imageid"
	"kube-netbench/internal/report"
)

func node(name, kernel, instanceType string) corev1.Node {
	n := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelInstanceTypeStable: instanceType}}}
	n.Status.NodeInfo.KernelVersion = kernel
	return n
}

func cfg(t *testing.T) config.Config {
	t.Helper()
	c, err := config.FromEnv(func(k string) string {
		return map[string]string{config.EnvRunID: "nb-1", config.EnvResultsDir: "/tmp/x", config.EnvRounds: "6"}[k]
	})
	require.NoError(t, err)
	return c
}

func TestFingerprintKubeProxy(t *testing.T) {
	det := dataplane.Detection{Kind: dataplane.KubeProxyIptables, KubeProxy: &dataplane.KubeProxy{Mode: "iptables",
		Image:    "registry.k8s.io/kube-proxy:v1.37.2",
		Evidence: []dataplane.ModeEvidence{{Mode: "iptables", Source: dataplane.SourceProxyMode, Of: "nb-node-1"}}}}
	fortio := report.Tool{Name: "fortio", Image: "fortio/fortio:1.66.5", Version: "1.66.5"}
	fp := Fingerprint(Inputs{Detection: det, Config: cfg(t), Tools: []report.Tool{fortio},
		Images:        []imageid.Image{{Ref: "fortio/fortio:1.66.5", IDs: []string{"sha256:aa"}}},
		Workload:      map[string]string{"workload-tool": "requests cpu=600m"},
		ServerVersion: "v1.37.2",
		Nodes:         []corev1.Node{node("n1", "6.18", "m5.large"), node("n2", "6.18", "m5.large")},
		Suite:         "sha256:bb"})
	require.Equal(t, "kube-proxy-iptables", fp.Dataplane)
	require.Equal(t, "sha256:bb", fp.Extra["suite-binary"], "a result names the binary that measured it")
	require.Equal(t, "v1.37.2", fp.DataplaneVersion, "kube-proxy's version is its image tag")
	require.Equal(t, "iptables", fp.KubeProxyMode)
	require.Equal(t, "v1.37.2", fp.KubernetesVersion)
	require.Equal(t, "6.18", fp.Kernel)
	require.Equal(t, []report.Node{{Name: "n1", Role: "server", InstanceType: "m5.large", Kernel: "6.18"},
		{Name: "n2", Role: "client", InstanceType: "m5.large", Kernel: "6.18"}}, fp.Nodes)
	require.Equal(t, "sha256:aa", fp.Tools[0].ImageID, "a tool carries the image ID its pods ran")
	require.Equal(t, report.Tool{Name: "kube-proxy", Image: "registry.k8s.io/kube-proxy:v1.37.2"}, fp.Tools[len(fp.Tools)-1])
	require.Equal(t, "iptables from /proxyMode on node nb-node-1", fp.Extra["kube-proxy-mode-evidence"])
	require.Equal(t, "requests cpu=600m", fp.Extra["workload-tool"])
	require.Equal(t, "6", fp.Config["ROUNDS"])
	require.NotContains(t, fp.Config, "RUN_ID", "values that change every run stay out: two runs of one setup compare")
	require.NotContains(t, fp.Config, "RESULTS_DIR")
	require.NotContains(t, fp.Extra, "image-ids")
}

func TestFingerprintCilium(t *testing.T) {
	det := dataplane.Detection{Kind: dataplane.CiliumOverlay, Cilium: &dataplane.Cilium{Version: "1.19.4", Image: "quay.io/cilium/cilium:v1.19.4",
		Routing: "Tunnel", TunnelProtocol: "vxlan", KubeProxyReplacement: "True", Namespace: "kube-system", Managed: "gke-dataplane-v2",
		Config: map[string]string{"bpf-lb-map-max": "65536", "enable-hubble": "true", "unrelated": "x"},
		Hubble: map[string]string{"n1": "Ok"}}}
	fp := Fingerprint(Inputs{Detection: det, Config: cfg(t), ImagesErr: errors.New("pods\n  forbidden"),
		Nodes: []corev1.Node{node("n1", "6.18", ""), node("n2", "6.1", "")}})
	require.Equal(t, "1.19.4", fp.DataplaneVersion)
	require.Empty(t, fp.KubeProxyMode)
	require.Equal(t, "", fp.Kernel, "nodes that disagree give no run-wide kernel")
	require.Equal(t, "6.1", fp.Nodes[1].Kernel)
	for k, v := range map[string]string{"cilium-routing": "Tunnel", "cilium-tunnel-protocol": "vxlan", "cilium-kube-proxy-replacement": "True",
		"cilium-namespace": "kube-system", "cilium-managed": "gke-dataplane-v2", "cilium-config-bpf-lb-map-max": "65536",
		"cilium-config-enable-hubble": "true", "cilium-hubble-n1": "Ok", "image-ids": "unknown: pods forbidden"} {
		require.Equal(t, v, fp.Extra[k], k)
	}
	require.NotContains(t, fp.Extra, "cilium-config-unrelated")
	require.Equal(t, report.Tool{Name: "cilium-agent", Image: "quay.io/cilium/cilium:v1.19.4", Version: "1.19.4"}, fp.Tools[len(fp.Tools)-1])
}

func TestFileDigest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "e2e.test")
	require.NoError(t, os.WriteFile(path, []byte("abc"), 0o600))
	d, err := FileDigest(path)
	require.NoError(t, err)
	// sha256("abc"), as sha256sum prints it.
	require.Equal(t, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", d)
	_, err = FileDigest(filepath.Join(t.TempDir(), "missing"))
	require.ErrorContains(t, err, "suite binary")
	self, err := ExecutableDigest()
	require.NoError(t, err)
	require.Regexp(t, "^sha256:[0-9a-f]{64}$", self)
}
