package components

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestVersionsMatchBuildScript keeps the Go constants equal to the versions the
// build script uses, so the lab never looks for a binary the script did not build.
func TestVersionsMatchBuildScript(t *testing.T) {
	f, err := os.Open("../../../scripts/lab-versions.env")
	require.NoError(t, err)
	defer f.Close()
	got := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		require.True(t, ok, "line %q is not KEY=value", line)
		got[k] = strings.Trim(v, `"'`)
	}
	require.NoError(t, sc.Err())
	require.Equal(t, versionVars, got)
}

func TestDefaultCache(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	c, err := DefaultCache(env(map[string]string{"HOME": "/home/u"}))
	require.NoError(t, err)
	require.Equal(t, "/home/u/.cache/kube-netbench", c.Root)
	c, err = DefaultCache(env(map[string]string{"HOME": "/home/u", CacheEnv: "/opt/nb"}))
	require.NoError(t, err)
	require.Equal(t, "/opt/nb/kubernetes/v1.37.2/kube-apiserver", c.Binaries().KubeAPIServer)
	_, err = DefaultCache(env(map[string]string{CacheEnv: "rel/dir"}))
	require.ErrorContains(t, err, `NETBENCH_CACHE="rel/dir": must be an absolute path`)
}

func TestCheckNamesMissingBinaries(t *testing.T) {
	err := Cache{Root: t.TempDir()}.Binaries().Check()
	require.ErrorContains(t, err, "kube-apiserver")
	require.ErrorContains(t, err, "make lab-bins")
}

// TestCheckNeedsCNIPlugins: a cache with everything but one CNI plugin is not
// complete.
func TestCheckNeedsCNIPlugins(t *testing.T) {
	b := Cache{Root: t.TempDir()}.Binaries()
	paths := []string{b.KubeAPIServer, b.KubeControllerManager, b.KubeScheduler, b.Kubectl, b.Kubelet, b.Etcd, b.Kwok, b.Kwokctl,
		filepath.Join(b.CNIDir, "ptp"), filepath.Join(b.CNIDir, "host-local")}
	for _, p := range paths {
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, nil, 0o755))
	}
	loopback := filepath.Join(b.CNIDir, "loopback")
	require.ErrorContains(t, b.Check(), "("+loopback+")", "loopback, and only it, is missing")
	require.NoError(t, os.WriteFile(loopback, nil, 0o755))
	require.NoError(t, b.Check())
}

func TestCheckCiliumCRDs(t *testing.T) {
	c := Cache{Root: t.TempDir()}
	require.Equal(t, filepath.Join(c.Root, "cilium/v1.19.4/crds"), c.CiliumCRDs())
	require.ErrorContains(t, c.CheckCiliumCRDs(), "make lab-bins-cilium")
	require.NoError(t, os.MkdirAll(filepath.Join(c.CiliumCRDs(), "v2"), 0o755))
	require.NoError(t, c.CheckCiliumCRDs())
}

func TestKubeletPath(t *testing.T) {
	require.Equal(t, "/c/kubernetes/v1.37.2/kubelet", Cache{Root: "/c"}.Binaries().Kubelet)
}

// TestCheckNeedsKubelet: the kubelet is part of the kubernetes component that
// `make lab-bins` builds, so a cache without it is not complete.
func TestCheckNeedsKubelet(t *testing.T) {
	err := Cache{Root: t.TempDir()}.Binaries().Check()
	require.ErrorContains(t, err, "/kubernetes/v1.37.2/kubelet")
}

func TestNodeRuntimePaths(t *testing.T) {
	require.Equal(t, NodeRuntime{
		Containerd: "/c/containerd/v2.4.2/containerd",
		Shim:       "/c/containerd/v2.4.2/containerd-shim-runc-v2",
		Ctr:        "/c/containerd/v2.4.2/ctr",
		Runc:       "/c/runc/v1.5.3/runc",
	}, Cache{Root: "/c"}.NodeRuntime())
}

// TestNodeRuntimeCheckNamesEveryMissing: every absent, non-executable or
// directory path is named, and only those.
func TestNodeRuntimeCheckNamesEveryMissing(t *testing.T) {
	r := Cache{Root: t.TempDir()}.NodeRuntime()
	err := r.Check()
	require.ErrorContains(t, err, "("+strings.Join([]string{r.Containerd, r.Shim, r.Ctr, r.Runc}, ", ")+")")
	require.ErrorContains(t, err, "scripts/lab-build.sh containerd runc")

	require.NoError(t, os.MkdirAll(filepath.Dir(r.Containerd), 0o755))
	require.NoError(t, os.WriteFile(r.Containerd, nil, 0o755))
	require.NoError(t, os.WriteFile(r.Shim, nil, 0o644)) // not executable
	require.NoError(t, os.MkdirAll(r.Runc, 0o755))       // a directory
	require.ErrorContains(t, r.Check(), "("+strings.Join([]string{r.Shim, r.Ctr, r.Runc}, ", ")+")")

	require.NoError(t, os.Chmod(r.Shim, 0o755))
	require.NoError(t, os.WriteFile(r.Ctr, nil, 0o755))
	require.NoError(t, os.Remove(r.Runc))
	require.NoError(t, os.WriteFile(r.Runc, nil, 0o755))
	require.NoError(t, r.Check())
}
