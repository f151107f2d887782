// Package seedview computes the seed script's benchmark-summary.json (spec
// §11) as a view of one run's results: the seed's keys, filled from the
// suite's results model, so that what read the seed's file reads ours.
//
// Numbers follow the suite's statistics, not the seed's (W-STAT-1, W-STAT-2):
// where the seed wrote a per-round list ("gbps", "qps") it holds our
// per-round samples; where it wrote a mean ("avg", "avg_qps", every scalar
// taken from rounds) it holds our median across rounds, never a mean. Next
// to each such number are extra keys the seed did not have: "ci95" (the
// median's interval, null below 6 rounds) and "n" (the rounds), or for a
// scalar key K, K_samples, K_ci95 and K_n. Percentages are the seed's
// (treatment - baseline) / baseline * 100, computed from the medians.
//
// A key whose data the run does not have is left out, never written as 0,
// and the notes say which and why (W-OPS-8). The package is pure: it reads a
// results.Loaded and writes JSON.
package seedview

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"kube-netbench/internal/report"
	"kube-netbench/internal/results"
	"kube-netbench/internal/stats"
)

// Schema names this view's layout in its "kube_netbench" key; the seed's
// own keys carry no version.
const Schema = "kube-netbench/seedview/v1"

// FileName is the view's name in a run's directory, the seed's.
const FileName = "benchmark-summary.json"

// definitions explain the extra keys to a reader of the file.
var definitions = map[string]any{
	"avg":       "avg, avg_qps and every scalar taken from rounds are the median of the per-round samples, never a mean (W-STAT-1, W-STAT-2), and not rounded (the seed rounded Gbps to 0.01, req/s and µs to integers, percentages to 0.1)",
	"ci95":      "[lo, hi]: the distribution-free confidence interval of that median at a level >= 95 % (golang.org/x/perf/benchmath); null with fewer than 6 rounds",
	"n":         "the number of rounds (samples) behind the median",
	"K_samples": "the per-round samples behind scalar key K, in round order; K_ci95 and K_n as ci95 and n",
	"pct":       "*_pct keys are (treatment - baseline) / baseline * 100 of the medians, the seed's sign: negative means fewer req/s; *_pct_ci95 is the bootstrap interval of that change, null with fewer than 6 rounds a side",
}

// Summary returns the seed's benchmark-summary.json as a view of l, and
// notes: every seed key left out with the reason, and every key whose
// meaning differs from the seed's. The notes are also in the document,
// under "kube_netbench".
func Summary(l results.Loaded) (map[string]any, []string) {
	v := &view{l: l}
	doc := map[string]any{}
	doc["cluster"] = v.cluster()
	for _, s := range []struct {
		key, dim string
		build    func() map[string]any
	}{
		{"throughput", report.DimThroughput, v.throughput},
		{"rps", report.DimRPS, v.rps},
		{"latency", report.DimLatency, v.latency},
		{"service_scale", report.DimServiceScale, v.serviceScale},
		{"resources", report.DimResources, v.resources},
		{"hubble", report.DimHubble, v.hubble},
		{"networkpolicy", report.DimPolicy, v.networkPolicy},
	} {
		if _, why := v.dimRun(s.dim); why != "" {
			v.leftOut(s.key, why)
			continue
		}
		if d := v.dimension(s.dim); d.Status != report.StatusPassed {
			v.note("%s: dimension %s %s: %s", s.key, d.Name, d.Status, d.Message)
		}
		if m := s.build(); len(m) > 0 {
			doc[s.key] = m
		}
	}
	notes := append([]string{}, v.notes...)
	doc["kube_netbench"] = map[string]any{
		"schema":      Schema,
		"run_id":      l.Manifest.ID,
		"definitions": definitions,
		"notes":       notes,
	}
	return doc, notes
}

// Write writes Summary(l) as indented JSON with sorted keys: the same run
// always gives the same bytes.
func Write(w io.Writer, l results.Loaded) error {
	doc, _ := Summary(l)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("seedview: %w", err)
	}
	return nil
}

// view builds the document and collects its notes.
type view struct {
	l     results.Loaded
	notes []string
}

