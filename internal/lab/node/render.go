package node

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
)

// Files are what a node's start needs on disk, by path relative to
// Config.Dir.
type Files map[string]string

// File names under Config.Dir.
const (
	ScriptFile     = "node.sh"
	ContainerdTOML = "containerd.toml"
	KubeletYAML    = "kubelet.yaml"
	KubeconfigFile = "kubeconfig"
	ResolvConf     = "resolv.conf"
	CNIConfFile    = "10-lab.conflist"
)

// Render returns the node's files for the cgroup hierarchies mounted at
// hierarchies (e.g. /sys/fs/cgroup/cpu, ..., /sys/fs/cgroup/unified, or
// /sys/fs/cgroup alone on a cgroup v2 machine).
func (c Config) Render(hierarchies []string) (Files, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if len(hierarchies) == 0 {
		return nil, fmt.Errorf("node %s: no cgroup hierarchy mounted", c.Name)
	}
	kubelet, err := c.kubeletConfig()
	if err != nil {
		return nil, err
	}
	f := Files{
		ScriptFile:     c.script(hierarchies),
		ContainerdTOML: c.containerdConfig(),
		KubeletYAML:    kubelet,
		KubeconfigFile: c.kubeconfig(),
		// No nameserver: the lab has no DNS and no route out; pods get this
		// instead of the machine's resolvers.
		ResolvConf: "# kube-netbench lab node " + c.Name + ": no DNS in the lab\noptions ndots:1\n",
	}
	if c.CNIConfList != "" {
		f[CNIConfFile] = c.CNIConfList
	}
	return f, nil
}

// PTPConfList is the kube-proxy lab's CNI network: a veth pair per pod with a
// /32 route on the node (ptp) and addresses from the node's pod CIDR
// (host-local). No masquerade: pod addresses are routed across nodes.
func PTPConfList(podCIDR netip.Prefix, ipamDir string) string {
	return fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": "netbench-lab",
  "plugins": [{
    "type": "ptp",
    "ipMasq": false,
    "mtu": 1500,
    "ipam": {
      "type": "host-local",
      "ranges": [[{"subnet": %q}]],
      "routes": [{"dst": "0.0.0.0/0"}],
      "dataDir": %q
    }
  }]
}`, podCIDR.String(), ipamDir)
}

// containerdConfig is containerd 2.x's configuration (version 3): state,
// socket and root at the node's private paths, runc through the cgroupfs
// driver, the pinned pause image, and the CNI directories. There is no
// registry: a reference the node does not hold fails with ErrImagePull, as
// on a cluster that cannot reach it.
//
// restrict_oom_score_adj: this machine withholds CAP_SYS_RESOURCE, so no
// process may lower its oom_score_adj; the kubelet asks -998 for sandboxes,
// which runc cannot set. The option clamps requests to containerd's own
// value (lab-recipe.md §11).
func (c Config) containerdConfig() string {
	return fmt.Sprintf(`version = 3
root = %q
state = %q

[grpc]
  address = %q

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"

[plugins."io.containerd.cri.v1.images".pinned_images]
  sandbox = %q

[plugins."io.containerd.cri.v1.runtime"]
  restrict_oom_score_adj = true
  enable_selinux = false

[plugins."io.containerd.cri.v1.runtime".containerd]
  default_runtime_name = "runc"

