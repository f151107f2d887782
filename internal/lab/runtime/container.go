package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ErrInitNotCalled is returned by Start when the binary's main (or TestMain) did not call Init:
// re-executing it as a container init would run its normal main instead.
var ErrInitNotCalled = errors.New("lab runtime: Init was not called; call runtime.Init() first in main and in TestMain")

// ExitStatus is how a container ended.
type ExitStatus struct {
	// Code is the exit code, or 128+signal when a signal killed the program, as Kubernetes
	// reports it (137 after SIGKILL).
	Code int
	// Signal is the signal that killed the program, or 0.
	Signal syscall.Signal
	// Err is set when the program could not be waited for; Code is then meaningless.
	Err error
	// FinishedAt is when the program was reaped.
	FinishedAt time.Time
}

// Container is a running container process, started by Start.
type Container struct {
	id     string
	cmd    *exec.Cmd
	done   chan struct{} // closed once the process is reaped and status set
	status ExitStatus
}

// Start starts the container described by spec and returns once its program runs, or with the
// error that prevented it (then nothing of it is left but the caller's RootDir, now empty).
// See the package documentation for what the container sees. Init must have been called.
func Start(spec Spec) (*Container, error) {
	if !initCalled.Load() {
		return nil, ErrInitNotCalled
	}
	if err := spec.validate(); err != nil {
		return nil, err
	}
	rootDir, err := prepareRootDir(spec.RootDir)
	if err != nil {
		return nil, fmt.Errorf("start container %s: %w", spec.ID, err)
	}
	spec, err = copyMounts(spec, rootDir)
	if err != nil {
		err = fmt.Errorf("start container %s: %w", spec.ID, err)
		if rerr := Remove(spec); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return nil, err
	}
	c, err := start(spec, rootDir)
	if err != nil {
		err = fmt.Errorf("start container %s: %w", spec.ID, err)
		if rerr := Remove(spec); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return nil, err
	}
	return c, nil
}

// copyMounts makes the private copies of the Copy mounts under rootDir/copies and returns the
// spec with those mounts bound from their copies.
func copyMounts(spec Spec, rootDir string) (Spec, error) {
	mounts := slices.Clone(spec.Mounts)
	for i, m := range mounts {
		if !m.Copy {
			continue
		}
		dst := filepath.Join(rootDir, "copies", strconv.Itoa(i))
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return spec, err
		}
		if err := os.CopyFS(dst, os.DirFS(m.Source)); err != nil {
			return spec, fmt.Errorf("copy %s for %s: %w", m.Source, m.Target, err)
		}
		mounts[i].Source, mounts[i].Copy = dst, false
	}
	spec.Mounts = mounts
	return spec, nil
}

// prepareRootDir creates RootDir, or checks it is empty, and returns its real path.
func prepareRootDir(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create RootDir: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("read RootDir: %w", err)
	}
	if len(entries) > 0 {
		return "", fmt.Errorf("RootDir %s is not empty: Remove the previous container first", dir)
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", fmt.Errorf("resolve RootDir: %w", err)
	}
	return real, nil
}

