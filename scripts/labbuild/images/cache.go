package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Versions are the component versions the images take their tags and inputs from, read from
// scripts/lab-versions.env (the lab's Go code and scripts/lab-build.sh read the same file).
type Versions struct{ Kubernetes, Fortio, Netperf, Cilium string }

// ReadVersions parses lab-versions.env: KEY=value lines, `#` comments and blank lines.
func ReadVersions(path string) (Versions, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Versions{}, err
	}
	kv := map[string]string{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return Versions{}, fmt.Errorf("%s:%d: not KEY=value: %q", path, i+1, line)
		}
		kv[k] = v
	}
	var missing []string
	for _, k := range []string{"KUBERNETES_VERSION", "FORTIO_VERSION", "NETPERF_VERSION", "CILIUM_VERSION"} {
		if kv[k] == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return Versions{}, fmt.Errorf("%s: no %s", path, strings.Join(missing, ", "))
	}
	return Versions{Kubernetes: kv["KUBERNETES_VERSION"], Fortio: kv["FORTIO_VERSION"], Netperf: kv["NETPERF_VERSION"], Cilium: kv["CILIUM_VERSION"]}, nil
}

// Cache is the lab's component cache, <root>/<component>/<version>/<binary>, as
// scripts/lab-build.sh fills it.
type Cache struct {
	Root     string
	Versions Versions
}

// DefaultCacheRoot is NETBENCH_CACHE, or $HOME/.cache/kube-netbench, as for the lab.
func DefaultCacheRoot(getenv func(string) string) (string, error) {
	if root := getenv("NETBENCH_CACHE"); root != "" {
		if !filepath.IsAbs(root) {
			return "", fmt.Errorf("NETBENCH_CACHE=%q: must be an absolute path", root)
		}
		return root, nil
	}
	if home := getenv("HOME"); home != "" {
		return filepath.Join(home, ".cache", "kube-netbench"), nil
	}
	return "", fmt.Errorf("neither NETBENCH_CACHE nor HOME is set: cannot locate the lab's component cache")
}

// Fortio is the cached fortio binary.
func (c Cache) Fortio() string { return filepath.Join(c.Root, "fortio", c.Versions.Fortio, "fortio") }

// KubeProxy is the cached kube-proxy binary.
func (c Cache) KubeProxy() string {
	return filepath.Join(c.Root, "kubernetes", c.Versions.Kubernetes, "kube-proxy")
}

// GoRunner is kube-log-runner, which scripts/lab-images.sh builds for the kube-proxy image.
func (c Cache) GoRunner() string {
	return filepath.Join(c.Root, "images", "kube-proxy", c.Versions.Kubernetes, "go-runner")
}

// Cilium is a file of the cached Cilium component (cilium-agent, cilium-dbg, cilium-cni, bpf).
func (c Cache) Cilium(name string) string {
	return filepath.Join(c.Root, "cilium", c.Versions.Cilium, name)
}
