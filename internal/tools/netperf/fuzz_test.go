package netperf

import (
	"bytes"
	"io"
	"math"
	"slices"
	"testing"

	"kube-netbench/internal/golden"
)

// FuzzParse feeds Parse and ParseSeed every capture and what the fuzzer
// makes of them: neither may panic or hang, and what they accept must be a
// result a reader can trust.
func FuzzParse(f *testing.F) {
	golden.Seed(f, "netperf/*.txt")
	f.Fuzz(func(t *testing.T, b []byte) {
		for name, parse := range map[string]func(io.Reader) (Result, error){"Parse": Parse, "ParseSeed": ParseSeed} {
			res, err := parse(bytes.NewReader(b))
			if err != nil {
				if !isZero(res) {
					t.Errorf("%s: an error and a result %+v", name, res)
				}
				continue
			}
			if msg := insane(res); msg != "" {
				t.Errorf("%s accepted %q: %s (%+v)", name, b, msg, res)
			}
		}
	})
}

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
