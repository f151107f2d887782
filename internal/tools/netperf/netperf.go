// Package netperf builds netperf request/response command lines and parses
// netperf's -o (CSV) and -k (keyval) output. It is pure: no exec, no logging, no Kubernetes.
package netperf

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Type is a netperf request/response test.
type Type string

const (
	// TCPRR runs transactions on one connection.
	TCPRR Type = "TCP_RR"
	// TCPCRR opens a new connection for every transaction.
	TCPCRR Type = "TCP_CRR"
)

// Test describes one netperf run.
type Test struct {
	Type Type
	Host string
	// Port is netserver's control port (-p).
	Port int
	// Duration of the run (-l), whole seconds.
	Duration time.Duration
	// RequestSize and ResponseSize are the transaction's bytes (-r); 0 means 1.
	RequestSize, ResponseSize int
	// DataPort pins the port netserver listens on for the data
	// connections (the test-specific -P ,port), so that a Service can
	// expose it beside the control port; 0 lets netserver pick one.
	DataPort int
}

// column is an output selector and the header netperf 2.7.0 prints for it
// in -o output. The headers carry the units: latencies are in microseconds.
type column struct{ selector, header string }

var columns = []column{
	{"MIN_LATENCY", "Minimum Latency Microseconds"},
	{"MEAN_LATENCY", "Mean Latency Microseconds"},
	{"P50_LATENCY", "50th Percentile Latency Microseconds"},
	{"P90_LATENCY", "90th Percentile Latency Microseconds"},
	{"P99_LATENCY", "99th Percentile Latency Microseconds"},
	{"MAX_LATENCY", "Maximum Latency Microseconds"},
	{"STDDEV_LATENCY", "Stddev Latency Microseconds"},
	{"THROUGHPUT", "Throughput"},
	{"THROUGHPUT_UNITS", "Throughput Units"},
	{"LOCAL_TRANSPORT_RETRANS", "Local Transport Retransmissions"},
	{"REMOTE_TRANSPORT_RETRANS", "Remote Transport Retransmissions"},
	{"REQUEST_SIZE", "Request Size Bytes"},
	{"RESPONSE_SIZE", "Response Size Bytes"},
	{"ELAPSED_TIME", "Elapsed Time (sec)"},
}

// Selectors returns the -o output selectors Argv asks for, in order. Parse
// needs only those of Needed; it reads and checks the others where present.
// Asking for latency selectors turns netperf's statistics on, so -j is not
// needed.
func Selectors() []string {
	s := make([]string, len(columns))
	for i, c := range columns {
		s[i] = c.selector
	}
	return s
}

// Argv returns the command line.
func (t Test) Argv() ([]string, error) {
	if t.Type != TCPRR && t.Type != TCPCRR {
		return nil, fmt.Errorf("netperf: test type %q is not %s or %s", t.Type, TCPRR, TCPCRR)
	}
	if t.Host == "" {
		return nil, errors.New("netperf: empty host")
	}
	if err := checkPort(t.Port); err != nil {
		return nil, fmt.Errorf("netperf: %w", err)
	}
	if t.Duration <= 0 || t.Duration%time.Second != 0 {
		return nil, fmt.Errorf("netperf: duration %v is not a positive whole number of seconds", t.Duration)
	}
	if t.RequestSize < 0 || t.ResponseSize < 0 {
		return nil, fmt.Errorf("netperf: negative request or response size %d,%d", t.RequestSize, t.ResponseSize)
	}
	req, resp := max(t.RequestSize, 1), max(t.ResponseSize, 1)
	argv := []string{"netperf", "-H", t.Host, "-p", strconv.Itoa(t.Port), "-t", string(t.Type),
		"-l", strconv.FormatInt(int64(t.Duration/time.Second), 10), "--",
		"-r", strconv.Itoa(req) + "," + strconv.Itoa(resp),
	}
	if t.DataPort != 0 {
		if err := checkPort(t.DataPort); err != nil {
			return nil, fmt.Errorf("netperf: data %w", err)
		}
		if t.DataPort == t.Port {
			return nil, fmt.Errorf("netperf: data port %d is the control port", t.DataPort)
		}
		// "-P local,remote" (nettest_omni.c, scan_omni_args): the empty
		// local part leaves netperf's own ports as they are.
		argv = append(argv, "-P", ","+strconv.Itoa(t.DataPort))
	}
	return append(argv, "-o", strings.Join(Selectors(), ",")), nil
}

// Server describes a netserver.
type Server struct {
	Port int
	// Bind is the address to listen on (-L); "" listens on all.
	Bind string
}

// Argv returns netserver's command line, in the foreground (-D).
func (s Server) Argv() ([]string, error) {
	if err := checkPort(s.Port); err != nil {
		return nil, fmt.Errorf("netserver: %w", err)
	}
	argv := []string{"netserver", "-D", "-p", strconv.Itoa(s.Port)}
	if s.Bind != "" {
		argv = append(argv, "-L", s.Bind)
	}
	return argv, nil
}

func checkPort(p int) error {
	if p <= 0 || p > 65535 {
		return fmt.Errorf("port %d out of range 1-65535", p)
	}
	return nil
}

// Result is the normalized outcome of one netperf request/response run.
type Result struct {
	// Test is the test the banner names; "" when netperf printed no banner
	// this package knows.
	Test    Type    `json:"test"`
	Latency Latency `json:"latency_us"`
	// TransactionsPerSecond is netperf's THROUGHPUT, checked to be in Trans/s.
	TransactionsPerSecond float64 `json:"transactions_per_second"`
	// LocalRetransmits and RemoteRetransmits are TCP retransmissions; nil
	// where netperf reports -1, i.e. did not measure them (TCP_CRR).
	LocalRetransmits  *int64        `json:"local_retransmits"`
	RemoteRetransmits *int64        `json:"remote_retransmits"`
	RequestSize       int           `json:"request_size"`
	ResponseSize      int           `json:"response_size"`
	Elapsed           time.Duration `json:"elapsed_ns"`
	// Absent are the selectors of Selectors the output did not have: their
	// fields are zero (nil for retransmissions), not measured values.
	Absent []string `json:"absent,omitempty"`
}

// Latency is the transaction latency distribution in microseconds. netperf's
// histogram has 1 µs buckets below 100 µs and 10 µs buckets up to 1 ms, so
// percentiles there are only good to 10 µs (W-STAT-4); min and max are exact.
type Latency struct {
	Min    float64 `json:"min"`
	Mean   float64 `json:"mean"`
	P50    float64 `json:"p50"`
	P90    float64 `json:"p90"`
	P99    float64 `json:"p99"`
	Max    float64 `json:"max"`
	StdDev float64 `json:"stddev"`
}

// Transactions is the number of transactions the run made: its rate over
// its elapsed time, rounded; 0 without an elapsed time. For TCP_CRR it is
// the number of connections made.
func (r Result) Transactions() int64 {
	return int64(math.Round(r.TransactionsPerSecond * r.Elapsed.Seconds()))
}
