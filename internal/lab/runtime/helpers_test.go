package runtime_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	utilexec "k8s.io/utils/exec"

	"kube-netbench/internal/lab/runtime"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network, mount and PID namespaces")
	}
	for _, tool := range []string{"ip", "nsenter", "sh", "cat"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s on PATH: %v", tool, err)
		}
	}
}

func randomSuffix(t *testing.T) string {
	b := make([]byte, 4)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

func run(t *testing.T, argv ...string) {
	t.Helper()
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	require.NoErrorf(t, err, "%s: %s", strings.Join(argv, " "), out)
}

// newNetns creates a network namespace with lo up and deletes it at cleanup.
func newNetns(t *testing.T) string {
	name := "nbtest-" + randomSuffix(t)
	run(t, "ip", "netns", "add", name)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("delete netns %s: %v: %s", name, err, out)
		}
	})
	run(t, "ip", "-n", name, "link", "set", "lo", "up")
	return "/run/netns/" + name
}

// mountTable returns the caller's mount table without the entries `ip netns` makes.
func mountTable(t *testing.T) []string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	require.NoError(t, err)
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if f := strings.Fields(line); len(f) > 4 && (f[4] == "/run/netns" || strings.HasPrefix(f[4], "/run/netns/")) {
			continue
		}
		out = append(out, line)
	}
	return out
}

// start starts spec and registers its stop and removal.
func start(t *testing.T, spec runtime.Spec) *runtime.Container {
	t.Helper()
	c, err := runtime.Start(spec)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Stop(ctx, 0); err != nil {
			t.Errorf("stop %s: %v", spec.ID, err)
		}
		if err := runtime.Remove(spec); err != nil {
			t.Errorf("remove %s: %v", spec.ID, err)
		}
	})
	return c
}

// waitForLog waits until the container's log contains want, or the container ends.
func waitForLog(t *testing.T, c *runtime.Container, logPath, want string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		data, err := os.ReadFile(logPath)
		if err == nil && strings.Contains(string(data), want) {
			return
		}
		select {
		case st := <-c.Wait():
			t.Fatalf("container ended (%+v) before logging %q; log:\n%s", st, want, data)
		case <-deadline:
			t.Fatalf("container did not log %q within 10s; log:\n%s", want, data)
		case <-tick.C:
		}
	}
}

// execIn runs argv in c and returns stdout, stderr and the error.
func execIn(t *testing.T, c *runtime.Container, env []string, argv ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := c.Exec(ctx, argv, env, nil, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

// waitForHandler waits until process pid catches sig (its SigCgt mask in /proc/pid/status).
func waitForHandler(t *testing.T, pid int, sig syscall.Signal) {
	t.Helper()
	require.Eventually(t, func() bool {
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			return false
		}
		for _, line := range strings.Split(string(status), "\n") {
			if mask, ok := strings.CutPrefix(line, "SigCgt:\t"); ok {
				bits, err := strconv.ParseUint(mask, 16, 64)
				return err == nil && bits&(1<<(sig-1)) != 0
			}
		}
		return false
	}, 10*time.Second, 5*time.Millisecond, "pid %d never caught %v", pid, sig)
}

func requireExitCode(t *testing.T, err error, want int) {
	t.Helper()
	ee, ok := err.(utilexec.ExitError) // as the kubelet does: no unwrapping
	require.Truef(t, ok, "want an ExitError, got %T: %v", err, err)
	require.True(t, ee.Exited())
	require.Equal(t, want, ee.ExitStatus())
}

func sameFile(t *testing.T, a, b string) bool {
	var sa, sb syscall.Stat_t
	require.NoError(t, syscall.Stat(a, &sa))
	require.NoError(t, syscall.Stat(b, &sb))
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino
}

func requireAbsentOnHost(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		_, err := os.Lstat(p)
		require.Truef(t, errors.Is(err, os.ErrNotExist), "%s exists on the host (%v)", p, err)
	}
}
