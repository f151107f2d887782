package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"
	"unicode"

	"golang.org/x/perf/benchunit"
)

// ErrInvalidRun wraps every problem Validate finds; test with errors.Is.
var ErrInvalidRun = errors.New("invalid run")

// gomaxprocsSuffix matches what benchfmt reads as a GOMAXPROCS suffix at
// the end of a benchmark name.
var gomaxprocsSuffix = regexp.MustCompile(`-[0-9]+$`)

// Validate reports every reason r cannot be written faithfully in both
// formats, joined in one error wrapping ErrInvalidRun: an empty ID or start
// time, results whose names, keys or units the benchmark format cannot
// carry, duplicate results, non-finite samples, a summary that does not
// match its samples, and unknown statuses. Both writers and ReadJSON call
// it, so an invalid run is never half written.
func (r Run) Validate() error {
	errs := checkSpan(r.ID, r.Started, r.Finished)
	if _, err := fileConfig(r.Fingerprint); err != nil {
		errs = append(errs, err)
	}
	names := map[string]bool{}
	better := map[string]string{} // unit -> Better, across the run
	for i, res := range r.Results {
		name := res.BenchmarkName()
		if err := res.validate(better); err != nil {
			errs = append(errs, fmt.Errorf("result %d (%s): %w", i, name, err))
		}
		if names[name] {
			errs = append(errs, fmt.Errorf("result %d: %s appears twice; benchstat would merge the two", i, name))
		}
		names[name] = true
	}
	scenarios := map[string]bool{}
	for i, s := range r.Scenarios {
		errs = append(errs, checkOutcome("scenario", i, s.Name, s.Status, scenarios)...)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidRun, err)
	}
	return nil
}

// checkOutcome checks the i-th named outcome (a scenario, a manifest's
// dimension): a name, seen once, and a known status.
func checkOutcome(what string, i int, name, status string, seen map[string]bool) []error {
	var errs []error
	switch {
	case name == "":
		errs = append(errs, fmt.Errorf("%s %d has no name", what, i))
	case seen[name]:
		errs = append(errs, fmt.Errorf("%s %s appears twice", what, name))
	}
	seen[name] = true
	switch status {
	case StatusPassed, StatusFailed, StatusSkipped, StatusError:
	default:
		errs = append(errs, fmt.Errorf("%s %s: unknown status %q (want %s, %s, %s or %s)",
			what, name, status, StatusPassed, StatusFailed, StatusSkipped, StatusError))
	}
	return errs
}

// checkSpan checks what a run and its manifest both carry: an ID, a start,
// and no end before it.
func checkSpan(id string, started, finished time.Time) []error {
	var errs []error
	if id == "" {
		errs = append(errs, errors.New("run ID is empty"))
	}
	if started.IsZero() {
		errs = append(errs, errors.New("start time is not set"))
	}
	if !finished.IsZero() && finished.Before(started) {
		errs = append(errs, fmt.Errorf("finished %s before it started %s", finished, started))
	}
	return errs
}

// BenchmarkName is the result's full benchmark name without the
// "Benchmark" prefix: ServiceScale/dataplane=iptables/svc=10000/conn=short.
func (res Result) BenchmarkName() string {
	var b strings.Builder
	b.WriteString(res.Name)
	for _, kv := range res.Keys {
		b.WriteString("/" + kv.Key + "=" + kv.Value)
	}
	return b.String()
}

