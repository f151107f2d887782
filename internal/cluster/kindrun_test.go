package cluster

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// fakeRunner answers commands by their argv prefix (program base name and
// arguments) and records every call.
type fakeRunner struct {
	out   map[string]string
	fail  map[string]error
	calls []string
}

func (f *fakeRunner) Run(ctx context.Context, env []string, name string, args ...string) ([]byte, error) {
	call := strings.Join(append([]string{filepath.Base(name)}, args...), " ")
	if len(env) > 0 {
		call = strings.Join(env, " ") + " " + call
	}
	f.calls = append(f.calls, call)
	for prefix, err := range f.fail {
		if strings.HasPrefix(call, prefix) {
			return nil, err
		}
	}
	for prefix, out := range f.out {
		if strings.HasPrefix(call, prefix) {
			return []byte(out), nil
		}
	}
	return nil, nil
}

func onPath(progs ...string) func(string) (string, error) {
	return func(p string) (string, error) {
		for _, q := range progs {
			if p == q {
				return "/usr/bin/" + p, nil
			}
		}
		return "", errors.New(`exec: "` + p + `": executable file not found in $PATH`)
	}
}

var quiet = slog.New(slog.DiscardHandler)

func prepare(t *testing.T, f *fakeRunner, dp Dataplane) *KindCluster {
	t.Helper()
	c, err := PrepareKind(context.Background(), f, quiet, dp, onPath("kind", "helm"), t.TempDir())
	require.NoError(t, err)
	c.Name = "netbench-test"
	c.waitReady = func(context.Context, string) error { return nil }
	f.calls = nil
	return c
}

func TestPrepareKind(t *testing.T) {
	t.Run("kind on PATH, new enough", func(t *testing.T) {
		f := &fakeRunner{out: map[string]string{"kind version": "kind v0.33.0 go1.24.5 linux/amd64"}}
		c, err := PrepareKind(context.Background(), f, quiet, CiliumNative, onPath("kind", "helm"), t.TempDir())
		require.NoError(t, err)
		require.Equal(t, []string{"kind version"}, f.calls)
		require.Regexp(t, `^netbench-[0-9a-f]{8}$`, c.Name)
		require.DirExists(t, filepath.Dir(c.Kubeconfig))
		require.NoError(t, c.Delete(context.Background()))
		require.NoDirExists(t, filepath.Dir(c.Kubeconfig))
		require.Equal(t, []string{"kind version"}, f.calls, "deleting a cluster never created runs nothing")
	})
	t.Run("kind on PATH, too old", func(t *testing.T) {
		f := &fakeRunner{out: map[string]string{"kind version": "kind v0.26.0 go1.23.4 linux/amd64"}}
		_, err := PrepareKind(context.Background(), f, quiet, Iptables, onPath("kind"), t.TempDir())
		require.ErrorContains(t, err, "/usr/bin/kind is kind v0.26.0; the suite needs kind v0.33.0 or newer")
	})
	t.Run("no kind: installs the pinned one", func(t *testing.T) {
		bin := t.TempDir()
		f := &fakeRunner{out: map[string]string{"kind version": "kind v0.33.0 go1.24.5 linux/amd64"}}
		_, err := PrepareKind(context.Background(), f, quiet, Iptables, onPath(), bin)
		require.NoError(t, err)
		require.Equal(t, []string{"GOBIN=" + bin + " GOFLAGS= go install sigs.k8s.io/kind@v0.33.0", "kind version"}, f.calls)
	})
	t.Run("no kind: install fails", func(t *testing.T) {
		f := &fakeRunner{fail: map[string]error{"GOBIN=": errors.New("go: not found")}}
		_, err := PrepareKind(context.Background(), f, quiet, Iptables, onPath(), t.TempDir())
		require.ErrorContains(t, err, "kind is not on PATH and installing kind v0.33.0 into")
		require.ErrorContains(t, err, "go: not found")
	})
	t.Run("Cilium without helm", func(t *testing.T) {
		f := &fakeRunner{out: map[string]string{"kind version": "kind v0.33.0 go1.24.5 linux/amd64"}}
		_, err := PrepareKind(context.Background(), f, quiet, CiliumOverlay, onPath("kind"), t.TempDir())
		require.ErrorContains(t, err, "KIND_DATAPLANE=cilium-overlay installs Cilium 1.19.4 from its Helm chart, but helm is not on PATH")
	})
}

const kindOK = "kind v0.33.0 go1.24.5 linux/amd64"

