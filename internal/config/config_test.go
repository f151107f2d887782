package config

import (
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/resource"
)

// env returns a getenv over a fixed map.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func fixedID() (string, error) { return "nb-test", nil }

func TestFromEnvDefaults(t *testing.T) {
	c, err := fromEnv(env(nil), fixedID)
	require.NoError(t, err)
	require.Equal(t, []int{1000, 5000, 10000}, c.SvcScaleSteps)
	require.Equal(t, 4, c.SvcEndpoints)
	require.Equal(t, 6, c.Rounds)
	require.Equal(t, 10*time.Second, c.FortioDuration)
	require.Equal(t, 64, c.FortioConnections)
	require.Equal(t, 10*time.Second, c.IperfDuration)
	require.Equal(t, 32, c.SvcCreateParallel)
	require.Equal(t, 80.0, c.SvcScaleQPS)
	require.False(t, c.AutoFixLBMap)
	require.Equal(t, "results", c.ResultsDir)
	require.Equal(t, "profiles/default.yaml", c.Profile)
	require.Equal(t, "nb-test", c.RunID)
	require.Equal(t, Workload{QoS: "Guaranteed", CPU: resource.MustParse("600m"), Memory: resource.MustParse("512Mi")}, c.Workload)
	require.Empty(t, c.Warnings, "the defaults must give a confidence interval")
}

