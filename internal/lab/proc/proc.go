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
	if !id.Alive() {
		return nil, nil
	}
	procs, err := procfs.AllProcs()
	if err != nil {
		return nil, fmt.Errorf("children of %s: %w", id, err)
	}
	var out []Ident
	for _, p := range procs {
		// A process that exits meanwhile has no stat: it is no child.
		if st, err := p.Stat(); err == nil && st.PPID == id.PID && st.State != "Z" {
			out = append(out, Ident{PID: p.PID, Start: st.Starttime})
		}
	}
	return out, nil
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
