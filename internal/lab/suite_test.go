//go:build linux

package lab

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kube-netbench/internal/lab/proc"
)

// These tests run the e2e suite itself (its test binary, with a lab of its
// own) and check the machine after it ended: after a failed test and after
// SIGINT, the suite must have removed its lab.

// buildSuite compiles the e2e suite's test binary.
func buildSuite(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "e2e.test")
	cmd := exec.Command("go", "test", "-c", "-o", bin, "../../e2e")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "build the e2e suite: %s", out)
	return bin
}

// labProcesses returns the processes a lab recorded so far (nodes and
// control plane), read from its state directory.
func labProcesses(dir string) []proc.Ident {
	st, _ := loadState(dir)
	if st == nil {
		return nil
	}
	ids := append([]proc.Ident{}, st.Nodes...)
	return append(ids, newControlPlane(dir, st.Name, st.Kwokctl, st.Kubectl).processes()...)
}

func TestSuiteRemovesItsLabAfterAFailedTest(t *testing.T) {
	o := needLab(t)
	bin := buildSuite(t)
	cmd := exec.Command(bin, "-test.run", "TestDataplaneSmoke", "-test.v")
	// An image the lab does not hold: the pull fails (no registry) and with
	// it the smoke feature's setup.
	cmd.Env = append(os.Environ(), "LAB_DIR="+o.Dir, "FORTIO_IMAGE=nginx:1.27", "KUBECONFIG=")
	var seen []proc.Ident
	out, err := runWatching(t, cmd, func() { seen = merge(seen, labProcesses(o.Dir)) })
	require.Error(t, err, "the suite must fail: %s", out)
	require.Regexp(t, `(ErrImagePull|ImagePullBackOff): .*nginx:1\.27`, out)
	require.Contains(t, out, "lab down: nothing left")
	require.NotEmpty(t, seen, "the suite never started a lab")
	assertNothingLeft(t, o, seen, nil)
}

func TestSuiteRemovesItsLabOnSIGINT(t *testing.T) {
	o := needLab(t)
	bin := buildSuite(t)
	cmd := exec.Command(bin, "-test.run", "TestDataplaneSmoke", "-test.v")
	cmd.Env = append(os.Environ(), "LAB_DIR="+o.Dir, "KUBECONFIG=")
	var seen []proc.Ident
	interrupted := false
	out, err := runWatching(t, cmd, func() {
		seen = merge(seen, labProcesses(o.Dir))
		if interrupted || !smokeRunning(o.Dir) {
			return
		}
		// The smoke feature has created its namespace: interrupt mid-test.
		require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
		interrupted = true
	})
	require.True(t, interrupted, "the smoke test never started: %s", out)
	require.Error(t, err, "an interrupted suite must exit non-zero: %s", out)
	require.Contains(t, out, "lab down: nothing left")
	assertNothingLeft(t, o, seen, nil)
}

// smokeRunning reports whether the smoke feature's namespace exists in the
// lab of dir.
func smokeRunning(dir string) bool {
	st, _ := loadState(dir)
	if st == nil || !st.Ready {
		return false
	}
	c, err := clientFor(filepath.Join(dir, "kubeconfig"))
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	nss, err := c.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return false
	}
	for _, ns := range nss.Items {
		if strings.HasPrefix(ns.Name, "nb-smoke-") {
			return true
		}
	}
	return false
}

// runWatching runs cmd to completion (at most 5 minutes), calling watch
// every 50 ms while it runs, and returns its combined output.
func runWatching(t *testing.T, cmd *exec.Cmd, watch func()) (string, error) {
	t.Helper()
	var buf lockedBuffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(5 * time.Minute)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			t.Logf("suite output:\n%s", buf.String())
			return buf.String(), err
		case <-tick.C:
			watch()
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatalf("the suite did not end within 5 minutes:\n%s", buf.String())
		}
	}
}

func merge(a, b []proc.Ident) []proc.Ident {
	for _, id := range b {
		found := false
		for _, x := range a {
			found = found || x == id
		}
		if !found {
			a = append(a, id)
		}
	}
	return a
}
