// Package fortio builds fortio load command lines and parses fortio's JSON
// results. It is pure: no exec, no logging, no Kubernetes.
package fortio

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"kube-netbench/internal/tools/jsondoc"
)

// Load describes one `fortio load` run.
type Load struct {
	URL         string
	QPS         float64 // 0: as fast as possible
	Connections int
	// Duration of the run; ignored when Requests > 0.
	Duration time.Duration
	// Requests is an exact number of calls (fortio -n), 0 for a timed run.
	Requests int
	// Keepalive false opens a new connection per request (short connections).
	Keepalive bool
	// Resolution is the histogram bucket resolution (fortio -r). The default
	// is 10 µs: at fortio's own default of 1 ms every sub-millisecond
	// percentile is an interpolation inside the first bucket (W-BUG-3).
	Resolution time.Duration
}

// DefaultResolution is the histogram resolution used unless set.
const DefaultResolution = 10 * time.Microsecond

// Argv returns the command line. JSON goes to stdout (-json -), progress
// logs are silenced (-quiet), and the run aborts on nothing: errors are
// counted and judged by the caller (W-BUG-4).
func (l Load) Argv() ([]string, error) {
	if l.URL == "" {
		return nil, errors.New("fortio load: empty URL")
	}
	if l.Connections <= 0 {
		return nil, fmt.Errorf("fortio load: connections %d must be positive", l.Connections)
	}
	if l.Requests <= 0 && l.Duration <= 0 {
		return nil, errors.New("fortio load: neither a duration nor a request count")
	}
	res := l.Resolution
	if res == 0 {
		res = DefaultResolution
	}
	argv := []string{"fortio", "load", "-quiet", "-json", "-",
		"-qps", strconv.FormatFloat(l.QPS, 'f', -1, 64),
		"-c", strconv.Itoa(l.Connections),
		"-r", strconv.FormatFloat(res.Seconds(), 'f', -1, 64),
	}
	if l.Requests > 0 {
		argv = append(argv, "-n", strconv.Itoa(l.Requests))
	} else {
		argv = append(argv, "-t", l.Duration.String())
	}
	if !l.Keepalive {
		argv = append(argv, "-keepalive=false")
	}
	return append(argv, l.URL), nil
}

// Result is the normalized outcome of one fortio run.
type Result struct {
	Version string `json:"version"`
	// URL is the target: the URL of an HTTP run, the destination of a TCP or
	// UDP run (fortio calls it Destination there).
	URL         string           `json:"url"`
	Connections int              `json:"connections"`
	ActualQPS   float64          `json:"actual_qps"`
	Duration    time.Duration    `json:"duration_ns"`
	Requests    int64            `json:"requests"`
	RetCodes    map[string]int64 `json:"ret_codes"`
	// Errors counts calls that failed (non-2xx codes, socket errors).
	Errors  int64     `json:"errors"`
	Sockets int64     `json:"sockets"`
	Latency Histogram `json:"latency"`
	// Resolution is the histogram resolution the run used (fortio -r), 0
	// when fortio does not report it (its TCP and UDP runners do not).
	Resolution time.Duration `json:"resolution_ns,omitempty"`
}

// Histogram summarizes fortio's DurationHistogram, in seconds.
type Histogram struct {
	Count       int64        `json:"count"`
	Min, Max    float64      `json:"-"`
	Avg, StdDev float64      `json:"-"`
	Percentiles []Percentile `json:"percentiles"`
}

// Percentile is one point of the latency distribution.
type Percentile struct {
	Percentile float64 `json:"percentile"`
	Seconds    float64 `json:"seconds"`
}

// Percentile returns the value at p, and whether fortio reported it.
func (h Histogram) Percentile(p float64) (float64, bool) {
	for _, x := range h.Percentiles {
		if x.Percentile == p {
			return x.Seconds, true
		}
	}
	return 0, false
}

type rawResult struct {
	Version           string
	URL               string
	Destination       string // the target of tcp:// and udp:// runs
	Resolution        float64
	NumThreads        int
	RequestedDuration string
	Exactly           int64
	ActualQPS         float64
	ActualDuration    int64
	RetCodes          map[string]int64
	SocketCount       int64
	DurationHistogram *struct {
		Count                 int64
		Min, Max, Avg, StdDev float64
		Percentiles           []struct{ Percentile, Value float64 }
	}
	ErrorsDurationHistogram *struct{ Count int64 }
	// Error, Message and Exception are fortio's jrpc.ServerReply: a REST
	// API error, or (v1.58 on) a result of a run that did not start.
	Error     bool
	Message   string
	Exception string
	// ResultURL is in the REST API's reply to an async run, not a result.
	ResultURL string
}

