package dataplane

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// testdata reads a file of the repository's testdata/kube-proxy directory.
func testdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "kube-proxy", name))
	require.NoError(t, err)
	return string(b)
}

func TestKubeProxyModeFromLogCaptured(t *testing.T) {
	for file, want := range map[string]string{
		"v1.37.2-iptables.log": ModeIPTables, // real capture
		"v1.37.2-nftables.log": ModeNFTables, // constructed from the source's message, see provenance
		"v1.37.2-ipvs.log":     ModeIPVS,     // constructed from the source's message, see provenance
	} {
		t.Run(file, func(t *testing.T) {
			got, err := KubeProxyModeFromLog(testdata(t, file))
			require.NoError(t, err)
			require.Equal(t, want, got)
		})
	}
}

func TestKubeProxyModeFromLog(t *testing.T) {
	real := testdata(t, "v1.37.2-iptables.log")
	head := real[:strings.Index(real, "I1123 19:35:38.886017")] // everything before the proxier line
	cases := []struct {
		name, log, want, err string
	}{
		{name: "defaulted mode still says what runs",
			// v1.37.2 server_linux.go:141 logs this error first when no mode is set.
			log: head + `E1123 19:35:38.886001       1 server_linux.go:141] "No kube-proxy mode specified: defaulting to 'iptables'. Note that in Kubernetes 1.40 the default mode will switch to 'nftables'. If you wish to continue using 'iptables' mode, you must explicitly specify 'mode: iptables' in the kube-proxy config file, or '--proxy-mode iptables' on the kube-proxy command line."` + "\n" +
				`I1123 19:35:38.886017       1 server_linux.go:144] "Using iptables Proxier"` + "\n",
			want: ModeIPTables},
		{name: "kubectl logs --timestamps prefix",
			log:  `2026-11-23T19:35:38.886017000Z I1123 19:35:38.886017       1 server_linux.go:231] "Using nftables Proxier"`,
			want: ModeNFTables},
		{name: "JSON logging format",
			log:  `{"ts":1763926538886.017,"caller":"app/server_linux.go:231","msg":"Using nftables Proxier","v":0}`,
			want: ModeNFTables},
		{name: "same mode twice (CRLF)", log: real + strings.ReplaceAll(real, "\n", "\r\n"), want: ModeIPTables},

		{name: "empty", log: "", err: `no "Using <mode> Proxier" line in 0 lines`},
		{name: "cut before the proxier line", log: head,
			err: `no "Using <mode> Proxier" line in 5 lines: kube-proxy has not chosen its proxier yet, or the log does not reach back to its start`},
		{name: "message quoted inside another line is not the choice",
			log: `E1123 19:35:38.886017       1 x.go:1] "something" msg="Using ipvs Proxier"`, err: `no "Using <mode> Proxier" line in 1 lines`},
		{name: "two modes", log: real + `I1123 19:40:00.000000       1 server_linux.go:231] "Using nftables Proxier"`,
			err: `two proxiers, iptables (I1123 19:35:38.886017       1 server_linux.go:144] "Using iptables Proxier") and nftables (line 7)`},
		{name: "Windows mode", log: `I1123 19:35:38.886017    4212 server_windows.go:99] "Using kernelspace Proxier"`,
			err: `unknown proxier "kernelspace"`},
		{name: "chose, then failed", log: real + `E1123 19:35:38.900000       1 run.go:72] "command failed" err="unable to create proxier: can't set sysctl net/ipv4/conf/all/route_localnet"`,
			err: `chose the iptables proxier, then failed: E1123 19:35:38.900000       1 run.go:72] "command failed" err="unable to create proxier`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := KubeProxyModeFromLog(tc.log)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				require.Empty(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestKubeProxyModeFromConfig(t *testing.T) {
	const hdr = "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n"
	cases := []struct {
		name, conf, mode, err string
		explicit              bool
	}{
		{name: "quoted", conf: hdr + `mode: "ipvs"` + "\n", mode: ModeIPVS, explicit: true},
		{name: "single-quoted", conf: hdr + "mode: 'nftables'\n", mode: ModeNFTables, explicit: true},
		{name: "unquoted", conf: hdr + "mode: nftables\n", mode: ModeNFTables, explicit: true},
		{name: "iptables with a comment", conf: hdr + "mode: iptables # the default anyway\n", mode: ModeIPTables, explicit: true},
		{name: "kubeadm's default: empty string",
			// The shape of kubeadm's kube-proxy ConfigMap config.conf.
			conf: "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nbindAddress: 0.0.0.0\nclientConnection:\n  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf\nclusterCIDR: 10.244.0.0/16\nconntrack:\n  maxPerCore: null\nkind: KubeProxyConfiguration\nmode: \"\"\nnftables:\n  syncPeriod: 0s\n",
			mode: "", explicit: false},
		{name: "missing", conf: hdr + "clusterCIDR: 10.244.0.0/16\n", mode: "", explicit: false},
		{name: "null", conf: hdr + "mode: null\n", mode: "", explicit: false},
		{name: "tilde", conf: hdr + "mode: ~\n", mode: "", explicit: false},
		{name: "flow style", conf: `{apiVersion: kubeproxy.config.k8s.io/v1alpha1, kind: KubeProxyConfiguration, mode: ipvs}`, mode: ModeIPVS, explicit: true},
		{name: "nested mode fields are not the mode", conf: hdr + "detectLocalMode: ClusterCIDR\nipvs:\n  mode: ipvs\n", mode: "", explicit: false},

		{name: "empty", conf: "  \n", err: "kube-proxy config: empty"},
		{name: "not YAML", conf: "mode: [iptables\n", err: "not valid YAML"},
		{name: "a list", conf: "- mode: iptables\n", err: "not a YAML mapping of a KubeProxyConfiguration"},
		{name: "no kind", conf: "mode: iptables\n", err: `apiVersion "", kind "": want kubeproxy.config.k8s.io/v1alpha1, KubeProxyConfiguration`},
		{name: "another kind", conf: "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n", err: `kind "KubeletConfiguration"`},
		{name: "key case matters", conf: hdr + "Mode: ipvs\n", mode: "", explicit: false},
		{name: "mode not a string", conf: hdr + "mode: 3\n", err: "mode 3 is not a string"},
		{name: "mode case matters", conf: hdr + "mode: IPVS\n", err: `mode "IPVS": kube-proxy on Linux accepts iptables, nftables, ipvs or blank`},
		{name: "Windows mode", conf: hdr + "mode: kernelspace\n", err: `mode "kernelspace"`},
		{name: "userspace is gone", conf: hdr + "mode: userspace\n", err: `mode "userspace"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mode, explicit, err := KubeProxyModeFromConfig(tc.conf)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				require.Empty(t, mode)
				require.False(t, explicit)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.mode, mode)
			require.Equal(t, tc.explicit, explicit)
		})
	}
}

func TestKubeProxyMetricsFromConfig(t *testing.T) {
	const hdr = "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n"
	addr, err := KubeProxyMetricsFromConfig(hdr + "metricsBindAddress: 0.0.0.0:10249\n")
	require.NoError(t, err)
	require.Equal(t, "0.0.0.0:10249", addr)

	// A file that is not kube-proxy's, or one that decodes only half-way,
	// gives no address (FuzzKubeProxyConfig found the first, kept in
	// testdata/fuzz/FuzzKubeProxyConfig).
	for _, conf := range []string{"metricsBindAddress: A", "kind: KubeProxyConfiguration\nmetricsBindAddress: 0.0.0.0:1\napiVersion: [1]\n"} {
		addr, err = KubeProxyMetricsFromConfig(conf)
		require.Error(t, err, conf)
		require.Empty(t, addr, conf)
	}
}
