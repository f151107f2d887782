// Package components locates the binaries the lab runs in the version-keyed
// cache that scripts/lab-build.sh fills (the images' inputs there are
// scripts/labbuild/images' business), and the Debian tools the lab needs on
// the machine.
//
// The versions are written in scripts/lab-versions.env for the build script and
// here for the Go code; TestVersionsMatchBuildScript keeps the two equal.
package components

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Versions of the components the lab builds from the Go module proxy.
const (
	KubernetesVersion = "v1.37.2"
	EtcdVersion       = "v3.6.16"
	KwokVersion       = "v0.8.0"
	FortioVersion     = "v1.66.5"
	CNIPluginsVersion = "v1.9.1"
)

// Versions of the real nodes' container runtime (beside the kubelet of
// KubernetesVersion).
const (
	ContainerdVersion = "v2.4.2"
	RuncVersion       = "v1.5.3"
)

// NetperfVersion is the Debian package version of netperf (non-free; see
// scripts/lab-versions.env): the package the tools image (images/tools) holds.
const NetperfVersion = "2.7.0-0.1"

// CiliumVersion is the Cilium of the study (cilium-agent, cilium-dbg,
// cilium-cni, its bpf/ sources and CRDs), built only for the cilium-* lab
// dataplanes (scripts/lab-build.sh cilium).
const CiliumVersion = "v1.19.4"

// versionVars maps each version to its variable in scripts/lab-versions.env.
var versionVars = map[string]string{
	"KUBERNETES_VERSION":  KubernetesVersion,
	"ETCD_VERSION":        EtcdVersion,
	"KWOK_VERSION":        KwokVersion,
	"FORTIO_VERSION":      FortioVersion,
	"CNI_PLUGINS_VERSION": CNIPluginsVersion,
	"NETPERF_VERSION":     NetperfVersion,
	"CILIUM_VERSION":      CiliumVersion,
	"CONTAINERD_VERSION":  ContainerdVersion,
	"RUNC_VERSION":        RuncVersion,
}

// CacheEnv names the environment variable that overrides the cache root.
const CacheEnv = "NETBENCH_CACHE"

// Cache is the root of the component cache:
// <root>/<component>/<version>/<binary>.
type Cache struct{ Root string }

// DefaultCache returns the cache root from NETBENCH_CACHE, or
// $HOME/.cache/kube-netbench.
func DefaultCache(getenv func(string) string) (Cache, error) {
	if root := getenv(CacheEnv); root != "" {
		if !filepath.IsAbs(root) {
			return Cache{}, fmt.Errorf("%s=%q: must be an absolute path", CacheEnv, root)
		}
		return Cache{Root: root}, nil
	}
	home := getenv("HOME")
	if home == "" {
		return Cache{}, fmt.Errorf("neither %s nor HOME is set: cannot locate the lab's component cache", CacheEnv)
	}
	return Cache{Root: filepath.Join(home, ".cache", "kube-netbench")}, nil
}

// Binaries are the absolute paths of everything the lab runs.
type Binaries struct {
	KubeAPIServer, KubeControllerManager, KubeScheduler string
	// Kubectl is the version-matched kubectl kwokctl uses to wait for the
	// apiserver.
	Kubectl string
	// Kubelet is the nodes' kubelet (see NodeRuntime for the rest).
	Kubelet             string
	Etcd, Kwok, Kwokctl string
	// CNIDir holds the CNI plugins (ptp, host-local, loopback).
	CNIDir string
}

// Binaries returns the paths of the cached binaries without checking them.
func (c Cache) Binaries() Binaries {
	k := filepath.Join(c.Root, "kubernetes", KubernetesVersion)
	kw := filepath.Join(c.Root, "kwok", KwokVersion)
	return Binaries{
		KubeAPIServer:         filepath.Join(k, "kube-apiserver"),
		KubeControllerManager: filepath.Join(k, "kube-controller-manager"),
		KubeScheduler:         filepath.Join(k, "kube-scheduler"),
		Kubectl:               filepath.Join(k, "kubectl"),
		Kubelet:               filepath.Join(k, "kubelet"),
		Etcd:                  filepath.Join(c.Root, "etcd", EtcdVersion, "etcd"),
		Kwok:                  filepath.Join(kw, "kwok"),
		Kwokctl:               filepath.Join(kw, "kwokctl"),
		CNIDir:                filepath.Join(c.Root, "cni-plugins", CNIPluginsVersion),
	}
}

