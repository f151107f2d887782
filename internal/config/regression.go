package config

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// RegressionTolerances are the regression gate's tolerances (netbench
// compare): how far, in percent of the baseline's median, a metric of a
// candidate run may move in its worse direction before the change counts as
// a regression. The gate judges the whole 95 % interval of the change, so a
// tolerance is the size of change that matters, not an allowance for noise.
//
// A metric's tolerance is, first found: its unit's entry in its dimension's
// units, its dimension's defaultPct, the section's defaultPct. A metric with
// none is reported, not judged, as a threshold left out of the profile is.
type RegressionTolerances struct {
	// DefaultPct applies to every metric that its dimension does not set.
	DefaultPct *float64 `json:"defaultPct,omitempty"`
	// One section per dimension, named after the results' benchmark names
	// (see Dimensions).
	Throughput    DimensionTolerances `json:"throughput"`
	RPS           DimensionTolerances `json:"rps"`
	Latency       DimensionTolerances `json:"latency"`
	Resources     DimensionTolerances `json:"resources"`
	Hubble        DimensionTolerances `json:"hubble"`
	NetworkPolicy DimensionTolerances `json:"networkPolicy"`
}

// DimensionTolerances are one dimension's tolerances, in percent.
type DimensionTolerances struct {
	// DefaultPct applies to the dimension's metrics that Units does not set.
	DefaultPct *float64 `json:"defaultPct,omitempty"`
	// Units sets a metric's tolerance by its unit, e.g. "p99-sec": 25. A
	// unit the dimension does not record is an error at load time.
	Units map[string]float64 `json:"units,omitempty"`
}

// Dimension is a dimension the regression section knows: the benchmark
// name its results carry, its field in the profile and the units it
// records.
type Dimension struct {
	// Result is the results' benchmark name, e.g. "RPS".
	Result string
	// Field is the section's field, e.g. "rps".
	Field string
	// Units are the metric units the dimension records.
	Units []string
	// section is the dimension's field of a RegressionTolerances.
	section func(*RegressionTolerances) *DimensionTolerances
}

// Dimensions lists what the regression section can set: every dimension
// whose results are a report.Run, with the units its writer records. It is
// the one list; a profile naming anything else fails to load.
var Dimensions = []Dimension{
	{"Throughput", "throughput", []string{"bits/s", "retrans", "client-cpu-%", "server-cpu-%"},
		func(r *RegressionTolerances) *DimensionTolerances { return &r.Throughput }},
	{"RPS", "rps", []string{"req/s", "p50-sec", "p99-sec"},
		func(r *RegressionTolerances) *DimensionTolerances { return &r.RPS }},
	{"Latency", "latency", []string{"trans/s", "req/s", "p50-sec", "p90-sec", "p99-sec", "p99.9-sec"},
		func(r *RegressionTolerances) *DimensionTolerances { return &r.Latency }},
	{"Resources", "resources", []string{"millicores", "B"},
		func(r *RegressionTolerances) *DimensionTolerances { return &r.Resources }},
	{"Hubble", "hubble", []string{"req/s"},
		func(r *RegressionTolerances) *DimensionTolerances { return &r.Hubble }},
	{"NetworkPolicy", "networkPolicy", []string{"req/s"},
		func(r *RegressionTolerances) *DimensionTolerances { return &r.NetworkPolicy }},
}

// Tolerance is a metric's tolerance and where the profile sets it.
type Tolerance struct {
	// Pct is the tolerance in percent of the baseline's median, >= 0.
	Pct float64
	// Source is its path in the profile, e.g. "regression.rps.units.p99-sec".
	Source string
}

// String reads "5 % (regression.defaultPct)".
func (t Tolerance) String() string {
	return strconv.FormatFloat(t.Pct, 'f', -1, 64) + " % (" + t.Source + ")"
}

// Tolerance returns the tolerance of the metric with unit of the results
// named result (a dimension's benchmark name, e.g. "RPS"), and false when the
// profile sets none: the metric is then reported only.
func (r RegressionTolerances) Tolerance(result, unit string) (Tolerance, bool) {
	for _, d := range Dimensions {
		if d.Result != result {
			continue
		}
		dt := d.section(&r)
		if pct, ok := dt.Units[unit]; ok {
			return Tolerance{Pct: pct, Source: "regression." + d.Field + ".units." + unit}, true
		}
		if dt.DefaultPct != nil {
			return Tolerance{Pct: *dt.DefaultPct, Source: "regression." + d.Field + ".defaultPct"}, true
		}
	}
	if r.DefaultPct != nil {
		return Tolerance{Pct: *r.DefaultPct, Source: "regression.defaultPct"}, true
	}
	return Tolerance{}, false
}

// validate reports every tolerance that is negative and every unit its
// dimension does not record, naming each by its path.
func (r *RegressionTolerances) validate() error {
	var errs []error
	check := func(name string, pct float64) {
		if pct < 0 || math.IsNaN(pct) || math.IsInf(pct, 0) {
			errs = append(errs, fmt.Errorf("%s: tolerance %v: must be a finite percentage >= 0", name, pct))
		}
	}
	if r.DefaultPct != nil {
		check("regression.defaultPct", *r.DefaultPct)
	}
	for _, d := range Dimensions {
		dt := d.section(r)
		if dt.DefaultPct != nil {
			check("regression."+d.Field+".defaultPct", *dt.DefaultPct)
		}
		units := make([]string, 0, len(dt.Units))
		for u := range dt.Units {
			units = append(units, u)
		}
		slices.Sort(units)
		for _, u := range units {
			name := "regression." + d.Field + ".units." + u
			if !slices.Contains(d.Units, u) {
				errs = append(errs, fmt.Errorf("%s: unit %q is not one %s records (%s)", name, u, d.Result, strings.Join(d.Units, ", ")))
				continue
			}
			check(name, dt.Units[u])
		}
	}
	return errors.Join(errs...)
}
