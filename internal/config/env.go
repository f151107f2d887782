package config

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// EnvError is one invalid environment variable.
type EnvError struct {
	// Var is the variable's name.
	Var string
	// Value is the value as found.
	Value string
	// Problem says what is wrong with it, if more than "not allowed".
	Problem string
	// Allowed says what values are accepted.
	Allowed string
}

// Error reads `ROUNDS="0": 0 is below 1; allowed: an integer from 1 to 100`.
func (e *EnvError) Error() string {
	if e.Problem == "" {
		return fmt.Sprintf("%s=%q: allowed: %s", e.Var, e.Value, e.Allowed)
	}
	return fmt.Sprintf("%s=%q: %s; allowed: %s", e.Var, e.Value, e.Problem, e.Allowed)
}

// reader looks variables up, records where each value came from and
// collects every error rather than stopping at the first.
type reader struct {
	getenv  func(string) string
	sources map[string]bool
	errs    []error
}

// lookup returns the trimmed value of name and whether it is set (an empty
// value counts as unset, as the seed's ${VAR:-default} does).
func (r *reader) lookup(name string) (string, bool) {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		return "", false
	}
	r.sources[name] = true
	return v, true
}

func (r *reader) fail(name, value, problem, allowed string) {
	r.errs = append(r.errs, &EnvError{Var: name, Value: value, Problem: problem, Allowed: allowed})
}

// intIn reads an integer from lo to hi.
func (r *reader) intIn(name string, def, lo, hi int) int {
	v, ok := r.lookup(name)
	if !ok {
		return def
	}
	allowed := fmt.Sprintf("an integer from %d to %d", lo, hi)
	n, err := strconv.Atoi(v)
	switch {
	case err != nil:
		r.fail(name, v, "not an integer", allowed)
	case n < lo:
		r.fail(name, v, fmt.Sprintf("%d is below %d", n, lo), allowed)
	case n > hi:
		r.fail(name, v, fmt.Sprintf("%d is above %d", n, hi), allowed)
	default:
		return n
	}
	return def
}

// duration reads whole seconds ("30", as the seed's variables are) or a Go
// duration ("90s", "1m30s") from MinDuration to MaxDuration.
func (r *reader) duration(name string, def time.Duration) time.Duration {
	v, ok := r.lookup(name)
	if !ok {
		return def
	}
	allowed := fmt.Sprintf("whole seconds (\"30\") or a Go duration (\"90s\", \"1m30s\") from %s to %s", MinDuration, MaxDuration)
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 || n > int64(MaxDuration/time.Second) {
			r.fail(name, v, "out of range", allowed)
			return def
		}
		d = time.Duration(n) * time.Second
	} else {
		var perr error
		if d, perr = time.ParseDuration(v); perr != nil {
			r.fail(name, v, "not a number of seconds or a duration", allowed)
			return def
		}
	}
	if d < MinDuration || d > MaxDuration {
		r.fail(name, v, "out of range", allowed)
		return def
	}
	return d
}

// boolean reads true or false (also 1/0, t/f, in any case).
func (r *reader) boolean(name string, def bool) bool {
	v, ok := r.lookup(name)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(strings.ToLower(v))
	if err != nil {
		r.fail(name, v, "not a boolean", "true or false (also 1 or 0)")
		return def
	}
	return b
}

// path reads a file system path and cleans it.
func (r *reader) path(name, def string) string {
	v, ok := r.lookup(name)
	if !ok {
		return def
	}
	if strings.ContainsRune(v, 0) {
		r.fail(name, v, "contains a NUL byte", "a file system path")
		return def
	}
	return filepath.Clean(v)
}

