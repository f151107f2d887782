package netlab

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// threadNetns is the current thread's network namespace. /proc/self/ns/net would be the thread group leader's,
// which is not necessarily ours.
const threadNetns = "/proc/thread-self/ns/net"

// errGoexit is reported when fn ends its goroutine instead of returning (t.FailNow inside InNetns).
var errGoexit = errors.New("netlab: the function given to InNetns did not return " +
	"(runtime.Goexit, e.g. t.FailNow, on InNetns's goroutine)")

// netnsDirMu serialises the setup of NetnsDir within this process.
var netnsDirMu sync.Mutex

// CreateNetns creates the named network namespace and bind-mounts it at NetnsPath(name), as `ip netns add`
// does; lo is down in it, as in any new namespace. It fails, wrapping fs.ErrExist, if the name is taken.
//
// The calling goroutine's thread never changes namespace: the namespace is created on a separate locked
// thread that returns to its original namespace (or, if that fails, is discarded by the runtime). So it works
// from a process that itself runs inside another network namespace.
//
// The bind mount is made in the caller's mount namespace. NetnsDir is made a shared mount, as iproute2 does, so
// the name propagates to mount namespaces created later from this one; it does not propagate back from a
// mount namespace with slave propagation, such as the one `ip netns exec` starts. A process that creates
// namespaces for others to see must therefore enter its node with setns(CLONE_NEWNET) only (`nsenter --net=`),
// not with `ip netns exec`.
func CreateNetns(name string) error {
	if err := checkNetnsName(name); err != nil {
		return err
	}
	if err := ensureNetnsDir(); err != nil {
		return fmt.Errorf("create netns %s: %w", name, err)
	}
	path := NetnsPath(name)
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o444)
	if err != nil {
		return fmt.Errorf("create netns %s: %w", name, &fs.PathError{Op: "create", Path: path, Err: err})
	}
	if err := unix.Close(fd); err != nil {
		return fmt.Errorf("create netns %s: close %s: %w", name, path, err)
	}
	err = onThread(func() error {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("unshare(CLONE_NEWNET): %w", err)
		}
		if err := unix.Mount(threadNetns, path, "none", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind-mount the new namespace on %s: %w", path, err)
		}
		return nil
	})
	if err != nil {
		if rerr := os.Remove(path); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return fmt.Errorf("create netns %s: %w", name, err)
	}
	return nil
}

// DeleteNetns removes the named network namespace: it unmounts and removes NetnsPath(name). A name that does
// not exist is not an error, so teardown can be repeated.
//
// If processes still live in the namespace it deletes nothing and returns a *BusyError naming them: removing
// the name would leave the namespace alive but unreachable. (A process could still enter it between the check
// and the unmount; and open sockets or file descriptors, which no /proc scan attributes to a namespace, keep it
// alive the same way: close them first.)
func DeleteNetns(name string) error {
	if err := checkNetnsName(name); err != nil {
		return err
	}
	ino, mounted, err := netnsInode(NetnsPath(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete netns %s: %w", name, err)
	}
	var busy []Process
	if mounted {
		procs, err := processesIn(map[uint64]bool{ino: true})
		if err != nil {
			return fmt.Errorf("delete netns %s: %w", name, err)
		}
		busy = procs[ino]
	}
	return deleteNetns(name, busy)
}

// deleteNetns removes the name after the caller checked for processes (busy).
func deleteNetns(name string, busy []Process) error {
	if len(busy) > 0 {
		return &BusyError{Netns: name, Processes: busy}
	}
	path := NetnsPath(name)
	// Unmount until the path is no longer a mount point: a racing `ip netns add` can stack two mounts.
	for range 8 {
		err := unix.Unmount(path, unix.MNT_DETACH)
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
			break // not (or no longer) a mount point
		}
		if err != nil {
			return fmt.Errorf("delete netns %s: unmount %s: %w", name, path, err)
		}
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete netns %s: %w", name, err)
	}
	return nil
}

// InNetns runs fn on a locked OS thread inside the named network namespace and returns its error. Sockets and
// netlink handles created by fn stay in that namespace after InNetns returns, whatever thread uses them.
//
// Only fn's own goroutine is inside the namespace: goroutines started by fn run on other threads, in the
// process's namespace. fn runs on a goroutine of its own, so it must not call t.FailNow (InNetns then reports
// an error instead of hanging). The thread returns to its original namespace afterwards; if that fails, it is
// left locked so the runtime discards it rather than reuse it in the wrong namespace.
func InNetns(name string, fn func() error) error {
	if err := checkNetnsName(name); err != nil {
		return err
	}
	path := NetnsPath(name)
	target, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("enter netns %s: %w", name, &fs.PathError{Op: "open", Path: path, Err: err})
	}
	defer unix.Close(target)
	err = onThread(func() error {
		if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("enter netns %s: setns: %w", name, err)
		}
		return fn()
	})
	return err
}

// onThread runs fn on a fresh goroutine locked to its thread, and afterwards puts the thread back into the
// network namespace it started in. fn may change the thread's network namespace (setns, unshare).
func onThread(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		err := errGoexit
		defer func() { errc <- err }()
		runtime.LockOSThread()
		orig, oerr := unix.Open(threadNetns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if oerr != nil {
			runtime.UnlockOSThread()
			err = fmt.Errorf("open %s: %w", threadNetns, oerr)
			return
		}
		defer unix.Close(orig)
		defer func() {
			if rerr := unix.Setns(orig, unix.CLONE_NEWNET); rerr != nil {
				// Stay locked: the runtime ends the thread with this goroutine instead of reusing it.
				err = errors.Join(err, fmt.Errorf("return the thread to its network namespace: %w", rerr))
				return
			}
			runtime.UnlockOSThread()
		}()
		err = fn()
	}()
	return <-errc
}

// ensureNetnsDir creates NetnsDir and makes it a shared mount (bind-mounting it on itself first if it is not a
// mount point), exactly as iproute2's `ip netns add` does.
func ensureNetnsDir() error {
	netnsDirMu.Lock()
	defer netnsDirMu.Unlock()
	if err := os.MkdirAll(NetnsDir, 0o755); err != nil {
		return err
	}
	for bound := false; ; bound = true {
		err := unix.Mount("", NetnsDir, "none", unix.MS_SHARED|unix.MS_REC, "")
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EINVAL) || bound {
			return fmt.Errorf("make %s a shared mount: %w", NetnsDir, err)
		}
		// EINVAL: not a mount point yet.
		if err := unix.Mount(NetnsDir, NetnsDir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind-mount %s on itself: %w", NetnsDir, err)
		}
	}
}

// netnsInode returns the inode of the namespace mounted at path, and whether a namespace is mounted there at
// all (a half-created name is an empty file). The error wraps fs.ErrNotExist if path does not exist.
func netnsInode(path string) (ino uint64, mounted bool, err error) {
	var sfs unix.Statfs_t
	if err := unix.Statfs(path, &sfs); err != nil {
		return 0, false, &fs.PathError{Op: "statfs", Path: path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, false, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	return st.Ino, sfs.Type == unix.NSFS_MAGIC, nil
}

// checkNetnsName rejects names that are not a single path element.
func checkNetnsName(name string) error {
	if name == "" || name == "." || name == ".." || len(name) > 255 {
		return fmt.Errorf("invalid netns name %q", name)
	}
	for _, c := range name {
		if c == '/' || c == 0 {
			return fmt.Errorf("invalid netns name %q: must be a single path element", name)
		}
	}
	return nil
}
