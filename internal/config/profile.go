package config

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"kube-netbench/internal/stats"
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
// only. Profile.Bound turns a threshold into the stats.Bound that judges
// it.
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
	// positive when the policy slows traffic down (stats.Comparison.Negate
	// of the change).
	Policy PolicyThresholds `json:"policy"`
	// Datapath judges the throughput, RPS and latency tests: the change of
	// the path through a ClusterIP Service against pod to pod, measured in
	// interleaved pairs in the same run, in percent, (service - pod) / pod *
	// 100 (negative when the Service path is slower for req/s and Gbps).
	Datapath DatapathThresholds `json:"datapath"`
	// Hubble judges the Hubble test: keepalive req/s with Hubble on against
	// off, in interleaved pairs, (on - off) / off * 100.
	Hubble HubbleThresholds `json:"hubble"`
	// Latency judges absolute latency levels (not changes): the median
	// across rounds of a percentile, with its interval, in the unit its name
	// ends with.
	Latency LatencyThresholds `json:"latency"`
	// Regression holds the regression gate's tolerances: how much a
	// candidate run may differ from a baseline run (netbench compare).
	Regression RegressionTolerances `json:"regression"`
}

// LatencyThresholds are the latency test's thresholds. Unlike the others
// they bound a level, not a change in percent: a millisecond figure on a
// shared machine is a benchmark result to judge over enough rounds, never
// an assertion on two of them.
type LatencyThresholds struct {
	// HTTPP50Ms bounds HTTP p50 at 1000 QPS through the Service, in
	// milliseconds.
	HTTPP50Ms Threshold `json:"httpP50Ms"`
}

// HubbleThresholds are the Hubble test's thresholds.
type HubbleThresholds struct {
	// RPSChangePct bounds keepalive req/s (64 connections, through a
	// Service) with Hubble on against off.
	RPSChangePct Threshold `json:"rpsChangePct"`
}