[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
  BinaryName = %q
  SystemdCgroup = false

[plugins."io.containerd.cri.v1.runtime".cni]
  bin_dirs = [%q]
  conf_dir = %q
`, ContainerdRootDir, ContainerdState, ContainerdSocket, c.SandboxImage, c.Bin.Runc, CNIBinDir, CNIConfDir)
}

// kubeletConfig is the KubeletConfiguration: cgroupfs driver under the
// node's cgroupRoot, cgroup v1 allowed (this machine's controllers are on
// v1; the kubelet refuses v1 unless told), the kubelet API on the node
// address with client certificates of the lab's CA and webhook
// authorization (as kubeadm sets it), no static pods, and image garbage
// collection off (the node's images cannot be pulled again).
func (c Config) kubeletConfig() (string, error) {
	// Written as YAML text rather than through k8s.io/kubelet's types, whose
	// package pulls component-base's flag parsing (cobra) into the suite.
	// The kubelet decodes it strictly, so a misspelt field fails its start.
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: %s
cgroupsPerQOS: true
containerRuntimeEndpoint: unix://%s
address: %s
port: %d
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: %s
tlsPrivateKeyFile: %s
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: %s}
authorization: {mode: Webhook}
resolvConf: %s
clusterDomain: cluster.local
# The machine's disk is shared with everything else: evict only when it is
# truly full, and never collect images (the node cannot pull them again).
evictionHard: {memory.available: 100Mi, nodefs.available: 1%%, imagefs.available: 1%%, nodefs.inodesFree: 1%%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
failSwapOn: false
# The kubelet's kernel tunables are written machine-wide; the lab records and
# restores them (protectKernelDefaults would refuse to start instead).
protectKernelDefaults: false
maxPods: 110
# Container stats straight from containerd (it reads the cgroup per request):
# cAdvisor's cached readings, refreshed every 10-15 s, cannot give a
# dataplane agent's CPU over a seconds-long window (TestResources).
featureGates: {PodAndContainerStatsFromCRI: true}
`, c.CgroupRoot, ContainerdSocket, c.IP, KubeletPort, c.ServingCertFile, c.ServingKeyFile, c.CAFile,
		filepath.Join(c.Dir, ResolvConf)), nil
}

// kubeconfig is the kubelet's: the node's own client certificate
// (system:node:<name> in system:nodes), so that the Node authorizer and
// NodeRestriction treat it as that node.
func (c Config) kubeconfig() string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster:
    certificate-authority: %s
    server: %s
users:
- name: system:node:%s
  user:
    client-certificate: %s
    client-key: %s
contexts:
- name: lab
  context: {cluster: lab, user: "system:node:%s"}
