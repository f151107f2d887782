package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"kube-netbench/internal/podexec"
	"kube-netbench/internal/tools/fortio"
	"kube-netbench/internal/tools/iperf3"
	"kube-netbench/internal/tools/netperf"
)

// scripted answers each exec by its command: a file the test names for the
// tool, and for cat the next of a list of /proc contents per path.
type scripted struct {
	tool  map[string]string   // argv[0] -> captured output file
	files map[string][]string // cat path -> successive contents (the last repeats)
	calls []string
}

func (s *scripted) Exec(ctx context.Context, target podexec.Target, argv []string, _ io.Reader, stdout, _ io.Writer) error {
	if _, ok := ctx.Deadline(); !ok {
		return errors.New("exec without a deadline")
	}
	s.calls = append(s.calls, target.Container+":"+strings.Join(argv, " "))
	if argv[0] == "cat" {
		seq := s.files[argv[1]]
		if len(seq) == 0 {
			return &podexec.ExitError{Target: target, Argv: argv, Code: 1}
		}
		out := seq[0]
		if len(seq) > 1 {
			s.files[argv[1]] = seq[1:]
		}
		_, err := io.WriteString(stdout, out)
		return err
	}
	b, err := os.ReadFile(s.tool[argv[0]])
	if err != nil {
		return err
	}
	_, err = stdout.Write(b)
	return err
}

var (
	client = podexec.Target{Namespace: "ns", Pod: "client", Container: "tool"}
	probe  = podexec.Target{Namespace: "ns", Pod: "client", Container: "probe"}
)

// procStat is /proc/stat with an aggregate line of the given busy and idle
// jiffies.
func procStat(busy, idle int) string {
	return fmt.Sprintf("cpu  %d 0 0 %d 0 0 0 0 0 0\ncpu0 %d 0 0 %d 0 0 0 0 0 0\n", busy, idle, busy, idle)
}

func TestIperf3AndNetperfDrivers(t *testing.T) {
	e := &scripted{tool: map[string]string{"iperf3": "../../testdata/iperf3/streams8.json", "netperf": "../../testdata/netperf/tcp-rr.txt"}}
	res, err := Iperf3(context.Background(), e, client, iperf3.Client{Host: "10.0.0.1", Port: 5201, Duration: 2 * time.Second, Streams: 8}, time.Minute)
	require.NoError(t, err)
	require.Positive(t, res.ReceiverBitsPerSecond)
	require.Equal(t, 8, res.Streams)
	nres, err := Netperf(context.Background(), e, client, netperf.Test{Type: netperf.TCPRR, Host: "10.0.0.1", Port: 12865, Duration: 2 * time.Second, RequestSize: 1, ResponseSize: 1}, time.Minute)
	require.NoError(t, err)
	require.Positive(t, nres.TransactionsPerSecond)

	// netperf stopped by a signal prints a normal result and exits 0
	// (testdata/netperf/interrupted.txt); the suite's columns include
	// ELAPSED_TIME, so a run shorter than asked is caught: tcp-rr.txt ran
	// 3 s, here 10 s are asked.
	_, err = Netperf(context.Background(), e, client, netperf.Test{Type: netperf.TCPRR, Host: "10.0.0.1", Port: 12865, Duration: 10 * time.Second, RequestSize: 1, ResponseSize: 1}, time.Minute)
	require.ErrorContains(t, err, "ran 3s of the 10s asked: cut short, not a sample")

	e.tool["iperf3"] = "../../testdata/iperf3/closed-port.json"
	_, err = Iperf3(context.Background(), e, client, iperf3.Client{Host: "10.0.0.1", Port: 5201, Duration: 2 * time.Second, Streams: 1}, time.Minute)
	require.Error(t, err, "a run iperf3 reports as failed is not a sample")
	e.tool["netperf"] = "../../testdata/netperf/truncated.txt"
	_, err = Netperf(context.Background(), e, client, netperf.Test{Type: netperf.TCPCRR, Host: "10.0.0.1", Port: 12865, Duration: 2 * time.Second, RequestSize: 1, ResponseSize: 1}, time.Minute)
	require.Error(t, err)
	_, err = Iperf3(context.Background(), e, client, iperf3.Client{Port: 5201, Duration: time.Second}, time.Minute)
	require.Error(t, err, "bad input is refused before anything runs")
}

func TestDrainTimeWait(t *testing.T) {
	tw := func(n int) string {
		return fmt.Sprintf("sockets: used 9\nTCP: inuse 5 orphan 0 tw %d alloc 7 mem 1\n", n)
	}
	e := &scripted{files: map[string][]string{"/proc/net/sockstat": {tw(28000), tw(9000), "garbage", tw(999)}}}
	took, n, err := DrainTimeWait(context.Background(), e, probe, 1000, 5*time.Second, time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, 999, n)
	require.Less(t, took, 5*time.Second)
	require.Len(t, e.calls, 4, "an unreadable sockstat is retried, not fatal")

	e = &scripted{files: map[string][]string{"/proc/net/sockstat": {tw(28000)}}}
	_, n, err = DrainTimeWait(context.Background(), e, probe, 1000, 50*time.Millisecond, time.Millisecond)
	require.ErrorContains(t, err, "28000 sockets in TIME_WAIT")
	require.Equal(t, 28000, n)
}

