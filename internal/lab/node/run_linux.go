package node

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"kube-netbench/internal/lab/proc"
)

// Start writes the node's files and cgroups and starts the node: its
// start-up script as PID 1 of a PID namespace of its own (with its own
// /proc, as a kind node has), in the node's network namespace and in new
// mount and UTS namespaces. The returned process is unshare, which holds the
// node: when it ends, the kernel kills the node's PID namespace (every
// daemon, shim and container of the node) at once (--kill-child), so Stop
// needs no knowledge of what runs inside. Output goes to logPath.
func Start(c Config, hierarchies []string, logPath string) (proc.Ident, error) {
	files, err := c.Render(hierarchies)
	if err != nil {
		return proc.Ident{}, err
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return proc.Ident{}, err
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(c.Dir, name), []byte(content), 0o600); err != nil {
			return proc.Ident{}, err
		}
	}
	if err := CreateCgroup(hierarchies, c.CgroupRoot); err != nil {
		return proc.Ident{}, err
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return proc.Ident{}, err
	}
	defer logf.Close()
	cmd := exec.Command("nsenter", "--net="+c.Netns, "--",
		"unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "--mount", "--uts", "--propagation", "private", "--",
		"/bin/sh", filepath.Join(c.Dir, ScriptFile))
	cmd.Stdout, cmd.Stderr = logf, logf
	// A session of its own: a terminal's interrupt reaches the lab's
	// controller, which stops nodes in order, not the nodes directly.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return proc.Ident{}, fmt.Errorf("start node %s: %w", c.Name, err)
	}
	id, err := proc.Of(cmd.Process.Pid)
	// Reaped here if it ends while this process lives.
	go func() { _ = cmd.Wait() }()
	if err != nil {
		return proc.Ident{}, fmt.Errorf("node %s exited at once (see %s): %w", c.Name, logPath, err)
	}
	return id, nil
}

// Stop ends the nodes started by Start and waits until root's cgroup
// subtree, which holds every node's, is empty. The cgroups themselves are
// removed by RemoveCgroup.
func Stop(ids []proc.Ident, hierarchies []string, root string, timeout time.Duration) error {
	var errs []error
	for _, id := range ids {
		if err := stop(id); err != nil {
			errs = append(errs, err)
		}
	}
	if err := waitCgroupEmpty(hierarchies, root, time.Now().Add(timeout)); err != nil {
		errs = append(errs, fmt.Errorf("the nodes' PID namespaces ended but %w", err))
	}
	return errors.Join(errs...)
}

// stop ends one node: its unshare is stopped first, so that it can no longer
// fork, then its child, PID 1 of the node's PID namespace (the kernel ends
// every process of the namespace with it), and unshare are killed. Killing
// unshare alone (--kill-child) is racy: a child that has not yet set its
// parent-death signal outlives it, and with it the whole node. Nothing in a
// node needs a graceful end (its state is thrown away).
func stop(id proc.Ident) error {
	if err := id.Signal(syscall.SIGSTOP); err != nil {
		return fmt.Errorf("stop node process: %w", err)
	}
	children, err := id.Children()
	if err != nil {
		return fmt.Errorf("stop node process %s: %w", id, err)
	}
	var errs []error
	for _, c := range append(children, id) {
		if err := c.Signal(syscall.SIGKILL); err != nil {
			errs = append(errs, fmt.Errorf("stop node process: %w", err))
		}
	}
	for _, c := range append(children, id) {
		if err := c.Terminate(0); err != nil {
			errs = append(errs, fmt.Errorf("stop node process: %w", err))
		}
	}
	return errors.Join(errs...)
}
