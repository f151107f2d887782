package seedimport

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"kube-netbench/internal/tools/fortio"
	"kube-netbench/internal/tools/iperf3"
	"kube-netbench/internal/tools/netperf"
)

// sample is one file read by its tool's parser.
type sample struct {
	// vals are the file's values in the order of units[kind].
	vals []float64
	// notes are caveats about a file that is still a sample: what it says
	// it ran differs from what its place in the layout says.
	notes []string
	// rejected says why a file that parsed is not a sample by the suite's
	// rules (e.g. fortio calls that failed); "" when it is one.
	rejected string
	// tool and version are what the file says ran.
	tool, version string
	// resolution is fortio's histogram resolution.
	resolution time.Duration
	// duration is iperf3's -t.
	duration time.Duration
}

// parse reads one file of scenario s. An error means the file is no output
// of its tool (unparseable); a rejection is in the sample.
func parse(s scenario, b []byte) (sample, error) {
	switch s.kind {
	case kindIperf:
		return parseIperf(s, b)
	case kindNetperf:
		return parseNetperf(s, b)
	default:
		return parseFortio(s, b)
	}
}

func parseIperf(s scenario, b []byte) (sample, error) {
	res, err := iperf3.Parse(bytes.NewReader(b))
	if err != nil {
		return sample{}, err
	}
	// iperf3 -J says "iperf 3.12"; the fingerprint wants "3.12".
	out := sample{tool: "iperf3", version: strings.TrimPrefix(res.Version, "iperf "), duration: res.Duration,
		vals: []float64{res.Throughput(), float64(res.Retransmits), res.CPU.HostTotal, res.CPU.RemoteTotal}}
	if res.Reverse {
		out.rejected = "a reverse (-R) run: the seed never runs one, so this is not the file its name says"
	}
	if res.Streams != s.streams {
		out.notes = append(out.notes, fmt.Sprintf("iperf3 ran %d streams; the seed's layout says -P %d", res.Streams, s.streams))
	}
	return out, nil
}

func parseFortio(s scenario, b []byte) (sample, error) {
	res, err := fortio.Parse(bytes.NewReader(b))
	if err != nil {
		return sample{}, err
	}
	out := sample{tool: "fortio", version: res.Version, resolution: res.Resolution, vals: []float64{res.ActualQPS}}
	if err := res.CheckOK(); err != nil {
		out.rejected = fmt.Sprintf("%v; the seed counted its ActualQPS %.1f as req/s (W-BUG-4)", err, res.ActualQPS)
	}
	for _, u := range units[s.kind][1:] {
		v, ok := res.Latency.Percentile(u.pct)
		if !ok {
			return sample{}, fmt.Errorf("fortio reported no p%g (it has %v)", u.pct, res.Latency.Percentiles)
		}
		out.vals = append(out.vals, v)
	}
	if s.conns > 0 && res.Connections != s.conns {
		out.notes = append(out.notes, fmt.Sprintf("fortio ran %d connections; the seed's layout says c=%d", res.Connections, s.conns))
	}
	switch {
	case s.short && res.Requests > 0 && res.Sockets*2 < res.Requests:
		out.notes = append(out.notes, fmt.Sprintf("%d sockets for %d calls: connections were reused, not short", res.Sockets, res.Requests))
	case !s.short && res.Connections > 0 && res.Sockets > 2*int64(res.Connections):
		out.notes = append(out.notes, fmt.Sprintf("%d sockets for %d connections: not kept alive", res.Sockets, res.Connections))
	}
	return out, nil
}

func parseNetperf(s scenario, b []byte) (sample, error) {
	res, err := netperf.ParseSeed(bytes.NewReader(b))
	if err != nil {
		return sample{}, err
	}
	sec := func(us float64) float64 { return us / 1e6 }
	out := sample{tool: "netperf", vals: []float64{res.TransactionsPerSecond, sec(res.Latency.P50), sec(res.Latency.P90), sec(res.Latency.P99)}}
	switch res.Test {
	case s.test:
	case "":
		out.notes = append(out.notes, "no netperf banner: the test type is unchecked")
	default:
		out.rejected = fmt.Sprintf("netperf's banner says %s; the seed's layout says %s", res.Test, s.test)
	}
	return out, nil
}