// CiliumCRDs is the directory of Cilium's CRDs (v2/, v2alpha1/), which the
// lab applies in place of the operator; the agent itself is an image.
func (c Cache) CiliumCRDs() string { return filepath.Join(c.Root, "cilium", CiliumVersion, "crds") }

// CheckCiliumCRDs returns an error, saying how to build them, when the CRDs
// are not in the cache.
func (c Cache) CheckCiliumCRDs() error {
	if _, err := os.Stat(filepath.Join(c.CiliumCRDs(), "v2")); err != nil {
		return fmt.Errorf("the Cilium lab component is not built (%s): run `make lab-bins-cilium` (scripts/lab-build.sh cilium) first", err)
	}
	return nil
}

// CNIPlugins are the plugins the kube-proxy lab wires pods with.
var CNIPlugins = []string{"ptp", "host-local", "loopback"}

// Check returns an error naming every missing or non-executable binary, and
// how to build them.
func (b Binaries) Check() error {
	paths := []string{b.KubeAPIServer, b.KubeControllerManager, b.KubeScheduler, b.Kubectl, b.Kubelet, b.Etcd, b.Kwok, b.Kwokctl}
	for _, p := range CNIPlugins {
		paths = append(paths, filepath.Join(b.CNIDir, p))
	}
	if missing := missingExecutables(paths...); len(missing) > 0 {
		return fmt.Errorf("lab components are not built (%s): run `make lab-bins` (scripts/lab-build.sh) first",
			strings.Join(missing, ", "))
	}
	return nil
}

// NodeRuntime are the paths of the nodes' container runtime: containerd, its
// runc shim and client, and runc.
type NodeRuntime struct {
	Containerd, Shim, Ctr string
	// Runc is linked against the machine's libc and libseccomp (cgo, for
	// seccomp), which the nodes see through /usr and /lib*.
	Runc string
}

// NodeRuntime returns the paths of the cached node runtime without checking
// them.
func (c Cache) NodeRuntime() NodeRuntime {
	d := filepath.Join(c.Root, "containerd", ContainerdVersion)
	return NodeRuntime{
		Containerd: filepath.Join(d, "containerd"),
		Shim:       filepath.Join(d, "containerd-shim-runc-v2"),
		Ctr:        filepath.Join(d, "ctr"),
		Runc:       filepath.Join(c.Root, "runc", RuncVersion, "runc"),
	}
}

// Check returns an error naming every missing or non-executable binary of the
// node runtime, and how to build them.
func (r NodeRuntime) Check() error {
	if missing := missingExecutables(r.Containerd, r.Shim, r.Ctr, r.Runc); len(missing) > 0 {
		return fmt.Errorf("the node runtime is not built (%s): run `make lab-bins` (scripts/lab-build.sh containerd runc) first",
			strings.Join(missing, ", "))
	}
	return nil
}

// missingExecutables returns the paths that are not executable regular files.
func missingExecutables(paths ...string) []string {
	var missing []string
	for _, p := range paths {
		if st, err := os.Stat(p); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			missing = append(missing, p)
		}
	}
	return missing
}

// HostTools are the machine's commands the lab uses, with the Debian package
// that provides each (scripts/install-deps.sh installs them).
var HostTools = map[string]string{
	"ip":        "iproute2",
	"iptables":  "iptables",
	"nft":       "nftables",
	"conntrack": "conntrack",
	"iperf3":    "iperf3",
	"nsenter":   "util-linux",
	"unshare":   "util-linux",
}

// CheckHostTools returns an error naming every missing command and its package.
func CheckHostTools() error {
	var errs []error
	for tool, pkg := range HostTools {
		if _, err := exec.LookPath(tool); err != nil {
			errs = append(errs, fmt.Errorf("%s not found (Debian package %s; `make deps` installs it)", tool, pkg))
		}
	}
	return errors.Join(errs...)
}