// Parse reads the JSON fortio writes with `fortio load -json`, which is also
// what its REST API returns for a run and what its UI saves. Versions from
// v1.3 (no ErrorsDurationHistogram, no Resolution) to v1.66 (an error reply
// embedded) are read by field name. It fails on empty, truncated or trailing
// input, on fortio's error reply, on a run cut short (interrupted or
// aborted: less time or fewer calls than asked for), on a result without a
// histogram and on counts that cannot be, rather than returning numbers
// that would pass for a measurement.
func Parse(r io.Reader) (Result, error) {
	res, err := parse(r)
	if err != nil {
		return Result{}, fmt.Errorf("fortio result: %w", err)
	}
	return res, nil
}

func parse(r io.Reader) (Result, error) {
	var raw rawResult
	if err := jsondoc.DecodeOne(r, &raw); err != nil {
		return Result{}, err
	}
	if raw.Error {
		return Result{}, fmt.Errorf("fortio reported an error: %s", strings.Join(nonEmpty(raw.Message, raw.Exception), ": "))
	}
	if raw.DurationHistogram == nil {
		if raw.ResultURL != "" {
			return Result{}, fmt.Errorf("the REST API's reply to an async run, not a result: fetch %s", raw.ResultURL)
		}
		return Result{}, errors.New("no DurationHistogram (not a fortio load result?)")
	}
	if raw.RetCodes == nil {
		return Result{}, errors.New("no RetCodes")
	}
	h := raw.DurationHistogram
	url := raw.URL
	if url == "" {
		url = raw.Destination
	}
	res := Result{
		Version: raw.Version, URL: url, Connections: raw.NumThreads,
		Resolution: time.Duration(math.Round(raw.Resolution * float64(time.Second))),
		ActualQPS:  raw.ActualQPS, Duration: time.Duration(raw.ActualDuration),
		Requests: h.Count, RetCodes: raw.RetCodes, Sockets: raw.SocketCount,
		Latency: Histogram{Count: h.Count, Min: h.Min, Max: h.Max, Avg: h.Avg, StdDev: h.StdDev},
	}
	if err := checkCounts(raw); err != nil {
		return Result{}, err
	}
	if err := checkComplete(raw); err != nil {
		return Result{}, err
	}
	for _, p := range h.Percentiles {
		res.Latency.Percentiles = append(res.Latency.Percentiles, Percentile{p.Percentile, p.Value})
	}
	if err := checkPercentiles(slices.Clone(res.Latency.Percentiles)); err != nil {
		return Result{}, err
	}
	for code, n := range raw.RetCodes {
		if !okCode(code) {
			res.Errors += n
		}
	}
	if raw.ErrorsDurationHistogram != nil && raw.ErrorsDurationHistogram.Count > res.Errors {
		res.Errors = raw.ErrorsDurationHistogram.Count
	}
	return res, nil
}

func nonEmpty(s ...string) []string {
	var out []string
	for _, x := range s {
		if x != "" {
			out = append(out, x)
		}
	}
	if out == nil {
		return []string{"(no message)"}
	}
	return out
}

// maxResolution bounds fortio's -r, in seconds: far above any useful
// bucket, well inside time.Duration.
const maxResolution = 1e6

// checkCounts refuses counts no run can have.
func checkCounts(raw rawResult) error {
	h := raw.DurationHistogram
	if h.Count < 0 || raw.SocketCount < 0 || raw.NumThreads < 0 || raw.ActualDuration < 0 || raw.ActualQPS < 0 {
		return fmt.Errorf("negative count: %d calls, %d sockets, %d connections, %d ns, %v qps",
			h.Count, raw.SocketCount, raw.NumThreads, raw.ActualDuration, raw.ActualQPS)
	}
	if raw.Resolution < 0 || raw.Resolution > maxResolution {
		return fmt.Errorf("Resolution %v s: not a histogram resolution", raw.Resolution)
	}
	var total int64 // never above h.Count, so it cannot overflow
	for code, n := range raw.RetCodes {
		if n < 0 {
			return fmt.Errorf("RetCodes %q: %d calls", code, n)
		}
		if n > h.Count-total {
			return fmt.Errorf("RetCodes %q: %d calls, more than the histogram's %d in all", code, n, h.Count)
		}
		total += n
	}
	if e := raw.ErrorsDurationHistogram; e != nil && (e.Count < 0 || e.Count > h.Count) {
		return fmt.Errorf("ErrorsDurationHistogram counts %d calls of %d", e.Count, h.Count)
	}
	return nil
}

