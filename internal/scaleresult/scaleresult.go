// Package scaleresult judges a ServiceScale run: from the samples measured at
// each scale step it computes every step's change against the baseline of the
// same run (W-STAT-3) with its confidence interval, checks the profile's
// bounds, and builds the JSON summary, a superset of the seed script's
// benchmark-summary.json service_scale section. It is pure: no cluster, no
// clock, no I/O.
package scaleresult

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"kube-netbench/internal/bpfmaps"
	"kube-netbench/internal/report"
	"kube-netbench/internal/stats"
)

// Step is what one scale step measured.
type Step struct {
	// Services is the number of dummy Services present (0 = baseline).
	Services int
	// Closing marks the 0-Service baseline measured again at the end, after
	// the dummy Services were deleted: its change against the first
	// baseline is the run's drift (W-STAT-3), not an effect of Services.
	Closing bool
	// CreateRate is the creation rate of the Services added for this step,
	// Services/s; 0 when none were added.
	CreateRate float64
	// Programming is how long the dataplane took until every node held
	// every ClusterIP; CanaryAnswer how long a Service created afterwards
	// took to answer.
	Programming, CanaryAnswer time.Duration
	// Position of the fortio Service among the ClusterIP entries, and the
	// number of entries, per node (W-STAT-10).
	Position, ClusterIPs map[string]int
	// Keepalive and Short are the req/s samples, one per round.
	Keepalive, Short []float64
	// DrainWaits is the wait for TIME_WAIT to drain before each short
	// round; TimeWait the count it ended at; Conntrack the conntrack entry
	// count on the client's node before each short round (-1: unreadable).
	DrainWaits []time.Duration
	TimeWait   []int
	Conntrack  []int
	// CPUBusyKeepalive and CPUBusyShort are the client node's busy CPU
	// share during each round (-1: unreadable), W-STAT-6.
	CPUBusyKeepalive, CPUBusyShort []float64
	// FixedRate are the per-round percentiles of the fixed-rate
	// short-connection run (Input.FixedQPS, a new connection per request;
	// fortio's latency includes the connect), seconds.
	FixedRate Percentiles
	// CRR is netperf TCP_CRR's transactions/s through the Service per
	// round, CRRLatency its percentiles (connect, request, response and
	// close), seconds.
	CRR        []float64
	CRRLatency Percentiles
	// CRRDrainWaits is the wait for netserver's TIME_WAIT to drain before
	// each TCP_CRR run.
	CRRDrainWaits []time.Duration
	// KernelPerConnShort and KernelPerConnCRR are the kernel CPU (system,
	// irq, softirq) per new connection in µs, per round, of the saturating
	// short-connection run and of the TCP_CRR run: read from the client
	// node's /proc/stat, which on the lab is the whole machine (client,
	// server and dataplane), W-STAT-6.
	KernelPerConnShort, KernelPerConnCRR []float64
	// Failed counts tool runs that were not samples (non-200 codes,
	// socket errors, a rate not held, exec failures), W-BUG-4.
	Failed int
	// BPFMaps are the Cilium agent's BPF maps on each node after the step
	// was programmed (nil without Cilium), W-BUG-8.
	BPFMaps map[string][]bpfmaps.Map
}

// Creation is the creation rate of our method and of the seed script's,
// measured back to back on the same apiserver for the same count.
type Creation struct {
	Services int
	Ours     float64
	Seed     float64
}

// Input is a run to judge.
type Input struct {
	Dataplane       string
	EndpointsPerSvc int
	// Steps in the order measured; the first must be the 0-Service
	// baseline.
	Steps []Step
	// Keepalive and Short bound each step's change in percent; nil
	// reports without judging.
	Keepalive, Short *stats.Bound
	// SideBySide is nil when the comparison was not measured.
	SideBySide *Creation
	// Confidence of the intervals; 0 means stats.DefaultConfidence.
	Confidence float64
	// FixedQPS is the rate of the fixed-rate short-connection run
	// (SVC_SCALE_QPS); 0 when it did not run.
	FixedQPS float64
	// Saturation is the client node's busy CPU share at and above which a
	// round is reported as possibly limited by the load generator; 0
	// disables the check.
	Saturation float64
}

// ErrNoBaseline is returned when the first step is not at 0 Services.
var ErrNoBaseline = errors.New("no baseline at 0 dummy Services was measured")

