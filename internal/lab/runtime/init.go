package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// initArg, as the first argument, marks the re-executed binary as a container init.
const initArg = "__netbench_container_init"

// Descriptors a container init inherits (os/exec ExtraFiles start at 3).
const (
	planFD   = 3 // read end of the pipe carrying the JSON plan
	statusFD = 4 // write end of the pipe reporting a setup error; close-on-exec
	netnsFD  = 5 // the network namespace, when Spec.NetnsPath is set
)

// initCalled records that this binary calls Init, so that re-executing it is safe.
var initCalled atomic.Bool

// Init must be the first call of main(), and of TestMain in test binaries that start containers.
// In the lab's normal process it only records that it was called and returns. When the process is
// a container init started by Start, it sets the container up and execs its program; when the
// process runs as the pause program of registry.k8s.io/pause (its name is "pause"), it pauses
// until SIGINT or SIGTERM. In both cases it never returns.
func Init() {
	initCalled.Store(true)
	switch {
	case len(os.Args) > 1 && os.Args[1] == initArg:
		containerInit()
	case filepath.Base(os.Args[0]) == "pause":
		pause()
	}
}

// containerInit runs in the child made by Start: in a new PID and mount namespace, not yet in the
// pod's network namespace nor in the composed root. It execs the container's program or exits 1
// after reporting the error on the status pipe.
func containerInit() {
	// setns(CLONE_NEWNET) applies to this thread only, and execve keeps the calling thread.
	goruntime.LockOSThread()
	status := os.NewFile(statusFD, "status")
	err := setUpAndExec()
	msg := fmt.Sprintf("container init: %v", err)
	fmt.Fprintln(os.Stderr, msg) // also into the container's log
	if _, werr := io.WriteString(status, msg); werr != nil {
		fmt.Fprintf(os.Stderr, "container init: report error to the runtime: %v\n", werr)
	}
	os.Exit(1)
}

// setUpAndExec only returns on failure.
func setUpAndExec() error {
	if _, err := unix.FcntlInt(statusFD, unix.F_SETFD, unix.FD_CLOEXEC); err != nil {
		return fmt.Errorf("mark status pipe close-on-exec: %w", err)
	}
	planFile := os.NewFile(planFD, "plan")
	data, err := io.ReadAll(planFile)
	planFile.Close()
	if err != nil {
		return fmt.Errorf("read plan: %w", err)
	}
	var plan initPlan
	if err := json.Unmarshal(data, &plan); err != nil {
		return fmt.Errorf("decode plan: %w", err)
	}
	if plan.NetnsFD >= 0 {
		err := unix.Setns(plan.NetnsFD, unix.CLONE_NEWNET)
		unix.Close(plan.NetnsFD)
		if err != nil {
			return fmt.Errorf("enter network namespace: %w", err)
		}
	}
	unix.Umask(0) // modes in the plan are exact
	// Go made "/" private when it unshared the mount namespace; say it again, nothing must leak.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / private: %w", err)
	}
	for _, s := range plan.Steps {
		if err := runStep(plan.RootDir, s); err != nil {
			return err
		}
	}
	if err := pivotRoot(plan.Root); err != nil {
		return err
	}
	if err := unix.Chdir(plan.WorkDir); err != nil {
		return fmt.Errorf("chdir %s: %w", plan.WorkDir, err)
	}
	pathEnv, _ := lookupEnv(plan.Env, "PATH")
	prog, err := lookPath(plan.Argv[0], pathEnv)
	if err != nil {
		return err
	}
	if err := closeExtraFDsOnExec(); err != nil {
		return err
	}
	if err := syscall.Exec(prog, plan.Argv, plan.Env); err != nil {
		return fmt.Errorf("exec %s: %w", prog, err)
	}
	return errors.New("exec returned")
}

// closeExtraFDsOnExec marks every descriptor above stderr close-on-exec: the program must not
// inherit what the caller's own parent left open without that flag.
func closeExtraFDsOnExec() error {
	if err := unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC); err == nil {
		return nil
	}
	entries, err := os.ReadDir("/proc/self/fd") // kernels before 5.11
	if err != nil {
		return fmt.Errorf("list open descriptors: %w", err)
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			unix.CloseOnExec(fd) // the directory's own descriptor is gone: nothing to check
		}
	}
	return nil
}