// TestFromEnvVariables covers every variable: a good value, bad values and
// the edges of what is allowed. A bad case names the variable, the value and
// what is allowed.
func TestFromEnvVariables(t *testing.T) {
	cases := []struct {
		name, key, value string
		check            func(t *testing.T, c Config) // for good values
		problem          string                       // for bad values: expected error text
	}{
		// SVC_SCALE_STEPS
		{name: "steps", key: EnvSvcScaleSteps, value: "5000,10000,20000,30000",
			check: func(t *testing.T, c Config) { require.Equal(t, []int{5000, 10000, 20000, 30000}, c.SvcScaleSteps) }},
		{name: "steps with spaces", key: EnvSvcScaleSteps, value: " 1 , 2,3 ",
			check: func(t *testing.T, c Config) { require.Equal(t, []int{1, 2, 3}, c.SvcScaleSteps) }},
		{name: "one step", key: EnvSvcScaleSteps, value: "1",
			check: func(t *testing.T, c Config) { require.Equal(t, []int{1}, c.SvcScaleSteps) }},
		{name: "largest step", key: EnvSvcScaleSteps, value: "1048574",
			check: func(t *testing.T, c Config) { require.Equal(t, []int{MaxScaleStep}, c.SvcScaleSteps) }},
		{name: "steps not ascending", key: EnvSvcScaleSteps, value: "5000,1000",
			problem: `SVC_SCALE_STEPS="5000,1000": item 2 (1000) is not above item 1 (5000): steps are cumulative; allowed: a comma-separated list of strictly ascending integers from 1 to 1048574`},
		{name: "steps repeated", key: EnvSvcScaleSteps, value: "1000,1000", problem: `item 2 (1000) is not above item 1 (1000)`},
		{name: "step zero", key: EnvSvcScaleSteps, value: "0,10", problem: `SVC_SCALE_STEPS="0,10": item 1 (0) is out of range`},
		{name: "step negative", key: EnvSvcScaleSteps, value: "-5", problem: `item 1 (-5) is out of range`},
		{name: "step too large", key: EnvSvcScaleSteps, value: "1048575", problem: `item 1 (1048575) is out of range`},
		{name: "step not a number", key: EnvSvcScaleSteps, value: "1000,5k", problem: `item 2 ("5k") is not an integer`},
		{name: "trailing comma", key: EnvSvcScaleSteps, value: "1000,", problem: `SVC_SCALE_STEPS="1000,": item 2 is empty`},

		// SVC_ENDPOINTS
		{name: "endpoints", key: EnvSvcEndpoints, value: "10", check: func(t *testing.T, c Config) { require.Equal(t, 10, c.SvcEndpoints) }},
		{name: "endpoints min", key: EnvSvcEndpoints, value: "1", check: func(t *testing.T, c Config) { require.Equal(t, 1, c.SvcEndpoints) }},
		{name: "endpoints max", key: EnvSvcEndpoints, value: "100", check: func(t *testing.T, c Config) { require.Equal(t, 100, c.SvcEndpoints) }},
		{name: "endpoints zero", key: EnvSvcEndpoints, value: "0", problem: `SVC_ENDPOINTS="0": 0 is below 1; allowed: an integer from 1 to 100`},
		{name: "endpoints too many", key: EnvSvcEndpoints, value: "101", problem: `SVC_ENDPOINTS="101": 101 is above 100; allowed: an integer from 1 to 100`},
		{name: "endpoints float", key: EnvSvcEndpoints, value: "4.5", problem: `SVC_ENDPOINTS="4.5": not an integer; allowed: an integer from 1 to 100`},

		// ROUNDS
		{name: "rounds", key: EnvRounds, value: "10", check: func(t *testing.T, c Config) {
			require.Equal(t, 10, c.Rounds)
			require.Empty(t, c.Warnings)
		}},
		{name: "rounds at the CI minimum", key: EnvRounds, value: "6", check: func(t *testing.T, c Config) { require.Empty(t, c.Warnings) }},
		{name: "rounds below the CI minimum", key: EnvRounds, value: "5", check: func(t *testing.T, c Config) {
			require.Equal(t, 5, c.Rounds)
			require.Equal(t, []string{"ROUNDS=5: fewer than 6 samples per scenario, so results carry no 95 % confidence interval (benchmath needs >= 6)"}, c.Warnings)
		}},
		{name: "one round", key: EnvRounds, value: "1", check: func(t *testing.T, c Config) {
			require.Equal(t, 1, c.Rounds)
			require.Len(t, c.Warnings, 1)
		}},
		{name: "rounds max", key: EnvRounds, value: "100", check: func(t *testing.T, c Config) { require.Equal(t, 100, c.Rounds) }},
		{name: "rounds zero", key: EnvRounds, value: "0", problem: `ROUNDS="0": 0 is below 1; allowed: an integer from 1 to 100`},
		{name: "rounds too many", key: EnvRounds, value: "101", problem: `ROUNDS="101": 101 is above 100`},
		{name: "rounds word", key: EnvRounds, value: "six", problem: `ROUNDS="six": not an integer`},

		// FORTIO_DURATION
		{name: "fortio seconds", key: EnvFortioDuration, value: "60", check: func(t *testing.T, c Config) { require.Equal(t, time.Minute, c.FortioDuration) }},
		{name: "fortio duration", key: EnvFortioDuration, value: "1m30s", check: func(t *testing.T, c Config) { require.Equal(t, 90*time.Second, c.FortioDuration) }},
		{name: "fortio min", key: EnvFortioDuration, value: "1s", check: func(t *testing.T, c Config) { require.Equal(t, time.Second, c.FortioDuration) }},
		{name: "fortio max", key: EnvFortioDuration, value: "3600", check: func(t *testing.T, c Config) { require.Equal(t, time.Hour, c.FortioDuration) }},
		{name: "fortio zero", key: EnvFortioDuration, value: "0", problem: `FORTIO_DURATION="0": out of range; allowed: whole seconds ("30") or a Go duration ("90s", "1m30s") from 1s to 1h0m0s`},
		{name: "fortio sub-second", key: EnvFortioDuration, value: "500ms", problem: `FORTIO_DURATION="500ms": out of range`},
		{name: "fortio too long", key: EnvFortioDuration, value: "3601", problem: `FORTIO_DURATION="3601": out of range`},
		{name: "fortio negative", key: EnvFortioDuration, value: "-10s", problem: `FORTIO_DURATION="-10s": out of range`},
		{name: "fortio no unit", key: EnvFortioDuration, value: "1.5", problem: `FORTIO_DURATION="1.5": not a number of seconds or a duration`},
		{name: "fortio huge", key: EnvFortioDuration, value: "99999999999999999999", problem: `FORTIO_DURATION="99999999999999999999": not a number of seconds or a duration`},

		// FORTIO_CONNECTIONS
		{name: "connections", key: EnvFortioConnections, value: "256", check: func(t *testing.T, c Config) { require.Equal(t, 256, c.FortioConnections) }},
		{name: "connections min", key: EnvFortioConnections, value: "1", check: func(t *testing.T, c Config) { require.Equal(t, 1, c.FortioConnections) }},
		{name: "connections zero", key: EnvFortioConnections, value: "0", problem: `FORTIO_CONNECTIONS="0": 0 is below 1; allowed: an integer from 1 to 4096`},
		{name: "connections too many", key: EnvFortioConnections, value: "4097", problem: `FORTIO_CONNECTIONS="4097": 4097 is above 4096`},

		// IPERF_DURATION
		{name: "iperf seconds", key: EnvIperfDuration, value: "30", check: func(t *testing.T, c Config) { require.Equal(t, 30*time.Second, c.IperfDuration) }},
		{name: "iperf duration", key: EnvIperfDuration, value: "2m", check: func(t *testing.T, c Config) { require.Equal(t, 2*time.Minute, c.IperfDuration) }},
		{name: "iperf bad", key: EnvIperfDuration, value: "ten", problem: `IPERF_DURATION="ten": not a number of seconds or a duration`},
		{name: "iperf too long", key: EnvIperfDuration, value: "2h", problem: `IPERF_DURATION="2h": out of range`},

		// SVC_CREATE_PARALLEL
		{name: "parallel", key: EnvSvcCreateParallel, value: "4", check: func(t *testing.T, c Config) { require.Equal(t, 4, c.SvcCreateParallel) }},
		{name: "parallel max", key: EnvSvcCreateParallel, value: "256", check: func(t *testing.T, c Config) { require.Equal(t, 256, c.SvcCreateParallel) }},
		{name: "parallel zero", key: EnvSvcCreateParallel, value: "0", problem: `SVC_CREATE_PARALLEL="0": 0 is below 1; allowed: an integer from 1 to 256`},
		{name: "parallel too many", key: EnvSvcCreateParallel, value: "1000", problem: `SVC_CREATE_PARALLEL="1000": 1000 is above 256`},

		// SVC_SCALE_QPS, with the default FORTIO_DURATION of 10 s
		{name: "qps", key: EnvSvcScaleQPS, value: "50", check: func(t *testing.T, c Config) { require.Equal(t, 50.0, c.SvcScaleQPS) }},
		{name: "qps fraction", key: EnvSvcScaleQPS, value: "0.5", check: func(t *testing.T, c Config) { require.Equal(t, 0.5, c.SvcScaleQPS) }},
		{name: "qps highest under the drain", key: EnvSvcScaleQPS, value: "99.99", check: func(t *testing.T, c Config) { require.Equal(t, 99.99, c.SvcScaleQPS) }},
		{name: "qps zero", key: EnvSvcScaleQPS, value: "0", problem: `SVC_SCALE_QPS="0": 0 is below 0.01; allowed: a number from 0.01 to 1000, at most two decimals`},
		{name: "qps too high", key: EnvSvcScaleQPS, value: "1001", problem: `SVC_SCALE_QPS="1001": 1001 is above 1000`},
		{name: "qps not a number", key: EnvSvcScaleQPS, value: "eighty", problem: `SVC_SCALE_QPS="eighty": not a number`},
		{name: "qps NaN", key: EnvSvcScaleQPS, value: "NaN", problem: `SVC_SCALE_QPS="NaN": not a number`},
		{name: "qps three decimals", key: EnvSvcScaleQPS, value: "80.125", problem: `SVC_SCALE_QPS="80.125": more than two decimals`},
		{name: "qps reaches the drain", key: EnvSvcScaleQPS, value: "100",
			problem: `SVC_SCALE_QPS="100": 100/s over FORTIO_DURATION=10s is 1000 connections, not below 1000: every connection of the fixed-rate run leaves a TIME_WAIT socket`},

		// AUTO_FIX_LB_MAP
		{name: "lb fix true", key: EnvAutoFixLBMap, value: "true", check: func(t *testing.T, c Config) { require.True(t, c.AutoFixLBMap) }},
		{name: "lb fix TRUE", key: EnvAutoFixLBMap, value: "TRUE", check: func(t *testing.T, c Config) { require.True(t, c.AutoFixLBMap) }},
		{name: "lb fix 1", key: EnvAutoFixLBMap, value: "1", check: func(t *testing.T, c Config) { require.True(t, c.AutoFixLBMap) }},
		{name: "lb fix false", key: EnvAutoFixLBMap, value: "false", check: func(t *testing.T, c Config) { require.False(t, c.AutoFixLBMap) }},
		{name: "lb fix yes", key: EnvAutoFixLBMap, value: "yes", problem: `AUTO_FIX_LB_MAP="yes": not a boolean; allowed: true or false (also 1 or 0)`},

		// RESULTS_DIR
		{name: "results dir", key: EnvResultsDir, value: "/tmp/bench/", check: func(t *testing.T, c Config) { require.Equal(t, "/tmp/bench", c.ResultsDir) }},
		{name: "results dir relative", key: EnvResultsDir, value: "./out/../res", check: func(t *testing.T, c Config) { require.Equal(t, "res", c.ResultsDir) }},
		{name: "results dir NUL", key: EnvResultsDir, value: "a\x00b", problem: `RESULTS_DIR="a\x00b": contains a NUL byte; allowed: a file system path`},

		// PROFILE
		{name: "profile", key: EnvProfile, value: "profiles/strict.yaml", check: func(t *testing.T, c Config) { require.Equal(t, "profiles/strict.yaml", c.Profile) }},
		{name: "profile NUL", key: EnvProfile, value: "\x00", problem: `PROFILE="\x00": contains a NUL byte`},

		// RUN_ID
		{name: "run id", key: EnvRunID, value: "ci-1234.5_a", check: func(t *testing.T, c Config) { require.Equal(t, "ci-1234.5_a", c.RunID) }},
		{name: "run id 63 chars", key: EnvRunID, value: "a23456789012345678901234567890123456789012345678901234567890123",
			check: func(t *testing.T, c Config) { require.Len(t, c.RunID, 63) }},
		{name: "run id 64 chars", key: EnvRunID, value: "a234567890123456789012345678901234567890123456789012345678901234",
			problem: `64 characters is longer than 63; allowed: a Kubernetes label value`},
		{name: "run id slash", key: EnvRunID, value: "a/b", problem: `RUN_ID="a/b": character '/' is not allowed`},
		{name: "run id dash end", key: EnvRunID, value: "run-", problem: `RUN_ID="run-": must begin and end with a letter or digit`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := fromEnv(env(map[string]string{tc.key: tc.value}), fixedID)
			if tc.problem != "" {
				require.ErrorContains(t, err, tc.problem)
				var ee *EnvError
				require.ErrorAs(t, err, &ee)
				require.Equal(t, tc.key, ee.Var)
				require.Equal(t, tc.value, ee.Value)
				require.NotEmpty(t, ee.Allowed)
				require.Equal(t, Config{}, c, "an invalid configuration must not be half usable")
				return
			}
			require.NoError(t, err)
			tc.check(t, c)
			for _, kv := range c.Describe() {
				if kv.Key == tc.key {
					require.Equal(t, "env", kv.Source)
				}
			}
		})
	}
}

