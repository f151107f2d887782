package cli

import (
	"testing"

	"github.com/stretchr/testify/require"

	"kube-netbench/internal/cluster"
)

// TestKind: the command prints exactly what the suite renders for its own
// kind cluster (internal/cluster tests the rendering itself).
func TestKind(t *testing.T) {
	for _, dp := range cluster.Dataplanes {
		t.Run("config/"+string(dp), func(t *testing.T) {
			want, err := cluster.KindConfig(dp)
			require.NoError(t, err)
			code, stdout, stderr := run("", "kind", "config", string(dp))
			require.Empty(t, stderr)
			require.Equal(t, 0, code)
			require.Equal(t, string(want), stdout)
		})
	}
	for _, dp := range []cluster.Dataplane{cluster.CiliumOverlay, cluster.CiliumNative} {
		t.Run("cilium-values/"+string(dp), func(t *testing.T) {
			want, err := cluster.CiliumValues(dp, "netbench-upgrade")
			require.NoError(t, err)
			code, stdout, stderr := run("", "kind", "cilium-values", string(dp), "netbench-upgrade")
			require.Empty(t, stderr)
			require.Equal(t, 0, code)
			require.Equal(t, string(want), stdout)
			require.Contains(t, stdout, "k8sServiceHost: netbench-upgrade-control-plane\n")
		})
	}
}

func TestKindErrors(t *testing.T) {
	const want = "want config DATAPLANE or cilium-values DATAPLANE CLUSTER, got "
	cases := []struct {
		name   string
		args   []string
		stderr string // after "netbench kind: ", but its newline
	}{
		{"no subcommand", nil, want + "[]\n" + usage},
		{"unknown subcommand", []string{"values", "cilium-overlay"}, want + `["values" "cilium-overlay"]` + "\n" + usage},
		{"config without a dataplane", []string{"config"}, want + `["config"]` + "\n" + usage},
		{"cilium-values without a cluster", []string{"cilium-values", "cilium-overlay"}, want + `["cilium-values" "cilium-overlay"]` + "\n" + usage},
		{"unknown dataplane", []string{"config", "ipvs"},
			`DATAPLANE="ipvs": unknown dataplane; allowed: iptables, nftables, cilium-overlay, cilium-native`},
		{"values of kube-proxy", []string{"cilium-values", "nftables", "c"},
			`DATAPLANE="nftables": not a Cilium dataplane; allowed: cilium-overlay, cilium-native`},
		{"bad cluster name", []string{"cilium-values", "cilium-native", "Up_grade"},
			`CLUSTER="Up_grade": not a kind cluster name; allowed: ^[a-z0-9.-]+$`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run("", append([]string{"kind"}, tc.args...)...)
			require.Equal(t, 2, code)
			require.Empty(t, stdout)
			require.Equal(t, "netbench kind: "+tc.stderr+"\n", stderr)
		})
	}
}
