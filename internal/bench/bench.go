// Package bench runs the benchmark tools in pods and reads the state that
// decides whether a sample is clean: fortio runs through exec with their
// deadline derived from their duration, and the TCP socket state of a pod
// (TIME_WAIT) that short-connection runs must let drain (W-STAT-9).
package bench

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"kube-netbench/internal/podexec"
	"kube-netbench/internal/tools/fortio"
)

// Fortio runs one fortio load in the client container and returns its
// parsed result and raw JSON. The exec deadline is the run's duration plus
// margin (W-OPS-7). A run whose calls failed returns its result and an error
// naming the codes (W-BUG-4).
func Fortio(ctx context.Context, e podexec.Executor, client podexec.Target, l fortio.Load, margin time.Duration) (fortio.Result, []byte, error) {
	argv, err := l.Argv()
	if err != nil {
		return fortio.Result{}, nil, err
	}
	d := l.Duration
	if l.Requests > 0 {
		d = 0
	}
	ctx, cancel := context.WithTimeout(ctx, d+margin)
	defer cancel()
	out, err := podexec.Output(ctx, e, client, argv...)
	if err != nil {
		return fortio.Result{}, out, fmt.Errorf("fortio load %s: %w", l.URL, err)
	}
	res, err := fortio.Parse(bytes.NewReader(out))
	if err != nil {
		return fortio.Result{}, out, err
	}
	return res, out, res.CheckOK()
}

// SockStat is a network namespace's socket summary, from /proc/net/sockstat.
type SockStat struct {
	TCPInUse, TCPTimeWait, TCPOrphan int
}

// ParseSockStat reads the TCP line of /proc/net/sockstat
// ("TCP: inuse 5 orphan 0 tw 41500 alloc 7 mem 1").
func ParseSockStat(s string) (SockStat, error) {
	for _, line := range strings.Split(s, "\n") {
		rest, ok := strings.CutPrefix(line, "TCP:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		var st SockStat
		seen := map[string]bool{}
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.Atoi(f[i+1])
			if err != nil {
				return SockStat{}, fmt.Errorf("sockstat: %q: %w", line, err)
			}
			if v < 0 {
				// A drain would wait for a count below a bound it already meets.
				return SockStat{}, fmt.Errorf("sockstat: %q: %s %d is negative", line, f[i], v)
			}
			if seen[f[i]] {
				return SockStat{}, fmt.Errorf("sockstat: %q names %s twice", line, f[i])
			}
			seen[f[i]] = true
			switch f[i] {
			case "inuse":
				st.TCPInUse = v
			case "tw":
				st.TCPTimeWait = v
			case "orphan":
				st.TCPOrphan = v
			}
		}
		if !seen["inuse"] || !seen["orphan"] || !seen["tw"] {
			return SockStat{}, fmt.Errorf("sockstat: TCP line %q lacks inuse, orphan or tw", line)
		}
		return st, nil
	}
	return SockStat{}, fmt.Errorf("sockstat: no TCP line in %q", s)
}

// ReadSockStat reads a pod's socket summary through a container that has
// cat (the workloads' busybox "probe" sidecar: fortio's image has no shell).
func ReadSockStat(ctx context.Context, e podexec.Executor, probe podexec.Target) (SockStat, error) {
	out, err := cat(ctx, e, probe, "/proc/net/sockstat")
	if err != nil {
		return SockStat{}, err
	}
	return ParseSockStat(string(out))
}

// cat reads a file in a container, within 20 s.
func cat(ctx context.Context, e podexec.Executor, c podexec.Target, path string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	return podexec.Output(ctx, e, c, "cat", path)
}
