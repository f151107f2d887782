// Package iperf3 builds iperf3 command lines and parses iperf3's JSON
// results (-J). It is pure: no exec, no logging, no Kubernetes.
package iperf3

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strconv"
	"time"

	"kube-netbench/internal/tools/jsondoc"
)

// Client describes one `iperf3 -c` TCP run.
type Client struct {
	Host string
	Port int
	// Duration of the measured part of the run (iperf3 -t), whole seconds.
	Duration time.Duration
	// Omit is the warm-up iperf3 runs before Duration and leaves out of the
	// result (-O, whole seconds): slow start is excluded by iperf3 itself
	// rather than by an ad-hoc warm-up run (W-STAT-7).
	Omit time.Duration
	// Streams is the number of parallel streams (-P).
	Streams int
	// Reverse makes the server send and the client receive (-R).
	Reverse bool
}

// Argv returns the command line: JSON on stdout (-J), always with explicit
// -t, -O and -P so that a result says what it measured.
func (c Client) Argv() ([]string, error) {
	if c.Host == "" {
		return nil, errors.New("iperf3 client: empty host")
	}
	if err := checkPort(c.Port); err != nil {
		return nil, fmt.Errorf("iperf3 client: %w", err)
	}
	if c.Streams <= 0 {
		return nil, fmt.Errorf("iperf3 client: streams %d must be positive", c.Streams)
	}
	t, err := wholeSeconds("duration", c.Duration)
	if err != nil {
		return nil, fmt.Errorf("iperf3 client: %w", err)
	}
	if t == 0 {
		return nil, errors.New("iperf3 client: duration must be positive")
	}
	omit, err := wholeSeconds("omit", c.Omit)
	if err != nil {
		return nil, fmt.Errorf("iperf3 client: %w", err)
	}
	argv := []string{"iperf3", "-c", c.Host, "-p", strconv.Itoa(c.Port),
		"-t", strconv.FormatInt(t, 10), "-O", strconv.FormatInt(omit, 10),
		"-P", strconv.Itoa(c.Streams), "-J"}
	if c.Reverse {
		argv = append(argv, "-R")
	}
	return argv, nil
}

// Server describes an `iperf3 -s`.
type Server struct {
	Port int
	// Bind is the address to listen on (-B); "" listens on all.
	Bind string
	// OneOff makes the server exit after one test (-1).
	OneOff bool
}

// Argv returns the server's command line.
func (s Server) Argv() ([]string, error) {
	if err := checkPort(s.Port); err != nil {
		return nil, fmt.Errorf("iperf3 server: %w", err)
	}
	argv := []string{"iperf3", "-s", "-p", strconv.Itoa(s.Port)}
	if s.Bind != "" {
		argv = append(argv, "-B", s.Bind)
	}
	if s.OneOff {
		argv = append(argv, "-1")
	}
	return argv, nil
}

func checkPort(p int) error {
	if p <= 0 || p > 65535 {
		return fmt.Errorf("port %d out of range 1-65535", p)
	}
	return nil
}

// wholeSeconds converts d to the integer seconds iperf3 3.12's -t and -O take.
func wholeSeconds(what string, d time.Duration) (int64, error) {
	if d < 0 || d%time.Second != 0 {
		return 0, fmt.Errorf("%s %v is not a whole number of seconds", what, d)
	}
	return int64(d / time.Second), nil
}

// Result is the normalized outcome of one iperf3 run.
type Result struct {
	// Version is iperf3's, as it reports it ("iperf 3.12").
	Version string `json:"version"`
	// Target is the server's host:port.
	Target   string `json:"target"`
	Protocol string `json:"protocol"`
	Streams  int    `json:"streams"`
	Reverse  bool   `json:"reverse"`
	// Duration is the requested measured time (-t), Omit the warm-up left out (-O).
	Duration time.Duration `json:"duration_ns"`
	Omit     time.Duration `json:"omit_ns"`
	// SenderBitsPerSecond and ReceiverBitsPerSecond are end.sum_sent and
	// end.sum_received, over all streams. The receiver's is the throughput.
	SenderBitsPerSecond   float64 `json:"sender_bits_per_second"`
	ReceiverBitsPerSecond float64 `json:"receiver_bits_per_second"`
	// Retransmits is the sender's TCP retransmit count (the server's with -R).
	Retransmits int64 `json:"retransmits"`
	CPU         CPU   `json:"cpu"`
	// Intervals are the client's per-interval sums, omitted intervals left
	// out, so that callers can check the rate was stable.
	Intervals []Interval `json:"intervals"`
	// UDP is the loss and jitter of a UDP run, nil for TCP.
	UDP *UDP `json:"udp,omitempty"`
	// Connected are the data connections as the client's kernel saw them
	// (start.connected): which addresses really carried the traffic, e.g.
	// the node IPs of a host-to-host run (W-BUG-2).
	Connected []Connection `json:"connected"`
}

