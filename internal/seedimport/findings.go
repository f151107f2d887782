package seedimport

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"kube-netbench/internal/report"
)

// Finding is one thing the import shows about the seed's numbers.
type Finding struct {
	// Dimension is the suite's dimension, "" for the run as a whole.
	Dimension string
	// Subject is the benchmark name (without dataplane) or "run".
	Subject string
	// Flaws are the catalogued weaknesses it shows (W-BUG-*, W-STAT-*, ...).
	Flaws []string
	Text  string
}

// minRounds is the fewest samples with a 95 % interval of the median.
const minRounds = 6

func (im *Import) add(dim, subject string, flaws []string, format string, a ...any) {
	im.Findings = append(im.Findings, Finding{Dimension: dim, Subject: subject, Flaws: flaws, Text: fmt.Sprintf(format, a...)})
}

// findings sets the seed's summary against the imported results and names
// the flaws behind the differences.
func (im *Import) findings() {
	if im.Rounds < minRounds {
		im.add("", "run", []string{"W-STAT-1"}, "ROUNDS was %d: no metric has a 95 %% interval (it needs %d or more samples); the seed's summary gives bare means with no spread at all", im.Rounds, minRounds)
	}
	im.add("", "run", []string{"W-BUG-9"}, "context.yaml records no dataplane version or configuration, no tool images and no node pair; the kernel (%s) and OS are the first node's only; the tools' versions here are the ones their files report", orUnknown(im.Context.Values["kernel_version"]))
	switch im.Context.Values["cluster_type"] {
	case "kubeproxy-iptables":
		im.add("", "run", []string{"W-BUG-6"}, "cluster_type kubeproxy-iptables is also what the seed writes for kube-proxy in nftables mode, an unquoted or flag-set mode, or a missing value; the dataplane is taken as iptables unchecked")
	case "cilium-native":
		im.add("", "run", []string{"W-BUG-6"}, "cluster_type cilium-native is also what the seed writes when `cilium status` failed, and for Cilium without kube-proxy replacement beside kube-proxy; the routing mode is taken as native unchecked")
	case "cilium-overlay":
		im.add("", "run", []string{"W-BUG-6"}, "cluster_type cilium-overlay says only that `cilium status` mentioned a VXLAN or Geneve tunnel on one agent; kube-proxy replacement and the Cilium version are unrecorded")
	}
	if im.Summary == nil {
		im.add("", "run", nil, "no readable %s: nothing of the seed's own numbers to set ours against", SummaryFile)
	}
	for _, d := range im.Dims {
		for _, sr := range d.scenarios {
			subject := (report.Result{Name: sr.name, Keys: sr.keys}).BenchmarkName()
			for _, f := range sr.flaws {
				if !slices.ContainsFunc(im.Findings, func(x Finding) bool { return x.Text == f.text }) {
					im.add(d.Name, subject, []string{f.id}, "%s", f.text)
				}
			}
			if sr.kind == kindHTTP {
				for _, smp := range sr.samples {
					if smp.resolution >= time.Millisecond {
						im.add(d.Name, subject, []string{"W-BUG-3", "W-STAT-4"}, "fortio's histogram resolution was %s (its default; the seed passes no -r): percentiles below it are interpolated inside one bucket, which is how the seed's published \"0.99 ms\" p99 came about on every cluster", smp.resolution)
						break
					}
				}
			}
			if im.Summary != nil {
				for _, sv := range sr.seed {
					im.compare(d.Name, subject, sr, sv)
				}
				if sr.dim == report.DimServiceScale {
					im.degradation(subject, sr)
				}
			}
		}
	}
	if im.Summary != nil {
		im.overheads()
	}
}

