package stats

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheckLevel(t *testing.T) {
	one := 1.0
	b := Bound{Metric: "HTTP p50", Max: &one}
	// 10 rounds around 0.4 ms: the interval lies under 1 ms.
	quiet, err := PercentileAcrossRounds([]float64{0.38, 0.41, 0.40, 0.42, 0.39, 0.40, 0.43, 0.41, 0.40, 0.39}, DefaultConfidence)
	require.NoError(t, err)
	// 10 rounds around 1.05 ms, as measured on a loaded 2-core lab.
	slow, err := PercentileAcrossRounds([]float64{1.04, 1.06, 1.05, 1.07, 1.03, 1.05, 1.08, 1.04, 1.06, 1.05}, DefaultConfidence)
	require.NoError(t, err)
	straddle, err := PercentileAcrossRounds([]float64{0.7, 1.3, 0.8, 1.2, 0.9, 1.1, 0.95, 1.05, 0.6, 1.4}, DefaultConfidence)
	require.NoError(t, err)
	// Two rounds, as CI runs: no interval, so no verdict from them.
	two, err := PercentileAcrossRounds([]float64{0.99, 1.13}, DefaultConfidence)
	require.NoError(t, err)

	for _, tc := range []struct {
		name string
		b    Bound
		s    Summary
		want Outcome
		msg  string
	}{
		{"interval under the bound", b, quiet, Pass, "is within the bound <= 1 ms"},
		{"interval over the bound", b, slow, Fail, "is outside the bound <= 1 ms"},
		{"interval across the bound", b, straddle, Inconclusive, "straddles"},
		{"two rounds are not judged", b, two, Inconclusive, "too few rounds for an interval (n=2)"},
		{"center rule decides from the median", Bound{Metric: "HTTP p50", Max: &one, Rule: RuleCenter}, two, Fail, "median outside"},
		{"invalid bound", Bound{Metric: "HTTP p50"}, quiet, Inconclusive, "cannot judge"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.b.CheckLevel(tc.s, "ms")
			require.Equal(t, tc.want, v.Outcome, v.Message)
			require.True(t, strings.Contains(v.Message, tc.msg), v.Message)
		})
	}
}
