//go:build linux

package lab

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestArchiveLogsKeepsNodeAndContainerLogs(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{
		"logs/node-nb-node-1.log",
		"nodes/nb-node-1/kubelet.log",
		"nodes/nb-node-1/containerd.log",
		"nodes/nb-node-1/var_log_pods/kube-system_kube-proxy-x_uid/kube-proxy/0.log",
		"kwok/clusters/lab/logs/kube-apiserver.log",
		"nodes/nb-node-1/var_lib_kubelet/other.log",
	} {
		p := filepath.Join(dir, f)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(f), 0o600))
	}
	dest := filepath.Join(t.TempDir(), "kept")
	t.Setenv(LogsEnv, dest)
	got, err := archiveLogs(dir, "lab")
	require.NoError(t, err)
	require.Equal(t, dest, got)
	for want, from := range map[string]string{
		"nodes/node-nb-node-1.log":         "logs/node-nb-node-1.log",
		"nodes/nb-node-1/kubelet.log":      "nodes/nb-node-1/kubelet.log",
		"nodes/nb-node-1/containerd.log":   "nodes/nb-node-1/containerd.log",
		"control-plane/kube-apiserver.log": "kwok/clusters/lab/logs/kube-apiserver.log",
		"nodes/nb-node-1/var_log_pods/kube-system_kube-proxy-x_uid/kube-proxy/0.log": "nodes/nb-node-1/var_log_pods/kube-system_kube-proxy-x_uid/kube-proxy/0.log",
	} {
		b, err := os.ReadFile(filepath.Join(dest, want))
		require.NoError(t, err, want)
		require.Equal(t, from, string(b))
	}
	_, err = os.Stat(filepath.Join(dest, "nodes/nb-node-1/var_lib_kubelet/other.log"))
	require.ErrorIs(t, err, os.ErrNotExist, "only logs are kept")

	empty, err := archiveLogs(t.TempDir(), "lab")
	require.NoError(t, err)
	require.Empty(t, empty)
}
