// Package config holds the suite's typed settings: what to measure and how
// hard (scale steps, rounds, tool durations), where results go, and which
// thresholds profile judges them. Settings come from environment variables
// that keep the seed script's names (seed-script-spec §1) with defaults fit
// for this suite, and are validated once, in FromEnv: every problem is
// reported at once, each naming the variable, its value and what is allowed.
//
// The package is pure: FromEnv reads only through the getenv function it is
// given, and profiles are parsed from bytes (LoadProfile is a thin file read).
package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Environment variable names. They keep the seed script's names so that an
// operator's habits carry over; the meanings are the same unless said.
const (
	EnvSvcScaleSteps     = "SVC_SCALE_STEPS"
	EnvSvcEndpoints      = "SVC_ENDPOINTS"
	EnvRounds            = "ROUNDS"
	EnvFortioDuration    = "FORTIO_DURATION"
	EnvFortioConnections = "FORTIO_CONNECTIONS"
	EnvIperfDuration     = "IPERF_DURATION"
	EnvSvcCreateParallel = "SVC_CREATE_PARALLEL"
	EnvSvcScaleQPS       = "SVC_SCALE_QPS"
	EnvAutoFixLBMap      = "AUTO_FIX_LB_MAP"
	EnvResultsDir        = "RESULTS_DIR"
	EnvProfile           = "PROFILE"
	EnvRunID             = "RUN_ID"
)

// Defaults. Where they differ from the seed script, the reason is given.
const (
	// DefaultSvcScaleSteps is the seed's own help-text example rather than
	// its 5000..30000 default: the embedded lab programs 10k Services in
	// 30-50 s on 2 cores, and larger steps are an explicit choice.
	DefaultSvcScaleSteps = "1000,5000,10000"
	// DefaultSvcEndpoints is the seed's 4 endpoints per dummy Service.
	DefaultSvcEndpoints = 4
	// DefaultRounds is 6, not the seed's 1 (W-STAT-1): golang.org/x/perf's
	// benchmath needs at least 6 samples to give a 95 % confidence interval
	// for the median.
	DefaultRounds = 6
	// DefaultFortioDuration is 10 s, not the seed's 60 s: six 10 s rounds
	// give a confidence interval where one 60 s run gives a single number.
	DefaultFortioDuration = 10 * time.Second
	// DefaultFortioConnections is the seed's c64.
	DefaultFortioConnections = 64
	// DefaultIperfDuration is 10 s for the same reason as FORTIO_DURATION.
	DefaultIperfDuration = 10 * time.Second
	// DefaultSvcCreateParallel is 32 client-go workers (seed: 4 xargs
	// workers): creation is capped by ClusterIP allocation, and 32 workers
	// reached the apiserver's rate in the lab (lab-recipe §6).
	DefaultSvcCreateParallel = 32
	// DefaultSvcScaleQPS is ServiceScale's fixed rate of new connections
	// for its connection-latency measure, well below what saturates a
	// 2-core machine (issue 14). It is lowered to fit when FORTIO_DURATION
	// is so long that 80 connections a second would reach
	// TimeWaitDrainBelow (see SvcScaleQPS).
	DefaultSvcScaleQPS = 80
	// DefaultResultsDir is where results, raw outputs and reports go.
	DefaultResultsDir = "results"
	// DefaultProfile is the thresholds profile, relative to the repository
	// root.
	DefaultProfile = "profiles/default.yaml"
)

// Allowed ranges.
const (
	MinRounds = 1
	MaxRounds = 100
	// MinRoundsForCI is the smallest sample count for which benchmath gives
	// a 95 % confidence interval; fewer rounds run, with a warning.
	MinRoundsForCI = 6

	MinSvcEndpoints = 1
	MaxSvcEndpoints = 100

	// MaxScaleStep is the number of usable addresses of a /12, the largest
	// Service range kube-apiserver accepts for IPv4: every dummy Service
	// takes a ClusterIP.
	MaxScaleStep = 1<<20 - 2

	MinDuration = time.Second
	MaxDuration = time.Hour

	MinFortioConnections = 1
	MaxFortioConnections = 4096

	MinSvcCreateParallel = 1
	MaxSvcCreateParallel = 256

	MinSvcScaleQPS = 0.01
	MaxSvcScaleQPS = 1000

	// TimeWaitDrainBelow is the server's TIME_WAIT count under which a
	// short-connection run may start (W-STAT-9): lab-recipe §5 saw 41,500
	// left over after one round slow the next by 4x.
	TimeWaitDrainBelow = 1000

	// MaxRunIDLen is the length limit of a Kubernetes label value: the run
	// ID labels everything the suite creates.
	MaxRunIDLen = 63
)

