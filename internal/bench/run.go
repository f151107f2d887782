package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"kube-netbench/internal/kube"
	"kube-netbench/internal/podexec"
	"kube-netbench/internal/tools/fortio"
	"kube-netbench/internal/tools/iperf3"
	"kube-netbench/internal/tools/netperf"
)

// Iperf3 runs one iperf3 client in the client container, within timeout,
// and returns its parsed result; a run iperf3 reports as failed is an error.
func Iperf3(ctx context.Context, e podexec.Executor, client podexec.Target, c iperf3.Client, timeout time.Duration) (iperf3.Result, error) {
	argv, err := c.Argv()
	if err != nil {
		return iperf3.Result{}, err
	}
	return runParsed(ctx, e, client, argv, timeout, iperf3.Parse)
}

// Netperf runs one netperf test in the client container, within timeout,
// and returns its parsed result.
func Netperf(ctx context.Context, e podexec.Executor, client podexec.Target, test netperf.Test, timeout time.Duration) (netperf.Result, error) {
	argv, err := test.Argv()
	if err != nil {
		return netperf.Result{}, err
	}
	res, err := runParsed(ctx, e, client, argv, timeout, netperf.Parse)
	if err != nil {
		return res, err
	}
	// netperf stopped by a signal prints a normal result for the time it
	// ran and exits 0: only the length asked for tells it was cut short
	// (the same 95 % rule as fortio's).
	if res.Elapsed > 0 && res.Elapsed < test.Duration*95/100 {
		return netperf.Result{}, fmt.Errorf("%s: ran %s of the %s asked: cut short, not a sample", strings.Join(argv, " "), res.Elapsed, test.Duration)
	}
	return res, nil
}

// runParsed runs argv in the container within timeout and parses its
// standard output.
func runParsed[R any](ctx context.Context, e podexec.Executor, c podexec.Target, argv []string, timeout time.Duration, parse func(io.Reader) (R, error)) (R, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := podexec.Output(ctx, e, c, argv...)
	if err != nil {
		var zero R
		return zero, fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
	}
	return parse(bytes.NewReader(out))
}

// DrainTimeWait waits, polling every poll, until the pod's TIME_WAIT
// sockets (read through its probe container) are fewer than below: they
// last 60 s on Linux, and a short-connection run must start from the same
// state as the one before (W-STAT-9). It returns the wait and the count it
// ended at.
func DrainTimeWait(ctx context.Context, e podexec.Executor, probe podexec.Target, below int, timeout, poll time.Duration) (time.Duration, int, error) {
	tw := -1
	took, err := kube.WaitEvery(ctx, probe.Pod+" TIME_WAIT drained", timeout, poll, func(ctx context.Context) (bool, string, error) {
		ss, err := ReadSockStat(ctx, e, probe)
		if err != nil {
			return false, err.Error(), nil
		}
		tw = ss.TCPTimeWait
		return tw < below, fmt.Sprintf("%d sockets in TIME_WAIT", tw), nil
	})
	return took, tw, err
}

// LoadWithCPU runs one fortio load from the client container and reads the
// client node's CPU through the probe container (/proc/stat) before and
// after: busy is the share of all the node's CPUs that was busy during the
// run, -1 when unreadable (W-STAT-6: is the load generator the bottleneck?).
func LoadWithCPU(ctx context.Context, e podexec.Executor, client, probe podexec.Target, l fortio.Load, margin time.Duration) (res fortio.Result, busy float64, err error) {
	res, use, err := LoadCPU(ctx, e, client, probe, l, margin)
	return res, use.Busy, err
}

// LoadCPU is LoadWithCPU with the node's whole CPU use over the run.
func LoadCPU(ctx context.Context, e podexec.Executor, client, probe podexec.Target, l fortio.Load, margin time.Duration) (fortio.Result, CPUUse, error) {
	return WithCPU(ctx, e, probe, func(ctx context.Context) (fortio.Result, error) {
		res, _, err := Fortio(ctx, e, client, l, margin)
		return res, err
	})
}