// UDP is end.sum of a UDP run, as the receiver saw it.
type UDP struct {
	JitterMs    float64 `json:"jitter_ms"`
	LostPackets int64   `json:"lost_packets"`
	Packets     int64   `json:"packets"`
	LostPercent float64 `json:"lost_percent"`
}

// Connection is one data stream's local and remote address.
type Connection struct {
	LocalHost  string `json:"local_host"`
	LocalPort  int    `json:"local_port"`
	RemoteHost string `json:"remote_host"`
	RemotePort int    `json:"remote_port"`
}

// CPU is iperf3's end.cpu_utilization_percent: host is the client, remote
// the server, whichever way the data flowed (W-STAT-6, W-STAT-7: CPU per Gbps).
type CPU struct {
	HostTotal   float64 `json:"host_total_percent"`
	RemoteTotal float64 `json:"remote_total_percent"`
}

// Interval is one reporting interval summed over streams, as the client saw
// it (sending, or receiving with -R). Start and End count from the end of
// the omitted warm-up.
type Interval struct {
	Start         time.Duration `json:"start_ns"`
	End           time.Duration `json:"end_ns"`
	BitsPerSecond float64       `json:"bits_per_second"`
}

// Throughput is the rate the receiver measured, in bits/s.
func (r Result) Throughput() float64 { return r.ReceiverBitsPerSecond }

type rawSum struct {
	Start, End    float64
	BitsPerSecond float64 `json:"bits_per_second"`
	Retransmits   int64
	Omitted       bool
}

type rawResult struct {
	Start struct {
		Version      string
		Connected    []Connection
		ConnectingTo *struct {
			Host string
			Port int
		} `json:"connecting_to"`
		TestStart *struct {
			Protocol   string
			NumStreams int `json:"num_streams"`
			Omit       int64
			Duration   int64
			Reverse    int
		} `json:"test_start"`
	}
	Intervals []struct{ Sum rawSum }
	End       rawEnd
	Error     *string
}

type rawEnd struct {
	SumSent     *rawSum `json:"sum_sent"`
	SumReceived *rawSum `json:"sum_received"`
	// Sum is UDP's: the sender's rate, jitter and loss.
	Sum *struct {
		rawSum
		JitterMs    *float64 `json:"jitter_ms"`
		LostPackets int64    `json:"lost_packets"`
		Packets     int64    `json:"packets"`
		LostPercent float64  `json:"lost_percent"`
	}
	CPU *struct {
		HostTotal   float64 `json:"host_total"`
		RemoteTotal float64 `json:"remote_total"`
	} `json:"cpu_utilization_percent"`
}

// Parse reads the JSON `iperf3 -J` writes, for TCP and UDP, any number of
// streams, either direction, with or without omitted (-O) or any (-i 0)
// intervals. It fails on empty, truncated or trailing input, on the "error"
// iperf3 reports in the JSON (iperf3 3.12 exits 0 when it cannot connect:
// the field is the only sign, W-BUG-4; an interrupted run says
// "interrupt - ..." there), on a result without its end section, on numbers
// no run can have and on a rate of 0 bits/s: a parse that yields 0 Gbps is
// an error, not a sample.
func Parse(r io.Reader) (Result, error) {
	res, err := parse(r)
	if err != nil {
		return Result{}, fmt.Errorf("iperf3 result: %w", err)
	}
	return res, nil
}

// maxSeconds bounds every time iperf3 reports: far beyond any real run,
// well inside time.Duration.
const maxSeconds = 1e7

