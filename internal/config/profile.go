package config

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"

	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Profile identification: a profile file must name both, so that a future
// format change is a new version rather than a silent reinterpretation.
const (
	ProfileAPIVersion = "netbench/v1"
	ProfileKind       = "Profile"
)

// Profile holds the thresholds that judge a run's results. Thresholds live
// in a versioned file, not in code, so that a change of bounds is a reviewed
// change of data (practice 7). A metric with no threshold set is reported
// only.
type Profile struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Metadata   ProfileMetadata `json:"metadata"`
	// ServiceScale judges the Service-scale test: the change of each scale
	// step against the 0-Service baseline of the same run, in percent,
	// (step - baseline) / baseline * 100, negative when slower.
	ServiceScale ServiceScaleThresholds `json:"serviceScale"`
	// Policy judges the NetworkPolicy test: the cost of a policy against the
	// same run without it, in percent, (without - with) / without * 100,
	// positive when the policy slows traffic down.
	Policy PolicyThresholds `json:"policy"`
}

// ProfileMetadata names and describes a profile.
type ProfileMetadata struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// ServiceScaleThresholds are the Service-scale test's thresholds.
type ServiceScaleThresholds struct {
	// KeepaliveDegradationPct bounds the keepalive req/s change at each step.
	KeepaliveDegradationPct Threshold `json:"keepaliveDegradationPct"`
	// ShortConnDegradationPct bounds the short-connection req/s change at
	// each step. It is what the study measures, so it is reported, not
	// judged, unless a profile sets a bound.
	ShortConnDegradationPct Threshold `json:"shortConnDegradationPct"`
}

// PolicyThresholds are the NetworkPolicy test's thresholds.
type PolicyThresholds struct {
	// L3L4OverheadPct bounds the keepalive req/s overhead of an L3/L4 policy.
	L3L4OverheadPct Threshold `json:"l3l4OverheadPct"`
}

// Rule says how a Threshold's bounds apply.
type Rule string

// Rules.
const (
	// RuleReport sets no bound: the metric is reported only. It is also the
	// meaning of a threshold left out of the file.
	RuleReport Rule = "report"
	// RuleInterval requires Min <= value <= Max; both are required.
	RuleInterval Rule = "interval"
	// RuleUpper requires value <= Max; Max is required, Min not allowed.
	RuleUpper Rule = "upper"
	// RuleLower requires value >= Min; Min is required, Max not allowed.
	RuleLower Rule = "lower"
)

// Threshold is a bound on one metric.
type Threshold struct {
	Min  *float64 `json:"min,omitempty"`
	Max  *float64 `json:"max,omitempty"`
	Rule Rule     `json:"rule"`
}

// Allows reports whether v is within the threshold. A report-only threshold
// allows everything but NaN, which is never a measurement.
func (t Threshold) Allows(v float64) bool {
	if math.IsNaN(v) {
		return false
	}
	if t.Min != nil && v < *t.Min {
		return false
	}
	if t.Max != nil && v > *t.Max {
		return false
	}
	return true
}

// String reads "[-5, 5]", "<= 3", ">= 0" or "report only".
func (t Threshold) String() string {
	f := func(p *float64) string { return strconv.FormatFloat(*p, 'g', -1, 64) }
	switch t.Rule {
	case RuleInterval:
		return "[" + f(t.Min) + ", " + f(t.Max) + "]"
	case RuleUpper:
		return "<= " + f(t.Max)
	case RuleLower:
		return ">= " + f(t.Min)
	default:
		return "report only"
	}
}

// NamedThreshold is a threshold with its path in the profile file.
type NamedThreshold struct {
	// Name is the dotted path, e.g. "serviceScale.keepaliveDegradationPct".
	Name string
	Threshold
}

// Thresholds lists every threshold of the profile in a fixed order, for the
// report and the run's fingerprint.
func (p Profile) Thresholds() []NamedThreshold {
	return []NamedThreshold{
		{"serviceScale.keepaliveDegradationPct", p.ServiceScale.KeepaliveDegradationPct},
		{"serviceScale.shortConnDegradationPct", p.ServiceScale.ShortConnDegradationPct},
		{"policy.l3l4OverheadPct", p.Policy.L3L4OverheadPct},
	}
}

// LoadProfile reads and parses the profile file at path.
func LoadProfile(path string) (Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Profile{}, fmt.Errorf("profile: %w", err)
	}
	p, err := ParseProfile(data)
	if err != nil {
		return Profile{}, fmt.Errorf("profile %s: %w", path, err)
	}
	return p, nil
}

// ParseProfile decodes a profile strictly: unknown or duplicate fields are
// errors (a misspelt threshold must not silently become "report only"), as
// are a wrong apiVersion or kind and inconsistent bounds. A threshold left
// out becomes RuleReport. All problems are returned together.
func ParseProfile(data []byte) (Profile, error) {
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return Profile{}, fmt.Errorf("not valid YAML: %w", err)
	}
	var p Profile
	// Case-sensitive, as Kubernetes decodes its own files: "MIN" is not "min".
	strict, err := sigsjson.UnmarshalStrict(js, &p, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
	if err != nil {
		return Profile{}, fmt.Errorf("cannot decode: %w", err)
	}
	if len(strict) > 0 {
		return Profile{}, fmt.Errorf("unknown or duplicate fields: %w", errors.Join(strict...))
	}
	var errs []error
	if p.APIVersion != ProfileAPIVersion {
		errs = append(errs, fmt.Errorf("apiVersion %q: only %q is supported", p.APIVersion, ProfileAPIVersion))
	}
	if p.Kind != ProfileKind {
		errs = append(errs, fmt.Errorf("kind %q: must be %q", p.Kind, ProfileKind))
	}
	for _, t := range []struct {
		name string
		th   *Threshold
	}{
		{"serviceScale.keepaliveDegradationPct", &p.ServiceScale.KeepaliveDegradationPct},
		{"serviceScale.shortConnDegradationPct", &p.ServiceScale.ShortConnDegradationPct},
		{"policy.l3l4OverheadPct", &p.Policy.L3L4OverheadPct},
	} {
		if t.th.Rule == "" && t.th.Min == nil && t.th.Max == nil {
			t.th.Rule = RuleReport
		}
		if err := t.th.validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", t.name, err))
		}
	}
	if len(errs) > 0 {
		return Profile{}, errors.Join(errs...)
	}
	return p, nil
}

// validate checks that the bounds fit the rule. (Bounds are finite: YAML's
// .inf and .nan do not survive the conversion to JSON.)
func (t Threshold) validate() error {
	need := func(minSet, maxSet bool, what string) error {
		if (t.Min != nil) != minSet || (t.Max != nil) != maxSet {
			return fmt.Errorf("rule %q takes %s (min set: %t, max set: %t)", t.Rule, what, t.Min != nil, t.Max != nil)
		}
		return nil
	}
	switch t.Rule {
	case RuleReport:
		return need(false, false, "no bounds")
	case RuleInterval:
		if err := need(true, true, "both min and max"); err != nil {
			return err
		}
		if *t.Min > *t.Max {
			return fmt.Errorf("min %v is above max %v", *t.Min, *t.Max)
		}
		return nil
	case RuleUpper:
		return need(false, true, "max only")
	case RuleLower:
		return need(true, false, "min only")
	default:
		return fmt.Errorf("rule %q: must be one of %q, %q, %q, %q", t.Rule, RuleInterval, RuleUpper, RuleLower, RuleReport)
	}
}
