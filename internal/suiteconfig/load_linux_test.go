package suiteconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kube-netbench/internal/config"
	"kube-netbench/profiles"
)

// fixture is a base environment that Load accepts, in a temporary
// directory: no kubeconfig, so the lab (hence Linux only, as this file),
// its state and results in the directory, plus a regular file and
// profiles to point settings at.
type fixture struct {
	dir, file string
	env       map[string]string
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	dir := t.TempDir()
	f := fixture{dir: dir, file: filepath.Join(dir, "a-file"), env: map[string]string{
		"HOME":        dir,
		"LAB_DIR":     filepath.Join(dir, "lab"),
		"RESULTS_DIR": filepath.Join(dir, "results"),
		"RUN_ID":      "nb-test-1",
	}}
	write := func(name, content string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	write("a-file", "not a directory\n")
	write("unknown-key.yaml", "apiVersion: netbench/v1\nkind: Profile\nmetadata: {name: x}\nserviceScale:\n  keepaliveDegradationPct: {max: 5}\n  bogus: 1\n")
	write("bad.yaml", "apiVersion: netbench/v1\nkind: Profile\nmetadata: {name: x\n")
	write("old.yaml", "apiVersion: netbench/v0\nkind: Profile\nmetadata: {name: old}\n")
	write("gate.yaml", "apiVersion: netbench/v1\nkind: Profile\nmetadata: {name: gate}\n")
	return f
}

func (f fixture) inputs(over map[string]string) Inputs {
	env := map[string]string{}
	for k, v := range f.env {
		env[k] = v
	}
	for k, v := range over {
		env[k] = v
	}
	return Inputs{Getenv: func(k string) string { return env[k] }, Root: f.dir}
}

func TestLoadDefaults(t *testing.T) {
	f := newFixture(t)
	s, err := Load(f.inputs(nil))
	require.NoError(t, err)
	assert.Equal(t, config.DefaultRounds, s.Config.Rounds)
	assert.Equal(t, profiles.DefaultName+" (embedded)", s.ProfileFrom)
	assert.Equal(t, "default", s.Profile.Metadata.Name)
	assert.Equal(t, filepath.Join(f.dir, "results"), s.ResultsRoot)
	assert.Equal(t, filepath.Join(f.dir, "lab"), s.Lab.Dir)
	assert.Equal(t, 2, s.Lab.Plan.Nodes)
	_, err = os.Stat(s.ResultsRoot)
	assert.ErrorIs(t, err, os.ErrNotExist, "validation creates no results directory")

	s, err = Load(f.inputs(map[string]string{"PROFILE": "gate.yaml", "RESULTS_DIR": "out"}))
	require.NoError(t, err)
	assert.Equal(t, "gate", s.Profile.Metadata.Name, "a relative PROFILE resolves under the root")
	assert.Equal(t, filepath.Join(f.dir, "out"), s.ResultsRoot)
}

// TestMalformedSettings: every setting the suite reads, malformed one at a
// time, is refused naming the variable and its value and saying what is
// allowed.
func TestMalformedSettings(t *testing.T) {
	f := newFixture(t)
	short := func(in *Inputs) { in.Timeout = 10 * time.Minute }
	for _, tc := range []struct {
		name string
		env  map[string]string
		in   func(*Inputs)
		// want is the variable named, value (default: the variable's value
		// as set) the value, allowed a fragment of what is allowed and
		// problem, if set, one of what is wrong.
		want, value, allowed, problem string
	}{
		// The suite's own variables (internal/config).
		{name: "steps descending", env: map[string]string{"SVC_SCALE_STEPS": "1000,500"}, want: "SVC_SCALE_STEPS", allowed: "strictly ascending"},
		{name: "steps not numbers", env: map[string]string{"SVC_SCALE_STEPS": "1k,5k"}, want: "SVC_SCALE_STEPS", allowed: "comma-separated list"},
		{name: "no endpoints", env: map[string]string{"SVC_ENDPOINTS": "0"}, want: "SVC_ENDPOINTS", allowed: "an integer from 1 to 100"},
		{name: "zero rounds", env: map[string]string{"ROUNDS": "0"}, want: "ROUNDS", allowed: "an integer from 1 to 100"},
		{name: "rounds a word", env: map[string]string{"ROUNDS": "six"}, want: "ROUNDS", allowed: "an integer from 1 to 100"},
		{name: "fortio duration zero", env: map[string]string{"FORTIO_DURATION": "0s"}, want: "FORTIO_DURATION", allowed: "from 1s to 1h0m0s"},
		{name: "fortio duration unit", env: map[string]string{"FORTIO_DURATION": "10 secs"}, want: "FORTIO_DURATION", allowed: "whole seconds"},
		{name: "too many connections", env: map[string]string{"FORTIO_CONNECTIONS": "5000"}, want: "FORTIO_CONNECTIONS", allowed: "from 1 to 4096"},
		{name: "iperf duration too long", env: map[string]string{"IPERF_DURATION": "2h"}, want: "IPERF_DURATION", allowed: "from 1s to 1h0m0s"},
		{name: "no creation workers", env: map[string]string{"SVC_CREATE_PARALLEL": "0"}, want: "SVC_CREATE_PARALLEL", allowed: "from 1 to 256"},
		{name: "lb map not a boolean", env: map[string]string{"AUTO_FIX_LB_MAP": "maybe"}, want: "AUTO_FIX_LB_MAP", allowed: "true or false"},
		{name: "unknown QoS", env: map[string]string{"WORKLOAD_QOS": "platinum"}, want: "WORKLOAD_QOS", allowed: "guaranteed, burstable or besteffort"},
		{name: "cpu not a quantity", env: map[string]string{"WORKLOAD_CPU": "lots"}, want: "WORKLOAD_CPU", allowed: "a quantity from 10m"},
		{name: "memory in millibytes", env: map[string]string{"WORKLOAD_MEMORY": "512m"}, want: "WORKLOAD_MEMORY", allowed: "a quantity from 32Mi"},
		{name: "run ID with a slash", env: map[string]string{"RUN_ID": "nightly/1"}, want: "RUN_ID", allowed: "a Kubernetes label value"},
		{name: "run ID no namespace can carry", env: map[string]string{"RUN_ID": "Nightly_1"}, want: "RUN_ID", allowed: "lowercase letters, digits and '-'"},
		{name: "run ID too long for namespaces", env: map[string]string{"RUN_ID": strings.Repeat("a", 50)}, want: "RUN_ID", allowed: "at most 48 characters"},

		// Files.
		{name: "results under a file", env: map[string]string{"RESULTS_DIR": filepath.Join(f.file, "results")}, want: "RESULTS_DIR", allowed: "a directory the suite can create and write in"},
		{name: "results is a file", env: map[string]string{"RESULTS_DIR": f.file}, want: "RESULTS_DIR", allowed: "create and write"},
		{name: "profile missing", env: map[string]string{"PROFILE": "profiles/nope.yaml"}, want: "PROFILE", allowed: "netbench/v1 Profile file", problem: "no such file"},
		{name: "profile unknown key", env: map[string]string{"PROFILE": "unknown-key.yaml"}, want: "PROFILE", allowed: "or unset for the default profile", problem: `unknown field "serviceScale.bogus"`},
		{name: "profile bad YAML", env: map[string]string{"PROFILE": "bad.yaml"}, want: "PROFILE", allowed: "netbench/v1 Profile file", problem: "not valid YAML"},
		{name: "profile old version", env: map[string]string{"PROFILE": "old.yaml"}, want: "PROFILE", allowed: "netbench/v1 Profile file", problem: `apiVersion "netbench/v0"`},

		// Images.
		{name: "fortio image two tags", env: map[string]string{"FORTIO_IMAGE": "fortio/fortio:1.66.5:1"}, want: "FORTIO_IMAGE", allowed: "pinned by a tag other than latest or by a digest"},
		{name: "fortio image no tag", env: map[string]string{"FORTIO_IMAGE": "fortio/fortio"}, want: "FORTIO_IMAGE", allowed: "no floating :latest"},
		{name: "busybox latest", env: map[string]string{"BUSYBOX_IMAGE": "busybox:latest"}, want: "BUSYBOX_IMAGE", allowed: "no floating :latest"},
		{name: "iperf image upper case", env: map[string]string{"IPERF_IMAGE": "Mirror/Tools:r1"}, want: "IPERF_IMAGE", allowed: "pinned by a tag"},
		{name: "netperf image short digest", env: map[string]string{"NETPERF_IMAGE": "ghcr.io/kube-netbench/tools@sha256:abc"}, want: "NETPERF_IMAGE", allowed: "@sha256:<64 hex digits>"},

		// The lab's variables.
		{name: "one lab node", env: map[string]string{"LAB_NODES": "1"}, want: "LAB_NODES", allowed: "an integer from 2 to 64 for the suite"},
		{name: "too many lab nodes", env: map[string]string{"LAB_NODES": "65"}, want: "LAB_NODES", allowed: "from 1 to 64"},
		{name: "lab dataplane", env: map[string]string{"LAB_DATAPLANE": "ipvs"}, want: "LAB_DATAPLANE", allowed: "iptables, nftables, cilium-overlay, cilium-native"},
		{name: "pod CIDR without length", env: map[string]string{"LAB_POD_CIDR": "10.244.0.0"}, want: "LAB_POD_CIDR", allowed: "must be an IPv4 CIDR"},
		{name: "Service range over the pods", env: map[string]string{"LAB_SERVICE_CIDR": "10.244.0.0/16"}, want: "LAB_SERVICE_CIDR", allowed: "must be disjoint"},
		{name: "underlay too small", env: map[string]string{"LAB_UNDERLAY_CIDR": "10.250.0.0/29"}, want: "LAB_UNDERLAY_CIDR", allowed: "use a /28 or larger"},
		{name: "lab identity", env: map[string]string{"LAB_AS": "root"}, want: "LAB_AS", allowed: "serviceaccount (the default), admin"},
		{name: "relative component cache", env: map[string]string{"NETBENCH_CACHE": "cache"}, want: "NETBENCH_CACHE", allowed: "must be an absolute path"},

		// The provider.
		{name: "unknown provider", env: map[string]string{"PROVIDER": "docker"}, want: "PROVIDER", allowed: "lab, kind, existing"},
		{name: "kind dataplane", env: map[string]string{"PROVIDER": "kind", "KIND_DATAPLANE": "ipvs"}, want: "KIND_DATAPLANE", allowed: "iptables, nftables"},
		{name: "kubeconfig missing", env: map[string]string{"KUBECONFIG": filepath.Join(f.dir, "nope")},
			in: func(in *Inputs) { in.Kubeconfig = filepath.Join(f.dir, "nope") }, want: "KUBECONFIG", allowed: "readable kubeconfig files"},

		// Well formed, but absurd together.
		{name: "step beyond the lab's Service range", env: map[string]string{"SVC_SCALE_STEPS": "1000,5000", "LAB_SERVICE_CIDR": "10.96.0.0/20"},
			want: "SVC_SCALE_STEPS", allowed: "steps of at most 4093 Services"},
		{name: "step beyond the dummy range", env: map[string]string{"SVC_SCALE_STEPS": "40000"}, want: "SVC_SCALE_STEPS", allowed: "steps of at most 32767 Services with SVC_ENDPOINTS=4"},
		{name: "fortio run beyond the timeout", env: map[string]string{"FORTIO_DURATION": "15m"}, in: short, want: "FORTIO_DURATION", value: "15m0s", allowed: "shorter than the timeout"},
		{name: "iperf run beyond the timeout", env: map[string]string{"IPERF_DURATION": "600"},
			in: func(in *Inputs) { short(in); in.Selected = Selector("TestThroughput", "") }, want: "IPERF_DURATION", value: "10m0s", allowed: "shorter than the timeout"},
		{name: "rounds beyond the timeout", env: map[string]string{"ROUNDS": "100"}, in: short, want: "ROUNDS", allowed: "fewer ROUNDS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := f.inputs(tc.env)
			if tc.in != nil {
				tc.in(&in)
			}
			s, err := Load(in)
			require.Error(t, err)
			assert.Zero(t, s, "no settings on error")
			value := tc.value
			if value == "" {
				value = tc.env[tc.want]
			}
			msg := err.Error()
			t.Log(msg)
			assert.Regexp(t, `(^|[^A-Z_])`+tc.want+`[= ]`, msg, "names the variable")
			assert.Contains(t, msg, value, "names the value")
			assert.Contains(t, msg, tc.allowed, "says what is allowed")
			assert.Contains(t, msg, tc.problem, "says what is wrong")
			assert.NotContains(t, msg, "\n", "one problem, one line")
		})
	}
}

// TestEveryProblemAtOnce: problems of every kind are reported together, so
// a run is fixed in one go.
func TestEveryProblemAtOnce(t *testing.T) {
	f := newFixture(t)
	_, err := Load(f.inputs(map[string]string{"ROUNDS": "0", "FORTIO_IMAGE": "fortio/fortio:1:2", "PROFILE": "bad.yaml",
		"RESULTS_DIR": filepath.Join(f.file, "r"), "LAB_NODES": "1", "LAB_AS": "root"}))
	require.Error(t, err)
	for _, v := range []string{"ROUNDS=", "FORTIO_IMAGE=", "PROFILE=", "RESULTS_DIR=", "LAB_NODES=", "LAB_AS="} {
		assert.Contains(t, err.Error(), v)
	}
	assert.Len(t, strings.Split(err.Error(), "\n"), 6, "one line each:\n%v", err)
}
