package scaleresult

import (
	"fmt"
	"math"
	"strings"

	"kube-netbench/internal/report"
	"kube-netbench/internal/stats"
)

// Percentiles are one latency distribution's percentiles, in seconds, one
// value per round: summarized across rounds, never averaged (W-STAT-2).
type Percentiles struct {
	P50, P90, P99 []float64
}

// Add appends one round's percentiles.
func (p *Percentiles) Add(p50, p90, p99 float64) {
	p.P50, p.P90, p.P99 = append(p.P50, p50), append(p.P90, p90), append(p.P99, p99)
}

// Measure is one per-step measure of ServiceScale: its key in the summary
// (StepJSON.Measures), its unit, and where a Step holds its samples.
type Measure struct {
	Key, Unit, What string
	// HigherIsBetter: req/s and trans/s; latencies and CPU per connection
	// are better lower.
	HigherIsBetter bool
	samples        func(Step) []float64
}

// Samples are the measure's per-round samples at a step.
func (m Measure) Samples(st Step) []float64 { return m.samples(st) }

// Measures are every per-step measure, the saturating RPS first: the ones
// after it do not need a saturated machine (issue 14) — connection-setup
// latency at a fixed rate well below saturation (fortio short connections
// at SVC_SCALE_QPS, netperf TCP_CRR through the Service) and the kernel CPU
// each new connection costs.
var Measures = []Measure{
	{"keepalive_rps", "req/s", "saturating keepalive req/s", true, func(s Step) []float64 { return s.Keepalive }},
	{"short_rps", "req/s", "saturating short-connection req/s", true, func(s Step) []float64 { return s.Short }},
	{"fixed_short_p50_s", "s", "fixed-rate short-connection p50", false, func(s Step) []float64 { return s.FixedRate.P50 }},
	{"fixed_short_p90_s", "s", "fixed-rate short-connection p90", false, func(s Step) []float64 { return s.FixedRate.P90 }},
	{"fixed_short_p99_s", "s", "fixed-rate short-connection p99", false, func(s Step) []float64 { return s.FixedRate.P99 }},
	{"crr_trans_per_s", "trans/s", "TCP_CRR trans/s", true, func(s Step) []float64 { return s.CRR }},
	{"crr_p50_s", "s", "TCP_CRR p50", false, func(s Step) []float64 { return s.CRRLatency.P50 }},
	{"crr_p90_s", "s", "TCP_CRR p90", false, func(s Step) []float64 { return s.CRRLatency.P90 }},
	{"crr_p99_s", "s", "TCP_CRR p99", false, func(s Step) []float64 { return s.CRRLatency.P99 }},
	{"kernel_us_per_conn_short", "µs/conn", "kernel CPU per connection, saturating short connections", false, func(s Step) []float64 { return s.KernelPerConnShort }},
	{"kernel_us_per_conn_crr", "µs/conn", "kernel CPU per connection, TCP_CRR", false, func(s Step) []float64 { return s.KernelPerConnCRR }},
}

// MeasureJSON is one measure at one step: every sample, the median with
// its interval, how tight that interval is, and the change against the
// run's 0-Service baseline.
type MeasureJSON struct {
	Unit    string    `json:"unit"`
	Samples []float64 `json:"samples"`
	Median  float64   `json:"median"`
	// Lo and Hi bound the median's interval; null without one (fewer than
	// 6 rounds).
	Lo *float64 `json:"ci_lo"`
	Hi *float64 `json:"ci_hi"`
	// HalfWidthPct is half the interval in percent of the median: what
	// tells a measure that separates dataplanes from one whose interval
	// swallows the difference. Null without an interval.
	HalfWidthPct *float64 `json:"half_width_pct"`
	// Change is the median's change against the baseline's, in percent
	// (absent at the baseline, or when either side has no sample).
	Change *report.Change `json:"change_pct,omitempty"`
}

// measuresJSON summarizes every measure a step has samples of, with each
// one's change against the baseline (a zero Comparison where there is
// none); notes name what could not be summarized or compared.
func measuresJSON(base, st Step, conf float64) (map[string]MeasureJSON, []stats.Comparison, []string) {
	out := map[string]MeasureJSON{}
	cs := make([]stats.Comparison, len(Measures))
	var notes []string
	for i, m := range Measures {
		got := m.Samples(st)
		if len(got) == 0 {
			continue
		}
		sm, err := stats.Summarize(got, conf)
		if err != nil {
			notes = append(notes, fmt.Sprintf("%s: %s not summarized: %v", stepName(st), m.What, err))
			continue
		}
		mj := MeasureJSON{Unit: m.Unit, Samples: got, Median: sm.Center, Lo: finite(sm.Lo), Hi: finite(sm.Hi)}
		if hw, ok := sm.HalfWidthPct(); ok {
			mj.HalfWidthPct = &hw
		}
		if b := m.Samples(base); (st.Services > 0 || st.Closing) && len(b) > 0 {
			c, err := stats.Change(b, got, conf)
			if err != nil {
				notes = append(notes, fmt.Sprintf("%s: %s not compared with the baseline: %v", stepName(st), m.What, err))
			} else {
				mj.Change = report.NewChange(c)
				cs[i] = c
			}
		}
		out[m.Key] = mj
	}
	return out, cs, notes
}

// stepName is "at 5000 Services" or "at the closing baseline".
func stepName(st Step) string {
	if st.Closing {
		return "at the closing baseline"
	}
	return fmt.Sprintf("at %d Services", st.Services)
}

// tightness says, for a step, each measure's interval half-width next to
// the saturating RPS's: "... at 5000 Services: saturating keepalive req/s
// ±15.2 %, saturating short-connection req/s ±21.0 %; without saturation:
// fixed-rate short-connection p50 ±3.1 %, ...". Measures without an
// interval are left out; "" when none of the new measures has one.
func tightness(dataplane string, st Step, ms map[string]MeasureJSON) string {
	var rps, others []string
	for _, m := range Measures {
		mj, ok := ms[m.Key]
		if !ok || mj.HalfWidthPct == nil {
			continue
		}
		s := fmt.Sprintf("%s ±%.1f %%", m.What, *mj.HalfWidthPct)
		if m.Unit == "req/s" {
			rps = append(rps, s)
		} else {
			others = append(others, s)
		}
	}
	if len(others) == 0 {
		return ""
	}
	return fmt.Sprintf("%s: interval half-widths (in %% of the median) %s: %s; without saturation: %s",
		dataplane, stepName(st), orNone(rps), strings.Join(others, ", "))
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "saturating req/s: no interval"
	}
	return strings.Join(s, ", ")
}

// changes states each measure's change against the baseline at a step,
// the saturating RPS left out (Judge states those on their own).
func changes(dataplane string, st Step, cs []stats.Comparison) string {
	var out []string
	for i, m := range Measures {
		if m.Unit == "req/s" || cs[i].Method == "" {
			continue
		}
		out = append(out, m.What+" "+Describe(cs[i]))
	}
	if len(out) == 0 {
		return ""
	}
	what := "against the 0-Service baseline"
	if st.Closing {
		what = "drift against the first baseline"
	}
	return fmt.Sprintf("%s: %s, %s: %s", dataplane, stepName(st), what, strings.Join(out, "; "))
}

// finite is x, or nil for an unbounded side of an interval.
func finite(x float64) *float64 {
	if math.IsInf(x, 0) {
		return nil
	}
	return &x
}
