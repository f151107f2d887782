package netlab

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// requireRoot skips privileged tests when not root.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("netlab tests create network namespaces, links and routes: they need root " +
			"(CAP_NET_ADMIN and CAP_SYS_ADMIN); run them as root")
	}
}

// testNetns creates a namespace for one test and deletes it at cleanup.
func testNetns(t *testing.T, name string) {
	t.Helper()
	_, err := os.Stat(NetnsPath(name))
	require.ErrorIs(t, err, fs.ErrNotExist, "netns %s exists already: another run is using it, or leftovers", name)
	require.NoError(t, CreateNetns(name))
	t.Cleanup(func() { assert.NoError(t, DeleteNetns(name)) })
}

// threadNetnsIno is the network namespace inode of the calling thread.
func threadNetnsIno(t *testing.T) uint64 {
	var st unix.Stat_t
	require.NoError(t, unix.Stat(threadNetns, &st))
	return st.Ino
}

// netnsIno is the inode of a named namespace.
func netnsIno(t *testing.T, name string) uint64 {
	ino, mounted, err := netnsInode(NetnsPath(name))
	require.NoError(t, err)
	require.True(t, mounted, "no namespace mounted at %s", NetnsPath(name))
	return ino
}

// startIn starts `sleep 60` inside the namespace and kills it at cleanup. A child forked from a thread
// inside a namespace starts in that namespace.
func startIn(t *testing.T, name string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	require.NoError(t, InNetns(name, cmd.Start))
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill() // our own child, by its PID
			_ = cmd.Wait()         // "signal: killed" is expected
		}
	})
	return cmd
}

func TestCreateNetns(t *testing.T) {
	requireRoot(t)
	const name = "nb-test-create"

	runtime.LockOSThread()
	before := threadNetnsIno(t)
	testNetns(t, name)
	after := threadNetnsIno(t)
	runtime.UnlockOSThread()

	assert.Equal(t, before, after, "CreateNetns moved the calling thread")
	assert.Equal(t, "/run/netns/"+name, NetnsPath(name))
	ino := netnsIno(t, name)
	assert.NotEqual(t, before, ino, "the named namespace is the caller's own")
	procs, err := processesIn(map[uint64]bool{ino: true})
	require.NoError(t, err)
	assert.Empty(t, procs[ino], "no thread of ours (nor anyone's) may stay in the new namespace")

	err = CreateNetns(name)
	assert.ErrorIs(t, err, fs.ErrExist)

	assert.True(t, sharedMount(t, NetnsDir), "%s must be a shared mount, as iproute2 makes it", NetnsDir)

	for _, bad := range []string{"", ".", "..", "a/b"} {
		assert.Error(t, CreateNetns(bad), "name %q", bad)
	}
}

func TestInNetns(t *testing.T) {
	requireRoot(t)
	const node, pod = "nb-test-node", "nb-test-pod"
	testNetns(t, node)
	nodeIno := netnsIno(t, node)
	rootIno := threadNetnsIno(t)

	err := InNetns(node, func() error {
		assert.Equal(t, nodeIno, threadNetnsIno(t), "fn runs in the namespace")
		// Goroutines started by fn run on other threads, in the process's namespace.
		other := make(chan uint64)
		go func() {
			var st unix.Stat_t
			_ = unix.Stat(threadNetns, &st)
			other <- st.Ino
		}()
		assert.Equal(t, rootIno, <-other, "a goroutine started inside InNetns does not inherit the namespace")
		// lo exists and is down in a new namespace; netlink without a handle works in the thread's namespace.
		lo, err := netlink.LinkByName("lo")
		require.NoError(t, err)
		assert.Zero(t, lo.Attrs().Flags&unix.IFF_UP)

		// A namespace created from inside another one.
		if err := CreateNetns(pod); err != nil {
			return err
		}
		assert.Equal(t, nodeIno, threadNetnsIno(t), "CreateNetns from inside a namespace stays there")
		return nil
	})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, DeleteNetns(pod)) })
	podIno := netnsIno(t, pod)
	assert.NotEqual(t, nodeIno, podIno)
	assert.NotEqual(t, rootIno, podIno)

	wantErr := errors.New("from fn")
	assert.ErrorIs(t, InNetns(node, func() error { return wantErr }), wantErr)
	assert.ErrorIs(t, InNetns(node, func() error { runtime.Goexit(); return nil }), errGoexit)
	assert.ErrorIs(t, InNetns("nb-test-missing", func() error { return nil }), fs.ErrNotExist)

	// Every thread is back home: nothing of ours is left in the namespaces.
	procs, err := processesIn(map[uint64]bool{nodeIno: true, podIno: true})
	require.NoError(t, err)
	assert.Empty(t, procs)
}

func TestDeleteNetns(t *testing.T) {
	requireRoot(t)
	const name = "nb-test-delete"
	testNetns(t, name)

	cmd := startIn(t, name)
	err := DeleteNetns(name)
	var busy *BusyError
	require.ErrorAs(t, err, &busy, "a namespace with a process inside must not be deleted")
	assert.Equal(t, []Process{{PID: cmd.Process.Pid, Comm: "sleep"}}, busy.Processes)
	assert.Contains(t, err.Error(), "netns nb-test-delete still has processes")
	_, err = os.Stat(NetnsPath(name))
	require.NoError(t, err, "the busy namespace keeps its name")

	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait() // reaps it; the error is "signal: killed"
	require.NoError(t, DeleteNetns(name))
	_, err = os.Stat(NetnsPath(name))
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.NoError(t, DeleteNetns(name), "deleting a missing namespace is not an error")

	// A half-created name (the file without a namespace mounted on it) is removed too.
	require.NoError(t, os.WriteFile(NetnsPath(name), nil, 0o444))
	assert.NoError(t, DeleteNetns(name))
	_, err = os.Stat(NetnsPath(name))
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

// sharedMount reports whether the mount point at path has shared propagation (/proc/self/mountinfo).
func sharedMount(t *testing.T, path string) bool {
	f, err := os.Open("/proc/self/mountinfo")
	require.NoError(t, err)
	defer f.Close()
	shared := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 7 || fields[4] != path {
			continue
		}
		shared = false // the last mount on path is the visible one
		for _, opt := range fields[6:] {
			if opt == "-" {
				break
			}
			if strings.HasPrefix(opt, "shared:") {
				shared = true
			}
		}
	}
	require.NoError(t, sc.Err())
	return shared
}

func TestProcessString(t *testing.T) {
	assert.Equal(t, "7 (sleep)", Process{PID: 7, Comm: "sleep"}.String())
}
