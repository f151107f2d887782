//go:build linux

package lab

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"kube-netbench/internal/lab/components"
)

func TestParseImageIndex(t *testing.T) {
	cache := components.Cache{Root: t.TempDir()}
	_, _, err := nodeImages(cache, Iptables)
	require.ErrorContains(t, err, "make lab-images")

	dir := filepath.Join(cache.Root, "images")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	archive := func(name string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, nil, 0o644))
		return p
	}
	pause, kp, fortio := archive("pause.tar"), archive("kube-proxy.tar"), archive("fortio.tar")
	index := `[
  {"ref": "fortio/fortio:1.66.5", "path": "` + fortio + `", "digest": "sha256:1"},
  {"ref": "` + KubeProxyImage + `", "path": "` + kp + `"},
  {"ref": "registry.k8s.io/pause:3.10.2", "path": "` + pause + `", "sandbox": true}
]`
	require.NoError(t, os.WriteFile(imageIndex(cache), []byte(index), 0o644))
	got, sandbox, err := nodeImages(cache, Nftables)
	require.NoError(t, err)
	require.Equal(t, []string{fortio, kp, pause}, got)
	require.Equal(t, "registry.k8s.io/pause:3.10.2", sandbox)

	// A Cilium node imports no kube-proxy, and cannot start without Cilium's image.
	_, _, err = nodeImages(cache, CiliumOverlay)
	require.ErrorContains(t, err, "no archive of "+CiliumImage)

	require.NoError(t, os.Remove(pause))
	_, _, err = nodeImages(cache, Iptables)
	require.ErrorContains(t, err, "registry.k8s.io/pause:3.10.2: ")
	require.ErrorContains(t, err, "no sandbox (pause) image")
}