// compare sets one number of the seed's summary against our metric.
func (im *Import) compare(dim, subject string, sr scenarioResult, sv seedValue) {
	raw, ok := lookup(im.Summary, sv.path)
	where := strings.Join(sv.path, ".")
	var m *report.Metric
	if sr.result != nil {
		for i := range sr.result.Metrics {
			if sr.result.Metrics[i].Unit == sv.unit {
				m = &sr.result.Metrics[i]
			}
		}
	}
	left := leftOut(sr.left)
	var flaws []string
	if hasStatus(sr.left, StatusRejected) && sr.kind != kindIperf && sr.kind != kindNetperf {
		flaws = append(flaws, "W-BUG-4")
	}
	switch {
	case !ok && m == nil:
		return
	case !ok:
		im.add(dim, subject+" "+sv.unit, []string{"W-OPS-8"}, "the seed's summary has no %s, so it reads as \"not applicable\"; its files give %s", where, ours(*m))
		return
	case m == nil:
		im.add(dim, subject+" "+sv.unit, flaws, "the seed's summary has %s = %s (%s), but none of its files is a sample here%s", where, format(sv.unit, raw*sv.scale), sv.how, left)
		return
	}
	seed := raw * sv.scale
	text := fmt.Sprintf("seed %s = %s (%s); ours %s", where, format(sv.unit, seed), sv.how, ours(*m))
	if mean := meanOf(m.Samples); seed != 0 && math.Abs(mean-seed)/math.Abs(seed) > 0.01 {
		text += fmt.Sprintf("; the seed's formula over the files imported here gives %s", format(sv.unit, mean))
	}
	if strings.HasSuffix(sv.unit, "-sec") && m.Summary.N > 1 {
		flaws = append(flaws, "W-STAT-2")
	}
	if !m.Summary.Bounded() {
		flaws = append(flaws, "W-STAT-1")
	}
	im.add(dim, subject+" "+sv.unit, flaws, "%s%s", text, left)
}

// degradation sets the seed's degradation at a ServiceScale step against
// the same ratio of our medians: the step's over the RPS phase's (the
// seed's baseline), which excludes the runs we reject.
func (im *Import) degradation(subject string, sr scenarioResult) {
	if sr.base == "service-scale/svc_1k_svc" {
		return // the older layout's summary has no per-step degradation
	}
	field, rps := "keepalive_degradation_pct", "RPS/target=svc/conn=keepalive/c=64"
	if sr.keys[1].Value == "short" {
		field, rps = "short_conn_degradation_pct", "RPS/target=svc/conn=short/c=64"
	}
	var step *report.Metric
	if sr.result != nil {
		step = &sr.result.Metrics[0]
	}
	im.change(report.DimServiceScale, subject+" degradation", []string{"service_scale", "steps[" + sr.keys[0].Value + "]", field},
		step, im.metric(report.DimRPS, rps, report.UnitReqPerSec), "the step's median over the RPS phase's (still across phases)")
}

// overheads sets the seed's Hubble and NetworkPolicy overheads against the
// same ratios of our medians.
func (im *Import) overheads() {
	req := func(dim, name string) *report.Metric { return im.metric(dim, name, report.UnitReqPerSec) }
	none := req(report.DimPolicy, "NetworkPolicy/kind=CiliumNetworkPolicy/policy=none/conn=keepalive/c=64")
	for _, c := range []struct {
		dim, subject string
		path         []string
		with, base   *report.Metric
	}{
		{report.DimHubble, "Hubble overhead", []string{"hubble", "overhead_pct"},
			req(report.DimHubble, "Hubble/hubble=on/conn=keepalive/c=64"), req(report.DimHubble, "Hubble/hubble=off/conn=keepalive/c=64")},
		{report.DimPolicy, "NetworkPolicy L3/L4 overhead", []string{"networkpolicy", "l3l4_overhead_pct"},
			req(report.DimPolicy, "NetworkPolicy/kind=CiliumNetworkPolicy/policy=l3l4/conn=keepalive/c=64"), none},
		{report.DimPolicy, "NetworkPolicy L7 overhead", []string{"networkpolicy", "l7_overhead_pct"},
			req(report.DimPolicy, "NetworkPolicy/kind=L7/policy=l7/conn=keepalive/c=64"), none},
	} {
		im.change(c.dim, c.subject, c.path, c.with, c.base, "with over without, medians")
	}
}

