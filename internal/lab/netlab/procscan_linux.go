package netlab

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// processesIn scans every thread of every process in /proc and returns, for each network namespace inode in
// want, the processes with at least one thread inside it. Threads are scanned, not just processes: a Go program
// can hold one locked thread in a namespace while its main thread stays outside.
//
// Processes the caller may not inspect are skipped: reading another process's namespace links takes ptrace
// read access, which even root lacks for a process with capabilities beyond its own (a sandbox's or
// container runtime's supervisor, say). Such a process is not one the lab started.
func processesIn(want map[uint64]bool) (map[uint64][]Process, error) {
	found := map[uint64][]Process{}
	if len(want) == 0 {
		return found, nil
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("scan processes: %w", err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue // not a process directory
		}
		inodes, err := threadNetnsInodes(pid)
		if err != nil {
			return nil, fmt.Errorf("scan processes: %w", err)
		}
		for _, ino := range inodes {
			if want[ino] {
				found[ino] = append(found[ino], Process{PID: pid, Comm: comm(pid)})
			}
		}
	}
	return found, nil
}

// threadNetnsInodes returns the distinct network namespace inodes of pid's threads. A process or thread that
// exits during the scan is skipped.
func threadNetnsInodes(pid int) ([]uint64, error) {
	dir := filepath.Join("/proc", strconv.Itoa(pid), "task")
	tasks, err := os.ReadDir(dir)
	if err != nil {
		if gone(err) || denied(err) {
			return nil, nil
		}
		return nil, err
	}
	var inodes []uint64
	for _, t := range tasks {
		link, err := os.Readlink(filepath.Join(dir, t.Name(), "ns", "net"))
		if err != nil {
			if gone(err) || denied(err) {
				continue
			}
			return nil, err
		}
		ino, err := parseNsLink(link)
		if err != nil {
			return nil, fmt.Errorf("pid %d thread %s: %w", pid, t.Name(), err)
		}
		if !slices.Contains(inodes, ino) {
			inodes = append(inodes, ino)
		}
	}
	return inodes, nil
}

// parseNsLink parses the target of a /proc/<pid>/ns/net link, "net:[4026531840]".
func parseNsLink(link string) (uint64, error) {
	s, ok := strings.CutPrefix(link, "net:[")
	if s, ok2 := strings.CutSuffix(s, "]"); ok && ok2 {
		return strconv.ParseUint(s, 10, 64)
	}
	return 0, fmt.Errorf("unexpected namespace link %q", link)
}

// comm is the command name of pid, or "?" if it exited meanwhile.
func comm(pid int) string {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm"))
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}

// gone reports errors of a process or thread that exited while we looked (zombies have no namespace links).
func gone(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ESRCH)
}

// denied reports errors of a process we may not inspect (ptrace access mode checks).
func denied(err error) bool {
	return errors.Is(err, fs.ErrPermission)
}
