// Package node runs the lab's real Kubernetes nodes: one kubelet, one
// containerd and its runc shims per node, each node in the lab's network
// namespace for it and in mount and UTS namespaces of its own, with private
// /run, /var/lib/kubelet, /var/lib/containerd, /var/log/pods, /etc/cni/net.d
// and /opt/cni/bin, and a cgroup subtree of its own under every mounted
// hierarchy (the kubelet's cgroupRoot).
//
// What the package writes is rendered by pure functions (Config.Render), so
// that the kubelet's, containerd's and the node's start-up script are
// table-tested without a machine; Start and Stop do the rest on Linux.
package node

import (
	"errors"
	"fmt"
	"net/netip"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// The node's fixed paths, as on a kubeadm or kind node: hostPath volumes of
// real DaemonSets (Cilium's /opt/cni/bin and /etc/cni/net.d, kube-proxy's
// /run/xtables.lock) name them, so they must be these, privately per node.
const (
	KubeletRootDir    = "/var/lib/kubelet"
	ContainerdRootDir = "/var/lib/containerd"
	ContainerdState   = "/run/containerd"
	ContainerdSocket  = "/run/containerd/containerd.sock"
	CNIConfDir        = "/etc/cni/net.d"
	CNIBinDir         = "/opt/cni/bin"
	PodLogDir         = "/var/log/pods"
	ContainerLogDir   = "/var/log/containers"
	// KubeletPort is the kubelet's API port on the node address.
	KubeletPort = 10250
	// CRINamespace is the containerd namespace the CRI plugin uses.
	CRINamespace = "k8s.io"
)

// privateDirs are the node paths backed by a directory of the node's own
// (Config.Dir/<base name>), mounted over the machine's path in the node's
// mount namespace only.
var privateDirs = []string{KubeletRootDir, ContainerdRootDir, PodLogDir, ContainerLogDir, CNIConfDir, CNIBinDir}

// HostDir is the directory of node directory nodeDir that backs path, one of
// the node's private paths ("/var/log/pods" is nodeDir/var_log_pods).
func HostDir(nodeDir, path string) string {
	return filepath.Join(nodeDir, strings.ReplaceAll(strings.TrimPrefix(path, "/"), "/", "_"))
}

// Binaries are the node's programs, by absolute host path.
type Binaries struct {
	Kubelet, Containerd, Shim, Ctr, Runc string
	// CNIPlugins are plugin binaries the node's /opt/cni/bin gets (copied:
	// a DaemonSet's init container may add its own there, as Cilium's does).
	CNIPlugins []string
}

// Config is one node.
type Config struct {
	// Name is the Node's name and the node's hostname.
	Name string
	// IP is the node's address on the lab's underlay (its InternalIP, where
	// the apiserver reaches the kubelet).
	IP netip.Addr
	// Netns is the path of the node's network namespace.
	Netns string
	// Dir is the node's state directory on the machine; everything the node
	// writes lives under it.
	Dir string
	// CgroupRoot is the kubelet's cgroupRoot, e.g. /netbench-lab/nb-node-1:
	// the node's daemons run in its "system" child, pods under "kubepods".
	CgroupRoot string
	// Server is the apiserver's URL as the node reaches it.
	Server string
	// CAFile is the lab's cluster CA certificate (kubelet client-CA and the
	// kubeconfig's certificate authority); CertFile and KeyFile are the
	// node's client credentials (system:node:<name>), ServingCertFile and
	// ServingKeyFile the kubelet's serving certificate.
	CAFile, CertFile, KeyFile, ServingCertFile, ServingKeyFile string
	Bin                                                        Binaries
	// CNIConfList is the CNI configuration the node starts with
	// (10-lab.conflist); "" when the dataplane's agent writes its own.
	CNIConfList string
	// SandboxImage is the pause image reference containerd pins.
	SandboxImage string
	// Images are image archives (docker or OCI tar) imported into the
	// node's containerd before the kubelet starts.
	Images []string
	// Labels are node labels the kubelet registers with.
	Labels map[string]string
	// KubeletArgs are extra kubelet flags (e.g. --v=2).
	KubeletArgs []string
	// Mounts are file systems the node gets before containerd starts, as a
	// node's boot gives them: Cilium's DaemonSet expects a bpffs at
	// /sys/fs/bpf and a cgroup2 at /run/cilium/cgroupv2 on its host. Each is
	// in the node's mount namespace: a new bpffs or tmpfs instance (so no
	// map is ever pinned in the machine's), and for cgroup2 the node's own
	// CgroupRoot in the machine's cgroup2 hierarchy, bound there.
	Mounts []Mount
	// ReadOnly are files made read-only in the node's mount namespace (bind
	// mounted over themselves, then remounted read-only), e.g. machine-wide
	// sysctls an agent on the node would otherwise change for the whole
	// machine, read through the node's /proc.
	ReadOnly []string
}

// Mount is a file system mounted in the node's mount namespace.
type Mount struct {
	FSType, Target string
}

var nameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// Validate checks everything Render and Start rely on, naming each problem.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("node %s: "+format, append([]any{c.Name}, a...)...))
	}
	if !nameRE.MatchString(c.Name) || len(c.Name) > 63 {
		bad("name %q is not a DNS label", c.Name)
	}
	if !c.IP.IsValid() {
		bad("no node IP")
	}
	for _, p := range []struct{ what, v string }{
		{"netns", c.Netns}, {"dir", c.Dir}, {"cgroup root", c.CgroupRoot},
		{"CA file", c.CAFile}, {"client cert", c.CertFile}, {"client key", c.KeyFile},
		{"serving cert", c.ServingCertFile}, {"serving key", c.ServingKeyFile},
		{"kubelet", c.Bin.Kubelet}, {"containerd", c.Bin.Containerd}, {"containerd-shim-runc-v2", c.Bin.Shim},
		{"ctr", c.Bin.Ctr}, {"runc", c.Bin.Runc},
	} {
		if !path.IsAbs(p.v) {
			bad("%s %q is not an absolute path", p.what, p.v)
		}
	}
	if c.CgroupRoot != "" && (c.CgroupRoot == "/" || path.Clean(c.CgroupRoot) != c.CgroupRoot) {
		bad("cgroup root %q must be a clean path below /", c.CgroupRoot)
	}
	if !strings.HasPrefix(c.Server, "https://") {
		bad("apiserver URL %q is not https", c.Server)
	}
	if c.SandboxImage == "" {
		bad("no sandbox (pause) image")
	}
	if filepath.Dir(c.Bin.Shim) != filepath.Dir(c.Bin.Containerd) {
		// containerd finds its shim on PATH, next to itself.
		bad("containerd-shim-runc-v2 %s is not beside containerd %s", c.Bin.Shim, c.Bin.Containerd)
	}
	for _, m := range c.Mounts {
		if (m.FSType != "bpf" && m.FSType != "cgroup2" && m.FSType != "tmpfs") || !path.IsAbs(m.Target) {
			bad("mount %s at %q: want bpf, cgroup2 or tmpfs at an absolute path", m.FSType, m.Target)
		}
	}
	for _, f := range c.ReadOnly {
		if !path.IsAbs(f) || strings.ContainsAny(f, "'\"\\$` \n") {
			bad("read-only path %q: want an absolute path the start-up script can quote", f)
		}
	}
	for _, s := range []string{c.Dir, c.Netns, c.CgroupRoot} {
		if strings.ContainsAny(s, "'\"\\$` \n") {
			bad("path %q has characters the start-up script does not quote", s)
		}
	}
	return errors.Join(errs...)
}

// sortedLabels is "k=v,k=v" in key order.
func sortedLabels(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ",")
}
