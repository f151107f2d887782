package netlab

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/prometheus/procfs"
	"golang.org/x/sys/unix"
)

// processesIn scans every thread of every process in /proc and returns, for each network namespace inode in
// want, the processes with at least one thread inside it. Threads are scanned, not just processes: a Go program
// can hold one locked thread in a namespace while its main thread stays outside.
//
// Processes and threads that exit during the scan are skipped, and so are those the caller may not inspect:
// reading another process's namespace links takes ptrace read access, which even root lacks for a process with
// capabilities beyond its own (a sandbox's or container runtime's supervisor, say). Such a process is not one
// the lab started.
func processesIn(want map[uint64]bool) (map[uint64][]Process, error) {
	found := map[uint64][]Process{}
	if len(want) == 0 {
		return found, nil
	}
	procs, err := procfs.AllProcs()
	if err != nil {
		return nil, fmt.Errorf("scan processes: %w", err)
	}
	for _, p := range procs {
		threads, err := procfs.AllThreads(p.PID)
		if err != nil && !skippable(err) {
			return nil, fmt.Errorf("scan processes: pid %d: %w", p.PID, err)
		}
		seen := map[uint64]bool{}
		for _, t := range threads {
			ns, err := t.Namespaces()
			if err != nil && !skippable(err) {
				return nil, fmt.Errorf("scan processes: pid %d thread %d: %w", p.PID, t.PID, err)
			}
			if net, ok := ns["net"]; ok && want[uint64(net.Inode)] && !seen[uint64(net.Inode)] {
				seen[uint64(net.Inode)] = true
				comm, err := p.Comm()
				if err != nil {
					comm = "?"
				}
				found[uint64(net.Inode)] = append(found[uint64(net.Inode)], Process{PID: p.PID, Comm: comm})
			}
		}
	}
	return found, nil
}

// skippable reports the errors of a process or thread that exited while we looked (zombies have no namespace
// links) or that we may not inspect (ptrace access mode checks).
func skippable(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ESRCH) || errors.Is(err, fs.ErrPermission)
}