func TestKindCreateRefusesAnExistingName(t *testing.T) {
	f := &fakeRunner{out: map[string]string{"kind version": kindOK}}
	c := prepare(t, f, Iptables)
	f.out["kind get clusters"] = "kind\nnetbench-test\n"
	require.ErrorContains(t, c.Create(context.Background()), "a kind cluster named netbench-test already exists")
	require.NoError(t, c.Delete(context.Background()))
	require.Equal(t, []string{"kind get clusters"}, f.calls, "neither created nor deleted")
}

func TestKindCreateAndDelete(t *testing.T) {
	f := &fakeRunner{out: map[string]string{"kind version": kindOK}}
	c := prepare(t, f, CiliumOverlay)
	require.NoError(t, c.Create(context.Background()))
	dir := filepath.Dir(c.Kubeconfig)
	require.Equal(t, []string{
		"kind get clusters",
		"kind create cluster --name netbench-test --config " + filepath.Join(dir, "kind.yaml") + " --kubeconfig " + c.Kubeconfig,
		"helm " + strings.Join(CiliumInstallArgs(c.Kubeconfig, filepath.Join(dir, "cilium-values.yaml")), " "),
	}, f.calls)
	cfg, err := os.ReadFile(filepath.Join(dir, "kind.yaml"))
	require.NoError(t, err)
	require.Contains(t, string(cfg), "kubeProxyMode: none")

	f.calls = nil
	require.NoError(t, c.Delete(context.Background()))
	require.NoError(t, c.Delete(context.Background()))
	require.Equal(t, []string{"kind delete cluster --name netbench-test --kubeconfig " + c.Kubeconfig}, f.calls, "deleted once")
	require.NoDirExists(t, dir)
}

// TestKindCreateCleansUpAfterFailure: a failure at any step after creation
// started (an interrupt killing `kind create` included) deletes the cluster.
func TestKindCreateCleansUpAfterFailure(t *testing.T) {
	for _, step := range []string{"kind create cluster", "helm install", "nodes Ready"} {
		t.Run(step, func(t *testing.T) {
			f := &fakeRunner{out: map[string]string{"kind version": kindOK}, fail: map[string]error{}}
			c := prepare(t, f, CiliumNative)
			ctx, cancel := context.WithCancel(context.Background())
			if step == "nodes Ready" {
				c.waitReady = func(context.Context, string) error { return errors.New("wait for 3 Ready nodes: not reached") }
			} else {
				f.fail[step] = errors.New("signal: killed")
				cancel()
			}
			defer cancel()
			err := c.Create(ctx)
			require.ErrorContains(t, err, "create kind cluster netbench-test (cilium-native): ")
			require.Equal(t, "kind delete cluster --name netbench-test --kubeconfig "+c.Kubeconfig, f.calls[len(f.calls)-1])
			f.calls = nil
			require.NoError(t, c.Delete(context.Background()))
			require.Empty(t, f.calls, "already deleted")
		})
	}
}

func TestKindDeleteFailureSaysHowToClean(t *testing.T) {
	f := &fakeRunner{out: map[string]string{"kind version": kindOK}, fail: map[string]error{}}
	c := prepare(t, f, Nftables)
	require.NoError(t, c.Create(context.Background()))
	f.fail["kind delete"] = errors.New("exit status 1")
	require.ErrorContains(t, c.Delete(context.Background()), "delete kind cluster netbench-test (remove it with `kind delete cluster --name netbench-test`)")
	delete(f.fail, "kind delete")
	require.NoError(t, c.Delete(context.Background()), "a later Delete retries")
}

func TestNodesReady(t *testing.T) {
	node := func(name string, ready corev1.ConditionStatus) corev1.Node {
		return corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name},
			Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready}}}}
	}
	done, seen := NodesReady([]corev1.Node{node("cp", "True"), node("w1", "True"), node("w2", "False")}, 3)
	require.False(t, done)
	require.Equal(t, "3 of 3 nodes; not Ready: [w2]", seen)
	done, seen = NodesReady([]corev1.Node{node("cp", "True"), node("w1", "True")}, 3)
	require.False(t, done, seen)
	done, _ = NodesReady([]corev1.Node{node("cp", "True"), node("w1", "True"), node("w2", "True")}, 3)
	require.True(t, done)
	done, seen = NodesReady([]corev1.Node{{ObjectMeta: metav1.ObjectMeta{Name: "new"}}}, 1)
	require.False(t, done, "no Ready condition yet")
	require.Equal(t, "1 of 1 nodes; not Ready: [new]", seen)
}
