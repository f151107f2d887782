package bench

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"kube-netbench/internal/podexec"
)

// CPUTimes is the node-wide CPU time from /proc/stat's "cpu" line, in
// clock ticks, and the number of CPUs ("cpuN" lines). /proc/stat is not
// namespaced: read from any container it describes the whole node (on the
// lab, the whole machine all lab nodes share).
type CPUTimes struct {
	Busy, Idle uint64
	// Kernel is the part of Busy spent in the kernel: system, irq and
	// softirq. A new connection's cost (the handshake, conntrack, the
	// dataplane's NAT lookup, the socket's setup and teardown) is kernel
	// time, in softirq where packets are processed.
	Kernel uint64
	CPUs   int
}

// UserHZ is the unit of /proc/stat's counters: USER_HZ, which the kernel
// fixes at 100 for userspace on every architecture (proc_stat(5): "units
// of USER_HZ (1/100ths of a second on most architectures").
const UserHZ = 100

// ParseProcStat reads /proc/stat. Its counters are user, nice, system,
// idle, iowait, irq, softirq, steal, guest and guest_nice (proc_stat(5)).
// Idle counts idle and iowait; busy counts user, nice, system, irq, softirq
// and steal (guest time is already part of user); kernel counts system,
// irq and softirq.
func ParseProcStat(s string) (CPUTimes, error) {
	var t CPUTimes
	found := false
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], "cpu") {
			continue
		}
		if f[0] != "cpu" {
			t.CPUs++
			continue
		}
		if len(f) < 9 {
			return CPUTimes{}, fmt.Errorf("/proc/stat: cpu line %q has %d fields, want at least 8 counters", line, len(f)-1)
		}
		var v [8]uint64
		for i := range v {
			n, err := strconv.ParseUint(f[i+1], 10, 64)
			if err != nil {
				return CPUTimes{}, fmt.Errorf("/proc/stat: cpu line %q: %w", line, err)
			}
			v[i] = n
		}
		t.Busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
		t.Idle = v[3] + v[4]
		t.Kernel = v[2] + v[5] + v[6]
		found = true
	}
	if !found {
		return CPUTimes{}, fmt.Errorf("/proc/stat: no aggregate cpu line in %q", truncate(s, 200))
	}
	if t.CPUs == 0 {
		return CPUTimes{}, fmt.Errorf("/proc/stat: no per-CPU lines")
	}
	return t, nil
}

// BusyFraction is the share of all CPUs' time that was busy between two
// readings, from 0 to 1.
func BusyFraction(before, after CPUTimes) (float64, error) {
	if after.Busy < before.Busy || after.Idle < before.Idle {
		return 0, fmt.Errorf("/proc/stat went backwards (busy %d -> %d, idle %d -> %d): not the same node", before.Busy, after.Busy, before.Idle, after.Idle)
	}
	busy, idle := after.Busy-before.Busy, after.Idle-before.Idle
	if busy+idle == 0 {
		return 0, fmt.Errorf("/proc/stat: no CPU time passed between the readings")
	}
	return float64(busy) / float64(busy+idle), nil
}

// KernelCPU is the CPU time all CPUs together spent in the kernel (system,
// irq and softirq) between two readings of the same node.
func KernelCPU(before, after CPUTimes) (time.Duration, error) {
	if after.Kernel < before.Kernel || after.Busy < before.Busy || after.Idle < before.Idle {
		return 0, fmt.Errorf("/proc/stat went backwards (kernel %d -> %d, busy %d -> %d, idle %d -> %d): not the same node",
			before.Kernel, after.Kernel, before.Busy, after.Busy, before.Idle, after.Idle)
	}
	return time.Duration(after.Kernel-before.Kernel) * (time.Second / UserHZ), nil
}

// PerConnection is kernel CPU time per new connection in microseconds:
// kernel over conns connections made in the same window. Everything else
// the node's kernel did meanwhile is counted too, so it is meaningful only
// for a window the connections dominate (W-STAT-6).
func PerConnection(kernel time.Duration, conns int64) (float64, error) {
	if conns <= 0 {
		return 0, fmt.Errorf("kernel CPU per connection: %d connections made", conns)
	}
	if kernel < 0 {
		return 0, fmt.Errorf("kernel CPU per connection: negative kernel time %s", kernel)
	}
	return kernel.Seconds() * 1e6 / float64(conns), nil
}

// CPUUse is what a node's CPUs did over a window: the busy share of all
// its CPUs (-1: unread) and the kernel time of all of them (-1: unread).
type CPUUse struct {
	Busy   float64
	Kernel time.Duration
}

// cpuUnread is a CPUUse whose readings failed.
var cpuUnread = CPUUse{Busy: -1, Kernel: -1}

// Use is the CPUUse between two readings; unread where they disagree.
func Use(before, after CPUTimes) CPUUse {
	u := cpuUnread
	if f, err := BusyFraction(before, after); err == nil {
		u.Busy = f
	}
	if k, err := KernelCPU(before, after); err == nil {
		u.Kernel = k
	}
	return u
}

// ReadCPUTimes reads a node's CPU times through a container with cat (the
// workloads' busybox probe sidecar).
func ReadCPUTimes(ctx context.Context, e podexec.Executor, probe podexec.Target) (CPUTimes, error) {
	out, err := cat(ctx, e, probe, "/proc/stat")
	if err != nil {
		return CPUTimes{}, err
	}
	return ParseProcStat(string(out))
}

// SaturationThreshold is the node-wide busy share at and above which a load
// generator's node counts as saturated: the client, not the dataplane, may
// then be the bottleneck.
const SaturationThreshold = 0.9

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