// TestScaleQPSAgainstDuration: the fixed rate's connections over one
// FORTIO_DURATION stay under the TIME_WAIT drain threshold; the default
// is lowered to fit a long duration, a set value that does not fit is
// refused naming both variables and the rates that would fit.
func TestScaleQPSAgainstDuration(t *testing.T) {
	cases := []struct {
		duration, qps string
		want          float64
		problem       string
	}{
		{duration: "2s", want: 80},
		{duration: "2s", qps: "499", want: 499},
		{duration: "2s", qps: "500", problem: `SVC_SCALE_QPS="500": 500/s over FORTIO_DURATION=2s is 1000 connections, not below 1000: ` +
			`every connection of the fixed-rate run leaves a TIME_WAIT socket on the server, and the saturating short-connection run after it ` +
			`must start under the drain threshold of 1000 (W-STAT-9); allowed: a number from 0.01 to 499.99 with FORTIO_DURATION=2s`},
		{duration: "1s", qps: "1000", problem: `1000 connections, not below 1000`},
		{duration: "60s", want: 16.66},
		{duration: "60s", qps: "17", problem: `allowed: a number from 0.01 to 16.66 with FORTIO_DURATION=1m0s`},
		{duration: "12m", qps: "2", problem: `allowed: a number from 0.01 to 1.38 with FORTIO_DURATION=12m0s`},
		{duration: "1h", want: 0.27},
	}
	for _, tc := range cases {
		t.Run(tc.duration+"/"+tc.qps, func(t *testing.T) {
			c, err := fromEnv(env(map[string]string{EnvFortioDuration: tc.duration, EnvSvcScaleQPS: tc.qps}), fixedID)
			if tc.problem != "" {
				require.ErrorContains(t, err, tc.problem)
				var ee *EnvError
				require.ErrorAs(t, err, &ee)
				require.Equal(t, EnvSvcScaleQPS, ee.Var)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, c.SvcScaleQPS)
			require.Less(t, c.SvcScaleQPS*c.FortioDuration.Seconds(), float64(TimeWaitDrainBelow))
		})
	}
}