// change sets a relative change of the seed's summary (path) against
// (with - base) / base of our medians, when the summary has it.
func (im *Import) change(dim, subject string, path []string, with, base *report.Metric, ours string) {
	seed, ok := lookup(im.Summary, path)
	if !ok {
		return
	}
	text := fmt.Sprintf("seed %s = %+.1f %% (a ratio of means of n ≤ %d, no interval)", strings.Join(path, "."), seed, im.Rounds)
	if with != nil && base != nil && base.Summary.Center > 0 {
		text += fmt.Sprintf("; ours, %s: %+.1f %%, no interval", ours, (with.Summary.Center-base.Summary.Center)/base.Summary.Center*100)
	} else {
		text += "; ours: none, a side has no sample here"
	}
	im.add(dim, subject, []string{"W-STAT-3", "W-STAT-1"}, "%s", text)
}

// metric finds an imported metric by dimension, benchmark name without
// dataplane, and unit.
func (im *Import) metric(dim, name, unit string) *report.Metric {
	for _, d := range im.Dims {
		if d.Name != dim {
			continue
		}
		for _, sr := range d.scenarios {
			if sr.result == nil || (report.Result{Name: sr.name, Keys: sr.keys}).BenchmarkName() != name {
				continue
			}
			for i := range sr.result.Metrics {
				if sr.result.Metrics[i].Unit == unit {
					return &sr.result.Metrics[i]
				}
			}
		}
	}
	return nil
}

func ours(m report.Metric) string {
	s := m.Summary
	if !s.Bounded() {
		return fmt.Sprintf("median %s of n=%d, no interval", format(m.Unit, s.Center), s.N)
	}
	return fmt.Sprintf("median %s [%s, %s] (%.0f %% interval) of n=%d", format(m.Unit, s.Center), format(m.Unit, s.Lo), format(m.Unit, s.Hi), 100*s.Confidence, s.N)
}

func leftOut(files []File) string {
	if len(files) == 0 {
		return ""
	}
	var parts []string
	for _, f := range files {
		parts = append(parts, fmt.Sprintf("%s (%s: %s)", f.Path, f.Status, f.Reason))
	}
	return "; left out here: " + strings.Join(parts, "; ")
}

func hasStatus(files []File, status string) bool {
	for _, f := range files {
		if f.Status == status {
			return true
		}
	}
	return false
}

func meanOf(xs []float64) float64 {
	var sum float64
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

// format prints a value of unit in the unit people read it in.
func format(unit string, v float64) string {
	switch {
	case unit == report.UnitBitsPerSec:
		return fmt.Sprintf("%.2f Gbps", v/1e9)
	case strings.HasSuffix(unit, "-sec") && v < 1e-3:
		return fmt.Sprintf("%.0f µs", v*1e6)
	case strings.HasSuffix(unit, "-sec"):
		return fmt.Sprintf("%.2f ms", v*1e3)
	}
	return fmt.Sprintf("%.0f %s", v, unit)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// lookup finds a number in the seed's summary; "steps[N]" is the
// service_scale step with svc_count N.
func lookup(v any, p []string) (float64, bool) {
	for _, k := range p {
		if n, ok := strings.CutPrefix(k, "steps["); ok {
			steps, _ := asMap(v)["steps"].([]any)
			want, _ := strconv.Atoi(strings.TrimSuffix(n, "]"))
			v = nil
			for _, st := range steps {
				if c, ok := asMap(st)["svc_count"].(float64); ok && int(c) == want {
					v = st
				}
			}
			continue
		}
		v = asMap(v)[k]
	}
	f, ok := v.(float64)
	return f, ok
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}