// runStep performs one plan step after checking that it stays under rootDir and that no symlink
// has appeared in its path since the plan was made.
func runStep(rootDir string, s step) error {
	if !strings.HasPrefix(s.Path, rootDir+"/") {
		return fmt.Errorf("step %s %s: path is outside %s", s.Op, s.Path, rootDir)
	}
	check := filepath.Dir(s.Path)
	if s.Op == opBind || s.Op == opMount {
		check = s.Path
	}
	if real, err := filepath.EvalSymlinks(check); err != nil || real != check {
		return fmt.Errorf("step %s %s: %s is not a symlink-free path (resolves to %q, %v)", s.Op, s.Path, check, real, err)
	}
	var err error
	switch s.Op {
	case opMkdir:
		err = os.Mkdir(s.Path, s.Mode.Perm()|s.Mode&os.ModeSticky)
		if errors.Is(err, os.ErrExist) {
			err = nil // the root's own directory may pre-exist
		}
	case opMkfile:
		var f *os.File
		if f, err = os.OpenFile(s.Path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, s.Mode.Perm()); err == nil {
			err = f.Close()
		}
	case opSymlink:
		err = os.Symlink(s.Source, s.Path)
	case opBind:
		err = unix.Mount(s.Source, s.Path, "", unix.MS_BIND|unix.MS_REC, "")
		if err == nil && s.ReadOnly {
			attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
			if err = unix.MountSetattr(unix.AT_FDCWD, s.Path, unix.AT_RECURSIVE, &attr); err != nil {
				err = fmt.Errorf("make read-only: %w", err)
			}
		}
		if err == nil && s.Writable {
			// A bind copies its source mount's flags: clear a read-only one.
			attr := unix.MountAttr{Attr_clr: unix.MOUNT_ATTR_RDONLY}
			if err = unix.MountSetattr(unix.AT_FDCWD, s.Path, 0, &attr); err != nil {
				err = fmt.Errorf("make writable: %w", err)
			}
		}
	case opMount:
		err = unix.Mount(s.Source, s.Path, s.FSType, s.Flags, s.Data)
	default:
		err = errors.New("unknown step")
	}
	if err != nil {
		return fmt.Errorf("step %s %s (source %q): %w", s.Op, s.Path, s.Source, err)
	}
	return nil
}

// pivotRoot makes root the root of the mount namespace and detaches the machine's tree, as runc
// does: pivot_root(".", ".") stacks the old root on the new one, and unmounting "." drops it.
func pivotRoot(root string) error {
	if err := unix.Chdir(root); err != nil {
		return fmt.Errorf("chdir to new root %s: %w", root, err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root to %s: %w", root, err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach the old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	return nil
}

// lookPath resolves file the way execvp does, with the container's PATH, in the current root.
func lookPath(file, pathEnv string) (string, error) {
	if strings.Contains(file, "/") {
		if err := isExecutable(file); err != nil {
			return "", fmt.Errorf("program %s: %w", file, err)
		}
		return file, nil
	}
	if pathEnv == "" {
		pathEnv = DefaultPath
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			dir = "."
		}
		candidate := filepath.Join(dir, file)
		if isExecutable(candidate) == nil {
			return candidate, nil
		}
	}
	return "", fmt.Errorf("executable file %q not found in the container's PATH %s", file, pathEnv)
}

func isExecutable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return errors.New("is a directory")
	}
	return unix.Access(p, unix.X_OK)
}

// pause behaves like registry.k8s.io/pause: it sleeps, reaps children re-parented to it, and exits
// 0 on SIGINT or SIGTERM.
func pause() {
	if len(os.Args) > 1 && os.Args[1] == "-v" {
		fmt.Println("pause (kube-netbench lab)")
		os.Exit(0)
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGCHLD)
	for sig := range sigs {
		if sig != unix.SIGCHLD {
			os.Exit(0)
		}
		for {
			var ws unix.WaitStatus
			if pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil); pid <= 0 || err != nil {
				break
			}
		}
	}
}