func (v *view) note(format string, a ...any) { v.notes = append(v.notes, fmt.Sprintf(format, a...)) }

// leftOut notes a seed key left out and why.
func (v *view) leftOut(key, why string) { v.note("%s: left out: %s", key, why) }

// want names a result: its dimension, benchmark name and the key=value
// pairs (besides dataplane) it must have.
type want struct {
	dim, name string
	kv        []string
}

func (w want) String() string {
	s := w.name
	for i := 0; i+1 < len(w.kv); i += 2 {
		s += "/" + w.kv[i] + "=" + w.kv[i+1]
	}
	return s
}

// dimension is the manifest's entry for a dimension with results.
func (v *view) dimension(dim string) report.Dimension {
	for _, r := range v.l.Runs {
		if r.Dimension.Name == dim {
			return r.Dimension
		}
	}
	return report.Dimension{Name: dim}
}

// dimRun returns the dimension's results, or why there are none.
func (v *view) dimRun(dim string) (report.Run, string) {
	for _, r := range v.l.Runs {
		if r.Dimension.Name == dim {
			return r.Run, ""
		}
	}
	for _, d := range v.l.Manifest.Dimensions {
		if d.Name == dim {
			why := fmt.Sprintf("dimension %s %s without results", dim, d.Status)
			if d.Message != "" {
				why += ": " + d.Message
			}
			return report.Run{}, why
		}
	}
	return report.Run{}, fmt.Sprintf("the run has no %s dimension", dim)
}

