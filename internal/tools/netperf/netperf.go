// Package netperf builds netperf request/response command lines and parses
// netperf's -o (CSV) output. It is pure: no exec, no logging, no Kubernetes.
package netperf

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
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
// requires each of them. Asking for latency selectors turns netperf's
// statistics on, so -j is not needed.
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
	return []string{"netperf", "-H", t.Host, "-p", strconv.Itoa(t.Port), "-t", string(t.Type),
		"-l", strconv.FormatInt(int64(t.Duration/time.Second), 10), "--",
		"-r", strconv.Itoa(req) + "," + strconv.Itoa(resp),
		"-o", strings.Join(Selectors(), ","),
	}, nil
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

// maxSaid is how many lines of text that is not -o output an error quotes.
const maxSaid = 3

// banners maps the start of netperf's test banner to the test it names.
var banners = map[string]Type{
	"MIGRATED TCP REQUEST/RESPONSE TEST":         TCPRR,
	"MIGRATED TCP Connect/Request/Response TEST": TCPCRR,
}

// Parse reads the output of a netperf run with `-o` and the selectors of
// Selectors: an optional banner line, a CSV header line and a values line.
// Values are found by their header name, not by position. Anything else
// is an error that says what is wrong: netperf's own error text (it writes
// it to stdout) is quoted, and a missing column, a value that is not a
// number, throughput not in Trans/s or no transaction at all fail.
func Parse(r io.Reader) (Result, error) {
	return parse(r, Selectors())
}

// SeedSelectors are the -o selectors of the seed script's latency tests
// (MIN, MEAN, P50, P90, P99 and MAX latency, THROUGHPUT): no units column,
// no retransmissions, sizes or elapsed time.
func SeedSelectors() []string {
	return []string{"MIN_LATENCY", "MEAN_LATENCY", "P50_LATENCY", "P90_LATENCY", "P99_LATENCY", "MAX_LATENCY", "THROUGHPUT"}
}

// ParseSeed is Parse for output of the seed's selectors (SeedSelectors), so
// that its old files can be re-read: those columns are required, the others
// are read and checked where present and left zero (retransmissions nil)
// where not. Without THROUGHPUT_UNITS the rate's unit is unchecked; the
// banner's test type is what tells a request/response test.
func ParseSeed(r io.Reader) (Result, error) {
	return parse(r, SeedSelectors())
}

func parse(r io.Reader, required []string) (Result, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return Result{}, fmt.Errorf("netperf result: %w", err)
	}
	lines := strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	var res Result
	var header, values []string
	var said []string // lines that are neither banner, header nor values
	i := 0
	for ; i < len(lines) && header == nil; i++ {
		line := strings.TrimSpace(lines[i])
		switch {
		case line == "":
		case strings.Contains(line, " TEST from "):
			for prefix, typ := range banners {
				if strings.HasPrefix(line, prefix+" from ") {
					res.Test = typ
				}
			}
		case isHeader(line):
			if header, err = splitCSV(line); err != nil {
				return Result{}, fmt.Errorf("netperf result: header line: %w", err)
			}
		default:
			said = append(said, line)
		}
	}
	if len(said) > maxSaid {
		return Result{}, fmt.Errorf("netperf result: netperf said %q (and %d more lines)", strings.Join(said[:maxSaid], "\n"), len(said)-maxSaid)
	}
	if len(said) > 0 {
		return Result{}, fmt.Errorf("netperf result: netperf said %q", strings.Join(said, "\n"))
	}
	if header == nil {
		if strings.TrimSpace(string(b)) == "" {
			return Result{}, errors.New("netperf result: empty input")
		}
		return Result{}, errors.New("netperf result: truncated: no -o header line")
	}
	for ; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		switch {
		case line == "":
		case values != nil:
			return Result{}, fmt.Errorf("netperf result: text after the values line: %q", line)
		default:
			if values, err = splitCSV(line); err != nil {
				return Result{}, fmt.Errorf("netperf result: values line: %w", err)
			}
		}
	}
	if values == nil {
		return Result{}, errors.New("netperf result: truncated: a header line without values")
	}
	if len(values) != len(header) {
		return Result{}, fmt.Errorf("netperf result: truncated or malformed: %d values for %d columns", len(values), len(header))
	}
	if err := res.fill(header, values, required); err != nil {
		return Result{}, fmt.Errorf("netperf result: %w", err)
	}
	return res, nil
}

