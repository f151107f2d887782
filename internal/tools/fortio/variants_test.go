package fortio

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestParseVariants reads real outputs of another fortio version and of its
// REST API (testdata/fortio/capture-variants.sh): the accepted ones to their
// numbers, the others to an error that names the problem.
func TestParseVariants(t *testing.T) {
	accepted := []struct {
		name, version string
		requests      int64
		retCodes      map[string]int64
		errors        int64
		connections   int
		qps           float64
	}{
		{"v1.38-keepalive", "1.38.0", 53803, map[string]int64{"200": 53803}, 0, 4, 26898.966897388305},
		{"v1.38-http-503", "1.38.0", 200, map[string]int64{"200": 104, "503": 96}, 96, 4, 10347.546671703853},
		{"rest-run", "1.66.5", 8, map[string]int64{"200": 8}, 0, 2, 7.994885639676757},
	}
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Parse(bytes.NewReader(capture(t, tc.name)))
			require.NoError(t, err)
			require.Equal(t, tc.version, res.Version)
			require.Equal(t, tc.requests, res.Requests)
			require.Equal(t, tc.retCodes, res.RetCodes)
			require.Equal(t, tc.errors, res.Errors)
			require.Equal(t, tc.connections, res.Connections)
			require.Equal(t, tc.qps, res.ActualQPS)
			require.Equal(t, 10*time.Microsecond, res.Resolution)
			p50, ok := res.Latency.Percentile(50)
			require.True(t, ok)
			p99, _ := res.Latency.Percentile(99)
			require.Less(t, 0.0, p50)
			require.LessOrEqual(t, p50, p99)
		})
	}
	rejected := []struct{ name, err string }{
		{"interrupted", "fortio result: cut short (interrupted or aborted): ran 969ms of the 3s asked for"},
		{"rest-error", "fortio result: fortio reported an error: Aborting because of error: address 99999: invalid port"},
		{"rest-async", "fortio result: the REST API's reply to an async run, not a result: fetch http://127.0.0.1:28080/fortio/data/2026-12-06-142301_2.json"},
	}
	for _, tc := range rejected {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Parse(bytes.NewReader(capture(t, tc.name)))
			require.EqualError(t, err, tc.err)
			require.Equal(t, Result{}, res)
		})
	}
}