// Config is the validated, effective configuration of one suite run.
// Build it with FromEnv; the zero value is not valid.
type Config struct {
	// SvcScaleSteps are the cumulative Service counts of the scale test,
	// strictly ascending.
	SvcScaleSteps []int
	// SvcEndpoints is the number of endpoints of each dummy Service.
	SvcEndpoints int
	// Rounds is the number of samples per scenario.
	Rounds int
	// FortioDuration is the length of one fortio run.
	FortioDuration time.Duration
	// FortioConnections is fortio's -c for the throughput scenarios.
	FortioConnections int
	// IperfDuration is the length of one iperf3 run.
	IperfDuration time.Duration
	// SvcCreateParallel is the number of workers creating dummy Services.
	SvcCreateParallel int
	// SvcScaleQPS is the fixed request rate of ServiceScale's
	// short-connection latency run, each request a new connection. Its
	// connections in one FORTIO_DURATION stay below TimeWaitDrainBelow:
	// that run comes between a round's TIME_WAIT drain and the saturating
	// short-connection run, which then starts from the same state in every
	// round without a second drain.
	SvcScaleQPS float64
	// AutoFixLBMap allows the suite to raise Cilium's bpf-lb-map-max in
	// preflight when the largest step needs it (and to restore it after).
	// It is off unless asked for: mutating cluster configuration is an
	// explicit opt-in, never an interactive prompt (W-OPS-6).
	AutoFixLBMap bool
	// Workload sizes the pods the suite measures with (W-OPS-5: the seed's
	// are BestEffort).
	Workload Workload
	// ResultsDir is the directory for results and raw tool outputs.
	ResultsDir string
	// Profile is the path of the thresholds profile (see LoadProfile).
	Profile string
	// RunID labels everything this run creates, for cleanup and leftover
	// detection. It is a valid Kubernetes label value.
	RunID string

	// Warnings are accepted settings that weaken the results, such as fewer
	// rounds than a confidence interval needs. They belong in the report.
	Warnings []string

	// sources records, per variable, whether its value came from the
	// environment; Describe reports it.
	sources map[string]bool
}

// FromEnv reads the configuration from the environment variables above, as
// returned by getenv (os.Getenv in production). An empty or unset variable
// takes its default. All problems are returned together (errors.Join), each
// an *EnvError; the returned Config is then the zero value.
func FromEnv(getenv func(string) string) (Config, error) {
	return fromEnv(getenv, NewRunID)
}

// fromEnv is FromEnv with the run-ID generator injected, for tests.
func fromEnv(getenv func(string) string, newRunID func() (string, error)) (Config, error) {
	r := reader{getenv: getenv, sources: map[string]bool{}}
	c := Config{
		SvcScaleSteps:     r.steps(EnvSvcScaleSteps, DefaultSvcScaleSteps),
		SvcEndpoints:      r.intIn(EnvSvcEndpoints, DefaultSvcEndpoints, MinSvcEndpoints, MaxSvcEndpoints),
		Rounds:            r.intIn(EnvRounds, DefaultRounds, MinRounds, MaxRounds),
		FortioDuration:    r.duration(EnvFortioDuration, DefaultFortioDuration),
		FortioConnections: r.intIn(EnvFortioConnections, DefaultFortioConnections, MinFortioConnections, MaxFortioConnections),
		IperfDuration:     r.duration(EnvIperfDuration, DefaultIperfDuration),
		SvcCreateParallel: r.intIn(EnvSvcCreateParallel, DefaultSvcCreateParallel, MinSvcCreateParallel, MaxSvcCreateParallel),
		AutoFixLBMap:      r.boolean(EnvAutoFixLBMap, false),
		Workload:          r.workload(),
		ResultsDir:        r.path(EnvResultsDir, DefaultResultsDir),
		Profile:           r.path(EnvProfile, DefaultProfile),
		RunID:             r.runID(EnvRunID, newRunID),
	}
	c.SvcScaleQPS = r.scaleQPS(EnvSvcScaleQPS, c.FortioDuration)
	if len(r.errs) > 0 {
		return Config{}, errors.Join(r.errs...)
	}
	if c.Rounds < MinRoundsForCI {
		c.Warnings = append(c.Warnings, fmt.Sprintf(
			"%s=%d: fewer than %d samples per scenario, so results carry no 95 %% confidence interval (benchmath needs >= %d)",
			EnvRounds, c.Rounds, MinRoundsForCI, MinRoundsForCI))
	}
	c.sources = r.sources
	return c, nil
}

