// Package fortio builds fortio load command lines and parses fortio's JSON
// results. It is pure: no exec, no logging, no Kubernetes.
package fortio

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
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
}

// Parse reads the JSON fortio writes with `-json`. It fails on truncated or
// empty input, on anything after the JSON object and on a result without a
// histogram, rather than returning zero values that would pass for a
// measurement.
func Parse(r io.Reader) (Result, error) {
	var raw rawResult
	dec := json.NewDecoder(r)
	if err := dec.Decode(&raw); err != nil {
		if errors.Is(err, io.EOF) {
			return Result{}, errors.New("fortio result: empty input")
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return Result{}, errors.New("fortio result: truncated JSON")
		}
		return Result{}, fmt.Errorf("fortio result: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Result{}, errors.New("fortio result: data after the JSON object (two results, or logs on stdout?)")
	}
	if raw.DurationHistogram == nil {
		return Result{}, errors.New("fortio result: no DurationHistogram (not a fortio load result?)")
	}
	if raw.RetCodes == nil {
		return Result{}, errors.New("fortio result: no RetCodes")
	}
	url := raw.URL
	if url == "" {
		url = raw.Destination
	}
	res := Result{
		Version: raw.Version, URL: url, Connections: raw.NumThreads,
		Resolution: time.Duration(math.Round(raw.Resolution * float64(time.Second))),
		ActualQPS:  raw.ActualQPS, Duration: time.Duration(raw.ActualDuration),
		Requests: raw.DurationHistogram.Count, RetCodes: raw.RetCodes, Sockets: raw.SocketCount,
		Latency: Histogram{
			Count: raw.DurationHistogram.Count, Min: raw.DurationHistogram.Min, Max: raw.DurationHistogram.Max,
			Avg: raw.DurationHistogram.Avg, StdDev: raw.DurationHistogram.StdDev,
		},
	}
	for _, p := range raw.DurationHistogram.Percentiles {
		res.Latency.Percentiles = append(res.Latency.Percentiles, Percentile{p.Percentile, p.Value})
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
