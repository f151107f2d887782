package node

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/procfs"
	"github.com/stretchr/testify/require"

	"kube-netbench/internal/lab/proc"
)

// marked lists the live processes whose command line holds marker.
func marked(t *testing.T, marker string) []int {
	t.Helper()
	procs, err := procfs.AllProcs()
	require.NoError(t, err)
	var out []int
	for _, p := range procs {
		args, err := p.CmdLine()
		st, serr := p.Stat()
		if err == nil && serr == nil && st.State != "Z" && strings.Contains(strings.Join(args, " "), marker) {
			out = append(out, p.PID)
		}
	}
	return out
}

// TestStopLeavesNoNodeProcess starts node-like process trees (unshare with
// its own PID namespace, as Start does) and stops each at once, at any point
// of its start-up: no process of the namespace may outlive stop. Killing
// unshare alone left a whole node running when its child had not yet set
// its parent-death signal (seen in TestInterruptDuringUpLeavesNothing).
func TestStopLeavesNoNodeProcess(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (PID namespaces)")
	}
	marker := "netbench-stop-test-" + strconv.Itoa(os.Getpid())
	// On failure, end what survived: only this test's processes carry the marker.
	t.Cleanup(func() {
		for _, pid := range marked(t, marker) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	for i := range 30 {
		cmd := exec.Command("unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "--mount", "--",
			"/bin/sh", "-c", "sleep 300 & sleep 300 & wait", marker)
		require.NoError(t, cmd.Start())
		go func() { _ = cmd.Wait() }()
		id, err := proc.Of(cmd.Process.Pid)
		require.NoError(t, err)
		// Half of them at once, half once the namespace runs.
		if i%2 == 1 {
			time.Sleep(20 * time.Millisecond)
		}
		require.NoError(t, stop(id))
		deadline := time.Now().Add(5 * time.Second)
		for len(marked(t, marker)) > 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		require.Empty(t, marked(t, marker), "round %d: processes of a stopped node still run", i)
	}
}
