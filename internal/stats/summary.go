// Package stats turns benchmark samples into summaries, relative changes and
// threshold verdicts. It is pure: no I/O, no logging, no Kubernetes.
//
// Every number the suite publishes is a distribution, never a single run
// (W-STAT-1): a Summary is the median of the samples with the
// distribution-free confidence interval golang.org/x/perf/benchmath gives
// (the same statistics benchstat prints), a Comparison is a relative change
// with its own interval and a significance test, and a Bound turns a
// Comparison into a Pass, Fail or Inconclusive Verdict whose message names
// the measured value, its interval and the bound.
//
// Statistical caveats are data, not log lines: benchmath's warnings (for
// example "need >= 6 samples for confidence interval at level 0.95") are
// carried in the Warnings fields and rendered by the report.
//
// Invalid input (no samples, NaN or ±Inf, a confidence outside (0, 1), a
// baseline that is not positive) is an error, never a NaN or Inf result.
package stats

import (
	"errors"
	"fmt"
	"math"

	"golang.org/x/perf/benchmath"
)

// DefaultConfidence is the confidence level the suite reports by default.
const DefaultConfidence = 0.95

// Errors returned for input the statistics cannot be computed from; test
// with errors.Is.
var (
	// ErrNoSamples: a summary needs at least one sample.
	ErrNoSamples = errors.New("no samples")
	// ErrNotFinite: a sample is NaN or ±Inf, which no measurement can be.
	ErrNotFinite = errors.New("sample is not a finite number")
	// ErrConfidence: the confidence level is not in the open interval (0, 1).
	ErrConfidence = errors.New("confidence level must be in (0, 1)")
	// ErrBaselineNotPositive: a relative change divides by the baseline,
	// so every baseline sample must be > 0.
	ErrBaselineNotPositive = errors.New("baseline sample is not positive")
)

// Summary is the median of a set of samples and its confidence interval.
type Summary struct {
	// N is the number of samples.
	N int
	// Center is the sample median.
	Center float64
	// Lo and Hi bound the confidence interval of the median. They are -Inf
	// and +Inf when there are too few samples for an interval at the
	// requested level (fewer than 6 at 95 %); Warnings then says so.
	Lo, Hi float64
	// Confidence is the actual confidence level of [Lo, Hi]. The interval
	// is built from order statistics, so it is the smallest achievable
	// level >= the requested one (for example 0.978 for 10 samples at a
	// requested 0.95).
	Confidence float64
	// Warnings are benchmath's caveats about this summary, for the report.
	Warnings []string
}

// Bounded reports whether the summary has a finite confidence interval.
func (s Summary) Bounded() bool {
	return !math.IsInf(s.Lo, 0) && !math.IsInf(s.Hi, 0)
}

// HalfWidthPct is half the width of the interval in percent of the median,
// (Hi - Lo) / 2 / |Center| × 100: how tightly a measure is known, in a unit
// measures of different units share. It is false without an interval or
// with a median of 0.
func (s Summary) HalfWidthPct() (float64, bool) {
	if !s.Bounded() || s.Center == 0 {
		return 0, false
	}
	return (s.Hi - s.Lo) / 2 / math.Abs(s.Center) * 100, true
}

// Summarize returns the median of samples and its confidence interval at
// the given level (for example DefaultConfidence), as computed by
// benchmath.AssumeNothing: the interval is bounded by two order statistics
// chosen from the binomial distribution, so it assumes nothing about the
// shape of the distribution. samples is not modified.
func Summarize(samples []float64, confidence float64) (Summary, error) {
	if err := checkConfidence(confidence); err != nil {
		return Summary{}, err
	}
	if err := checkSamples(samples); err != nil {
		return Summary{}, err
	}
	s := newSample(samples, confidence)
	bs := benchmath.AssumeNothing.Summary(s, confidence)
	return Summary{
		N:          len(samples),
		Center:     bs.Center,
		Lo:         bs.Lo,
		Hi:         bs.Hi,
		Confidence: bs.Confidence,
		Warnings:   warningStrings(s.Warnings, bs.Warnings),
	}, nil
}

// PercentileAcrossRounds summarizes one percentile (say p99 latency)
// measured once per round: perRound[i] is round i's p99. It is Summarize
// over those values, and exists so that callers reach for it instead of
// averaging.
//
// Averaging percentiles across rounds is statistically improper (W-STAT-2):
// the mean of per-round p99s is not the p99 of anything, and one bad round
// moves it arbitrarily. Two sound options remain: merge the rounds'
// histograms and take the percentile of the merged distribution, or report
// the distribution of the per-round values. This function does the latter —
// the median per-round p99 with a distribution-free interval that shows how
// much the p99 itself varies from round to round.
func PercentileAcrossRounds(perRound []float64, confidence float64) (Summary, error) {
	s, err := Summarize(perRound, confidence)
	if err != nil {
		return Summary{}, fmt.Errorf("percentile across rounds: %w", err)
	}
	return s, nil
}

// newSample copies values into a benchmath sample (NewSample sorts in
// place) with the comparison alpha matched to the confidence level, so
// that "significant" and "interval excludes no change" speak of the same
// error rate.
func newSample(values []float64, confidence float64) *benchmath.Sample {
	th := benchmath.DefaultThresholds
	th.CompareAlpha = alpha(confidence)
	return benchmath.NewSample(append([]float64(nil), values...), &th)
}

// alpha is 1 - confidence, rounded to 9 decimals so that 0.95 gives 0.05
// rather than 0.050000000000000044.
func alpha(confidence float64) float64 {
	return math.Round((1-confidence)*1e9) / 1e9
}

func checkConfidence(confidence float64) error {
	if !(confidence > 0 && confidence < 1) { // also catches NaN
		return fmt.Errorf("%w: got %v", ErrConfidence, confidence)
	}
	return nil
}

func checkSamples(samples []float64) error {
	if len(samples) == 0 {
		return ErrNoSamples
	}
	for i, v := range samples {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: sample %d is %v", ErrNotFinite, i, v)
		}
	}
	return nil
}

// warningStrings flattens benchmath's []error warnings into strings,
// dropping duplicates while keeping their order.
func warningStrings(lists ...[]error) []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range lists {
		for _, w := range l {
			if w == nil || seen[w.Error()] {
				continue
			}
			seen[w.Error()] = true
			out = append(out, w.Error())
		}
	}
	return out
}
