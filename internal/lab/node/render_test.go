package node

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/containernetworking/cni/libcni"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

func testConfig() Config {
	bin := "/cache/containerd/v2.4.2/"
	return Config{
		Name: "nb-node-1", IP: netip.MustParseAddr("169.254.10.2"), Netns: "/var/run/netns/nb-node-1",
		Dir: "/lab/nodes/nb-node-1", CgroupRoot: "/netbench-lab/nb-node-1", Server: "https://169.254.10.1:6443",
		CAFile: "/lab/pki/ca.crt", CertFile: "/lab/nodes/nb-node-1/c.crt", KeyFile: "/lab/nodes/nb-node-1/c.key",
		ServingCertFile: "/lab/nodes/nb-node-1/s.crt", ServingKeyFile: "/lab/nodes/nb-node-1/s.key",
		Bin: Binaries{Kubelet: "/cache/kubernetes/v1.37.2/kubelet", Containerd: bin + "containerd", Shim: bin + "containerd-shim-runc-v2",
			Ctr: bin + "ctr", Runc: "/cache/runc/v1.5.3/runc", CNIPlugins: []string{"/cache/cni/ptp", "/cache/cni/host-local"}},
		CNIConfList:  `{"cniVersion":"1.0.0","name":"lab","plugins":[{"type":"ptp"}]}`,
		SandboxImage: "registry.k8s.io/pause:3.10.2",
		Images:       []string{"/cache/images/pause.tar", "/cache/images/fortio.tar"},
		Labels:       map[string]string{"netbench.io/lab": "netbench-lab", "a": "b"},
	}
}

// hybrid is this project's machine: ten v1 hierarchies and an empty cgroup2.
var hybrid = []string{"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"}

func TestRender(t *testing.T) {
	f, err := testConfig().Render(hybrid)
	require.NoError(t, err)

	ctd := f[ContainerdTOML]
	for _, want := range []string{
		"version = 3",
		`address = "/run/containerd/containerd.sock"`,
		`sandbox = "registry.k8s.io/pause:3.10.2"`,
		// No CAP_SYS_RESOURCE here: runc cannot lower oom_score_adj.
		"restrict_oom_score_adj = true",
		`BinaryName = "/cache/runc/v1.5.3/runc"`,
		"SystemdCgroup = false",
		`conf_dir = "/etc/cni/net.d"`,
	} {
		require.Contains(t, ctd, want)
	}

	var kc map[string]any
	require.NoError(t, yaml.UnmarshalStrict([]byte(f[KubeletYAML]), &kc))
	require.Equal(t, false, kc["failCgroupV1"], "kubelet 1.37 refuses cgroup v1 unless told")
	require.Equal(t, "cgroupfs", kc["cgroupDriver"])
	require.Equal(t, "/netbench-lab/nb-node-1", kc["cgroupRoot"])
	require.Equal(t, "169.254.10.2", kc["address"])
	require.Equal(t, "unix:///run/containerd/containerd.sock", kc["containerRuntimeEndpoint"])
	require.Equal(t, map[string]any{"mode": "Webhook"}, kc["authorization"])
	require.Equal(t, "/lab/nodes/nb-node-1/resolv.conf", kc["resolvConf"])
	require.Equal(t, false, kc["protectKernelDefaults"])
	require.Equal(t, map[string]any{"PodAndContainerStatsFromCRI": true}, kc["featureGates"], "live cgroup readings for TestResources")

	require.Contains(t, f[KubeconfigFile], "client-certificate: /lab/nodes/nb-node-1/c.crt")
	require.Contains(t, f[KubeconfigFile], `user: "system:node:nb-node-1"`)
	require.NotContains(t, f[ResolvConf], "nameserver")
	require.Equal(t, testConfig().CNIConfList, f[CNIConfFile])

	s := f[ScriptFile]
	lines := strings.Split(s, "\n")
	// The cgroup join comes before anything is started.
	require.Equal(t, "for h in '/sys/fs/cgroup/cpu' '/sys/fs/cgroup/memory' '/sys/fs/cgroup/systemd' '/sys/fs/cgroup/unified'; do", lines[4])
	require.Contains(t, lines[5], `echo $$ > "$h"'/netbench-lab/nb-node-1'/system/cgroup.procs`)
	for _, want := range []string{
		"hostname 'nb-node-1'",
		"mount -t tmpfs -o mode=0755,size=256m tmpfs /run",
		"ensure_dir '/var/lib/kubelet'; mount --bind '/lab/nodes/nb-node-1/var_lib_kubelet' '/var/lib/kubelet'",
		"ensure_dir '/opt/cni/bin'",
		"mount --make-rshared /",
		"cp '/cache/cni/ptp' '/cache/cni/host-local' '/opt/cni/bin'/",
		"'/cache/containerd/v2.4.2/ctr' -a /run/containerd/containerd.sock -n k8s.io images import '/cache/images/fortio.tar'",
		"'--node-ip=169.254.10.2'",
		"'--node-labels=a=b,netbench.io/lab=netbench-lab'",
		"'--hostname-override=nb-node-1'",
	} {
		require.Contains(t, s, want)
	}
	// Images are imported before the kubelet starts, and containerd serves first.
	require.Less(t, strings.Index(s, "version >/dev/null"), strings.Index(s, "images import"))
	require.Less(t, strings.Index(s, "images import"), strings.Index(s, "--kubeconfig="))
}

