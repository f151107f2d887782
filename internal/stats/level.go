package stats

import (
	"fmt"
	"strconv"
)

// CheckLevel judges an absolute level, such as "HTTP p50 in ms", rather
// than a relative change: s is the median of the per-round values with its
// interval, already in unit, and b's limits are read in that unit. The
// rules are Check's: under RuleInterval the whole interval must lie inside
// the bound to pass and wholly outside to fail; too few rounds for an
// interval give Inconclusive, never a verdict from one noisy median.
func (b Bound) CheckLevel(s Summary, unit string) Verdict {
	v := Verdict{Bound: b, Comparison: Comparison{Treatment: s, Center: s.Center, Lo: s.Lo, Hi: s.Hi, Confidence: s.Confidence}}
	if err := b.Validate(); err != nil {
		v.Outcome = Inconclusive
		v.Message = fmt.Sprintf("%s: cannot judge: %v", b.name(), err)
		return v
	}
	num := func(x float64) string { return strconv.FormatFloat(x, 'g', 4, 64) }
	measured := fmt.Sprintf("%s: %s %s", b.name(), num(s.Center), unit)
	if s.Bounded() {
		measured += fmt.Sprintf(" [%s %% CI %s, %s]", strconv.FormatFloat(roundTo(s.Confidence*100, 1), 'f', -1, 64), num(s.Lo), num(s.Hi))
	}
	limits := b.levelLimits(unit)
	switch {
	case b.Rule == RuleCenter && b.contains(s.Center):
		v.Outcome, v.Message = Pass, fmt.Sprintf("%s has its median within the bound %s (rule: center)", measured, limits)
	case b.Rule == RuleCenter:
		v.Outcome, v.Message = Fail, fmt.Sprintf("%s has its median outside the bound %s (rule: center)", measured, limits)
	case !s.Bounded():
		v.Outcome = Inconclusive
		v.Message = fmt.Sprintf("%s cannot be judged against the bound %s: too few rounds for an interval (n=%d)", measured, limits, s.N)
	case b.contains(s.Lo) && b.contains(s.Hi):
		v.Outcome, v.Message = Pass, fmt.Sprintf("%s is within the bound %s", measured, limits)
	case b.below(s.Hi) || b.above(s.Lo):
		v.Outcome, v.Message = Fail, fmt.Sprintf("%s is outside the bound %s", measured, limits)
	default:
		v.Outcome = Inconclusive
		v.Message = fmt.Sprintf("%s straddles the bound %s: inconclusive, measure more or reduce noise", measured, limits)
	}
	return v
}

// levelLimits formats the bound in unit: "<= 1 ms", ">= 2 ms", "[1 ms, 2 ms]".
func (b Bound) levelLimits(unit string) string {
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) + " " + unit }
	switch {
	case b.Min != nil && b.Max != nil:
		return "[" + f(*b.Min) + ", " + f(*b.Max) + "]"
	case b.Max != nil:
		return "<= " + f(*b.Max)
	default:
		return ">= " + f(*b.Min)
	}
}
