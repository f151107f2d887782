package fortio

import (
	"cmp"
	"math"
	"slices"
	"testing"

	"kube-netbench/internal/golden"
)

// FuzzParse feeds Parse every capture and what the fuzzer makes of them:
// it may not panic or hang, and what it accepts must be a result a reader
// can trust.
func FuzzParse(f *testing.F) {
	golden.FuzzParser(f, "fortio/*.json", Parse, func(res Result) bool {
		return res.RetCodes == nil && res.Requests == 0 && res.Latency.Percentiles == nil
	}, insane)
}

// insane says what is wrong with an accepted result, "" when nothing.
func insane(r Result) string {
	_ = r.CheckOK() // must not panic
	if math.IsNaN(r.ActualQPS) || math.IsInf(r.ActualQPS, 0) || r.ActualQPS < 0 {
		return "ActualQPS negative or not finite"
	}
	if r.Requests < 0 || r.Errors < 0 || r.Errors > r.Requests || r.Sockets < 0 || r.Duration < 0 || r.Connections < 0 {
		return "a count or a time that cannot be"
	}
	for _, n := range r.RetCodes {
		if n < 0 {
			return "a negative RetCodes count"
		}
	}
	ps := slices.SortedFunc(slices.Values(r.Latency.Percentiles), func(a, b Percentile) int { return cmp.Compare(a.Percentile, b.Percentile) })
	for i, p := range ps {
		if p.Percentile < 0 || p.Percentile > 100 || p.Seconds < 0 || i > 0 && p.Seconds < ps[i-1].Seconds {
			return "percentiles out of range or out of order"
		}
	}
	return ""
}