func start(spec Spec, rootDir string) (*Container, error) {
	plan, err := planContainer(spec, rootDir, osLookup)
	if err != nil {
		return nil, fmt.Errorf("compose root: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(spec.LogPath), 0o755); err != nil {
		return nil, fmt.Errorf("create log directory: %w", err)
	}
	logFile, err := os.OpenFile(spec.LogPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	defer logFile.Close()

	planR, planW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("plan pipe: %w", err)
	}
	defer planR.Close()
	defer planW.Close()
	statusR, statusW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("status pipe: %w", err)
	}
	defer statusR.Close()
	defer statusW.Close()
	extra := []*os.File{planR, statusW} // planFD, statusFD
	if spec.NetnsPath != "" {
		ns, err := os.Open(spec.NetnsPath)
		if err != nil {
			return nil, fmt.Errorf("open network namespace: %w", err)
		}
		defer ns.Close()
		extra = append(extra, ns)
		plan.NetnsFD = netnsFD
	}
	data, err := json.Marshal(plan)
	if err != nil {
		return nil, fmt.Errorf("encode plan: %w", err)
	}

	cmd := &exec.Cmd{
		Path:       "/proc/self/exe",
		Args:       []string{"netbench-init:" + spec.ID, initArg},
		Env:        []string{}, // the program gets plan.Env; the init needs nothing
		Stdout:     logFile,
		Stderr:     logFile,
		ExtraFiles: extra,
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags:   syscall.CLONE_NEWPID,
			Unshareflags: syscall.CLONE_NEWNS, // Go also makes / private recursively in the child
		},
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("fork container init: %w", err)
	}
	// Only the child may hold these ends, or the reads below would never see EOF.
	planR.Close()
	statusW.Close()
	_, werr := planW.Write(data)
	planW.Close()
	report, rerr := io.ReadAll(statusR) // EOF: the program was exec'd (or the init died)
	if len(report) > 0 || werr != nil || rerr != nil {
		waitErr := cmd.Wait() // reaped: its mount namespace is gone
		if len(report) > 0 {
			return nil, errors.New(string(report))
		}
		return nil, fmt.Errorf("container init failed: %w", errors.Join(werr, rerr, waitErr))
	}
	c := &Container{id: spec.ID, cmd: cmd, done: make(chan struct{})}
	go c.reap()
	return c, nil
}

func (c *Container) reap() {
	err := c.cmd.Wait()
	st := ExitStatus{FinishedAt: time.Now()}
	if ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
		if ws.Signaled() {
			st.Signal = ws.Signal()
			st.Code = 128 + int(ws.Signal())
		} else {
			st.Code = ws.ExitStatus()
		}
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		st.Err = fmt.Errorf("wait for container %s: %w", c.id, err)
	}
	c.status = st
	close(c.done)
}

// ID returns Spec.ID.
func (c *Container) ID() string { return c.id }

// PID returns the process ID of the container's program, in the caller's PID namespace.
func (c *Container) PID() int { return c.cmd.Process.Pid }

// Wait returns a channel that delivers the container's exit status once it has ended and been
// reaped. Each call returns a new channel; all of them get the status.
func (c *Container) Wait() <-chan ExitStatus {
	ch := make(chan ExitStatus, 1)
	select {
	case <-c.done:
		ch <- c.status
	default:
		go func() {
			<-c.done
			ch <- c.status
		}()
	}
	return ch
}

// Done returns a channel that is closed once the container has ended and been reaped.
func (c *Container) Done() <-chan struct{} { return c.done }

// exited reports whether the container has ended.
func (c *Container) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM to the container's program, SIGKILL after grace if it still runs, and waits
// until it has been reaped. If ctx ends first, it sends SIGKILL at once and returns ctx's error.
// Stopping a container that has already ended is not an error.
func (c *Container) Stop(ctx context.Context, grace time.Duration) error {
	if c.exited() {
		return nil
	}
	if err := c.signal(unix.SIGTERM); err != nil {
		return err
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-c.done:
		return nil
	case <-timer.C:
	case <-ctx.Done():
		if err := c.signal(unix.SIGKILL); err != nil {
			return err
		}
		return fmt.Errorf("stop container %s: SIGKILL sent early: %w", c.id, context.Cause(ctx))
	}
	if err := c.signal(unix.SIGKILL); err != nil {
		return err
	}
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop container %s: still not reaped after SIGKILL: %w", c.id, context.Cause(ctx))
	}
}

// signal signals the program by its process handle (a pidfd: never another process that reused
// the PID).
func (c *Container) signal(sig syscall.Signal) error {
	if err := c.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal container %s (pid %d) with %v: %w", c.id, c.PID(), sig, err)
	}
	return nil
}

// osLookup is the planner's view of the host.
func osLookup(hostPath string, follow bool) (node, error) {
	stat := os.Lstat
	if follow {
		stat = os.Stat
	}
	fi, err := stat(hostPath)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return node{kind: kindMissing}, nil
	}
	if err != nil {
		return node{}, err
	}
	n := node{kind: kindFile, mode: fi.Mode().Perm() | fi.Mode()&fs.ModeSticky}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		n.kind = kindSymlink
		if n.link, err = os.Readlink(hostPath); err != nil {
			return node{}, err
		}
	case fi.IsDir():
		n.kind = kindDir
	}
	return n, nil
}
