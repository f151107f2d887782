// Package gate is the regression gate: it compares a candidate run with a
// baseline run, metric by metric, and decides whether the candidate
// regressed. Every metric present in both runs gets the relative change of
// its median with a confidence interval (stats.Change, the bootstrap over
// x/perf/benchmath summaries the suite uses everywhere) and a verdict
// against the profile's tolerance for it, direction-aware through the
// metric's better=higher|lower. A regression needs the whole interval beyond
// the tolerance on the worse side; too few samples give no interval and so
// no verdict, never a guess.
//
// Two runs are incomparable when they share no metric, or when their
// fingerprints differ in what must not differ between a baseline and a
// candidate (nodes, kernel, load tools, load configuration); the dataplane's
// and Kubernetes' versions may differ, which is what an upgrade gate
// compares.
//
// The package reads results files (Load) and renders compare.md and JUnit;
// it runs nothing and talks to no cluster.
package gate

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"kube-netbench/internal/config"
	"kube-netbench/internal/report"
	"kube-netbench/internal/stats"
)

// Outcome is a metric's verdict.
type Outcome string

// Outcomes.
const (
	// Regression: the whole interval of the change lies beyond the
	// tolerance on the metric's worse side.
	Regression Outcome = "regression"
	// Improvement: the whole interval lies beyond it on the better side.
	Improvement Outcome = "improvement"
	// Unchanged: the whole interval lies within the tolerance.
	Unchanged Outcome = "unchanged"
	// Inconclusive: no interval (too few samples, or no relative change
	// from a baseline of zero), or an interval across the tolerance.
	Inconclusive Outcome = "inconclusive"
	// NotJudged: the profile sets no tolerance for the metric.
	NotJudged Outcome = "not judged"
)

// Options configure a comparison.
type Options struct {
	// Tolerances are the profile's regression section.
	Tolerances config.RegressionTolerances
	// Profile names the profile for the outputs, e.g. its path.
	Profile string
	// AllowEnvChange compares runs whose fingerprints differ in what must
	// not differ; the differences are still listed.
	AllowEnvChange bool
	// Confidence of the intervals; 0 means stats.DefaultConfidence.
	Confidence float64
}

// Metric is the comparison of one metric present in both runs.
type Metric struct {
	// Dimension is the results' benchmark name, e.g. "RPS".
	Dimension string
	// Keys are the result's configuration, as the baseline wrote them.
	Keys []report.KV
	// Unit and Better are the metric's.
	Unit, Better string
	// Baseline and Candidate are the metric as each run recorded it.
	Baseline, Candidate report.Metric
	// BaselineFile and CandidateFile are where each came from.
	BaselineFile, CandidateFile string
	// Change is the candidate against the baseline; valid unless Outcome is
	// Inconclusive for want of a relative change (Reason says so).
	Change stats.Comparison
	// Tolerance is the profile's, when HasTolerance.
	Tolerance    config.Tolerance
	HasTolerance bool
	Outcome      Outcome
	// Reason explains the outcome in a sentence.
	Reason string
}

// Name is the metric's name for messages and JUnit:
// "RPS/dataplane=nftables/target=pod req/s".
func (m Metric) Name() string { return resultName(m.Dimension, m.Keys) + " " + m.Unit }

// OneSided is a metric present in one run only.
type OneSided struct {
	// Side is "baseline" or "candidate", the run that has it.
	Side      string
	Dimension string
	Keys      []report.KV
	Unit      string
	File      string
}

// Result is a whole comparison.
type Result struct {
	Baseline, Candidate Input
	// Metrics are the metrics in both runs, in the baseline's order.
	Metrics []Metric
	// OneSided are the metrics in one run only.
	OneSided []OneSided
	// EnvDiffs are the fingerprints' differences, over every pair of files
	// whose metrics were compared, without repeats.
	EnvDiffs []EnvDiff
	// Incomparable lists why the runs cannot be compared; empty when they
	// can.
	Incomparable []string
	// AllowEnvChange and Profile are the Options'.
	AllowEnvChange bool
	Profile        string
}

// Exit codes of the gate.
const (
	ExitPass         = 0
	ExitRegression   = 1
	ExitIncomparable = 2
)

// ExitCode is ExitIncomparable when the runs cannot be compared,
// ExitRegression when any metric regressed, ExitPass otherwise.
func (r Result) ExitCode() int {
	switch {
	case len(r.Incomparable) > 0:
		return ExitIncomparable
	case len(r.With(Regression)) > 0:
		return ExitRegression
	}
	return ExitPass
}

