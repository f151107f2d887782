package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"kube-netbench/internal/stats"
)

func ptr(v float64) *float64 { return &v }

// TestLoadDefaultProfile loads the profile the suite ships with.
func TestLoadDefaultProfile(t *testing.T) {
	p, err := LoadProfile(filepath.Join("..", "..", DefaultProfile))
	require.NoError(t, err)
	require.Equal(t, "default", p.Metadata.Name)
	require.Equal(t, Threshold{Min: ptr(-5), Max: ptr(5), Rule: RuleInterval}, p.ServiceScale.KeepaliveDegradationPct)
	require.Equal(t, Threshold{Rule: RuleReport}, p.ServiceScale.ShortConnDegradationPct)
	require.Equal(t, Threshold{Max: ptr(3), Rule: RuleInterval}, p.Policy.L3L4OverheadPct)

	var names, bounds []string
	for _, nt := range p.Thresholds() {
		names = append(names, nt.Name)
		bounds = append(bounds, nt.String())
	}
	require.Equal(t, []string{"serviceScale.keepaliveDegradationPct", "serviceScale.shortConnDegradationPct", "policy.l3l4OverheadPct",
		"datapath.serviceVsPodKeepaliveRpsPct", "datapath.serviceVsPodThroughputPct", "hubble.rpsChangePct", "latency.httpP50Ms"}, names)
	require.Equal(t, []string{"[-5, 5] (interval)", "report only", "<= 3 (interval)", ">= -15 (interval)", "report only", "report only", "<= 1 (interval)"}, bounds)

	// Each bounded threshold is the stats.Bound that judges it.
	b := p.Bound(&p.ServiceScale.KeepaliveDegradationPct)
	require.Equal(t, &stats.Bound{Metric: "serviceScale.keepaliveDegradationPct", Min: ptr(-5), Max: ptr(5), Rule: stats.RuleInterval}, b)
	require.NoError(t, b.Validate())
	require.Nil(t, p.Bound(&p.ServiceScale.ShortConnDegradationPct), "report only: nothing to judge")
	require.Equal(t, &stats.Bound{Metric: "policy.l3l4OverheadPct", Max: ptr(3), Rule: stats.RuleInterval}, p.Bound(&p.Policy.L3L4OverheadPct))
	other := p
	require.Panics(t, func() { p.Bound(&other.Policy.L3L4OverheadPct) }, "another profile's threshold")
}

// reportDatapath is the datapath section of a profile that leaves it out.
var reportDatapath = DatapathThresholds{ServiceVsPodKeepaliveRPSPct: Threshold{Rule: RuleReport}, ServiceVsPodThroughputPct: Threshold{Rule: RuleReport}}

// reportHubble is the hubble section of a profile that leaves it out.
var reportHubble = HubbleThresholds{RPSChangePct: Threshold{Rule: RuleReport}}

// reportLatency is the latency section of a profile that leaves it out.
var reportLatency = LatencyThresholds{HTTPP50Ms: Threshold{Rule: RuleReport}}

const header = "apiVersion: netbench/v1\nkind: Profile\nmetadata: {name: t}\n"