// Summary is the service_scale section of the JSON summary.
type Summary struct {
	Dataplane             string  `json:"dataplane"`
	EndpointsPerSvc       int     `json:"endpoints_per_svc"`
	KeepaliveBaselineQPS  float64 `json:"keepalive_baseline_qps"`
	ShortConnBaselineQPS  float64 `json:"short_conn_baseline_qps"`
	CreationRateSvcPerSec float64 `json:"creation_rate_svc_per_s"`
	// SeedMethodCreationRate is the seed script's method (500-object
	// files, kubectl apply 4 at a time, Services + v1 Endpoints) on the
	// same apiserver, measured back to back with ours for the same count;
	// null when not measured.
	SeedMethodCreationRate *float64 `json:"seed_method_creation_rate_svc_per_s"`
	SideBySideRate         *float64 `json:"side_by_side_creation_rate_svc_per_s"`
	SideBySideServices     int      `json:"side_by_side_services,omitempty"`
	// ClientSysctls are the client pod's settings that shape short
	// connections (ip_local_port_range, tcp_tw_reuse), lab-recipe §5.
	ClientSysctls map[string]string `json:"client_sysctls,omitempty"`
	// FixedRateQPS is the rate of the fixed-rate short-connection run.
	FixedRateQPS float64    `json:"fixed_rate_qps,omitempty"`
	Steps        []StepJSON `json:"steps"`
	// Findings state each measured change with its interval, in words.
	Findings []string `json:"findings"`
	// Verdicts are the profile's bounds checked at each step.
	Verdicts []VerdictJSON `json:"verdicts"`
}

// StepJSON is one step of the summary.
type StepJSON struct {
	SvcCount                int            `json:"svc_count"`
	ClosingBaseline         bool           `json:"closing_baseline,omitempty"`
	KeepaliveQPS            float64        `json:"keepalive_qps"`
	KeepaliveDegradationPct *report.Change `json:"keepalive_degradation_pct,omitempty"`
	ShortConnQPS            float64        `json:"short_conn_qps"`
	ShortConnDegradationPct *report.Change `json:"short_conn_degradation_pct,omitempty"`
	KeepaliveSamples        []float64      `json:"keepalive_samples"`
	ShortConnSamples        []float64      `json:"short_conn_samples"`
	FailedSamples           int            `json:"failed_samples"`
	ProgrammingSeconds      float64        `json:"programming_s"`
	CanaryAnswerSeconds     float64        `json:"canary_answer_s"`
	FortioServicePosition   map[string]int `json:"fortio_service_position"`
	ClusterIPEntries        map[string]int `json:"clusterip_entries"`
	DrainWaitSeconds        []float64      `json:"drain_wait_s"`
	CRRDrainWaitSeconds     []float64      `json:"crr_drain_wait_s"`
	TimeWaitBeforeShort     []int          `json:"time_wait_before_short"`
	ConntrackEntries        []int          `json:"conntrack_entries_before_short"`
	CreationRateSvcPerSec   float64        `json:"creation_rate_svc_per_s,omitempty"`
	CPUBusyKeepalive        []float64      `json:"client_node_cpu_busy_keepalive"`
	CPUBusyShort            []float64      `json:"client_node_cpu_busy_short"`
	// BPFMaps is each node's Cilium BPF maps (absent without Cilium).
	BPFMaps map[string]BPFMapsJSON `json:"bpf_maps,omitempty"`
	// Measures are every measure of Measures the step has samples of,
	// by key: the saturating RPS and the measures that need no saturated
	// machine, each with its interval's half-width, side by side.
	Measures map[string]MeasureJSON `json:"measures"`
}

// VerdictJSON is one checked bound.
type VerdictJSON struct {
	Metric  string        `json:"metric"`
	Outcome stats.Outcome `json:"outcome"`
	Message string        `json:"message"`
}

// Judgement is the outcome of Judge.
type Judgement struct {
	Summary Summary
	// Verdicts in step order; a Fail is a violated threshold, to be
	// reported as a test failure after everything was written.
	Verdicts []stats.Verdict
	// Problems are measurements that could not be compared (for example a
	// step without any successful sample); each is a test failure.
	Problems []string
}