func TestFromEnvEmptyMeansDefault(t *testing.T) {
	c, err := fromEnv(env(map[string]string{EnvRounds: "", EnvSvcScaleSteps: "  ", EnvRunID: ""}), fixedID)
	require.NoError(t, err)
	require.Equal(t, DefaultRounds, c.Rounds)
	require.Equal(t, []int{1000, 5000, 10000}, c.SvcScaleSteps)
	require.Equal(t, "nb-test", c.RunID)
}

func TestFromEnvJoinsAllErrors(t *testing.T) {
	_, err := fromEnv(env(map[string]string{
		EnvRounds:         "0",
		EnvSvcScaleSteps:  "3,2",
		EnvFortioDuration: "forever",
		EnvAutoFixLBMap:   "maybe",
	}), fixedID)
	require.Error(t, err)
	var joined interface{ Unwrap() []error }
	require.True(t, errors.As(err, &joined))
	require.Len(t, joined.Unwrap(), 4, "every bad variable is reported, not just the first")
	for _, v := range []string{"ROUNDS", "SVC_SCALE_STEPS", "FORTIO_DURATION", "AUTO_FIX_LB_MAP"} {
		require.ErrorContains(t, err, v+"=")
	}
}

func TestFromEnvRunIDGeneratorFails(t *testing.T) {
	_, err := fromEnv(env(nil), func() (string, error) { return "", errors.New("no entropy") })
	require.ErrorContains(t, err, "RUN_ID unset and no run ID could be generated: no entropy")
}

