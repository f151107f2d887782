//go:build linux

package proc

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestIdentOfSelf(t *testing.T) {
	id, err := Of(os.Getpid())
	require.NoError(t, err)
	require.True(t, id.Alive())
	require.NotZero(t, id.Start)
	other := id
	other.Start++
	require.False(t, other.Alive(), "a different start time must not match (PID reuse)")
}

// startCmd runs a command for one test (killed and reaped at cleanup) and
// returns its identity and a channel closed once it is reaped.
func startCmd(t *testing.T, name string, args ...string) (Ident, <-chan struct{}) {
	t.Helper()
	cmd := exec.Command(name, args...)
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-done })
	id, err := Of(cmd.Process.Pid)
	require.NoError(t, err)
	return id, done
}

func TestTerminate(t *testing.T) {
	id, done := startCmd(t, "sleep", "60")
	require.Equal(t, "sleep", id.Comm())
	start := time.Now()
	require.NoError(t, id.Terminate(2*time.Second))
	require.Less(t, time.Since(start), 2*time.Second, "sleep ends on SIGTERM; no SIGKILL wait expected")
	<-done
	require.False(t, id.Alive())
	require.NoError(t, id.Terminate(time.Second), "terminating a gone process is a no-op")
}

func TestDescendants(t *testing.T) {
	// A grandchild: sh waits for its sleep, so the sleep's parent is sh.
	sh, _ := startCmd(t, "sh", "-c", "sleep 60 & wait")
	self, err := Of(os.Getpid())
	require.NoError(t, err)
	var sleeps []Ident
	// Registered last, so run first: the sleep ends before sh is reaped.
	t.Cleanup(func() {
		for _, s := range sleeps {
			_ = s.Signal(syscall.SIGKILL)
		}
	})
	require.Eventually(t, func() bool {
		sleeps, err = self.Descendants("sleep")
		return err == nil && len(sleeps) == 1
	}, 5*time.Second, 10*time.Millisecond, "the sleep started by sh (err %v, found %v)", err, sleeps)
	require.Equal(t, "sleep", sleeps[0].Comm())
	children, err := self.Children()
	require.NoError(t, err)
	require.NotContains(t, children, sleeps[0], "the sleep is sh's child, not ours")

	fromSh, err := sh.Descendants("sleep")
	require.NoError(t, err)
	require.Equal(t, sleeps, fromSh)
	none, err := sh.Descendants("sh")
	require.NoError(t, err)
	require.Empty(t, none, "a process is not its own descendant")

	gone := sh
	gone.Start++
	found, err := gone.Descendants("sleep")
	require.NoError(t, err)
	require.Empty(t, found, "a gone process (PID reused) has no descendants")
}

func TestStopped(t *testing.T) {
	id, _ := startCmd(t, "sleep", "60")
	require.False(t, id.Stopped())
	require.NoError(t, id.Signal(syscall.SIGSTOP))
	require.Eventually(t, id.Stopped, 5*time.Second, 10*time.Millisecond, "after SIGSTOP")
	require.NoError(t, id.Signal(syscall.SIGCONT))
	require.Eventually(t, func() bool { return !id.Stopped() }, 5*time.Second, 10*time.Millisecond, "after SIGCONT")
	require.True(t, id.Alive())
}