// Judge compares every step with the baseline and checks the bounds.
func Judge(in Input) (Judgement, error) {
	if len(in.Steps) == 0 || in.Steps[0].Services != 0 {
		return Judgement{}, ErrNoBaseline
	}
	conf := in.Confidence
	if conf == 0 {
		conf = stats.DefaultConfidence
	}
	base := in.Steps[0]
	j := Judgement{Summary: Summary{Dataplane: in.Dataplane, EndpointsPerSvc: in.EndpointsPerSvc,
		KeepaliveBaselineQPS: center(base.Keepalive, conf), ShortConnBaselineQPS: center(base.Short, conf),
		FixedRateQPS: in.FixedQPS, Findings: []string{}, Verdicts: []VerdictJSON{}}}
	sum := &j.Summary
	for _, st := range in.Steps {
		js := stepJSON(st, conf)
		// Reported, not judged: the profile has no bounds for them.
		ms, cs, notes := measuresJSON(base, st, conf)
		js.Measures = ms
		for _, n := range notes {
			sum.Findings = append(sum.Findings, in.Dataplane+": "+n)
		}
		if f := tightness(in.Dataplane, st, ms); f != "" {
			sum.Findings = append(sum.Findings, f)
		}
		if f := changes(in.Dataplane, st, cs); f != "" {
			sum.Findings = append(sum.Findings, f)
		}
		if st.CreateRate > sum.CreationRateSvcPerSec {
			sum.CreationRateSvcPerSec = st.CreateRate
		}
		if st.Services > 0 || st.Closing {
			for _, m := range []struct {
				name      string
				base, got []float64
				bound     *stats.Bound
				out       **report.Change
			}{
				{"keepalive", base.Keepalive, st.Keepalive, in.Keepalive, &js.KeepaliveDegradationPct},
				{"short-connection", base.Short, st.Short, in.Short, &js.ShortConnDegradationPct},
			} {
				c, err := stats.Change(m.base, m.got, conf)
				if err != nil {
					j.Problems = append(j.Problems, fmt.Sprintf("%d Services: %s change: %v", st.Services, m.name, err))
					continue
				}
				*m.out = report.NewChange(c)
				if st.Closing {
					sum.Findings = append(sum.Findings, fmt.Sprintf("%s: drift: %s req/s of the 0-Service baseline measured again at the end against the first: %s",
						in.Dataplane, m.name, Describe(c)))
					continue
				}
				sum.Findings = append(sum.Findings, fmt.Sprintf("%s: %s req/s at %d Services: %s",
					in.Dataplane, m.name, st.Services, Describe(c)))
				if m.bound == nil {
					continue
				}
				b := *m.bound
				b.Metric = fmt.Sprintf("%s degradation at %d Services", m.name, st.Services)
				v := b.Check(c)
				j.Verdicts = append(j.Verdicts, v)
				sum.Verdicts = append(sum.Verdicts, VerdictJSON{Metric: b.Metric, Outcome: v.Outcome, Message: v.Message})
			}
		}
		if in.Saturation > 0 {
			if n, of := saturated(st, in.Saturation); n > 0 {
				where := fmt.Sprintf("at %d Services", st.Services)
				if st.Closing {
					where = "at the closing baseline"
				}
				sum.Findings = append(sum.Findings, fmt.Sprintf("%s: %s the client's node was at least %.0f %% busy in %d of %d rounds: the load generator may be the bottleneck (W-STAT-6)",
					in.Dataplane, where, in.Saturation*100, n, of))
			}
		}
		sum.Steps = append(sum.Steps, js)
	}
	if top, ok := largest(in.Steps); ok {
		sum.Findings = append(sum.Findings, bpfGrowth(in.Dataplane, base, top)...)
	}
	if c := in.SideBySide; c != nil {
		ours, seed := c.Ours, c.Seed
		sum.SideBySideRate, sum.SeedMethodCreationRate, sum.SideBySideServices = &ours, &seed, c.Services
	}
	return j, nil
}

