package cluster

import (
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"
)

// TestKindConfig decodes each rendered configuration strictly into kind's own
// v1alpha4 types (an unknown or misspelt field fails), as kind does.
func TestKindConfig(t *testing.T) {
	// v1alpha4 has no constant for it; kind's validation accepts "none"
	// (pkg/internal/apis/config/validate.go at v0.33.0).
	const noProxy = v1alpha4.ProxyMode("none")
	cases := []struct {
		dp    Dataplane
		mode  v1alpha4.ProxyMode
		noCNI bool
	}{
		{Iptables, v1alpha4.IPTablesProxyMode, false},
		{Nftables, v1alpha4.NFTablesProxyMode, false},
		{CiliumOverlay, noProxy, true},
		{CiliumNative, noProxy, true},
	}
	for _, tc := range cases {
		t.Run(string(tc.dp), func(t *testing.T) {
			raw, err := KindConfig(tc.dp)
			require.NoError(t, err)
			var c v1alpha4.Cluster
			require.NoError(t, yaml.UnmarshalStrict(raw, &c), "%s", raw)
			require.Equal(t, "Cluster", c.Kind)
			require.Equal(t, "kind.x-k8s.io/v1alpha4", c.APIVersion)
			require.Equal(t, tc.mode, c.Networking.KubeProxyMode)
			require.Equal(t, tc.noCNI, c.Networking.DisableDefaultCNI)
			require.Equal(t, KindPodSubnet, c.Networking.PodSubnet)
			var roles []v1alpha4.NodeRole
			for _, n := range c.Nodes {
				roles = append(roles, n.Role)
				require.Equal(t, NodeImage, n.Image)
			}
			require.Equal(t, []v1alpha4.NodeRole{v1alpha4.ControlPlaneRole, v1alpha4.WorkerRole, v1alpha4.WorkerRole}, roles)
		})
	}
	_, err := KindConfig("ipvs")
	require.EqualError(t, err, `KIND_DATAPLANE="ipvs": unknown dataplane; allowed: iptables, nftables, cilium-overlay, cilium-native`)
}

// ciliumValues are the chart values the suite sets, decoded strictly: a key
// the template gains must be added here on purpose.
type ciliumValues struct {
	KubeProxyReplacement bool   `json:"kubeProxyReplacement"`
	K8sServiceHost       string `json:"k8sServiceHost"`
	K8sServicePort       int    `json:"k8sServicePort"`
	IPAM                 struct {
		Mode string `json:"mode"`
	} `json:"ipam"`
	Operator struct {
		Replicas int `json:"replicas"`
	} `json:"operator"`
	RoutingMode           string `json:"routingMode"`
	TunnelProtocol        string `json:"tunnelProtocol"`
	IPv4NativeRoutingCIDR string `json:"ipv4NativeRoutingCIDR"`
	AutoDirectNodeRoutes  bool   `json:"autoDirectNodeRoutes"`
}

func TestCiliumValues(t *testing.T) {
	common := ciliumValues{KubeProxyReplacement: true, K8sServiceHost: "netbench-1-control-plane", K8sServicePort: 6443}
	common.IPAM.Mode, common.Operator.Replicas = "kubernetes", 1
	overlay, native := common, common
	overlay.RoutingMode, overlay.TunnelProtocol = "tunnel", "vxlan"
	native.RoutingMode, native.IPv4NativeRoutingCIDR, native.AutoDirectNodeRoutes = "native", "10.244.0.0/16", true
	for dp, want := range map[Dataplane]ciliumValues{CiliumOverlay: overlay, CiliumNative: native} {
		raw, err := CiliumValues(dp, "netbench-1")
		require.NoError(t, err)
		var got ciliumValues
		require.NoError(t, yaml.UnmarshalStrict(raw, &got), "%s", raw)
		require.Equal(t, want, got, "%s", dp)
	}
	_, err := CiliumValues(Nftables, "netbench-1")
	require.EqualError(t, err, `KIND_DATAPLANE="nftables": not a Cilium dataplane`)
}

// TestCiliumChartMatchesLab keeps the kind clusters' Cilium the lab's.
func TestCiliumChartMatchesLab(t *testing.T) {
	env, err := os.ReadFile("../../scripts/lab-versions.env")
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^CILIUM_VERSION=(\S+)$`).FindSubmatch(env)
	require.NotNil(t, m, "CILIUM_VERSION in scripts/lab-versions.env")
	require.Equal(t, string(m[1]), "v"+CiliumChartVersion)
}

func TestParseKindDataplane(t *testing.T) {
	d, err := ParseDataplane(KindDataplaneEnv, "")
	require.NoError(t, err)
	require.Equal(t, Iptables, d)
	d, err = ParseDataplane(KindDataplaneEnv, "cilium-native")
	require.NoError(t, err)
	require.True(t, d.Cilium())
	_, err = ParseDataplane(KindDataplaneEnv, "Cilium")
	require.ErrorContains(t, err, `KIND_DATAPLANE="Cilium": unknown dataplane`)
}

func TestCheckKindVersion(t *testing.T) {
	for out, want := range map[string]string{
		"kind v0.33.0 go1.24.5 linux/amd64\n":            "",
		"kind v0.34.1 go1.25.0 darwin/arm64":             "",
		"kind v0.26.0 go1.23.4 linux/amd64":              "/usr/bin/kind is kind v0.26.0; the suite needs kind v0.33.0 or newer",
		"kind v0.33.0-alpha.12+abc go1.24.5 linux/amd64": "is kind v0.33.0-alpha.12+abc; the suite needs kind v0.33.0 or newer",
		"Kubernetes IN Docker":                           `/usr/bin/kind version: unexpected output "Kubernetes IN Docker"`,
		"kind 0.x go1 linux":                             `/usr/bin/kind version: "0.x"`,
	} {
		err := CheckKindVersion("/usr/bin/kind", out)
		if want == "" {
			require.NoError(t, err, out)
			continue
		}
		require.ErrorContains(t, err, want, out)
	}
}

func TestKindClusterName(t *testing.T) {
	a, err := NewKindClusterName()
	require.NoError(t, err)
	b, err := NewKindClusterName()
	require.NoError(t, err)
	require.Regexp(t, `^netbench-[0-9a-f]{8}$`, a)
	require.NotEqual(t, a, b)

	clusters := "kind\nnetbench-0badcafe\n"
	require.NoError(t, CheckKindNameFree("netbench-00000000", clusters))
	require.NoError(t, CheckKindNameFree("netbench", clusters), "a prefix is not a match")
	require.NoError(t, CheckKindNameFree("netbench-1", ""))
	require.EqualError(t, CheckKindNameFree("netbench-0badcafe", clusters),
		"a kind cluster named netbench-0badcafe already exists; this run creates its own and leaves that one alone")
}
