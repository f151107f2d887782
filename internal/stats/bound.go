package stats

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ErrInvalidBound is returned by Bound.Validate; test with errors.Is.
var ErrInvalidBound = errors.New("invalid bound")

// Rule says how a Bound uses a Comparison's confidence interval.
type Rule string

const (
	// RuleInterval (the default; the zero Rule means it) judges the whole
	// confidence interval: Pass when it lies wholly inside the bound, Fail
	// when it lies wholly outside, Inconclusive when it straddles an edge
	// or there is no interval (too few samples). Noise can then neither
	// fail a good dataplane nor pass a bad one; it can only make the
	// answer "measure more". This is the rule for regression gates.
	RuleInterval Rule = "interval"
	// RuleCenter judges the point estimate alone: Pass when the center is
	// inside the bound, Fail otherwise. It always decides, even from one
	// sample, so it suits exploratory runs, not gates (W-STAT-1).
	RuleCenter Rule = "center"
)

// Outcome is a Verdict's decision.
type Outcome string

// Outcomes of Bound.Check.
const (
	Pass         Outcome = "pass"
	Fail         Outcome = "fail"
	Inconclusive Outcome = "inconclusive"
)

// Bound is an acceptable range for a relative change, in percent, such as
// "keepalive req/s at 10,000 Services within ±5 % of the baseline". Min and
// Max are inclusive; nil leaves that side open.
type Bound struct {
	// Metric names what is judged, for messages, e.g. "keepalive
	// degradation at 10000 Services".
	Metric string
	// Min and Max, in percent; at least one must be set.
	Min, Max *float64
	// Rule is how the interval is used; "" means RuleInterval.
	Rule Rule
}

// Verdict is the outcome of checking a Comparison against a Bound. A Fail
// is a violated threshold, not a broken measurement: callers report every
// verdict and fail the assertion, they do not stop the run.
type Verdict struct {
	Outcome Outcome
	// Message gives the measured value, its interval, the bound and the
	// rule, e.g. "keepalive degradation at 10000 Services: -2.1 % [95 % CI
	// -3.0, -1.2] is within the bound +-5 %".
	Message    string
	Bound      Bound
	Comparison Comparison
}

// Within returns a Bound of ±pct around no change.
func Within(metric string, pct float64) Bound {
	lo, hi := -pct, pct
	return Bound{Metric: metric, Min: &lo, Max: &hi}
}

// Validate reports whether b can judge anything: a known rule, at least one
// finite limit, and Min <= Max. Profiles should validate their bounds when
// they are loaded, before any measurement.
func (b Bound) Validate() error {
	var problems []string
	switch b.Rule {
	case "", RuleInterval, RuleCenter:
	default:
		problems = append(problems, fmt.Sprintf("unknown rule %q (want %q or %q)", b.Rule, RuleInterval, RuleCenter))
	}
	if b.Min == nil && b.Max == nil {
		problems = append(problems, "neither min nor max is set")
	}
	for _, l := range []struct {
		name string
		v    *float64
	}{{"min", b.Min}, {"max", b.Max}} {
		if l.v != nil && (math.IsNaN(*l.v) || math.IsInf(*l.v, 0)) {
			problems = append(problems, fmt.Sprintf("%s is %v", l.name, *l.v))
		}
	}
	if b.Min != nil && b.Max != nil && *b.Min > *b.Max {
		problems = append(problems, fmt.Sprintf("min %v is above max %v", *b.Min, *b.Max))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w for %s: %s", ErrInvalidBound, b.name(), strings.Join(problems, "; "))
	}
	return nil
}

// Check judges c against b under b's Rule. An invalid bound gives an
// Inconclusive verdict whose message says what is wrong with it.
func (b Bound) Check(c Comparison) Verdict {
	v := Verdict{Bound: b, Comparison: c}
	if err := b.Validate(); err != nil {
		v.Outcome = Inconclusive
		v.Message = fmt.Sprintf("%s: cannot judge: %v", b.name(), err)
		return v
	}
	measured := fmt.Sprintf("%s: %s %% [%s]", b.name(), pct(c.Center), interval(c))
	if b.Rule == RuleCenter {
		if b.contains(c.Center) {
			v.Outcome = Pass
			v.Message = fmt.Sprintf("%s has its center within the bound %s (rule: center)", measured, b.limits())
		} else {
			v.Outcome = Fail
			v.Message = fmt.Sprintf("%s has its center outside the bound %s (rule: center)", measured, b.limits())
		}
		return v
	}
	switch {
	case c.Bounded() && b.contains(c.Lo) && b.contains(c.Hi):
		v.Outcome = Pass
		v.Message = fmt.Sprintf("%s is within the bound %s", measured, b.limits())
	case b.below(c.Hi) || b.above(c.Lo):
		v.Outcome = Fail
		v.Message = fmt.Sprintf("%s is outside the bound %s", measured, b.limits())
	case !c.Bounded():
		v.Outcome = Inconclusive
		v.Message = fmt.Sprintf("%s cannot be judged against the bound %s: too few samples for an interval (n=%d+%d)",
			measured, b.limits(), c.Baseline.N, c.Treatment.N)
	default:
		v.Outcome = Inconclusive
		v.Message = fmt.Sprintf("%s straddles the bound %s: inconclusive, measure more or reduce noise",
			measured, b.limits())
	}
	return v
}

// contains reports whether x is within [Min, Max].
func (b Bound) contains(x float64) bool { return !b.below(x) && !b.above(x) }

// below reports whether x is below Min.
func (b Bound) below(x float64) bool { return b.Min != nil && x < *b.Min }

// above reports whether x is above Max.
func (b Bound) above(x float64) bool { return b.Max != nil && x > *b.Max }

func (b Bound) name() string {
	if b.Metric == "" {
		return "change"
	}
	return b.Metric
}

// limits formats the bound: "+-5 %", "<= +10 %", ">= -5 %" or
// "[-5 %, +10 %]". Limits are printed exactly, never rounded.
func (b Bound) limits() string {
	exact := func(x float64) string {
		s := strconv.FormatFloat(x, 'f', -1, 64)
		if x > 0 {
			s = "+" + s
		}
		return s
	}
	switch {
	case b.Min != nil && b.Max != nil && *b.Min == -*b.Max && *b.Max > 0:
		return "+-" + strings.TrimPrefix(exact(*b.Max), "+") + " %"
	case b.Min != nil && b.Max != nil:
		return "[" + exact(*b.Min) + " %, " + exact(*b.Max) + " %]"
	case b.Max != nil:
		return "<= " + exact(*b.Max) + " %"
	default:
		return ">= " + exact(*b.Min) + " %"
	}
}

// interval formats a Comparison's interval, e.g. "95 % CI -3.0, -1.2".
func interval(c Comparison) string {
	return fmt.Sprintf("%s %% CI %s, %s",
		strconv.FormatFloat(roundTo(c.Confidence*100, 1), 'f', -1, 64), pct(c.Lo), pct(c.Hi))
}

// pct formats a measured percentage with a sign: one decimal, two below 1.
func pct(x float64) string {
	switch {
	case math.IsInf(x, -1):
		return "-inf"
	case math.IsInf(x, 1):
		return "+inf"
	case math.Abs(x) < 1:
		return fmt.Sprintf("%+.2f", x)
	default:
		return fmt.Sprintf("%+.1f", x)
	}
}

func roundTo(x float64, decimals int) float64 {
	p := math.Pow(10, float64(decimals))
	return math.Round(x*p) / p
}
