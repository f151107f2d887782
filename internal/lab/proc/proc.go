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
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Ident names one process for the lifetime of the machine.
type Ident struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start"`
}

func (id Ident) String() string { return fmt.Sprintf("pid %d (start %d)", id.PID, id.Start) }

// Of returns the identity of a running process.
func Of(pid int) (Ident, error) {
	start, err := startTime(pid)
	if err != nil {
		return Ident{}, err
	}
	return Ident{PID: pid, Start: start}, nil
}

// startTime reads field 22 of /proc/<pid>/stat. The command name (field 2) may
// contain spaces and parentheses, so fields are counted after its last ')'.
func startTime(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read stat of pid %d: %w", pid, err)
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc/%d/stat: no command field", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); field 22 is f[19].
	if len(f) < 20 {
		return 0, fmt.Errorf("parse /proc/%d/stat: %d fields after the command, want at least 20", pid, len(f))
	}
	v, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse start time of pid %d: %w", pid, err)
	}
	return v, nil
}

// Alive reports whether the identified process still runs (a zombie counts as
// gone: it has exited and only waits to be reaped).
func (id Ident) Alive() bool {
	if id.PID <= 0 {
		return false
	}
	start, err := startTime(id.PID)
	if err != nil || start != id.Start {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", id.PID))
	if err != nil {
		return false
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) && s[i+2] == 'Z' {
		return false
	}
	return true
}

// Comm returns the command name of the process, or "" when it is gone.
func (id Ident) Comm() string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", id.PID))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
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
