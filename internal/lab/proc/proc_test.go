//go:build linux

package proc

import (
	"os"
	"os/exec"
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

func TestTerminate(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-done })
	id, err := Of(cmd.Process.Pid)
	require.NoError(t, err)
	require.Equal(t, "sleep", id.Comm())
	start := time.Now()
	require.NoError(t, id.Terminate(2*time.Second))
	require.Less(t, time.Since(start), 2*time.Second, "sleep ends on SIGTERM; no SIGKILL wait expected")
	<-done
	require.False(t, id.Alive())
	require.NoError(t, id.Terminate(time.Second), "terminating a gone process is a no-op")
}