// WithCPU runs run between two readings of the node's /proc/stat through
// the probe container and returns its result with the node's CPU use over
// the window (unread parts -1: the readings describe a run, they do not
// decide whether it is a sample).
func WithCPU[R any](ctx context.Context, e podexec.Executor, probe podexec.Target, run func(context.Context) (R, error)) (R, CPUUse, error) {
	before, cpuErr := ReadCPUTimes(ctx, e, probe)
	res, err := run(ctx)
	use := cpuUnread
	if cpuErr == nil {
		if after, aerr := ReadCPUTimes(ctx, e, probe); aerr == nil {
			use = Use(before, after)
		}
	}
	return res, use, err
}

// Quiet says when a node is quiet enough to measure on: its CPUs less than
// Busy busy in Windows consecutive windows of Window, or, under a load that
// waiting will not end, busy within Spread of the same share in Steady
// consecutive windows; waited for at most Max.
type Quiet struct {
	Busy    float64
	Window  time.Duration
	Windows int
	Steady  int
	Spread  float64
	Max     time.Duration
}

// DefaultQuiet is a quarter of the CPUs busy at most in two consecutive
// one-second windows, or a share steady within 5 points for five windows
// (what settles, an agent compiling BPF or kube-proxy re-syncing, comes in
// bursts; a tenant's or a CPU burner's constant load never drops below a
// quarter), within 90 s.
var DefaultQuiet = Quiet{Busy: 0.25, Window: time.Second, Windows: 2, Steady: 5, Spread: 0.05, Max: 90 * time.Second}

// Quieted is how a quiet wait ended.
type Quieted struct {
	// Busy is the last window's busy share, -1 if none was read.
	Busy float64
	// Took is the wait.
	Took time.Duration
	// Steady is set when the node was not below Quiet.Busy but its load
	// was steady: the measurement shares the node with a constant load.
	Steady bool
}

// WaitQuiet waits until the node the probe runs on is quiet (q), reading
// /proc/stat through the probe. A dataplane agent still compiling a new
// endpoint's BPF program, kube-proxy re-syncing or the apiserver deleting
// objects would otherwise be measured with the dataplane. An error means
// the node did not become quiet within q.Max (or ctx ended).
func WaitQuiet(ctx context.Context, e podexec.Executor, probe podexec.Target, q Quiet) (Quieted, error) {
	if q.Busy <= 0 || q.Busy > 1 || q.Window <= 0 || q.Windows < 1 || q.Steady < 0 || q.Spread < 0 || q.Max <= 0 {
		return Quieted{Busy: -1}, fmt.Errorf("quiet wait: %+v: want 0 < Busy <= 1, positive Window, Windows and Max, and Steady and Spread not negative", q)
	}
	res := Quieted{Busy: -1}
	quiet := 0
	var recent []float64
	var err error
	res.Took, err = kube.WaitEvery(ctx, "a quiet node", q.Max, 10*time.Millisecond, func(ctx context.Context) (bool, string, error) {
		a, err := ReadCPUTimes(ctx, e, probe)
		if err != nil {
			return false, err.Error(), nil
		}
		select {
		case <-ctx.Done():
			return false, "", ctx.Err()
		case <-time.After(q.Window):
		}
		b, err := ReadCPUTimes(ctx, e, probe)
		if err != nil {
			return false, err.Error(), nil
		}
		f, err := BusyFraction(a, b)
		if err != nil {
			return false, err.Error(), nil
		}
		res.Busy = f
		if f < q.Busy {
			quiet++
		} else {
			quiet = 0
		}
		if q.Steady > 0 {
			recent = append(recent, f)
			if len(recent) > q.Steady {
				recent = recent[1:]
			}
			res.Steady = quiet < q.Windows && len(recent) == q.Steady && slices.Max(recent)-slices.Min(recent) <= q.Spread
		}
		return quiet >= q.Windows || res.Steady, fmt.Sprintf("%.0f %% busy", f*100), nil
	})
	if err != nil && res.Busy >= 0 {
		err = fmt.Errorf("%w (the last window %.0f %% busy, limit %.0f %%)", err, res.Busy*100, q.Busy*100)
	}
	return res, err
}