// DatapathThresholds are the datapath tests' thresholds.
type DatapathThresholds struct {
	// ServiceVsPodKeepaliveRPSPct bounds keepalive req/s (64 connections)
	// through the Service against pod to pod.
	ServiceVsPodKeepaliveRPSPct Threshold `json:"serviceVsPodKeepaliveRpsPct"`
	// ServiceVsPodThroughputPct bounds single-stream Gbps through the
	// Service against pod to pod.
	ServiceVsPodThroughputPct Threshold `json:"serviceVsPodThroughputPct"`
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

// Rule says how a Threshold's bounds judge a measured change. The bounding
// rules are stats.Rule's, so that a profile means exactly what the verdicts
// do; whether a bound is two-sided or one-sided is said by which of min and
// max are set, not by the rule.
type Rule string

// Rules.
const (
	// RuleInterval judges the whole 95 % confidence interval: it passes when
	// the interval lies within the bounds, fails when it lies outside, and
	// is inconclusive otherwise (stats.RuleInterval). It is what bounds
	// mean when no rule is given.
	RuleInterval = Rule(stats.RuleInterval)
	// RuleCenter judges the point estimate alone (stats.RuleCenter); it
	// always decides, so it suits exploratory runs rather than gates.
	RuleCenter = Rule(stats.RuleCenter)
	// RuleReport sets no bound: the metric is reported only. It is also the
	// meaning of a threshold left out of the file.
	RuleReport Rule = "report"
)

// Threshold is an acceptable range for one metric, in percent. Min and Max
// are inclusive; nil leaves that side open; both nil means report only.
type Threshold struct {
	Min  *float64 `json:"min,omitempty"`
	Max  *float64 `json:"max,omitempty"`
	Rule Rule     `json:"rule,omitempty"`
}

// ReportOnly reports whether the threshold sets no bound.
func (t Threshold) ReportOnly() bool { return t.Min == nil && t.Max == nil }

// String reads "[-5, 5] (interval)", "<= 3 (interval)", ">= 0 (center)" or
// "report only".
func (t Threshold) String() string {
	f := func(p *float64) string { return strconv.FormatFloat(*p, 'g', -1, 64) }
	var b string
	switch {
	case t.ReportOnly():
		return "report only"
	case t.Min != nil && t.Max != nil:
		b = "[" + f(t.Min) + ", " + f(t.Max) + "]"
	case t.Max != nil:
		b = "<= " + f(t.Max)
	default:
		b = ">= " + f(t.Min)
	}
	return b + " (" + string(t.Rule) + ")"
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
	var out []NamedThreshold
	for _, t := range p.thresholds() {
		out = append(out, NamedThreshold{Name: t.name, Threshold: *t.th})
	}
	return out
}

// thresholds names every threshold field, the one list of them.
func (p *Profile) thresholds() []struct {
	name string
	th   *Threshold
} {
	return []struct {
		name string
		th   *Threshold
	}{
		{"serviceScale.keepaliveDegradationPct", &p.ServiceScale.KeepaliveDegradationPct},
		{"serviceScale.shortConnDegradationPct", &p.ServiceScale.ShortConnDegradationPct},
		{"policy.l3l4OverheadPct", &p.Policy.L3L4OverheadPct},
		{"datapath.serviceVsPodKeepaliveRpsPct", &p.Datapath.ServiceVsPodKeepaliveRPSPct},
		{"datapath.serviceVsPodThroughputPct", &p.Datapath.ServiceVsPodThroughputPct},
		{"hubble.rpsChangePct", &p.Hubble.RPSChangePct},
		{"latency.httpP50Ms", &p.Latency.HTTPP50Ms},
	}
}

// Bound returns the stats.Bound that judges th, which must point at one of
// p's own thresholds (e.g. &p.Hubble.RPSChangePct: a field, so that a
// misspelt threshold does not compile), and nil when it is report only. Any
// other pointer is a programming error and panics.
func (p *Profile) Bound(th *Threshold) *stats.Bound {
	for _, t := range p.thresholds() {
		if t.th != th {
			continue
		}
		if th.ReportOnly() {
			return nil
		}
		return &stats.Bound{Metric: t.name, Min: th.Min, Max: th.Max, Rule: stats.Rule(th.Rule)}
	}
	panic("config: Profile.Bound of a threshold that is not the profile's own")
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
// are a wrong apiVersion or kind, bounds that disagree with their rule or
// with each other, and a regression tolerance that is negative or names a
// unit its dimension does not record. A threshold left out becomes RuleReport; bounds without a
// rule get RuleInterval. All problems are returned together.
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
	for _, t := range p.thresholds() {
		if err := t.th.normalize(t.name); err != nil {
			errs = append(errs, err)
		}
	}
	if err := p.Regression.validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return Profile{}, errors.Join(errs...)
	}
	return p, nil
}

// normalize fills in the rule a threshold means when none is given and
// checks that rule and bounds agree; the bounds themselves are checked by
// stats.Bound.Validate, the same check the verdicts make. Errors name the
// threshold. (Bounds are
// finite: YAML's .inf and .nan do not survive the conversion to JSON.)
func (t *Threshold) normalize(name string) error {
	switch t.Rule {
	case "":
		t.Rule = RuleInterval
		if t.ReportOnly() {
			t.Rule = RuleReport
		}
	case RuleInterval, RuleCenter, RuleReport:
	default:
		return fmt.Errorf("%s: rule %q: must be %q, %q or %q", name, t.Rule, RuleInterval, RuleCenter, RuleReport)
	}
	switch {
	case t.Rule == RuleReport && !t.ReportOnly():
		return fmt.Errorf("%s: rule %q takes no min or max", name, t.Rule)
	case t.Rule == RuleReport:
		return nil
	case t.ReportOnly():
		return fmt.Errorf("%s: rule %q needs a min, a max or both (leave the rule out, or say %q, to report only)", name, t.Rule, RuleReport)
	}
	return stats.Bound{Metric: name, Min: t.Min, Max: t.Max, Rule: stats.Rule(t.Rule)}.Validate()
}