func TestLoadWithCPU(t *testing.T) {
	e := &scripted{tool: map[string]string{"fortio": "../../testdata/fortio/keepalive.json"},
		files: map[string][]string{"/proc/stat": {procStat(100, 900), procStat(400, 1500)}}}
	l := fortio.Load{URL: "http://10.0.0.1:8080/echo", Connections: 4, Duration: 2 * time.Second, Keepalive: true}
	res, busy, err := LoadWithCPU(context.Background(), e, client, probe, l, 30*time.Second)
	require.NoError(t, err)
	require.Positive(t, res.ActualQPS)
	require.InDelta(t, 300.0/900, busy, 1e-9, "busy share of the window")

	e.files = map[string][]string{}
	_, busy, err = LoadWithCPU(context.Background(), e, client, probe, l, 30*time.Second)
	require.NoError(t, err, "an unreadable /proc/stat does not fail the load")
	require.Equal(t, -1.0, busy)
}

// TestWithCPU: a netperf run between two /proc/stat readings gives its
// result and the window's busy share and kernel time; an unreadable
// reading leaves them -1 without failing the run, and the run's error is
// returned as it is.
func TestWithCPU(t *testing.T) {
	stat := func(user, system, softirq, idle int) string {
		return fmt.Sprintf("cpu  %d 0 %d %d 0 0 %d 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\n", user, system, idle, softirq)
	}
	e := &scripted{tool: map[string]string{"netperf": "../../testdata/netperf/tcp-rr.txt"},
		files: map[string][]string{"/proc/stat": {stat(100, 50, 10, 800), stat(160, 110, 70, 860)}}}
	test := netperf.Test{Type: netperf.TCPRR, Host: "10.0.0.1", Port: 12865, Duration: 2 * time.Second}
	run := func(ctx context.Context) (netperf.Result, error) { return Netperf(ctx, e, client, test, time.Minute) }
	res, use, err := WithCPU(context.Background(), e, probe, run)
	require.NoError(t, err)
	require.Positive(t, res.TransactionsPerSecond)
	require.Equal(t, 1200*time.Millisecond, use.Kernel, "system 60 + softirq 60 ticks")
	require.InDelta(t, 180.0/240, use.Busy, 1e-9)
	require.Equal(t, []string{"probe:cat /proc/stat", "tool:" + strings.Join(mustArgv(t, test), " "), "probe:cat /proc/stat"}, e.calls)

	e.files = map[string][]string{}
	_, use, err = WithCPU(context.Background(), e, probe, run)
	require.NoError(t, err)
	require.Equal(t, CPUUse{Busy: -1, Kernel: -1}, use)

	boom := errors.New("boom")
	_, _, err = WithCPU(context.Background(), e, probe, func(context.Context) (int, error) { return 0, boom })
	require.ErrorIs(t, err, boom)
}

func mustArgv(t *testing.T, test netperf.Test) []string {
	t.Helper()
	argv, err := test.Argv()
	require.NoError(t, err)
	return argv
}

func TestWaitQuiet(t *testing.T) {
	q := Quiet{Busy: 0.25, Window: time.Millisecond, Windows: 2, Max: 5 * time.Second}
	// Windows: 50 % busy, 10 %, 50 % (resets), 10 %, 10 % (quiet twice).
	e := &scripted{files: map[string][]string{"/proc/stat": {
		procStat(0, 0), procStat(50, 50), procStat(50, 50), procStat(60, 140),
		procStat(60, 140), procStat(110, 190), procStat(110, 190), procStat(120, 280),
		procStat(120, 280), procStat(130, 370)}}}
	res, err := WaitQuiet(context.Background(), e, probe, q)
	require.NoError(t, err)
	require.InDelta(t, 0.1, res.Busy, 1e-9)
	require.False(t, res.Steady)
	require.Len(t, e.calls, 10, "two reads a window, five windows")

	e = &scripted{files: map[string][]string{"/proc/stat": {procStat(0, 0), procStat(90, 10), procStat(180, 20)}}}
	q.Max = 30 * time.Millisecond
	_, err = WaitQuiet(context.Background(), e, probe, q)
	require.ErrorContains(t, err, "(the last window 90 % busy, limit 25 %)", "no Steady: a constant load is waited out")

	_, err = WaitQuiet(context.Background(), e, probe, Quiet{Busy: 2, Window: time.Second, Windows: 1, Max: time.Second})
	require.ErrorContains(t, err, "want 0 < Busy <= 1")
}

// A CPU burner beside the run keeps the node above Busy for good: waiting
// for it to drop would spend Max before every measurement (issue 13).
// Steady windows end the wait; bursts of settling work do not.
func TestWaitQuietSteadyLoad(t *testing.T) {
	q := Quiet{Busy: 0.25, Window: time.Millisecond, Windows: 2, Steady: 3, Spread: 0.05, Max: 5 * time.Second}
	// Windows: 90 %, 50 %, 52 %, 54 % busy: the burst is not steady, the
	// last three are within 4 points.
	e := &scripted{files: map[string][]string{"/proc/stat": {
		procStat(0, 0), procStat(90, 10), procStat(90, 10), procStat(140, 60),
		procStat(140, 60), procStat(192, 108), procStat(192, 108), procStat(246, 154)}}}
	res, err := WaitQuiet(context.Background(), e, probe, q)
	require.NoError(t, err)
	require.True(t, res.Steady)
	require.InDelta(t, 0.54, res.Busy, 1e-9)
	require.Len(t, e.calls, 8, "ends at the fourth window")

	// Alternating bursts never count as steady.
	e = &scripted{files: map[string][]string{"/proc/stat": {
		procStat(0, 0), procStat(90, 10), procStat(90, 10), procStat(140, 60),
		procStat(140, 60), procStat(230, 70), procStat(230, 70), procStat(280, 120)}}}
	q.Max = 50 * time.Millisecond
	_, err = WaitQuiet(context.Background(), e, probe, q)
	require.Error(t, err)
}