// results returns the dimension's results named w.name that have every
// key=value of w, or why there are none.
func (v *view) results(w want) ([]report.Result, string) {
	run, why := v.dimRun(w.dim)
	if why != "" {
		return nil, why
	}
	var out []report.Result
	for _, r := range run.Results {
		if r.Name == w.name && hasKeys(r, w.kv) {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Sprintf("dimension %s has no result %s", w.dim, w)
	}
	return out, ""
}

// metric returns the one metric with unit of the one result w names.
func (v *view) metric(w want, unit string) (report.Metric, string) {
	rs, why := v.results(w)
	if why != "" {
		return report.Metric{}, why
	}
	if len(rs) > 1 {
		return report.Metric{}, fmt.Sprintf("dimension %s has %d results matching %s, not one", w.dim, len(rs), w)
	}
	for _, m := range rs[0].Metrics {
		if m.Unit == unit {
			return m, ""
		}
	}
	return report.Metric{}, fmt.Sprintf("result %s has no %s metric", rs[0].BenchmarkName(), unit)
}

func hasKeys(r report.Result, kv []string) bool {
	for i := 0; i+1 < len(kv); i += 2 {
		if key(r, kv[i]) != kv[i+1] {
			return false
		}
	}
	return true
}

// key is the value of a result's key, "" when it has none.
func key(r report.Result, k string) string {
	for _, x := range r.Keys {
		if x.Key == k {
			return x.Value
		}
	}
	return ""
}

// spread is a median with its samples and interval, in the view's unit.
type spread struct {
	samples        []float64
	center, lo, hi float64
	bounded        bool
	n              int
}

// fromMetric converts m's samples and summary by scale (e.g. 1e-9 for
// bits/s to Gbps).
func fromMetric(m report.Metric, scale float64) spread {
	s := spread{center: conv(m.Summary.Center, scale), n: m.Summary.N, bounded: m.Summary.Bounded()}
	if s.bounded {
		s.lo, s.hi = conv(m.Summary.Lo, scale), conv(m.Summary.Hi, scale)
	}
	for _, x := range m.Samples {
		s.samples = append(s.samples, conv(x, scale))
	}
	return s
}

// pooled summarizes samples from several results (already in the view's
// unit) the way the suite summarizes one.
func pooled(samples []float64) (spread, error) {
	sm, err := stats.Summarize(samples, stats.DefaultConfidence)
	if err != nil {
		return spread{}, err
	}
	s := spread{samples: samples, center: sm.Center, n: sm.N, bounded: sm.Bounded()}
	if s.bounded {
		s.lo, s.hi = sm.Lo, sm.Hi
	}
	return s, nil
}

// ci is the JSON of an interval: [lo, hi], or null when unbounded.
func ci(bounded bool, lo, hi float64) any {
	if !bounded {
		return nil
	}
	return []float64{lo, hi}
}

// put writes s as scalar key k with k_samples, k_ci95 and k_n.
func (s spread) put(m map[string]any, k string) {
	m[k] = s.center
	m[k+"_samples"] = s.samples
	m[k+"_ci95"] = ci(s.bounded, s.lo, s.hi)
	m[k+"_n"] = s.n
}

// scalar puts the median of w's metric as scalar key k of m, or notes
// where (the key's full path) as left out.
func (v *view) scalar(m map[string]any, where, k string, w want, unit string, scale float64) (report.Metric, bool) {
	met, why := v.metric(w, unit)
	if why != "" {
		v.leftOut(where, why)
		return met, false
	}
	fromMetric(met, scale).put(m, k)
	return met, true
}

// change puts the relative change of treatment against baseline, the
// seed's (t - b) / b * 100 of the medians, as key k with k_ci95.
func (v *view) change(m map[string]any, where, k string, baseline, treatment report.Metric) {
	c, err := stats.Change(baseline.Samples, treatment.Samples, stats.DefaultConfidence)
	if err != nil {
		v.leftOut(where, err.Error())
		return
	}
	m[k] = c.Center
	m[k+"_ci95"] = ci(c.Bounded(), c.Lo, c.Hi)
}

// conv scales x and drops the binary noise the scaling adds
// (4.1e-05 s * 1e6 is 41.00000000000001 µs): 12 significant digits are
// far beyond any measurement here.
func conv(x, scale float64) float64 {
	if scale == 1 {
		return x
	}
	y, err := strconv.ParseFloat(strconv.FormatFloat(x*scale, 'g', 12, 64), 64)
	if err != nil {
		return x * scale
	}
	return y
}

// cluster is the seed's context.yaml keys from the run's fingerprint.
func (v *view) cluster() map[string]any {
	m := v.l.Manifest
	fp := m.Fingerprint
	c := map[string]any{"run_id": m.ID}
	set := func(k, val, why string) {
		if val == "" {
			v.leftOut("cluster."+k, why)
			return
		}
		c[k] = val
	}
	typ := fp.Dataplane
	if mode, ok := strings.CutPrefix(typ, "kube-proxy-"); ok {
		typ = "kubeproxy-" + mode // the seed's spelling
	}
	set("cluster_type", typ, "the run's fingerprint names no dataplane")
	if fp.Dataplane != "" {
		c["dataplane"] = fp.Dataplane
	}
	date := ""
	if !m.Started.IsZero() {
		date = m.Started.UTC().Format(time.RFC3339)
	}
	set("test_date", date, "the manifest has no start time")
	set("k8s_version", fp.KubernetesVersion, "the run's fingerprint has no Kubernetes version")
	set("kernel_version", fp.Kernel, "the nodes' kernels differ or are unknown (see the fingerprint's nodes)")
	set("node_model", nodeModel(fp.Nodes), "the nodes' instance types differ or are unknown")
	for k, val := range map[string]string{"dataplane_version": fp.DataplaneVersion, "kube_proxy_mode": fp.KubeProxyMode, "rounds": fp.Config["ROUNDS"]} {
		if val != "" {
			c[k] = val
		}
	}
	var nodes []string
	for _, n := range fp.Nodes {
		nodes = append(nodes, n.Name)
	}
	if nodes != nil {
		c["nodes"] = nodes
	}
	v.leftOut("cluster.cluster_name", "the run records no cluster name")
	v.leftOut("cluster.node_os", "the run records no node OS")
	v.leftOut("cluster.node_count", "the run records the nodes it used (cluster.nodes), not the cluster's node count")
	return c
}

// nodeModel is the nodes' instance type when they all have the same one.
func nodeModel(nodes []report.Node) string {
	model := ""
	for i, n := range nodes {
		if n.InstanceType == "" || (i > 0 && n.InstanceType != model) {
			return ""
		}
		model = n.InstanceType
	}
	return model
}
