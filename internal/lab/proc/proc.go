//go:build linux

// Package proc identifies processes the lab started, so that teardown signals
// exactly those processes and never a later process that reused the PID.
//
// A process is identified by its PID and its start time (field 22 of
// /proc/<pid>/stat, in clock ticks since boot): the pair is unique for the
// lifetime of the machine.
package proc

import (
	"errors"
	"fmt"
	"slices"
	"syscall"
	"time"

	"github.com/prometheus/procfs"
)

// Ident names one process for the lifetime of the machine.
type Ident struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start"`
}

func (id Ident) String() string { return fmt.Sprintf("pid %d (start %d)", id.PID, id.Start) }

// Of returns the identity of a running process.
func Of(pid int) (Ident, error) {
	st, err := stat(pid)
	if err != nil {
		return Ident{}, fmt.Errorf("read stat of pid %d: %w", pid, err)
	}
	return Ident{PID: pid, Start: st.Starttime}, nil
}

func stat(pid int) (procfs.ProcStat, error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return procfs.ProcStat{}, err
	}
	return p.Stat()
}

// Alive reports whether the identified process still runs (a zombie counts as
// gone: it has exited and only waits to be reaped).
func (id Ident) Alive() bool {
	if id.PID <= 0 {
		return false
	}
	st, err := stat(id.PID)
	return err == nil && st.Starttime == id.Start && st.State != "Z"
}

// Stopped reports whether the identified process is stopped by a signal
// (SIGSTOP: state T), and so waits for a SIGCONT.
func (id Ident) Stopped() bool {
	st, err := stat(id.PID)
	return err == nil && st.Starttime == id.Start && st.State == "T"
}

// Comm returns the command name of the process, or "" when it is gone.
func (id Ident) Comm() string {
	st, err := stat(id.PID)
	if err != nil {
		return ""
	}
	return st.Comm
}

// Terminate sends SIGTERM, waits up to grace for the process to end, then
// sends SIGKILL and waits again. It only signals the identified process: a PID
// reused by another process is left alone.
func (id Ident) Terminate(grace time.Duration) error {
	if !id.Alive() {
		return nil
	}
	if err := syscall.Kill(id.PID, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("SIGTERM %s: %w", id, err)
	}
	if id.waitGone(grace) {
		return nil
	}
	if id.Alive() {
		if err := syscall.Kill(id.PID, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("SIGKILL %s: %w", id, err)
		}
	}
	if id.waitGone(5 * time.Second) {
		return nil
	}
	return fmt.Errorf("%s (%s) still runs after SIGKILL", id, id.Comm())
}

// Children returns the live children of the identified process (none when
// it is gone).
func (id Ident) Children() ([]Ident, error) {
	tree, err := id.tree()
	if err != nil {
		return nil, fmt.Errorf("children of %s: %w", id, err)
	}
	var out []Ident
	for _, st := range tree[id.PID] {
		out = append(out, Ident{PID: st.PID, Start: st.Starttime})
	}
	return out, nil
}

// Descendants returns the live descendants of the identified process whose
// command name is comm (as /proc/<pid>/comm gives it: at most 15 bytes), in
// PID order; none when it is gone. It finds a node's daemons and
// containers: they all descend from the node's process, and an orphan is
// re-parented to it (the init of their PID namespace), never outside.
func (id Ident) Descendants(comm string) ([]Ident, error) {
	tree, err := id.tree()
	if err != nil {
		return nil, fmt.Errorf("descendants of %s named %q: %w", id, comm, err)
	}
	var out []Ident
	for queue := []int{id.PID}; len(queue) > 0; queue = queue[1:] {
		for _, st := range tree[queue[0]] {
			if st.Comm == comm {
				out = append(out, Ident{PID: st.PID, Start: st.Starttime})
			}
			queue = append(queue, st.PID)
		}
	}
	slices.SortFunc(out, func(a, b Ident) int { return a.PID - b.PID })
	return out, nil
}

// tree maps each PID to its live children's stat, read in one pass over
// /proc; empty when the identified process is gone.
func (id Ident) tree() (map[int][]procfs.ProcStat, error) {
	tree := map[int][]procfs.ProcStat{}
	if !id.Alive() {
		return tree, nil
	}
	procs, err := procfs.AllProcs()
	if err != nil {
		return nil, err
	}
	for _, p := range procs {
		// A process that exits meanwhile has no stat: it is in no tree.
		if st, err := p.Stat(); err == nil && st.State != "Z" {
			tree[st.PPID] = append(tree[st.PPID], st)
		}
	}
	return tree, nil
}

// Signal sends sig to the identified process if it still runs.
func (id Ident) Signal(sig syscall.Signal) error {
	if !id.Alive() {
		return nil
	}
	if err := syscall.Kill(id.PID, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("%s %s: %w", sig, id, err)
	}
	return nil
}

// waitGone polls until the process is gone or the timeout passes. Polling is
// the only way to wait for a process that is not our child.
func (id Ident) waitGone(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if !id.Alive() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}