func TestRenderWithoutCNIConfig(t *testing.T) {
	c := testConfig()
	c.CNIConfList = ""
	c.Mounts = []Mount{{FSType: "bpf", Target: "/sys/fs/bpf"}, {FSType: "cgroup2", Target: "/run/cilium/cgroupv2"}}
	c.ReadOnly = []string{"/proc/sys/kernel/timer_migration"}
	f, err := c.Render(hybrid)
	require.NoError(t, err)
	_, ok := f[CNIConfFile]
	require.False(t, ok, "the dataplane's agent writes its own CNI configuration")
	require.NotContains(t, f[ScriptFile], CNIConfFile)
	require.Contains(t, f[ScriptFile], "ensure_dir '/sys/fs/bpf'; mount -t bpf bpf '/sys/fs/bpf'")
	require.Contains(t, f[ScriptFile], "mount --bind '/proc/sys/kernel/timer_migration' '/proc/sys/kernel/timer_migration'; mount -o remount,bind,ro '/proc/sys/kernel/timer_migration'")
	// The node's subtree of the cgroup2 hierarchy, found at boot, not the
	// machine's root: Cilium attaches its socket-LB programs there.
	require.Contains(t, f[ScriptFile], `ensure_dir '/run/cilium/cgroupv2'; mount --bind "$cg2"'/netbench-lab/nb-node-1' '/run/cilium/cgroupv2'`)
	require.NotContains(t, f[ScriptFile], "mount -t cgroup2")
	// After the private /run, so that the cgroup2 mount point is the node's.
	require.Less(t, strings.Index(f[ScriptFile], "tmpfs /run"), strings.Index(f[ScriptFile], "cgroupv2"))
}

// TestRenderPTPConfList checks that the network list the CNI plugins get is
// what the lab means: ptp, no masquerade, host-local addresses from the
// node's range, a default route through the node.
func TestRenderPTPConfList(t *testing.T) {
	list, err := libcni.ConfListFromBytes([]byte(PTPConfList(netip.MustParsePrefix("10.244.3.0/24"), "/x/ipam")))
	require.NoError(t, err)
	require.Equal(t, "1.0.0", list.CNIVersion)
	require.Len(t, list.Plugins, 1)
	var ptp struct {
		Type   string
		IPMasq bool
		IPAM   struct {
			Type    string
			Ranges  [][]struct{ Subnet string }
			Routes  []struct{ Dst string }
			DataDir string
		}
	}
	require.NoError(t, json.Unmarshal(list.Plugins[0].Bytes, &ptp))
	require.Equal(t, "ptp", ptp.Type)
	require.False(t, ptp.IPMasq)
	require.Equal(t, "host-local", ptp.IPAM.Type)
	require.Equal(t, "10.244.3.0/24", ptp.IPAM.Ranges[0][0].Subnet)
	require.Equal(t, "0.0.0.0/0", ptp.IPAM.Routes[0].Dst)
	require.Equal(t, "/x/ipam", ptp.IPAM.DataDir)
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		err    string
	}{
		{"bad name", func(c *Config) { c.Name = "Node_1" }, `name "Node_1" is not a DNS label`},
		{"no IP", func(c *Config) { c.IP = netip.Addr{} }, "no node IP"},
		{"relative dir", func(c *Config) { c.Dir = "lab/x" }, `dir "lab/x" is not an absolute path`},
		{"cgroup root /", func(c *Config) { c.CgroupRoot = "/" }, `cgroup root "/" must be a clean path below /`},
		{"plain http", func(c *Config) { c.Server = "http://x:6443" }, "is not https"},
		{"shim elsewhere", func(c *Config) { c.Bin.Shim = "/other/containerd-shim-runc-v2" }, "is not beside containerd"},
		{"unquotable path", func(c *Config) { c.Dir = "/lab/my node" }, "characters the start-up script does not quote"},
		{"no pause", func(c *Config) { c.SandboxImage = "" }, "no sandbox (pause) image"},
		{"odd mount", func(c *Config) { c.Mounts = []Mount{{FSType: "ext4", Target: "/x"}} }, "want bpf, cgroup2 or tmpfs"},
		{"relative read-only path", func(c *Config) { c.ReadOnly = []string{"proc/sys"} }, `read-only path "proc/sys"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig()
			tc.mutate(&c)
			err := c.Validate()
			require.ErrorContains(t, err, tc.err)
			_, rerr := c.Render(hybrid)
			require.Error(t, rerr, "Render validates first")
		})
	}
	_, err := testConfig().Render(nil)
	require.ErrorContains(t, err, "no cgroup hierarchy")
}