// scaleQPS reads ServiceScale's fixed rate, from MinSvcScaleQPS to
// MaxSvcScaleQPS in steps of 0.01, whose connections over one run of
// duration d stay below TimeWaitDrainBelow; unset, DefaultSvcScaleQPS
// lowered to fit d.
func (r *reader) scaleQPS(name string, d time.Duration) float64 {
	fit := min(MaxSvcScaleQPS, MaxQPSFor(d))
	v, ok := r.lookup(name)
	if !ok {
		return min(DefaultSvcScaleQPS, fit)
	}
	allowed := fmt.Sprintf("a number from %v to %v, at most two decimals", MinSvcScaleQPS, MaxSvcScaleQPS)
	q, err := strconv.ParseFloat(v, 64)
	switch {
	case err != nil || math.IsNaN(q) || math.IsInf(q, 0):
		r.fail(name, v, "not a number", allowed)
	case q < MinSvcScaleQPS:
		r.fail(name, v, fmt.Sprintf("%v is below %v", q, MinSvcScaleQPS), allowed)
	case q > MaxSvcScaleQPS:
		r.fail(name, v, fmt.Sprintf("%v is above %v", q, MaxSvcScaleQPS), allowed)
	case math.Abs(q*100-math.Round(q*100)) > 1e-6:
		r.fail(name, v, "more than two decimals", allowed)
	case q*d.Seconds() >= TimeWaitDrainBelow:
		r.fail(name, v, fmt.Sprintf("%v/s over %s=%s is %.0f connections, not below %d: every connection of the fixed-rate run "+
			"leaves a TIME_WAIT socket on the server, and the saturating short-connection run after it must start under the "+
			"drain threshold of %d (W-STAT-9)", q, EnvFortioDuration, d, q*d.Seconds(), TimeWaitDrainBelow, TimeWaitDrainBelow),
			fmt.Sprintf("a number from %v to %v with %s=%s", MinSvcScaleQPS, fit, EnvFortioDuration, d))
	default:
		return q
	}
	return 0
}

// MaxQPSFor is the highest rate, in steps of 0.01, whose connections over
// d stay below TimeWaitDrainBelow.
func MaxQPSFor(d time.Duration) float64 {
	if d <= 0 {
		return MaxSvcScaleQPS
	}
	return (math.Ceil(TimeWaitDrainBelow*100/d.Seconds()) - 1) / 100
}

// steps reads a comma-separated list of strictly ascending positive
// integers, at most MaxScaleStep.
func (r *reader) steps(name, def string) []int {
	v, ok := r.lookup(name)
	if !ok {
		v = def
	}
	allowed := fmt.Sprintf("a comma-separated list of strictly ascending integers from 1 to %d, e.g. %q", MaxScaleStep, DefaultSvcScaleSteps)
	parts := strings.Split(v, ",")
	steps := make([]int, 0, len(parts))
	for i, p := range parts {
		p = strings.TrimSpace(p)
		n, err := strconv.Atoi(p)
		switch {
		case p == "":
			r.fail(name, v, fmt.Sprintf("item %d is empty", i+1), allowed)
			return nil
		case err != nil:
			r.fail(name, v, fmt.Sprintf("item %d (%q) is not an integer", i+1, p), allowed)
			return nil
		case n < 1 || n > MaxScaleStep:
			r.fail(name, v, fmt.Sprintf("item %d (%d) is out of range", i+1, n), allowed)
			return nil
		case i > 0 && n <= steps[i-1]:
			r.fail(name, v, fmt.Sprintf("item %d (%d) is not above item %d (%d): steps are cumulative", i+1, n, i, steps[i-1]), allowed)
			return nil
		}
		steps = append(steps, n)
	}
	return steps
}

// runID reads a run ID or generates one. A run ID labels Kubernetes objects,
// so it must be a valid label value: at most 63 characters of [A-Za-z0-9-_.],
// beginning and ending with a letter or digit.
func (r *reader) runID(name string, generate func() (string, error)) string {
	v, ok := r.lookup(name)
	if !ok {
		id, err := generate()
		if err != nil {
			r.errs = append(r.errs, fmt.Errorf("%s unset and no run ID could be generated: %w", name, err))
		}
		return id
	}
	if problem := labelValueProblem(v); problem != "" {
		r.fail(name, v, problem, fmt.Sprintf("a Kubernetes label value: 1 to %d characters of A-Z a-z 0-9 - _ ., beginning and ending with a letter or digit", MaxRunIDLen))
		return ""
	}
	return v
}

// labelValueProblem says why v is not a non-empty label value, or "".
func labelValueProblem(v string) string {
	if len(v) > MaxRunIDLen {
		return fmt.Sprintf("%d characters is longer than %d", len(v), MaxRunIDLen)
	}
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }
	for i := 0; i < len(v); i++ {
		if c := v[i]; !alnum(c) && c != '-' && c != '_' && c != '.' {
			return fmt.Sprintf("character %q is not allowed", c)
		}
	}
	if !alnum(v[0]) || !alnum(v[len(v)-1]) {
		return "must begin and end with a letter or digit"
	}
	return ""
}
