package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"golang.org/x/perf/benchmath"
)

// Methods: how a Comparison's interval was computed.
const (
	// MethodBootstrap: the percentile bootstrap interval of the ratio of
	// the two medians (Change).
	MethodBootstrap = "bootstrap-ratio-of-medians"
	// MethodPaired: the median of per-pair relative differences with
	// benchmath's distribution-free interval (PairedChange).
	MethodPaired = "paired-median-of-relative-differences"
)

// Tests: which significance test produced a Comparison's P.
const (
	// TestMannWhitneyU is benchmath.AssumeNothing.Compare, the test
	// benchstat uses for independent samples.
	TestMannWhitneyU = "mann-whitney-u"
	// TestSign is the exact two-sided sign test on paired differences; it
	// is the test whose inversion gives the paired median interval.
	TestSign = "sign"
)

// Resamples is the number of bootstrap resamples Change draws. With 10,000
// the Monte Carlo error of a 95 % percentile bound is well under a tenth of
// the interval's width.
const Resamples = 10000

// The bootstrap's fixed seed: the same input always gives the same interval,
// so goldens are stable and a rerun cannot "fix" a verdict.
const seed1, seed2 = 0x6b6e6574_62656e63, 0x68737461_74730001

// Comparison is the relative change of a treatment against a baseline, in
// percent: (t - b) / b * 100, with a confidence interval and a significance
// test. A negative value means the treatment's metric is lower; whether
// that is a degradation depends on the metric (req/s vs sec).
type Comparison struct {
	// Method is MethodBootstrap or MethodPaired.
	Method string
	// Baseline and Treatment summarize each side on its own.
	Baseline, Treatment Summary
	// Center is the relative change in percent. For Change it is the
	// change of the medians; for PairedChange the median of the per-pair
	// changes.
	Center float64
	// Lo and Hi bound the interval of the change in percent; -Inf and +Inf
	// when there are too few samples for an interval (Warnings says why).
	Lo, Hi float64
	// Confidence is the confidence level of [Lo, Hi].
	Confidence float64
	// Test, P and Alpha: the significance test, its p-value for "no
	// difference", and the level below which P is significant
	// (1 - requested confidence).
	Test     string
	P, Alpha float64
	// Warnings are the caveats of the summaries, the test and the interval.
	Warnings []string
}

// Bounded reports whether the change has a finite confidence interval.
func (c Comparison) Bounded() bool {
	return !math.IsInf(c.Lo, 0) && !math.IsInf(c.Hi, 0)
}

// Significant reports whether the test rejects "no difference" at Alpha.
func (c Comparison) Significant() bool { return c.P < c.Alpha }

// Negate returns the change with its sign flipped, for metrics reported as
// a cost, (b - t) / b * 100, such as a policy's overhead in req/s.
func (c Comparison) Negate() Comparison {
	// 0 - x rather than -x, so that no change stays +0, not -0.
	c.Center, c.Lo, c.Hi = 0-c.Center, 0-c.Hi, 0-c.Lo
	return c
}

// Change compares two independent sets of samples, for example keepalive
// req/s at 0 Services (baseline) and at 10,000 Services (treatment).
//
// Center is the relative change of the medians. Its interval is the
// percentile bootstrap interval of the ratio of medians: each side is
// resampled with replacement on its own, Resamples times, from a fixed seed
// (deterministic), and the interval is the central confidence fraction of
// the resampled ratios. The bootstrap makes no assumption about the shape
// of either distribution, allows different sample counts, and its ratio
// form fits multiplicative effects such as throughput changes. It is an
// approximation, and the median's bootstrap distribution is lumpy for few
// samples, so Change reports no interval at all when either side has too
// few samples for an interval of its own median (fewer than 6 at 95 %).
// Above that, simulation (TestChangeCoverage: log-normal samples, and
// rounds of which 15 % collapse, at 6 and 10 samples per side) puts the
// coverage of the nominal 95 % interval at 0.97 to 0.99: at or slightly
// above nominal, i.e. conservative.
//
// P is benchmath's Mann-Whitney U test, the test benchstat reports.
//
// Samples from rounds that alternate baseline and treatment are better
// compared with PairedChange, which cancels drift (W-STAT-3).
func Change(baseline, treatment []float64, confidence float64) (Comparison, error) {
	if err := checkConfidence(confidence); err != nil {
		return Comparison{}, err
	}
	if err := checkBaseline(baseline); err != nil {
		return Comparison{}, err
	}
	if err := checkSamples(treatment); err != nil {
		return Comparison{}, fmt.Errorf("treatment: %w", err)
	}
	bs, err := Summarize(baseline, confidence)
	if err != nil {
		return Comparison{}, fmt.Errorf("baseline: %w", err)
	}
	ts, err := Summarize(treatment, confidence)
	if err != nil {
		return Comparison{}, fmt.Errorf("treatment: %w", err)
	}
	center := relative(bs.Center, ts.Center)
	if math.IsInf(center, 0) {
		return Comparison{}, fmt.Errorf("%w: the change from %v to %v overflows", ErrNotFinite, bs.Center, ts.Center)
	}
	sb, st := newSample(baseline, confidence), newSample(treatment, confidence)
	u := benchmath.AssumeNothing.Compare(sb, st)

	c := Comparison{
		Method:     MethodBootstrap,
		Baseline:   bs,
		Treatment:  ts,
		Center:     center,
		Lo:         math.Inf(-1),
		Hi:         math.Inf(1),
		Confidence: confidence,
		Test:       TestMannWhitneyU,
		P:          u.P,
		Alpha:      u.Alpha,
	}
	c.Warnings = append(c.Warnings, prefixed("baseline: ", bs.Warnings)...)
	c.Warnings = append(c.Warnings, prefixed("treatment: ", ts.Warnings)...)
	c.Warnings = append(c.Warnings, warningStrings(u.Warnings)...)
	if !bs.Bounded() || !ts.Bounded() {
		c.Warnings = append(c.Warnings, fmt.Sprintf(
			"no interval for the change: baseline has %d and treatment %d samples, too few for an interval of each median",
			bs.N, ts.N))
		return c, nil
	}
	c.Lo, c.Hi = bootstrapChange(sb.Values, st.Values, confidence)
	if c.Center < c.Lo || c.Center > c.Hi {
		c.Warnings = append(c.Warnings,
			"the bootstrap interval does not contain the observed change; the medians are unstable, collect more samples")
	}
	return c, nil
}