func TestNewRunID(t *testing.T) {
	id, err := NewRunID()
	require.NoError(t, err)
	require.Regexp(t, regexp.MustCompile(`^nb-\d{8}-\d{6}-[0-9a-f]{6}$`), id)
	require.Empty(t, labelValueProblem(id))
	c, err := FromEnv(env(nil))
	require.NoError(t, err)
	require.NotEqual(t, id, c.RunID, "two generated IDs differ")
}

func TestDescribe(t *testing.T) {
	c, err := fromEnv(env(map[string]string{EnvRounds: "8", EnvFortioDuration: "30", EnvAutoFixLBMap: "1"}), fixedID)
	require.NoError(t, err)
	require.Equal(t, []KV{
		{"SVC_SCALE_STEPS", "1000,5000,10000", "default"},
		{"SVC_ENDPOINTS", "4", "default"},
		{"ROUNDS", "8", "env"},
		{"FORTIO_DURATION", "30s", "env"},
		{"FORTIO_CONNECTIONS", "64", "default"},
		{"IPERF_DURATION", "10s", "default"},
		{"SVC_CREATE_PARALLEL", "32", "default"},
		{"SVC_SCALE_QPS", "33.33", "default"},
		{"AUTO_FIX_LB_MAP", "true", "env"},
		{"WORKLOAD_QOS", "guaranteed", "default"},
		{"WORKLOAD_CPU", "600m", "default"},
		{"WORKLOAD_MEMORY", "512Mi", "default"},
		{"RESULTS_DIR", "results", "default"},
		{"PROFILE", "profiles/default.yaml", "default"},
		{"RUN_ID", "nb-test", "default"},
	}, c.Describe())

	// What Describe prints reads back as the same configuration.
	m := map[string]string{}
	for _, kv := range c.Describe() {
		m[kv.Key] = kv.Value
	}
	again, err := fromEnv(env(m), func() (string, error) { return "", errors.New("must not be called") })
	require.NoError(t, err)
	for i, kv := range again.Describe() {
		require.Equal(t, c.Describe()[i].Value, kv.Value)
		require.Equal(t, "env", kv.Source)
	}
}

func TestExecTimeout(t *testing.T) {
	var c Config
	cases := []struct{ tool, want time.Duration }{
		{10 * time.Second, 40 * time.Second},   // slack floor of 30 s
		{60 * time.Second, 90 * time.Second},   // exactly 50 % = 30 s
		{180 * time.Second, 270 * time.Second}, // the seed's fixed 180 s would have killed this run
		{time.Hour, 90 * time.Minute},
		{0, 30 * time.Second},
	}
	for _, tc := range cases {
		got := c.ExecTimeout(tc.tool)
		require.Equal(t, tc.want, got, "tool duration %s", tc.tool)
		require.Greater(t, got, tc.tool, "the exec always outlives its tool")
	}
}

// TestCloneSharesNothing: a copy a test pass changes leaves the run's
// configuration as it was.
func TestCloneSharesNothing(t *testing.T) {
	c, err := fromEnv(env(map[string]string{"SVC_SCALE_STEPS": "10,20", "ROUNDS": "2"}), fixedID)
	require.NoError(t, err)
	d := c.Clone()
	require.Equal(t, c.Describe(), d.Describe())
	d.SvcScaleSteps[0], d.Warnings[0], d.Rounds = 15, "changed", 6
	d.Workload.CPU.Add(resource.MustParse("1"))
	require.Equal(t, "10,20", c.ScaleSteps())
	require.Equal(t, "15,20", d.ScaleSteps())
	require.NotEqual(t, "changed", c.Warnings[0])
	require.Equal(t, 2, c.Rounds)
	require.Equal(t, "600m", c.Workload.CPU.String())
}