// isHeader reports whether line is an -o header: it has a field that is
// one of the headers of this package's selectors.
func isHeader(line string) bool {
	fields, err := splitCSV(line)
	if err != nil {
		return false
	}
	for _, f := range fields {
		for _, c := range columns {
			if f == c.header {
				return true
			}
		}
	}
	return false
}

func splitCSV(line string) ([]string, error) {
	cr := csv.NewReader(strings.NewReader(line))
	cr.TrimLeadingSpace = true
	return cr.Read()
}

// fill sets res from the values, found by header: every required selector
// must have its column; the others are checked where present.
func (res *Result) fill(header, values, required []string) error {
	byHeader := make(map[string]string, len(header))
	for i, h := range header {
		byHeader[h] = strings.TrimSpace(values[i])
	}
	num := make(map[string]float64, len(columns))
	for _, c := range columns {
		v, ok := byHeader[c.header]
		if !ok {
			if slices.Contains(required, c.selector) {
				return fmt.Errorf("no column %q (selector %s)", c.header, c.selector)
			}
			continue
		}
		if c.selector == "THROUGHPUT_UNITS" {
			if v != "Trans/s" {
				return fmt.Errorf("throughput in %q, want Trans/s (not a request/response test?)", v)
			}
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%s (%q) is %q, not a number", c.selector, c.header, v)
		}
		num[c.selector] = f
	}
	if num["THROUGHPUT"] <= 0 {
		return fmt.Errorf("%v Trans/s: a run without transactions is not a sample", num["THROUGHPUT"])
	}
	l := Latency{Min: num["MIN_LATENCY"], Mean: num["MEAN_LATENCY"], P50: num["P50_LATENCY"], P90: num["P90_LATENCY"],
		P99: num["P99_LATENCY"], Max: num["MAX_LATENCY"], StdDev: num["STDDEV_LATENCY"]}
	for _, c := range columns {
		if strings.HasSuffix(c.selector, "_LATENCY") && num[c.selector] < 0 {
			return fmt.Errorf("%s is %v: netperf did not measure latency", c.selector, num[c.selector])
		}
	}
	if l.Mean == 0 {
		return errors.New("MEAN_LATENCY is 0: netperf did not measure latency")
	}
	var err error
	res.Latency, res.TransactionsPerSecond = l, num["THROUGHPUT"]
	if res.LocalRetransmits, err = retransmits("LOCAL_TRANSPORT_RETRANS", num); err != nil {
		return err
	}
	if res.RemoteRetransmits, err = retransmits("REMOTE_TRANSPORT_RETRANS", num); err != nil {
		return err
	}
	if res.RequestSize, err = count("REQUEST_SIZE", num); err != nil {
		return err
	}
	if res.ResponseSize, err = count("RESPONSE_SIZE", num); err != nil {
		return err
	}
	if e, ok := num["ELAPSED_TIME"]; ok {
		if e <= 0 {
			return fmt.Errorf("ELAPSED_TIME is %v seconds", e)
		}
		res.Elapsed = time.Duration(math.Round(e * float64(time.Second)))
	}
	return nil
}

// retransmits is nil for netperf's -1 (not measured) or a column not asked
// for, else the count.
func retransmits(sel string, num map[string]float64) (*int64, error) {
	v, ok := num[sel]
	if !ok || v == -1 {
		return nil, nil
	}
	if v < 0 || v != math.Trunc(v) {
		return nil, fmt.Errorf("%s is %v, not a count", sel, v)
	}
	n := int64(v)
	return &n, nil
}

// count is a positive whole number of bytes; 0 for a column not asked for.
func count(sel string, num map[string]float64) (int, error) {
	v, ok := num[sel]
	if !ok {
		return 0, nil
	}
	if v <= 0 || v != math.Trunc(v) {
		return 0, fmt.Errorf("%s is %v, not a positive whole number", sel, v)
	}
	return int(v), nil
}