func stepJSON(st Step, conf float64) StepJSON {
	js := StepJSON{SvcCount: st.Services, ClosingBaseline: st.Closing, KeepaliveQPS: center(st.Keepalive, conf), ShortConnQPS: center(st.Short, conf),
		KeepaliveSamples: nonNil(st.Keepalive), ShortConnSamples: nonNil(st.Short), FailedSamples: st.Failed,
		ProgrammingSeconds: st.Programming.Seconds(), CanaryAnswerSeconds: st.CanaryAnswer.Seconds(),
		FortioServicePosition: st.Position, ClusterIPEntries: st.ClusterIPs, CreationRateSvcPerSec: st.CreateRate,
		TimeWaitBeforeShort: st.TimeWait, ConntrackEntries: st.Conntrack,
		CPUBusyKeepalive: nonNil(st.CPUBusyKeepalive), CPUBusyShort: nonNil(st.CPUBusyShort)}
	js.DrainWaitSeconds, js.CRRDrainWaitSeconds = secondsOf(st.DrainWaits), secondsOf(st.CRRDrainWaits)
	if st.BPFMaps != nil {
		js.BPFMaps = map[string]BPFMapsJSON{}
		for node, maps := range st.BPFMaps {
			js.BPFMaps[node] = BPFMapsJSON{TotalBytes: bpfmaps.Total(maps), Maps: maps}
		}
	}
	return js
}

// BPFMapsJSON is one node's Cilium BPF maps at a step.
type BPFMapsJSON struct {
	// TotalBytes is the sum of the maps' bytes_memlock.
	TotalBytes int64         `json:"total_bytes"`
	Maps       []bpfmaps.Map `json:"maps"`
}

// bpfGrowth states how each node's Cilium BPF map memory and its Service
// maps' entries changed from the baseline to the largest step.
func bpfGrowth(dataplane string, base, top Step) []string {
	var out []string
	for _, node := range sortedKeys(top.BPFMaps) {
		b, ok := base.BPFMaps[node]
		if !ok {
			continue
		}
		tm := top.BPFMaps[node]
		bt, tt := bpfmaps.Total(b), bpfmaps.Total(tm)
		f := fmt.Sprintf("%s: node %s: Cilium's %d BPF maps hold %.1f MiB at 0 Services and %.1f MiB at %d Services (%+.1f MiB)",
			dataplane, node, len(tm), mib(bt), mib(tt), top.Services, mib(tt-bt))
		var grew []string
		for _, m := range tm {
			for _, bm := range b {
				if bm.Name == m.Name && (m.Bytes != bm.Bytes || (m.Entries >= 0 && m.Entries != bm.Entries)) {
					g := fmt.Sprintf("%s %+.2f MiB", m.Name, mib(m.Bytes-bm.Bytes))
					if m.Entries >= 0 && bm.Entries >= 0 {
						g += fmt.Sprintf(", %d -> %d of %d entries", bm.Entries, m.Entries, m.MaxEntries)
					}
					grew = append(grew, g)
				}
			}
		}
		if len(grew) > 0 {
			f += "; changed: " + strings.Join(grew, "; ")
		} else {
			f += "; no map changed"
		}
		out = append(out, f+" (W-BUG-8)")
	}
	return out
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// largest is the step with the most Services (not the closing baseline).
func largest(steps []Step) (Step, bool) {
	var top Step
	found := false
	for _, st := range steps {
		if !st.Closing && st.Services > 0 && (!found || st.Services > top.Services) {
			top, found = st, true
		}
	}
	return top, found
}

// saturated counts the rounds of a step whose client node was at least
// threshold busy, out of the rounds whose CPU was read.
func saturated(st Step, threshold float64) (n, of int) {
	for _, v := range append(append([]float64(nil), st.CPUBusyKeepalive...), st.CPUBusyShort...) {
		if v < 0 {
			continue
		}
		of++
		if v >= threshold {
			n++
		}
	}
	return n, of
}

// Describe reads "-16.3 % [95 % CI -20.1, -12.0]", or says why there is no
// interval.
func Describe(c stats.Comparison) string {
	if !c.Bounded() {
		return fmt.Sprintf("%+.1f %% (no interval: %v)", c.Center, c.Warnings)
	}
	return fmt.Sprintf("%+.1f %% [%.0f %% CI %+.1f, %+.1f]", c.Center, c.Confidence*100, c.Lo, c.Hi)
}

// center is the median of the samples, 0 when there are none (the summary
// then also shows the empty sample list and the failed count).
func center(v []float64, conf float64) float64 {
	sm, err := stats.Summarize(v, conf)
	if err != nil {
		return 0
	}
	return sm.Center
}

// secondsOf is every duration in seconds, [] for none.
func secondsOf(d []time.Duration) []float64 {
	out := []float64{}
	for _, x := range d {
		out = append(out, x.Seconds())
	}
	return out
}

func nonNil(v []float64) []float64 {
	if v == nil {
		return []float64{}
	}
	return v
}