// With returns the metrics whose outcome is o.
func (r Result) With(o Outcome) []Metric {
	var out []Metric
	for _, m := range r.Metrics {
		if m.Outcome == o {
			out = append(out, m)
		}
	}
	return out
}

// located is a metric with the file it came from.
type located struct {
	dim    string
	keys   []report.KV
	metric report.Metric
	file   string
}

// index maps every metric of a side by its identity (result name, keys in
// any order, unit), in the order read. The same metric in two files of one
// side is an error: which one would be compared?
func index(in Input) (map[string]located, []string, error) {
	m := map[string]located{}
	var order []string
	for _, src := range in.Runs {
		for _, res := range src.Run.Results {
			for _, met := range res.Metrics {
				id := metricID(res.Name, res.Keys, met.Unit)
				if prev, ok := m[id]; ok {
					return nil, nil, fmt.Errorf("%s: %s %s is in both %s and %s; give one run per dimension and dataplane",
						in.Arg, resultName(res.Name, res.Keys), met.Unit, prev.file, src.Path)
				}
				m[id] = located{dim: res.Name, keys: res.Keys, metric: met, file: src.Path}
				order = append(order, id)
			}
		}
	}
	return m, order, nil
}

// Compare compares candidate with baseline. Its error is for input that
// cannot be compared at all (a metric twice in one side); runs that are
// merely incomparable give a Result whose Incomparable says why.
func Compare(baseline, candidate Input, opts Options) (Result, error) {
	conf := opts.Confidence
	if conf == 0 {
		conf = stats.DefaultConfidence
	}
	res := Result{Baseline: baseline, Candidate: candidate, AllowEnvChange: opts.AllowEnvChange, Profile: opts.Profile}
	bm, border, err := index(baseline)
	if err != nil {
		return Result{}, err
	}
	cm, corder, err := index(candidate)
	if err != nil {
		return Result{}, err
	}
	pairs := map[[2]string]bool{}
	for _, id := range border {
		b := bm[id]
		c, ok := cm[id]
		if !ok {
			res.OneSided = append(res.OneSided, OneSided{Side: "baseline", Dimension: b.dim, Keys: b.keys, Unit: b.metric.Unit, File: b.file})
			continue
		}
		if b.metric.Better != c.metric.Better {
			res.Incomparable = append(res.Incomparable, fmt.Sprintf("%s %s: better=%s in the baseline, better=%s in the candidate",
				resultName(b.dim, b.keys), b.metric.Unit, b.metric.Better, c.metric.Better))
			continue
		}
		pairs[[2]string{b.file, c.file}] = true
		res.Metrics = append(res.Metrics, judge(b, c, opts.Tolerances, conf))
	}
	for _, id := range corder {
		if c := cm[id]; bm[id].file == "" {
			res.OneSided = append(res.OneSided, OneSided{Side: "candidate", Dimension: c.dim, Keys: c.keys, Unit: c.metric.Unit, File: c.file})
		}
	}
	if len(res.Metrics) == 0 && len(res.Incomparable) == 0 {
		res.Incomparable = append(res.Incomparable, fmt.Sprintf("no metric is in both runs: the baseline has %s, the candidate %s",
			describeResults(bm), describeResults(cm)))
	}
	res.EnvDiffs = fingerprintDiffs(baseline, candidate, pairs)
	if !opts.AllowEnvChange {
		for _, d := range res.EnvDiffs {
			if !d.MayDiffer {
				res.Incomparable = append(res.Incomparable, "the fingerprints differ in "+d.describe()+" (--allow-env-change compares anyway)")
			}
		}
	}
	return res, nil
}

// fingerprintDiffs compares the fingerprints of every pair of files whose
// metrics were compared; a difference repeated across pairs (a kernel, in
// every dimension's file) is listed once.
func fingerprintDiffs(baseline, candidate Input, pairs map[[2]string]bool) []EnvDiff {
	fp := map[string]report.Fingerprint{}
	for _, s := range append(slices.Clone(baseline.Runs), candidate.Runs...) {
		fp[s.Path] = s.Run.Fingerprint
	}
	keys := make([][2]string, 0, len(pairs))
	for k := range pairs {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int { return strings.Compare(a[0]+"\x00"+a[1], b[0]+"\x00"+b[1]) })
	var out []EnvDiff
	seen := map[EnvDiff]bool{}
	for _, k := range keys {
		for _, d := range envDiffs(fp[k[0]], fp[k[1]]) {
			if !seen[d] {
				seen[d] = true
				out = append(out, d)
			}
		}
	}
	return out
}

