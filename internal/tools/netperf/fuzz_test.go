package netperf

import (
	"math"
	"slices"
	"testing"

	"kube-netbench/internal/golden"
)

// FuzzParse and FuzzParseSeed feed the two parsers every capture and what
// the fuzzer makes of them: neither may panic or hang, and what they
// accept must be a result a reader can trust.
func FuzzParse(f *testing.F) { golden.FuzzParser(f, "netperf/*.txt", Parse, isZero, insane) }

func FuzzParseSeed(f *testing.F) { golden.FuzzParser(f, "netperf/*.txt", ParseSeed, isZero, insane) }

func isZero(r Result) bool {
	return r.Test == "" && r.Latency == (Latency{}) && r.TransactionsPerSecond == 0 && r.LocalRetransmits == nil &&
		r.RemoteRetransmits == nil && r.RequestSize == 0 && r.ResponseSize == 0 && r.Elapsed == 0 && r.Absent == nil
}

// insane says what is wrong with an accepted result, "" when nothing.
func insane(r Result) string {
	l := r.Latency
	for _, v := range []float64{r.TransactionsPerSecond, l.Min, l.Mean, l.P50, l.P90, l.P99, l.Max, l.StdDev} {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return "a number that is negative or not finite"
		}
	}
	switch {
	case r.TransactionsPerSecond == 0:
		return "no transactions"
	case !(l.P50 <= l.P90 && l.P90 <= l.P99):
		return "percentiles out of order"
	case r.LocalRetransmits != nil && *r.LocalRetransmits < 0, r.RemoteRetransmits != nil && *r.RemoteRetransmits < 0:
		return "negative retransmissions"
	case r.RequestSize < 0 || r.ResponseSize < 0 || r.Elapsed < 0:
		return "a negative size or time"
	case slices.ContainsFunc(needed, func(s string) bool { return slices.Contains(r.Absent, s) }):
		return "a needed column absent"
	}
	return ""
}