func parse(r io.Reader) (Result, error) {
	var raw rawResult
	if err := jsondoc.DecodeOne(r, &raw); err != nil {
		return Result{}, err
	}
	if raw.Error != nil {
		return Result{}, fmt.Errorf("iperf3 reported an error: %q", *raw.Error)
	}
	ts, end := raw.Start.TestStart, raw.End
	if ts == nil {
		return Result{}, errors.New("no start.test_start (not an iperf3 -J result?)")
	}
	if ts.NumStreams < 1 || ts.Duration < 0 || ts.Omit < 0 || ts.Duration > maxSeconds || ts.Omit > maxSeconds {
		return Result{}, fmt.Errorf("start.test_start: %d streams, -t %d, -O %d: not a run", ts.NumStreams, ts.Duration, ts.Omit)
	}
	sent, received, err := sums(ts.Protocol, end)
	if err != nil {
		return Result{}, err
	}
	if end.CPU == nil {
		return Result{}, errors.New("no end.cpu_utilization_percent")
	}
	if end.CPU.HostTotal < 0 || end.CPU.RemoteTotal < 0 {
		return Result{}, fmt.Errorf("CPU %v%% on the client, %v%% on the server", end.CPU.HostTotal, end.CPU.RemoteTotal)
	}
	res := Result{
		Version: raw.Start.Version, Protocol: ts.Protocol, Streams: ts.NumStreams, Reverse: ts.Reverse != 0,
		Duration: time.Duration(ts.Duration) * time.Second, Omit: time.Duration(ts.Omit) * time.Second,
		SenderBitsPerSecond: sent.BitsPerSecond, ReceiverBitsPerSecond: received.BitsPerSecond,
		Retransmits: sent.Retransmits,
		CPU:         CPU{HostTotal: end.CPU.HostTotal, RemoteTotal: end.CPU.RemoteTotal},
		Intervals:   []Interval{},
		Connected:   raw.Start.Connected,
	}
	if res.Connected == nil {
		res.Connected = []Connection{}
	}
	if c := raw.Start.ConnectingTo; c != nil {
		res.Target = net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	}
	if u := end.Sum; u != nil && u.JitterMs != nil {
		res.UDP = &UDP{JitterMs: *u.JitterMs, LostPackets: u.LostPackets, Packets: u.Packets, LostPercent: u.LostPercent}
		if u.LostPackets < 0 || u.Packets < 0 || u.LostPackets > u.Packets || *u.JitterMs < 0 || u.LostPercent < 0 || u.LostPercent > 100 {
			return Result{}, fmt.Errorf("end.sum: %d of %d packets lost, jitter %v ms", u.LostPackets, u.Packets, *u.JitterMs)
		}
	}
	for _, iv := range raw.Intervals {
		if iv.Sum.Omitted {
			continue
		}
		if err := iv.Sum.check("an interval"); err != nil {
			return Result{}, err
		}
		res.Intervals = append(res.Intervals, Interval{
			Start: seconds(iv.Sum.Start), End: seconds(iv.Sum.End), BitsPerSecond: iv.Sum.BitsPerSecond,
		})
	}
	return res, nil
}

// sums returns the sender's and the receiver's totals: end.sum_sent and
// end.sum_received, which iperf3 writes for TCP and (3.12 does) for UDP;
// older iperf3 write only end.sum for UDP, the sender's rate with the loss,
// so the receiver's is that rate less the packets lost.
func sums(protocol string, end rawEnd) (sent, received rawSum, err error) {
	switch {
	case end.SumSent != nil && end.SumReceived != nil:
		sent, received = *end.SumSent, *end.SumReceived
	case protocol == "UDP" && end.Sum != nil && end.Sum.JitterMs != nil:
		sent, received = end.Sum.rawSum, end.Sum.rawSum
		received.BitsPerSecond *= 1 - end.Sum.LostPercent/100
	default:
		return sent, received, errors.New("no end.sum_sent or end.sum_received (the test did not finish?)")
	}
	if err := sent.check("end.sum_sent"); err != nil {
		return sent, received, err
	}
	if err := received.check("end.sum_received"); err != nil {
		return sent, received, err
	}
	if received.BitsPerSecond <= 0 || sent.BitsPerSecond <= 0 {
		return sent, received, fmt.Errorf("%v bits/s received, %v sent: a run that moved no data is not a sample",
			received.BitsPerSecond, sent.BitsPerSecond)
	}
	return sent, received, nil
}

// check refuses a sum no run can have.
func (s rawSum) check(what string) error {
	if s.BitsPerSecond < 0 || s.Retransmits < 0 || s.Start < 0 || s.End < s.Start || s.End > maxSeconds {
		return fmt.Errorf("%s: %v bits/s, %d retransmits, from %v s to %v s", what, s.BitsPerSecond, s.Retransmits, s.Start, s.End)
	}
	return nil
}

// seconds converts iperf3's float seconds, rounded to the microsecond it reports.
func seconds(s float64) time.Duration {
	return time.Duration(math.Round(s*1e6)) * time.Microsecond
}