func (res Result) validate(better map[string]string) error {
	var errs []error
	if err := namePart("name", res.Name, ""); err != nil {
		errs = append(errs, err)
	}
	keys := map[string]bool{}
	for _, kv := range res.Keys {
		if err := namePart("key", kv.Key, "="); err != nil {
			errs = append(errs, err)
		}
		if err := namePart("value of "+kv.Key, kv.Value, ""); err != nil {
			errs = append(errs, err)
		}
		if keys[kv.Key] {
			errs = append(errs, fmt.Errorf("key %q appears twice", kv.Key))
		}
		keys[kv.Key] = true
	}
	if gomaxprocsSuffix.MatchString(res.BenchmarkName()) {
		errs = append(errs, errors.New("the name ends in -<digits>, which benchstat reads as GOMAXPROCS; reorder the keys or change the last value"))
	}
	if len(res.Metrics) == 0 && len(res.Failures) == 0 {
		errs = append(errs, errors.New("no metrics and no failed round"))
	}
	for i, f := range res.Failures {
		if f.Round < 1 {
			errs = append(errs, fmt.Errorf("failure %d: round %d, want 1 or more", i, f.Round))
		}
		if strings.TrimSpace(f.Reason) == "" || strings.ContainsAny(f.Reason, "\r\n") {
			errs = append(errs, fmt.Errorf("failure %d: reason %q is empty or not one line", i, f.Reason))
		}
	}
	units := map[string]bool{}
	for _, m := range res.Metrics {
		if err := m.validate(better); err != nil {
			errs = append(errs, fmt.Errorf("metric %s: %w", m.Unit, err))
		}
		if units[m.Unit] {
			errs = append(errs, fmt.Errorf("unit %q appears twice; give each metric its own unit, e.g. p50-sec and p99-sec", m.Unit))
		}
		units[m.Unit] = true
	}
	if len(res.Raw) > 0 && !json.Valid(res.Raw) {
		errs = append(errs, errors.New("raw output is not valid JSON"))
	}
	return errors.Join(errs...)
}

func (m Metric) validate(better map[string]string) error {
	var errs []error
	if m.Unit == "" || strings.ContainsFunc(m.Unit, unicode.IsSpace) {
		errs = append(errs, fmt.Errorf("unit %q is empty or has spaces", m.Unit))
	} else if _, tidy := benchunit.Tidy(1, m.Unit); tidy != m.Unit {
		errs = append(errs, fmt.Errorf("unit %q is not tidy: benchstat would rewrite it as %q; record it in %q", m.Unit, tidy, tidy))
	}
	switch m.Better {
	case HigherIsBetter, LowerIsBetter:
		if have, ok := better[m.Unit]; ok && have != m.Better {
			errs = append(errs, fmt.Errorf("better=%s, but another result has better=%s for the same unit", m.Better, have))
		}
		better[m.Unit] = m.Better
	default:
		errs = append(errs, fmt.Errorf("better is %q, want %q or %q", m.Better, HigherIsBetter, LowerIsBetter))
	}
	if len(m.Samples) == 0 {
		errs = append(errs, errors.New("no samples"))
	}
	for i, v := range m.Samples {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			errs = append(errs, fmt.Errorf("sample %d is %v", i, v))
		}
	}
	s := m.Summary
	if s.N != len(m.Samples) {
		errs = append(errs, fmt.Errorf("summary is of %d samples, the metric has %d", s.N, len(m.Samples)))
	}
	if math.IsNaN(s.Center) || math.IsInf(s.Center, 0) || math.IsNaN(s.Lo) || math.IsInf(s.Lo, 1) ||
		math.IsNaN(s.Hi) || math.IsInf(s.Hi, -1) || s.Lo > s.Hi || math.IsNaN(s.Confidence) {
		errs = append(errs, fmt.Errorf("summary %v [%v, %v] is not a median with an interval", s.Center, s.Lo, s.Hi))
	}
	return errors.Join(errs...)
}

// namePart checks one part of a benchmark name: not empty, no spaces, no
// "/" (which separates parts), and none of the extra forbidden characters.
func namePart(what, s, forbidden string) error {
	if s == "" {
		return fmt.Errorf("%s is empty", what)
	}
	if strings.ContainsFunc(s, unicode.IsSpace) || strings.ContainsAny(s, "/"+forbidden) {
		return fmt.Errorf("%s %q must not contain spaces or any of %q", what, s, "/"+forbidden)
	}
	return nil
}
