package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// execWaitDelay bounds how long an exec waits for its output pipes after the command ended (a
// background child may hold them) or after ctx ended and the command was killed.
const execWaitDelay = 2 * time.Second

// ExitError is the error of a command that ran and ended unsuccessfully. It satisfies
// k8s.io/utils/exec.ExitError (String, Error, Exited, ExitStatus), which the kubelet's exec
// handler asserts directly (not with errors.As) to tell kubectl the exit code: Exec and
// ExecInNetns therefore return it unwrapped.
type ExitError struct {
	// Argv is the command that ran.
	Argv []string
	// Code is its exit code, or 128+signal when a signal killed it, as container runtimes report.
	Code int
	// Signal is the signal that killed it, or 0.
	Signal syscall.Signal
}

func (e *ExitError) Error() string {
	if e.Signal != 0 {
		return fmt.Sprintf("command %q killed by signal %v (exit code %d)", e.Argv, e.Signal, e.Code)
	}
	return fmt.Sprintf("command %q exited with code %d", e.Argv, e.Code)
}

// String returns the same text as Error.
func (e *ExitError) String() string { return e.Error() }

// Exited is always true: a code is known even after a signal (128+signal).
func (e *ExitError) Exited() bool { return true }

// ExitStatus returns Code.
func (e *ExitError) ExitStatus() int { return e.Code }

// Exec runs argv inside the running container: in its network, mount and PID namespaces, its root
// and its working directory, with exactly env (PATH defaults as in Start), so argv[0] is resolved
// in the container's view. stdin may be nil; stdout and stderr stay separate (nil discards). It
// returns nil on exit code 0, an *ExitError (unwrapped) for another exit, and a wrapped error when
// the command could not run or ctx ended, which kills it and its children.
func (c *Container) Exec(ctx context.Context, argv, env []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(argv) == 0 {
		return errors.New("exec: empty command")
	}
	if c.exited() {
		return fmt.Errorf("exec %q: container %s is not running", argv, c.id)
	}
	// nsenter forks once more to enter the PID namespace, and passes on the exit status.
	args := []string{"--target", strconv.Itoa(c.PID()), "--mount", "--net", "--pid", "--root", "--wd", "--"}
	return runCommand(ctx, "nsenter", append(args, argv...), argv, env, stdin, stdout, stderr)
}

// ExecInNetns runs argv, found with env's PATH on the caller's filesystem, in the network
// namespace at netnsPath ("" keeps the caller's). It is for hostNetwork work that has no
// container; its results are those of Exec.
func ExecInNetns(ctx context.Context, netnsPath string, argv, env []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(argv) == 0 {
		return errors.New("exec: empty command")
	}
	if netnsPath == "" {
		pathEnv, _ := lookupEnv(containerEnv(env), "PATH")
		prog, err := lookPath(argv[0], pathEnv)
		if err != nil {
			return fmt.Errorf("exec %q: %w", argv, err)
		}
		return runCommand(ctx, prog, argv[1:], argv, env, stdin, stdout, stderr)
	}
	args := append([]string{"--net=" + netnsPath, "--"}, argv...)
	return runCommand(ctx, "nsenter", args, argv, env, stdin, stdout, stderr)
}

// runCommand runs name with args in a process group of its own, so that cancelling ctx kills
// everything it started, and turns an unsuccessful exit into an *ExitError for argv.
func runCommand(ctx context.Context, name string, args, argv, env []string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = containerEnv(env)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = execWaitDelay
	err := cmd.Run()
	if err == nil || (errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState != nil && cmd.ProcessState.Success()) {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("exec %q: %w", argv, context.Cause(ctx))
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok {
			e := &ExitError{Argv: argv, Code: ws.ExitStatus()}
			if ws.Signaled() {
				e.Signal = ws.Signal()
				e.Code = 128 + int(ws.Signal())
			}
			return e
		}
	}
	return fmt.Errorf("exec %q: %w", argv, err)
}
