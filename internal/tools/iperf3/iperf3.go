// Package iperf3 builds iperf3 command lines and parses iperf3's JSON
// results (-J). It is pure: no exec, no logging, no Kubernetes.
package iperf3

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strconv"
	"time"
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

// Result is the normalized outcome of one iperf3 TCP run.
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
	// Connected are the data connections as the client's kernel saw them
	// (start.connected): which addresses really carried the traffic, e.g.
	// the node IPs of a host-to-host run (W-BUG-2).
	Connected []Connection `json:"connected"`
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
	End       struct {
		SumSent     *rawSum `json:"sum_sent"`
		SumReceived *rawSum `json:"sum_received"`
		CPU         *struct {
			HostTotal   float64 `json:"host_total"`
			RemoteTotal float64 `json:"remote_total"`
		} `json:"cpu_utilization_percent"`
	}
	Error *string
}

// Parse reads the JSON `iperf3 -J` writes. It fails on empty, truncated or
// trailing input, on the "error" iperf3 reports in the JSON (iperf3 3.12
// exits 0 when it cannot connect: the field is the only sign, W-BUG-4), on a
// result without its end section and on a rate of 0 bits/s: a parse that
// yields 0 Gbps is an error, not a sample.
func Parse(r io.Reader) (Result, error) {
	var raw rawResult
	dec := json.NewDecoder(r)
	switch err := dec.Decode(&raw); {
	case errors.Is(err, io.EOF):
		return Result{}, errors.New("iperf3 result: empty input")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Result{}, errors.New("iperf3 result: truncated JSON")
	case err != nil:
		return Result{}, fmt.Errorf("iperf3 result: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Result{}, errors.New("iperf3 result: data after the JSON object (two results, or text on stdout?)")
	}
	if raw.Error != nil {
		return Result{}, fmt.Errorf("iperf3 result: iperf3 reported an error: %q", *raw.Error)
	}
	ts, end := raw.Start.TestStart, raw.End
	if ts == nil {
		return Result{}, errors.New("iperf3 result: no start.test_start (not an iperf3 -J result?)")
	}
	if end.SumSent == nil || end.SumReceived == nil {
		return Result{}, errors.New("iperf3 result: no end.sum_sent or end.sum_received (the test did not finish?)")
	}
	if end.CPU == nil {
		return Result{}, errors.New("iperf3 result: no end.cpu_utilization_percent")
	}
	if end.SumReceived.BitsPerSecond <= 0 || end.SumSent.BitsPerSecond <= 0 {
		return Result{}, fmt.Errorf("iperf3 result: %v bits/s received, %v sent: a run that moved no data is not a sample",
			end.SumReceived.BitsPerSecond, end.SumSent.BitsPerSecond)
	}
	res := Result{
		Version: raw.Start.Version, Protocol: ts.Protocol, Streams: ts.NumStreams, Reverse: ts.Reverse != 0,
		Duration: time.Duration(ts.Duration) * time.Second, Omit: time.Duration(ts.Omit) * time.Second,
		SenderBitsPerSecond: end.SumSent.BitsPerSecond, ReceiverBitsPerSecond: end.SumReceived.BitsPerSecond,
		Retransmits: end.SumSent.Retransmits,
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
	for _, iv := range raw.Intervals {
		if iv.Sum.Omitted {
			continue
		}
		res.Intervals = append(res.Intervals, Interval{
			Start: seconds(iv.Sum.Start), End: seconds(iv.Sum.End), BitsPerSecond: iv.Sum.BitsPerSecond,
		})
	}
	return res, nil
}

// seconds converts iperf3's float seconds, rounded to the microsecond it reports.
func seconds(s float64) time.Duration {
	return time.Duration(math.Round(s*1e6)) * time.Microsecond
}
