package config

import (
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"kube-netbench/fixtures"
)

// TestWorkload covers WORKLOAD_QOS, WORKLOAD_CPU and WORKLOAD_MEMORY, which
// are validated together: requests need a size, BestEffort has none.
func TestWorkload(t *testing.T) {
	q := resource.MustParse
	cases := []struct {
		name string
		env  map[string]string
		want Workload
		// describe is WORKLOAD_QOS, WORKLOAD_CPU, WORKLOAD_MEMORY as recorded.
		describe [3]string
		// problems, one per bad variable: "VAR=\"value\": problem; allowed: ...".
		problems []string
	}{
		{name: "defaults", want: Workload{corev1.PodQOSGuaranteed, q("600m"), q("512Mi")},
			describe: [3]string{"guaranteed", "600m", "512Mi"}},
		{name: "guaranteed sized", env: map[string]string{EnvWorkloadCPU: "2", EnvWorkloadMemory: "1Gi"},
			want: Workload{corev1.PodQOSGuaranteed, q("2"), q("1Gi")}, describe: [3]string{"guaranteed", "2", "1Gi"}},
		{name: "decimal CPU reads as millicores", env: map[string]string{EnvWorkloadCPU: "0.5"},
			want: Workload{corev1.PodQOSGuaranteed, q("500m"), q("512Mi")}, describe: [3]string{"guaranteed", "500m", "512Mi"}},
		{name: "burstable keeps the default sizes", env: map[string]string{EnvWorkloadQoS: "burstable"},
			want: Workload{corev1.PodQOSBurstable, q("600m"), q("512Mi")}, describe: [3]string{"burstable", "600m", "512Mi"}},
		{name: "QoS in any case", env: map[string]string{EnvWorkloadQoS: "Burstable"},
			want: Workload{corev1.PodQOSBurstable, q("600m"), q("512Mi")}, describe: [3]string{"burstable", "600m", "512Mi"}},
		{name: "besteffort has no sizes", env: map[string]string{EnvWorkloadQoS: "besteffort"},
			want: Workload{QoS: corev1.PodQOSBestEffort}, describe: [3]string{"besteffort", "none", "none"}},
		{name: "besteffort with none", env: map[string]string{EnvWorkloadQoS: "BestEffort", EnvWorkloadCPU: "none", EnvWorkloadMemory: "NONE"},
			want: Workload{QoS: corev1.PodQOSBestEffort}, describe: [3]string{"besteffort", "none", "none"}},
		{name: "edges", env: map[string]string{EnvWorkloadCPU: "10m", EnvWorkloadMemory: "1Ti"},
			want: Workload{corev1.PodQOSGuaranteed, q("10m"), q("1Ti")}, describe: [3]string{"guaranteed", "10m", "1Ti"}},

		{name: "unknown QoS", env: map[string]string{EnvWorkloadQoS: "exclusive"},
			problems: []string{`WORKLOAD_QOS="exclusive": allowed: guaranteed, burstable or besteffort`}},
		{name: "unknown QoS does not blame none", env: map[string]string{EnvWorkloadQoS: "burst", EnvWorkloadCPU: "none"},
			problems: []string{`WORKLOAD_QOS="burst"`}},
		{name: "none under guaranteed", env: map[string]string{EnvWorkloadCPU: "none"},
			problems: []string{`WORKLOAD_CPU="none": WORKLOAD_QOS=guaranteed sets requests, which need a size; allowed: a quantity from 10m to 256, e.g. "600m" or "2" (with WORKLOAD_QOS=guaranteed or burstable); none with WORKLOAD_QOS=besteffort`}},
		{name: "none under burstable", env: map[string]string{EnvWorkloadQoS: "burstable", EnvWorkloadMemory: "none"},
			problems: []string{`WORKLOAD_MEMORY="none": WORKLOAD_QOS=burstable sets requests, which need a size`}},
		{name: "sizes under besteffort", env: map[string]string{EnvWorkloadQoS: "besteffort", EnvWorkloadCPU: "1", EnvWorkloadMemory: "1Gi"},
			problems: []string{
				`WORKLOAD_CPU="1": WORKLOAD_QOS=besteffort sets no requests or limits; allowed: none, or unset`,
				`WORKLOAD_MEMORY="1Gi": WORKLOAD_QOS=besteffort sets no requests or limits`,
			}},
		{name: "not a quantity", env: map[string]string{EnvWorkloadCPU: "one"},
			problems: []string{`WORKLOAD_CPU="one": not a Kubernetes quantity; allowed: a quantity from 10m to 256`}},
		{name: "CPU too small", env: map[string]string{EnvWorkloadCPU: "5m"}, problems: []string{`WORKLOAD_CPU="5m": 5m is below 10m`}},
		{name: "CPU zero", env: map[string]string{EnvWorkloadCPU: "0"}, problems: []string{`WORKLOAD_CPU="0": 0 is below 10m`}},
		{name: "CPU negative", env: map[string]string{EnvWorkloadCPU: "-1"}, problems: []string{`WORKLOAD_CPU="-1": -1 is below 10m`}},
		{name: "CPU in megacores", env: map[string]string{EnvWorkloadCPU: "600M"}, problems: []string{`WORKLOAD_CPU="600M": 600M is above 256`}},
		{name: "memory in millibytes", env: map[string]string{EnvWorkloadMemory: "512m"},
			problems: []string{`WORKLOAD_MEMORY="512m": 512m is below 32Mi (m is milli: a thousandth of a byte; mebibytes are Mi); allowed: a quantity from 32Mi to 1Ti, e.g. "512Mi" or "1Gi"`}},
		{name: "memory too large", env: map[string]string{EnvWorkloadMemory: "2Ti"}, problems: []string{`WORKLOAD_MEMORY="2Ti": 2Ti is above 1Ti`}},
		{name: "every bad variable", env: map[string]string{EnvWorkloadQoS: "x", EnvWorkloadCPU: "1z", EnvWorkloadMemory: "1"},
			problems: []string{`WORKLOAD_QOS="x"`, `WORKLOAD_CPU="1z": not a Kubernetes quantity`, `WORKLOAD_MEMORY="1": 1 is below 32Mi`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := fromEnv(env(tc.env), fixedID)
			if len(tc.problems) > 0 {
				require.Error(t, err)
				var joined interface{ Unwrap() []error }
				require.ErrorAs(t, err, &joined)
				require.Len(t, joined.Unwrap(), len(tc.problems), "one error per bad variable: %v", err)
				for i, p := range tc.problems {
					require.ErrorContains(t, joined.Unwrap()[i], p)
					var ee *EnvError
					require.ErrorAs(t, joined.Unwrap()[i], &ee)
					require.Equal(t, tc.env[ee.Var], ee.Value)
					require.NotEmpty(t, ee.Allowed)
				}
				require.Equal(t, Config{}, c)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want.QoS, c.Workload.QoS)
			require.Zero(t, tc.want.CPU.Cmp(c.Workload.CPU), "CPU %s, want %s", c.Workload.CPU.String(), tc.want.CPU.String())
			require.Zero(t, tc.want.Memory.Cmp(c.Workload.Memory), "memory %s, want %s", c.Workload.Memory.String(), tc.want.Memory.String())
			got := map[string]string{}
			for _, kv := range c.Describe() {
				got[kv.Key] = kv.Value
			}
			require.Equal(t, tc.describe, [3]string{got[EnvWorkloadQoS], got[EnvWorkloadCPU], got[EnvWorkloadMemory]})

			// What is recorded reads back as the same workload.
			again, err := fromEnv(env(map[string]string{EnvWorkloadQoS: got[EnvWorkloadQoS], EnvWorkloadCPU: got[EnvWorkloadCPU], EnvWorkloadMemory: got[EnvWorkloadMemory]}), fixedID)
			require.NoError(t, err)
			require.Equal(t, c.Workload.QoS, again.Workload.QoS)
			require.Zero(t, c.Workload.CPU.Cmp(again.Workload.CPU))
			require.Zero(t, c.Workload.Memory.Cmp(again.Workload.Memory))
		})
	}
}

// TestDefaultWorkloadFitsTheLab: with the defaults, the busiest node of any
// dimension fits a lab node's 2 CPUs, so no measured pod stays Pending:
// TestThroughput's server node holds three iperf3 containers (two servers,
// the same-node client); TestLatency's and TestNetworkPolicy's nodes hold
// two tool containers, each with a busybox probe.
func TestDefaultWorkloadFitsTheLab(t *testing.T) {
	labNodeCPU := resource.MustParse("2")
	c, err := fromEnv(env(nil), fixedID)
	require.NoError(t, err)
	probe := resource.MustParse(fixtures.ProbeCPU)
	for name, n := range map[string]struct{ tools, probes int64 }{
		"throughput server node": {3, 0},
		"latency and policy":     {2, 2},
		"service scale client":   {1, 2}, // fortio client and its probe, the node probe
	} {
		need := c.Workload.CPU.MilliValue()*n.tools + probe.MilliValue()*n.probes
		require.LessOrEqual(t, need, labNodeCPU.MilliValue(), "%s: %dm CPU requested on one node", name, need)
	}
}
