package cluster

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/client-go/tools/clientcmd"
)

func writeKubeconfig(t *testing.T, dir, name, server string) string {
	t.Helper()
	cfg := `apiVersion: v1
kind: Config
current-context: ` + name + `
clusters:
- name: ` + name + `
  cluster:
    server: ` + server + `
    certificate-authority: ca.crt
users:
- name: ` + name + `
  user:
    token: token-` + name + `
contexts:
- name: ` + name + `
  context: {cluster: ` + name + `, user: ` + name + `}
`
	// Only its presence is checked when a client configuration is built.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ca.crt"), []byte("not parsed here"), 0o600))
	path := filepath.Join(dir, "config")
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
	return path
}

func TestKubeconfigPaths(t *testing.T) {
	sep := string(os.PathListSeparator)
	require.Equal(t, []string{"/a", "/b"}, KubeconfigPaths("/a"+sep+sep+"/b"+sep))
	require.Equal(t, []string{"/a"}, KubeconfigPaths("/a"))
	require.Empty(t, KubeconfigPaths(""))
	require.Empty(t, KubeconfigPaths(sep))
}

// TestMergeKubeconfigs merges two real files as kubectl does for
// KUBECONFIG=a:b: both contexts, the first file's current context, and
// relative paths resolved against the file that holds them.
func TestMergeKubeconfigs(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	a := writeKubeconfig(t, dirA, "a", "https://a.example:6443")
	b := writeKubeconfig(t, dirB, "b", "https://b.example:6443")
	list := a + string(os.PathListSeparator) + filepath.Join(t.TempDir(), "missing") + string(os.PathListSeparator) + b

	dst := filepath.Join(t.TempDir(), "merged")
	require.NoError(t, MergeKubeconfigs(KubeconfigPaths(list), dst))
	st, err := os.Stat(dst)
	require.NoError(t, err)
	if os.PathSeparator == '/' {
		require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "it holds credentials")
	}
	got, err := clientcmd.LoadFromFile(dst)
	require.NoError(t, err)
	require.Equal(t, "a", got.CurrentContext)
	require.Len(t, got.Contexts, 2)
	require.Equal(t, "https://b.example:6443", got.Clusters["b"].Server)
	require.Equal(t, filepath.Join(dirA, "ca.crt"), got.Clusters["a"].CertificateAuthority)
	require.Equal(t, filepath.Join(dirB, "ca.crt"), got.Clusters["b"].CertificateAuthority)
	require.Equal(t, "token-b", got.AuthInfos["b"].Token)

	// What the suite's client does with it: the current context's server.
	rc, err := clientcmd.BuildConfigFromFlags("", dst)
	require.NoError(t, err)
	require.Equal(t, "https://a.example:6443", rc.Host)
}

func TestMergeKubeconfigsErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	err := MergeKubeconfigs([]string{missing}, filepath.Join(t.TempDir(), "merged"))
	require.ErrorContains(t, err, `KUBECONFIG="`+missing+`": no context in any of its files`)

	bad := filepath.Join(t.TempDir(), "bad")
	require.NoError(t, os.WriteFile(bad, []byte("clusters: 3\n"), 0o600))
	require.ErrorContains(t, MergeKubeconfigs([]string{bad}, filepath.Join(t.TempDir(), "merged")), "KUBECONFIG: ")
}

func TestKubeconfigFile(t *testing.T) {
	a := writeKubeconfig(t, t.TempDir(), "a", "https://a.example:6443")
	b := writeKubeconfig(t, t.TempDir(), "b", "https://b.example:6443")

	path, remove, err := KubeconfigFile(a)
	require.NoError(t, err)
	require.Equal(t, a, path, "one file is used as it is")
	require.NoError(t, remove())
	require.FileExists(t, a)

	path, remove, err = KubeconfigFile(a + string(os.PathListSeparator) + b)
	require.NoError(t, err)
	got, err := clientcmd.LoadFromFile(path)
	require.NoError(t, err)
	require.Len(t, got.Contexts, 2)
	require.NoError(t, remove())
	require.NoFileExists(t, path)
	require.FileExists(t, a)

	_, _, err = KubeconfigFile(string(os.PathListSeparator))
	require.ErrorContains(t, err, "names no file")
}