current-context: lab
`, c.CAFile, c.Server, c.Name, c.CertFile, c.KeyFile, c.Name)
}

// ShellQuote quotes s for a POSIX shell.
func ShellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// script is the node's start-up, run by /bin/sh as `nsenter --net=<netns>
// -- unshare --mount --uts --propagation private -- /bin/sh node.sh` (no
// fork: this shell is the node's first process). It joins the node's
// "system" cgroup first, so that everything the node ever runs (containerd,
// the kubelet, the shims and, through the kubelet's cgroupRoot, every
// container) lives under the node's cgroup: teardown kills that subtree and
// nothing else. It then gives the node private paths, starts containerd,
// imports the images, and starts the kubelet.
func (c Config) script(hierarchies []string) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	q := ShellQuote
	w("#!/bin/sh")
	w("# kube-netbench lab node %s, written by the lab (internal/lab/node).", c.Name)
	w("set -eu")
	w("node_dir=%s", q(c.Dir))
	w("for h in %s; do", strings.Join(quoteAll(hierarchies), " "))
	w(`	echo $$ > "$h"%s/system/cgroup.procs`, q(c.CgroupRoot))
	w("done")
	w("hostname %s", q(c.Name))
	w("# Private /run: containerd's socket and shims' directory are fixed under /run/containerd.")
	w("mount -t tmpfs -o mode=0755,size=256m tmpfs /run")
	w("overlaid=''")
	w("# ensure_dir DIR makes DIR exist in this mount namespace only: when the machine lacks it, the")
	w("# nearest existing parent gets an overlay whose upper layer is the node's.")
	w("ensure_dir() {")
	w(`	[ -d "$1" ] && return 0`)
	w(`	p=$(dirname "$1")`)
	w(`	while [ ! -d "$p" ]; do p=$(dirname "$p"); done`)
	w(`	case " $overlaid " in *" $p "*) ;; *)`)
	w(`		o="$node_dir/overlay/$(echo "$p" | tr / _)"`)
	w(`		mkdir -p "$o/upper" "$o/work"`)
	w(`		mount -t overlay overlay -o "lowerdir=$p,upperdir=$o/upper,workdir=$o/work" "$p"`)
	w(`		overlaid="$overlaid $p" ;;`)
	w("	esac")
	w(`	mkdir -p "$1"`)
	w("}")
	for _, d := range privateDirs {
		src := HostDir(c.Dir, d)
		w("mkdir -p %s; ensure_dir %s; mount --bind %s %s", q(src), q(d), q(src), q(d))
	}
	for _, m := range c.Mounts {
		if m.FSType != "cgroup2" {
			w("ensure_dir %s; mount -t %s %s %s", q(m.Target), m.FSType, m.FSType, q(m.Target))
			continue
		}
		// The node's own subtree, never the hierarchy's root: a program
		// attached there (Cilium's socket LB) then sees this node's
		// processes only, as on a real node, not the machine's.
		w("cg2=''")
		w("for h in %s; do [ -e \"$h/cgroup.controllers\" ] && cg2=\"$h\"; done", strings.Join(quoteAll(hierarchies), " "))
		w(`[ -n "$cg2" ] || { echo "no cgroup2 hierarchy to give %s" >&2; exit 1; }`, m.Target)
		w("ensure_dir %s; mount --bind \"$cg2\"%s %s", q(m.Target), q(c.CgroupRoot), q(m.Target))
	}
	for _, f := range c.ReadOnly {
		w("mount --bind %s %s; mount -o remount,bind,ro %s", q(f), q(f), q(f))
	}
	w("# Mounts made below (pod volumes, Cilium's bpffs) propagate within the node, never to the machine.")
	w("mount --make-rshared /")
	if c.CNIConfList != "" {
		w("cp \"$node_dir\"/%s %s/", CNIConfFile, q(CNIConfDir))
	}
	if len(c.Bin.CNIPlugins) > 0 {
		w("cp %s %s/", strings.Join(quoteAll(c.Bin.CNIPlugins), " "), q(CNIBinDir))
	}
	w("export PATH=%s:\"$PATH\"", q(filepath.Dir(c.Bin.Containerd)))
	w("%s --config \"$node_dir\"/%s >>\"$node_dir\"/containerd.log 2>&1 &", q(c.Bin.Containerd), ContainerdTOML)
	w("containerd_pid=$!")
	w("trap 'kill -TERM ${kubelet_pid:-} $containerd_pid 2>/dev/null; wait; exit 143' TERM INT")
	w("# containerd serves once ctr gets its version: polled, never a fixed sleep.")
	w("i=0")
	w("until %s -a %s version >/dev/null 2>&1; do", q(c.Bin.Ctr), ContainerdSocket)
	w(`	kill -0 $containerd_pid 2>/dev/null || { echo "containerd exited (see $node_dir/containerd.log)" >&2; exit 1; }`)
	w("	i=$((i + 1))")
	w(`	[ $i -lt 600 ] || { echo "containerd did not serve within 60 s" >&2; exit 1; }`)
	w("	sleep 0.1")
	w("done")
	for _, img := range c.Images {
		w("%s -a %s -n %s images import %s >/dev/null", q(c.Bin.Ctr), ContainerdSocket, CRINamespace, q(img))
	}
	args := []string{
		"--config=" + filepath.Join(c.Dir, KubeletYAML),
		"--kubeconfig=" + filepath.Join(c.Dir, KubeconfigFile),
		"--hostname-override=" + c.Name,
		"--node-ip=" + c.IP.String(),
	}
	if len(c.Labels) > 0 {
		args = append(args, "--node-labels="+sortedLabels(c.Labels))
	}
	args = append(args, c.KubeletArgs...)
	w("%s %s >>\"$node_dir\"/kubelet.log 2>&1 &", q(c.Bin.Kubelet), strings.Join(quoteAll(args), " "))
	w("kubelet_pid=$!")
	w("echo \"node %s: containerd $containerd_pid, kubelet $kubelet_pid\"", c.Name)
	w("# The node lives as long as its kubelet.")
	w("status=0; wait $kubelet_pid || status=$?")
	w("kill -TERM $containerd_pid 2>/dev/null || true")
	w("wait $containerd_pid || true")
	w(`echo "kubelet exited with status $status (see $node_dir/kubelet.log)" >&2`)
	w("exit $status")
	return b.String()
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = ShellQuote(s)
	}
	return out
}