// KV is one setting of the effective configuration.
type KV struct {
	// Key is the environment variable that sets it.
	Key string
	// Value is the effective value, formatted as it would be set.
	Value string
	// Source is "env" when the variable set it, "default" otherwise.
	Source string
}

// Describe lists the effective configuration in a fixed order, for the run's
// fingerprint: every value that shapes the results is recorded with the
// output (practice 12).
func (c Config) Describe() []KV {
	kv := func(key, value string) KV {
		src := "default"
		if c.sources[key] {
			src = "env"
		}
		return KV{Key: key, Value: value, Source: src}
	}
	qos, cpu, memory := c.Workload.describe()
	return []KV{
		kv(EnvSvcScaleSteps, c.ScaleSteps()),
		kv(EnvSvcEndpoints, strconv.Itoa(c.SvcEndpoints)),
		kv(EnvRounds, strconv.Itoa(c.Rounds)),
		kv(EnvFortioDuration, c.FortioDuration.String()),
		kv(EnvFortioConnections, strconv.Itoa(c.FortioConnections)),
		kv(EnvIperfDuration, c.IperfDuration.String()),
		kv(EnvSvcCreateParallel, strconv.Itoa(c.SvcCreateParallel)),
		kv(EnvSvcScaleQPS, strconv.FormatFloat(c.SvcScaleQPS, 'f', -1, 64)),
		kv(EnvAutoFixLBMap, strconv.FormatBool(c.AutoFixLBMap)),
		kv(EnvWorkloadQoS, qos),
		kv(EnvWorkloadCPU, cpu),
		kv(EnvWorkloadMemory, memory),
		kv(EnvResultsDir, c.ResultsDir),
		kv(EnvProfile, c.Profile),
		kv(EnvRunID, c.RunID),
	}
}

// ScaleSteps is SVC_SCALE_STEPS as it would be set.
func (c Config) ScaleSteps() string {
	steps := make([]string, len(c.SvcScaleSteps))
	for i, s := range c.SvcScaleSteps {
		steps[i] = strconv.Itoa(s)
	}
	return strings.Join(steps, ",")
}

// Clone is a copy of c that shares nothing with it, for a caller that
// changes its copy (a test pass with other rounds or durations).
func (c Config) Clone() Config {
	c.SvcScaleSteps = slices.Clone(c.SvcScaleSteps)
	c.Warnings = slices.Clone(c.Warnings)
	c.sources = maps.Clone(c.sources)
	c.Workload.CPU, c.Workload.Memory = c.Workload.CPU.DeepCopy(), c.Workload.Memory.DeepCopy()
	return c
}

// MinExecSlack is the least time an exec gets beyond its tool's duration.
const MinExecSlack = 30 * time.Second

// ExecTimeout is the deadline for running a tool of the given duration in a
// pod: the duration plus half of it, and at least MinExecSlack more. It grows
// with the duration, so a long run is never cut by a fixed exec timeout
// (W-OPS-7: the seed's fixed 180 s killed every run of 180 s or more).
func (c Config) ExecTimeout(toolDuration time.Duration) time.Duration {
	return toolDuration + max(MinExecSlack, toolDuration/2)
}

// NewRunID returns a fresh run ID: "nb-" and the UTC time to the second,
// then 6 random hex digits, e.g. "nb-20261123-193538-a1b2c3". It sorts by
// time and is a valid label value.
func NewRunID() (string, error) {
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("run ID: %w", err)
	}
	return "nb-" + time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:]), nil
}
