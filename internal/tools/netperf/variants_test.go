package netperf

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestParseVariants reads real outputs of other selector sets and forms
// (testdata/netperf/capture-variants.sh): the accepted ones to their
// numbers, the others to an error that names the problem.
func TestParseVariants(t *testing.T) {
	accepted := []struct {
		name          string
		test          Type
		p50, p90, p99 float64
		tps, min      float64
		absent        int // how many of Selectors() the output lacks
	}{
		{"pcts-only", TCPRR, 18, 20, 41, 49657.75, 0, 9},
		{"reordered", TCPRR, 18, 20, 39, 51082.98, 0, 10},
		{"keyval", TCPCRR, 58, 68, 152, 15728.22, 50, 8},
		{"keyval-no-banner", "", 19, 21, 44, 46817.15, 0, 10},
		{"udp-rr", "", 17, 18, 41, 53567.67, 0, 9},
		// SIGINT after 1 s of -l 3: netperf prints a normal result.
		{"interrupted", TCPRR, 18, 20, 52, 45480.30, 0, 10},
	}
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Parse(bytes.NewReader(capture(t, tc.name)))
			require.NoError(t, err)
			require.Equal(t, tc.test, res.Test)
			require.Equal(t, Latency{Min: tc.min, P50: tc.p50, P90: tc.p90, P99: tc.p99}, res.Latency)
			require.Equal(t, tc.tps, res.TransactionsPerSecond)
			require.Len(t, res.Absent, tc.absent, "%v", res.Absent)
			require.NotContains(t, res.Absent, "P50_LATENCY")
		})
	}
	rejected := []struct{ name, err string }{
		{"no-percentiles", `netperf result: no P50_LATENCY column ("50th Percentile Latency Microseconds"): a result needs THROUGHPUT, P50_LATENCY, P90_LATENCY, P99_LATENCY`},
		{"classic", "netperf result: classic netperf output (no -o or -k selectors) has no latency percentiles: run netperf with -- -o THROUGHPUT,P50_LATENCY,P90_LATENCY,P99_LATENCY"},
		{"human", "netperf result: netperf -O (human-readable) output: its columns are not machine-readable; use -o or -k"},
		{"no-header", "netperf result: values without a header line (-P 0 drops it): the columns are unknown; use -o without -P 0, or -k"},
		{"stream", `netperf result: "MIGRATED TCP STREAM TEST" is a stream test, not request/response`},
	}
	for _, tc := range rejected {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Parse(bytes.NewReader(capture(t, tc.name)))
			require.EqualError(t, err, tc.err)
			require.Equal(t, Result{}, res)
		})
	}
}