// PairedChange compares paired samples: pairs[i] is {baseline, treatment}
// measured back to back in round i, ideally in alternating order (ABBA)
// so that drift from noisy neighbours, burst credits or conntrack state
// hits both sides alike (W-STAT-3).
//
// Each pair gives a relative change (t - b) / b * 100. Center is the median
// of those changes and the interval is benchmath's distribution-free
// interval of that median, built from order statistics; it needs >= 6
// pairs at 95 %. P is the exact two-sided sign test, the test that interval
// inverts; pairs with no change are left out of it.
func PairedChange(pairs [][2]float64, confidence float64) (Comparison, error) {
	if err := checkConfidence(confidence); err != nil {
		return Comparison{}, err
	}
	if len(pairs) == 0 {
		return Comparison{}, ErrNoSamples
	}
	base := make([]float64, len(pairs))
	treat := make([]float64, len(pairs))
	for i, p := range pairs {
		base[i], treat[i] = p[0], p[1]
	}
	if err := checkBaseline(base); err != nil {
		return Comparison{}, err
	}
	if err := checkSamples(treat); err != nil {
		return Comparison{}, fmt.Errorf("treatment: %w", err)
	}
	diffs := make([]float64, len(pairs))
	up, down := 0, 0
	for i := range pairs {
		diffs[i] = relative(base[i], treat[i])
		switch {
		case diffs[i] > 0:
			up++
		case diffs[i] < 0:
			down++
		}
	}
	ds, err := Summarize(diffs, confidence)
	if err != nil {
		return Comparison{}, fmt.Errorf("paired differences: %w", err)
	}
	bs, err := Summarize(base, confidence)
	if err != nil {
		return Comparison{}, fmt.Errorf("baseline: %w", err)
	}
	ts, err := Summarize(treat, confidence)
	if err != nil {
		return Comparison{}, fmt.Errorf("treatment: %w", err)
	}
	return Comparison{
		Method:     MethodPaired,
		Baseline:   bs,
		Treatment:  ts,
		Center:     ds.Center,
		Lo:         ds.Lo,
		Hi:         ds.Hi,
		Confidence: ds.Confidence,
		Test:       TestSign,
		P:          signTest(up, down),
		Alpha:      alpha(confidence),
		Warnings:   ds.Warnings,
	}, nil
}

// bootstrapChange returns the percentile interval of the relative change of
// medians, (median(t) - median(b)) / median(b) * 100, over Resamples
// stratified resamples. b and t must be sorted, so the result does not
// depend on the order the samples came in.
func bootstrapChange(b, t []float64, confidence float64) (lo, hi float64) {
	rng := rand.New(rand.NewPCG(seed1, seed2))
	bufB := make([]float64, len(b))
	bufT := make([]float64, len(t))
	changes := make([]float64, Resamples)
	for k := range changes {
		mb := resampleMedian(rng, b, bufB)
		mt := resampleMedian(rng, t, bufT)
		changes[k] = relative(mb, mt)
	}
	slices.Sort(changes)
	tail := (1 - confidence) / 2
	loIdx := int(math.Floor(tail * Resamples))
	hiIdx := int(math.Ceil((1-tail)*Resamples)) - 1
	return changes[loIdx], changes[hiIdx]
}

// resampleMedian draws len(xs) values from xs with replacement into buf
// and returns their median.
func resampleMedian(rng *rand.Rand, xs, buf []float64) float64 {
	for i := range buf {
		buf[i] = xs[rng.IntN(len(xs))]
	}
	slices.Sort(buf)
	return median(buf)
}

// median of a sorted, non-empty slice. It equals benchmath's median (the
// R8 quantile at 0.5), so the bootstrap and Summary agree on the center.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// signTest is the exact two-sided sign test p-value for up positive and
// down negative differences: 2 * P(X <= min(up, down)), X ~ Bin(up+down, ½),
// at most 1.
func signTest(up, down int) float64 {
	n := up + down
	if n == 0 {
		return 1
	}
	k := min(up, down)
	lgN, _ := math.Lgamma(float64(n + 1))
	var tail float64
	for i := 0; i <= k; i++ {
		lgI, _ := math.Lgamma(float64(i + 1))
		lgNI, _ := math.Lgamma(float64(n - i + 1))
		tail += math.Exp(lgN - lgI - lgNI - float64(n)*math.Ln2)
	}
	return min(1, 2*tail)
}

func checkBaseline(baseline []float64) error {
	if err := checkSamples(baseline); err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	for i, v := range baseline {
		if v <= 0 {
			return fmt.Errorf("%w: baseline sample %d is %v; a relative change needs a positive baseline", ErrBaselineNotPositive, i, v)
		}
	}
	return nil
}

// relative is the change from b to t in percent. Computed as a difference
// first, so that 200 -> 190 is exactly -5, not -5.000000000000004.
func relative(b, t float64) float64 { return (t - b) / b * 100 }

func prefixed(prefix string, ws []string) []string {
	out := make([]string, 0, len(ws))
	for _, w := range ws {
		out = append(out, prefix+w)
	}
	return out
}
