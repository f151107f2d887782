package scaleresult

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// withMeasures is a step with every measure: the saturating RPS spread
// ±1 %, the others at the given levels spread ±1 % too.
func withMeasures(services int, p50, crr, kernel float64) Step {
	st := Step{Services: services, Keepalive: around(10000, 6), Short: around(4000, 6),
		CRR: around(crr, 6), KernelPerConnShort: around(kernel, 6), KernelPerConnCRR: around(2*kernel, 6)}
	for i, v := range around(p50, 6) {
		st.FixedRate.Add(v, 2*v, 4*v+float64(i)*1e-6)
		st.CRRLatency.Add(v/2, v, 3*v)
	}
	return st
}

// Issue 14: every measure that needs no saturated machine is summarized
// per step with its interval, the interval's half-width beside the
// saturating RPS's, and its change against the baseline; reported, never
// judged.
func TestJudgeMeasuresWithoutSaturation(t *testing.T) {
	base := withMeasures(0, 200e-6, 3000, 40)
	top := withMeasures(10000, 300e-6, 2000, 60)
	j, err := Judge(Input{Dataplane: "kube-proxy-iptables", FixedQPS: 80, Steps: []Step{base, top}, Short: pm(5)})
	require.NoError(t, err)
	require.Len(t, j.Verdicts, 1, "only the short-connection RPS has a bound")
	require.Empty(t, j.Problems)
	require.Equal(t, 80.0, j.Summary.FixedRateQPS)

	require.Len(t, j.Summary.Steps[0].Measures, len(Measures))
	m := j.Summary.Steps[1].Measures
	p50 := m["fixed_short_p50_s"]
	require.Equal(t, "s", p50.Unit)
	require.Equal(t, top.FixedRate.P50, p50.Samples)
	require.InDelta(t, 300e-6, p50.Median, 1e-9)
	require.NotNil(t, p50.HalfWidthPct)
	require.InDelta(t, 1, *p50.HalfWidthPct, 1e-6, "six samples ±1 %: the interval is their range")
	require.NotNil(t, p50.Change)
	require.InDelta(t, 50, p50.Change.Pct, 1e-6)
	require.InDelta(t, -33.33, m["crr_trans_per_s"].Change.Pct, 0.01)
	require.Equal(t, "µs/conn", m["kernel_us_per_conn_crr"].Unit)
	require.InDelta(t, 120, m["kernel_us_per_conn_crr"].Median, 1e-6)
	require.NotNil(t, m["short_rps"].HalfWidthPct, "the saturating RPS's half-width sits beside them")
	require.Nil(t, j.Summary.Steps[0].Measures["crr_p99_s"].Change, "the baseline has no change")

	all := strings.Join(j.Summary.Findings, "\n")
	require.Contains(t, all, "kube-proxy-iptables: interval half-widths (in % of the median) at 10000 Services: "+
		"saturating keepalive req/s ±1.0 %, saturating short-connection req/s ±1.0 %; without saturation: fixed-rate short-connection p50 ±1.0 %")
	require.Contains(t, all, "kube-proxy-iptables: at 10000 Services, against the 0-Service baseline: fixed-rate short-connection p50 +50.0 % [95 % CI")
	require.Contains(t, all, "TCP_CRR trans/s -33.3 % [95 % CI")
	require.NotContains(t, all, "against the 0-Service baseline: saturating", "the RPS changes are stated on their own")

	b, err := json.Marshal(j.Summary.Steps[1])
	require.NoError(t, err)
	var raw map[string]any
	require.NoError(t, json.Unmarshal(b, &raw))
	k := raw["measures"].(map[string]any)["kernel_us_per_conn_short"].(map[string]any)
	for _, key := range []string{"unit", "samples", "median", "ci_lo", "ci_hi", "half_width_pct", "change_pct"} {
		require.Contains(t, k, key)
	}
}

// A measure without samples at a step (its every round failed, or netperf
// could not run) is absent, not a zero; with too few rounds its interval
// and half-width are null and no half-width finding is made up.
func TestJudgeMeasuresMissingOrUnbounded(t *testing.T) {
	base := Step{Keepalive: around(10000, 6), Short: around(4000, 6)}
	base.FixedRate.Add(1e-4, 2e-4, 3e-4)
	st := Step{Services: 1000, Keepalive: around(10000, 6), Short: around(4000, 6)}
	st.FixedRate.Add(1e-4, 2e-4, 3e-4)
	j, err := Judge(Input{Dataplane: "dp", Steps: []Step{base, st}})
	require.NoError(t, err)
	m := j.Summary.Steps[1].Measures
	require.NotContains(t, m, "crr_trans_per_s")
	require.NotContains(t, m, "kernel_us_per_conn_short")
	require.Contains(t, m, "fixed_short_p50_s")
	require.Nil(t, m["fixed_short_p50_s"].Lo)
	require.Nil(t, m["fixed_short_p50_s"].HalfWidthPct)
	all := strings.Join(j.Summary.Findings, "\n")
	require.NotContains(t, all, "interval half-widths")
	require.Contains(t, all, "dp: at 1000 Services, against the 0-Service baseline: fixed-rate short-connection p50 +0.0 % (no interval")

	base.KernelPerConnShort = []float64{0, 0}
	j, err = Judge(Input{Dataplane: "dp", Steps: []Step{base, {Services: 1000, Keepalive: around(10000, 6), Short: around(4000, 6), KernelPerConnShort: []float64{1, 1}}}})
	require.NoError(t, err)
	require.Empty(t, j.Problems, "a measure that is only reported fails nothing")
	require.Contains(t, strings.Join(j.Summary.Findings, "\n"),
		"dp: at 1000 Services: kernel CPU per connection, saturating short connections not compared with the baseline: baseline sample is not positive")
}

func TestPercentilesAdd(t *testing.T) {
	var p Percentiles
	p.Add(1, 2, 3)
	p.Add(4, 5, 6)
	require.Equal(t, Percentiles{P50: []float64{1, 4}, P90: []float64{2, 5}, P99: []float64{3, 6}}, p)
}
