// Package resources reads what a process costs from its /proc files: CPU
// time (utime + stime of /proc/<pid>/stat) and resident memory (VmRSS of
// /proc/<pid>/status), and turns two readings into millicores. Callers read
// the files of a dataplane agent's process (PID 1 of its container, by exec)
// and hand them here; the package is pure.
package resources

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// UserHZ is the unit of the CPU times in /proc/<pid>/stat: USER_HZ, which
// Linux fixes at 100 for user space whatever the kernel's HZ.
const UserHZ = 100

// Sample is one reading of a process.
type Sample struct {
	// Comm is the process name (the second field of stat).
	Comm string
	// CPUTicks is utime + stime, in 1/UserHZ seconds.
	CPUTicks uint64
	// RSSBytes is VmRSS.
	RSSBytes uint64
}

// Parse reads `cat /proc/<pid>/stat /proc/<pid>/status`: the stat line
// first, then the status lines.
func Parse(out string) (Sample, error) {
	stat, status, ok := strings.Cut(out, "\n")
	if !ok {
		return Sample{}, fmt.Errorf("/proc/<pid>/stat and status: one line only")
	}
	var s Sample
	// The comm field is parenthesized and may hold spaces or parentheses:
	// the fields after it start after the last ')'.
	open, end := strings.IndexByte(stat, '('), strings.LastIndexByte(stat, ')')
	if open < 0 || end < open {
		return Sample{}, fmt.Errorf("/proc/<pid>/stat: no (comm) in %q", trim(stat))
	}
	s.Comm = stat[open+1 : end]
	f := strings.Fields(stat[end+1:])
	// After comm: state(3) ppid(4) ... utime(14) stime(15): indexes 11, 12.
	if len(f) < 13 {
		return Sample{}, fmt.Errorf("/proc/<pid>/stat: %d fields after comm, want at least 13", len(f))
	}
	for _, i := range []int{11, 12} {
		v, err := strconv.ParseUint(f[i], 10, 64)
		if err != nil {
			return Sample{}, fmt.Errorf("/proc/<pid>/stat: field %d: %w", i+3, err)
		}
		s.CPUTicks += v
	}
	sc := bufio.NewScanner(strings.NewReader(status))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		fs := strings.Fields(rest)
		if len(fs) != 2 || fs[1] != "kB" {
			return Sample{}, fmt.Errorf("/proc/<pid>/status: VmRSS %q is not \"<n> kB\"", strings.TrimSpace(rest))
		}
		kb, err := strconv.ParseUint(fs[0], 10, 64)
		if err != nil {
			return Sample{}, fmt.Errorf("/proc/<pid>/status: VmRSS: %w", err)
		}
		s.RSSBytes = kb * 1024
		return s, nil
	}
	return Sample{}, fmt.Errorf("/proc/<pid>/status: no VmRSS line (a kernel thread, or not a status file)")
}

// Millicores is the CPU the process used between two readings elapsed
// apart, in thousandths of a core.
func Millicores(before, after Sample, elapsed time.Duration) (float64, error) {
	if after.CPUTicks < before.CPUTicks {
		return 0, fmt.Errorf("CPU time went backwards (%d -> %d ticks): not the same process", before.CPUTicks, after.CPUTicks)
	}
	if elapsed <= 0 {
		return 0, fmt.Errorf("no time between the readings")
	}
	cpu := float64(after.CPUTicks-before.CPUTicks) / UserHZ
	return cpu / elapsed.Seconds() * 1000, nil
}

func trim(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
