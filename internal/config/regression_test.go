package config

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDefaultProfileRegression reads the shipped tolerances and the order in
// which a metric finds its own: unit, then dimension, then the default.
func TestDefaultProfileRegression(t *testing.T) {
	p, err := LoadProfile(filepath.Join("..", "..", DefaultProfile))
	require.NoError(t, err)
	r := p.Regression
	for _, tc := range []struct {
		result, unit string
		want         Tolerance
	}{
		{"RPS", "p99-sec", Tolerance{Pct: 20, Source: "regression.rps.units.p99-sec"}},
		{"RPS", "req/s", Tolerance{Pct: 5, Source: "regression.defaultPct"}},
		{"Resources", "B", Tolerance{Pct: 20, Source: "regression.resources.defaultPct"}},
		{"Throughput", "retrans", Tolerance{Pct: 50, Source: "regression.throughput.units.retrans"}},
		{"SomethingNew", "req/s", Tolerance{Pct: 5, Source: "regression.defaultPct"}},
	} {
		got, ok := r.Tolerance(tc.result, tc.unit)
		require.True(t, ok, "%s %s", tc.result, tc.unit)
		require.Equal(t, tc.want, got, "%s %s", tc.result, tc.unit)
	}
	require.Equal(t, "20 % (regression.rps.units.p99-sec)", Tolerance{Pct: 20, Source: "regression.rps.units.p99-sec"}.String())
}

func TestRegressionToleranceReportOnly(t *testing.T) {
	p, err := ParseProfile([]byte(header))
	require.NoError(t, err)
	_, ok := p.Regression.Tolerance("RPS", "req/s")
	require.False(t, ok, "no regression section: reported only")

	p, err = ParseProfile([]byte(header + "regression:\n  hubble: {defaultPct: 0}\n"))
	require.NoError(t, err)
	got, ok := p.Regression.Tolerance("Hubble", "req/s")
	require.True(t, ok)
	require.Equal(t, Tolerance{Pct: 0, Source: "regression.hubble.defaultPct"}, got, "0 is a tolerance, not unset")
	_, ok = p.Regression.Tolerance("RPS", "req/s")
	require.False(t, ok)
}

func TestRegressionProfileErrors(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, err string }{
		"unknown dimension": {"regression:\n  rpss: {defaultPct: 5}\n", `unknown field "regression.rpss"`},
		"serviceScale is not a report.Run yet": {"regression:\n  serviceScale: {defaultPct: 5}\n",
			`unknown field "regression.serviceScale"`},
		"misspelt default":   {"regression:\n  defaultPc: 5\n", `unknown field "regression.defaultPc"`},
		"unknown unit":       {"regression:\n  rps:\n    units: {p99-sce: 20}\n", `regression.rps.units.p99-sce: unit "p99-sce" is not one RPS records (req/s, p50-sec, p99-sec)`},
		"negative default":   {"regression:\n  defaultPct: -1\n", `regression.defaultPct: tolerance -1: must be a finite percentage >= 0`},
		"negative dimension": {"regression:\n  latency: {defaultPct: -2}\n", `regression.latency.defaultPct: tolerance -2`},
		"negative unit":      {"regression:\n  latency:\n    units: {p99-sec: -3}\n", `regression.latency.units.p99-sec: tolerance -3`},
		"not a number":       {"regression:\n  defaultPct: five\n", `cannot decode`},
	} {
		t.Run(name, func(t *testing.T) {
			p, err := ParseProfile([]byte(header + tc.yaml))
			require.ErrorContains(t, err, tc.err)
			require.Equal(t, Profile{}, p)
		})
	}
}