// cutShort is how much less than the asked-for time a timed run may last
// before it counts as interrupted: fortio stops a timed run at its duration,
// so a shorter one was stopped (^C, SIGTERM, the REST API's stop or -abort-on).
const cutShort = 0.95

// checkComplete refuses a run that did less than it was asked to.
func checkComplete(raw rawResult) error {
	if raw.Exactly > 0 && raw.DurationHistogram.Count < raw.Exactly {
		return fmt.Errorf("cut short (interrupted or aborted): %d of exactly %d calls", raw.DurationHistogram.Count, raw.Exactly)
	}
	asked, err := time.ParseDuration(raw.RequestedDuration)
	if err != nil || asked <= 0 {
		return nil // "exactly N calls", "until stop" or an older version's text
	}
	if ran := time.Duration(raw.ActualDuration); float64(ran) < cutShort*float64(asked) {
		return fmt.Errorf("cut short (interrupted or aborted): ran %v of the %v asked for", ran.Round(time.Millisecond), asked)
	}
	return nil
}

// checkPercentiles refuses percentiles out of [0, 100] and values that fall
// as the percentile rises: fortio computes them from one histogram (in the
// order -p lists them, so they are sorted here).
func checkPercentiles(ps []Percentile) error {
	slices.SortStableFunc(ps, func(a, b Percentile) int { return cmp.Compare(a.Percentile, b.Percentile) })
	for i, p := range ps {
		if p.Percentile < 0 || p.Percentile > 100 || p.Seconds < 0 {
			return fmt.Errorf("percentile p%v = %v s is out of range", p.Percentile, p.Seconds)
		}
		if i > 0 && p.Seconds < ps[i-1].Seconds {
			return fmt.Errorf("percentiles out of order: p%v = %v s below p%v = %v s", p.Percentile, p.Seconds, ps[i-1].Percentile, ps[i-1].Seconds)
		}
	}
	return nil
}

// HeldRate is the share of an asked fixed rate (-qps) a run must reach to
// have held it: below it the client or the path could not keep up, and
// its latencies describe a queue, not the rate asked for.
const HeldRate = 0.98

// CheckRate returns an error when a fixed-rate run did not hold qps, the
// rate it was asked for (HeldRate of it): its latencies are then no sample
// of that rate. A run at full speed (qps 0) holds any rate.
func (r Result) CheckRate(qps float64) error {
	if qps <= 0 {
		return nil
	}
	if r.ActualQPS < HeldRate*qps {
		return fmt.Errorf("fortio: %.1f req/s against %s, below %.0f %% of the %v req/s asked: the rate was not held, its latencies are not a sample of it",
			r.ActualQPS, r.URL, HeldRate*100, qps)
	}
	return nil
}

// okCode reports whether a RetCodes key is a success: HTTP 2xx, or "OK" for
// fortio's TCP/UDP/gRPC modes. Fortio records socket errors as code -1.
func okCode(code string) bool {
	if code == "OK" || code == "SERVING" {
		return true
	}
	n, err := strconv.Atoi(code)
	return err == nil && n >= 200 && n < 300
}

// CheckOK returns an error naming every non-success code and its count, so a
// sample with errors fails instead of counting failed calls as throughput
// (W-BUG-4: fortio's ActualQPS includes failed calls).
func (r Result) CheckOK() error {
	if r.Requests == 0 {
		return fmt.Errorf("fortio: no request completed against %s", r.URL)
	}
	if r.Errors == 0 {
		return nil
	}
	var bad []string
	codes := make([]string, 0, len(r.RetCodes))
	for c := range r.RetCodes {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes {
		if !okCode(c) {
			name := c
			if c == "-1" {
				name = "-1 (socket error)"
			}
			bad = append(bad, fmt.Sprintf("%s: %d", name, r.RetCodes[c]))
		}
	}
	return fmt.Errorf("fortio: %d of %d calls to %s failed (%s)", r.Errors, r.Requests, r.URL, strings.Join(bad, ", "))
}