// judge compares one metric and gives its verdict.
func judge(b, c located, tol config.RegressionTolerances, conf float64) Metric {
	m := Metric{
		Dimension: b.dim, Keys: b.keys, Unit: b.metric.Unit, Better: b.metric.Better,
		Baseline: b.metric, Candidate: c.metric, BaselineFile: b.file, CandidateFile: c.file,
	}
	m.Tolerance, m.HasTolerance = tol.Tolerance(b.dim, b.metric.Unit)
	ch, err := stats.Change(b.metric.Samples, c.metric.Samples, conf)
	if err != nil {
		m.Outcome = Inconclusive
		if errors.Is(err, stats.ErrBaselineNotPositive) {
			m.Reason = "no relative change: " + err.Error()
		} else {
			m.Reason = "no change computed: " + err.Error()
		}
		return m
	}
	m.Change = ch
	if !m.HasTolerance {
		m.Outcome = NotJudged
		m.Reason = "the profile sets no regression tolerance for " + b.dim + " " + b.metric.Unit + " (regression.defaultPct): reported only"
		return m
	}
	t := m.Tolerance.Pct
	v := stats.Bound{Metric: m.Name(), Min: ptr(-t), Max: ptr(t)}.Check(ch)
	switch {
	case v.Outcome == stats.Pass:
		m.Outcome = Unchanged
		m.Reason = "the whole interval lies within the tolerance"
	case v.Outcome == stats.Fail:
		lower := ch.Hi < -t // the interval lies wholly below -t
		if lower == (m.Better == report.HigherIsBetter) {
			m.Outcome = Regression
		} else {
			m.Outcome = Improvement
		}
		m.Reason = fmt.Sprintf("the whole interval lies beyond the tolerance on the %s side (%s is better)", sideWord(m.Outcome), m.Better)
	case !ch.Bounded():
		need := minSamples(conf)
		m.Outcome = Inconclusive
		m.Reason = fmt.Sprintf("too few samples for a %s interval: the baseline has %d, the candidate %d; each run needs >= %d (ROUNDS=%d)",
			confidenceWord(conf), ch.Baseline.N, ch.Treatment.N, need, need)
	default:
		m.Outcome = Inconclusive
		m.Reason = "the interval straddles the tolerance: measure more rounds or reduce noise"
	}
	return m
}

func sideWord(o Outcome) string {
	if o == Regression {
		return "worse"
	}
	return "better"
}

// confidenceWord reads "95 %" for 0.95.
func confidenceWord(conf float64) string {
	return strconv.FormatFloat(math.Round(conf*1000)/10, 'f', -1, 64) + " %"
}

// minSamples is the fewest samples for which stats.Summarize gives a
// bounded interval at conf, asked of stats rather than restated.
func minSamples(conf float64) int {
	var xs []float64
	for n := 1; n <= 1000; n++ {
		xs = append(xs, float64(n))
		if s, err := stats.Summarize(xs, conf); err == nil && s.Bounded() {
			return n
		}
	}
	return math.MaxInt
}

func ptr(v float64) *float64 { return &v }

// metricID identifies a metric across runs: result name, keys in any
// order, unit.
func metricID(name string, keys []report.KV, unit string) string {
	kv := make([]string, 0, len(keys))
	for _, k := range keys {
		kv = append(kv, k.Key+"="+k.Value)
	}
	slices.Sort(kv)
	return name + "\x00" + strings.Join(kv, "\x00") + "\x00" + unit
}

// resultName is "RPS/dataplane=nftables/target=pod", keys in written order.
func resultName(name string, keys []report.KV) string {
	return report.Result{Name: name, Keys: keys}.BenchmarkName()
}

// describeResults summarizes a side's results by dimension and dataplane,
// e.g. "RPS (dataplane=nftables), Latency (dataplane=nftables)".
func describeResults(m map[string]located) string {
	seen := map[string]bool{}
	var parts []string
	for _, l := range m {
		d := l.dim
		for _, k := range l.keys {
			if k.Key == "dataplane" {
				d += " (dataplane=" + k.Value + ")"
			}
		}
		if !seen[d] {
			seen[d] = true
			parts = append(parts, d)
		}
	}
	slices.Sort(parts)
	if len(parts) == 0 {
		return "no metrics"
	}
	return strings.Join(parts, ", ")
}