func TestParseProfile(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       *Profile // for a good file
		err        string   // for a bad one
	}{
		{name: "minimal: every threshold report only", yaml: header,
			want: &Profile{APIVersion: "netbench/v1", Kind: "Profile", Metadata: ProfileMetadata{Name: "t"},
				ServiceScale: ServiceScaleThresholds{KeepaliveDegradationPct: Threshold{Rule: RuleReport}, ShortConnDegradationPct: Threshold{Rule: RuleReport}},
				Policy:       PolicyThresholds{L3L4OverheadPct: Threshold{Rule: RuleReport}}, Datapath: reportDatapath, Hubble: reportHubble, Latency: reportLatency}},
		{name: "one-sided, center rule, block style", yaml: header + "serviceScale:\n  shortConnDegradationPct:\n    min: -50\n    rule: center\n",
			want: &Profile{APIVersion: "netbench/v1", Kind: "Profile", Metadata: ProfileMetadata{Name: "t"},
				ServiceScale: ServiceScaleThresholds{KeepaliveDegradationPct: Threshold{Rule: RuleReport}, ShortConnDegradationPct: Threshold{Min: ptr(-50), Rule: RuleCenter}},
				Policy:       PolicyThresholds{L3L4OverheadPct: Threshold{Rule: RuleReport}}, Datapath: reportDatapath, Hubble: reportHubble, Latency: reportLatency}},
		{name: "bounds without a rule judge the interval", yaml: header + "policy:\n  l3l4OverheadPct: {max: 3}\n",
			want: &Profile{APIVersion: "netbench/v1", Kind: "Profile", Metadata: ProfileMetadata{Name: "t"},
				ServiceScale: ServiceScaleThresholds{KeepaliveDegradationPct: Threshold{Rule: RuleReport}, ShortConnDegradationPct: Threshold{Rule: RuleReport}},
				Policy:       PolicyThresholds{L3L4OverheadPct: Threshold{Max: ptr(3), Rule: RuleInterval}}, Datapath: reportDatapath, Hubble: reportHubble, Latency: reportLatency}},
		{name: "min equals max", yaml: header + "policy:\n  l3l4OverheadPct: {min: 0, max: 0, rule: center}\n",
			want: &Profile{APIVersion: "netbench/v1", Kind: "Profile", Metadata: ProfileMetadata{Name: "t"},
				ServiceScale: ServiceScaleThresholds{KeepaliveDegradationPct: Threshold{Rule: RuleReport}, ShortConnDegradationPct: Threshold{Rule: RuleReport}},
				Policy:       PolicyThresholds{L3L4OverheadPct: Threshold{Min: ptr(0), Max: ptr(0), Rule: RuleCenter}}, Datapath: reportDatapath, Hubble: reportHubble, Latency: reportLatency}},

		{name: "bad version", yaml: "apiVersion: netbench/v2\nkind: Profile\n",
			err: `apiVersion "netbench/v2": only "netbench/v1" is supported`},
		{name: "no version", yaml: "kind: Profile\n", err: `apiVersion "": only "netbench/v1" is supported`},
		{name: "wrong kind", yaml: "apiVersion: netbench/v1\nkind: Thresholds\n", err: `kind "Thresholds": must be "Profile"`},
		{name: "unknown top-level field", yaml: header + "throughput: {}\n", err: `unknown or duplicate fields: unknown field "throughput"`},
		{name: "misspelt threshold", yaml: header + "serviceScale:\n  keepaliveDegradationPc: {max: 5, rule: upper}\n",
			err: `unknown field "serviceScale.keepaliveDegradationPc"`},
		{name: "unknown bound", yaml: header + "policy:\n  l3l4OverheadPct: {maximum: 3, rule: upper}\n",
			err: `unknown field "policy.l3l4OverheadPct.maximum"`},
		{name: "field case matters", yaml: header + "policy:\n  l3l4OverheadPct: {Max: 3, rule: upper}\n",
			err: `unknown field "policy.l3l4OverheadPct.Max"`},
		{name: "duplicate key", yaml: header + "policy:\n  l3l4OverheadPct: {max: 3, max: 4, rule: upper}\n", err: `not valid YAML`},
		{name: "bound not a number", yaml: header + "policy:\n  l3l4OverheadPct: {max: three, rule: upper}\n", err: `cannot decode`},
		{name: "not YAML", yaml: "apiVersion: [", err: `not valid YAML`},
		{name: "unknown rule", yaml: header + "policy:\n  l3l4OverheadPct: {max: 3, rule: below}\n",
			err: `policy.l3l4OverheadPct: rule "below": must be "interval", "center" or "report"`},
		{name: "one-sidedness is not a rule", yaml: header + "policy:\n  l3l4OverheadPct: {max: 3, rule: upper}\n",
			err: `policy.l3l4OverheadPct: rule "upper": must be`},
		{name: "a rule without bounds", yaml: header + "serviceScale:\n  keepaliveDegradationPct: {rule: interval}\n",
			err: `serviceScale.keepaliveDegradationPct: rule "interval" needs a min, a max or both`},
		{name: "interval inverted", yaml: header + "serviceScale:\n  keepaliveDegradationPct: {min: 5, max: -5, rule: interval}\n",
			err: `invalid bound for serviceScale.keepaliveDegradationPct: min 5 is above max -5`},
		{name: "report with a bound", yaml: header + "serviceScale:\n  shortConnDegradationPct: {max: 3, rule: report}\n",
			err: `serviceScale.shortConnDegradationPct: rule "report" takes no min or max`},
		{name: "infinite bound", yaml: header + "policy:\n  l3l4OverheadPct: {max: .inf, rule: upper}\n",
			err: `not valid YAML: json: unsupported value: +Inf`},
		{name: "NaN bound", yaml: header + "policy:\n  l3l4OverheadPct: {max: .nan, rule: upper}\n",
			err: `not valid YAML: json: unsupported value: NaN`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParseProfile([]byte(tc.yaml))
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				require.Equal(t, Profile{}, p)
				return
			}
			require.NoError(t, err)
			require.Equal(t, *tc.want, p)
		})
	}
}

func TestParseProfileJoinsAllErrors(t *testing.T) {
	_, err := ParseProfile([]byte("apiVersion: v0\nkind: P\npolicy:\n  l3l4OverheadPct: {rule: center}\n"))
	require.ErrorContains(t, err, `apiVersion "v0"`)
	require.ErrorContains(t, err, `kind "P"`)
	require.ErrorContains(t, err, `policy.l3l4OverheadPct: rule "center" needs a min, a max or both`)
}

func TestLoadProfileErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	_, err := LoadProfile(filepath.Join(dir, "missing.yaml"))
	require.ErrorIs(t, err, os.ErrNotExist)

	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("apiVersion: netbench/v9\nkind: Profile\n"), 0o600))
	_, err = LoadProfile(bad)
	require.ErrorContains(t, err, "profile "+bad+": apiVersion")
}
