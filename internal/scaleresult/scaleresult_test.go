package scaleresult

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"kube-netbench/internal/bpfmaps"
	"kube-netbench/internal/stats"
)

// around returns n samples spread ±1 % around x.
func around(x float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = x * (0.99 + 0.02*float64(i)/float64(n-1))
	}
	return out
}

func pm(pct float64) *stats.Bound {
	b := stats.Within("", pct)
	return &b
}

func TestJudge(t *testing.T) {
	base := Step{Services: 0, Keepalive: around(10000, 6), Short: around(4000, 6)}
	tests := []struct {
		name      string
		steps     []Step
		keepalive *stats.Bound
		want      []stats.Outcome
		problems  []string
		findings  []string
	}{
		{
			name:      "keepalive unchanged passes the ±5 % bound",
			steps:     []Step{base, {Services: 1000, Keepalive: around(10050, 6), Short: around(3900, 6)}},
			keepalive: pm(5),
			want:      []stats.Outcome{stats.Pass},
			findings:  []string{"keepalive req/s at 1000 Services: +0.5 % [95 % CI", "short-connection req/s at 1000 Services: -2.5 % [95 % CI"},
		},
		{
			name:      "keepalive 10 % slower fails the ±5 % bound",
			steps:     []Step{base, {Services: 10000, Keepalive: around(9000, 6), Short: around(3000, 6)}},
			keepalive: pm(5),
			want:      []stats.Outcome{stats.Fail},
			findings:  []string{"keepalive req/s at 10000 Services: -10.0 %", "short-connection req/s at 10000 Services: -25.0 %"},
		},
		{
			name:      "three rounds give no interval: inconclusive, never a pass (W-STAT-1)",
			steps:     []Step{{Keepalive: around(10000, 3), Short: around(4000, 3)}, {Services: 5000, Keepalive: around(10000, 3), Short: around(4000, 3)}},
			keepalive: pm(5),
			want:      []stats.Outcome{stats.Inconclusive},
			findings:  []string{"keepalive req/s at 5000 Services: +0.0 % (no interval"},
		},
		{
			name:     "a step whose every round failed is a problem, not a zero (W-BUG-4)",
			steps:    []Step{base, {Services: 1000, Keepalive: nil, Short: around(4000, 6), Failed: 6}},
			problems: []string{"1000 Services: keepalive change: treatment: no samples"},
			findings: []string{"short-connection req/s at 1000 Services"},
		},
		{
			name:     "no bound: reported, not judged",
			steps:    []Step{base, {Services: 1000, Keepalive: around(5000, 6), Short: around(4000, 6)}},
			findings: []string{"keepalive req/s at 1000 Services: -50.0 %"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j, err := Judge(Input{Dataplane: "kube-proxy-iptables", Steps: tc.steps, Keepalive: tc.keepalive})
			require.NoError(t, err)
			var got []stats.Outcome
			for _, v := range j.Verdicts {
				got = append(got, v.Outcome)
			}
			require.Equal(t, tc.want, got)
			require.Len(t, j.Summary.Verdicts, len(tc.want))
			require.Len(t, j.Problems, len(tc.problems))
			for i, p := range tc.problems {
				require.Contains(t, j.Problems[i], p)
			}
			all := strings.Join(j.Summary.Findings, "\n")
			for _, f := range tc.findings {
				require.Contains(t, all, f)
			}
			require.Len(t, j.Summary.Steps, len(tc.steps))
		})
	}
}

func TestJudgeVerdictMessageGivesValueIntervalAndBound(t *testing.T) {
	base := Step{Keepalive: around(10000, 6), Short: around(4000, 6)}
	j, err := Judge(Input{Steps: []Step{base, {Services: 2000, Keepalive: around(9000, 6), Short: around(4000, 6)}}, Keepalive: pm(5)})
	require.NoError(t, err)
	require.Len(t, j.Verdicts, 1)
	msg := j.Verdicts[0].Message
	require.Contains(t, msg, "keepalive degradation at 2000 Services")
	require.Contains(t, msg, "-10")
	require.Contains(t, msg, "CI")
	require.Contains(t, msg, "5")
}

func TestJudgeNeedsABaseline(t *testing.T) {
	for _, steps := range [][]Step{nil, {{Services: 1000, Keepalive: around(1, 6)}}} {
		_, err := Judge(Input{Steps: steps})
		require.ErrorIs(t, err, ErrNoBaseline)
	}
}

func TestSummaryJSON(t *testing.T) {
	steps := []Step{
		{Keepalive: around(10000, 6), Short: around(4000, 6), DrainWaits: []time.Duration{1500 * time.Millisecond}, TimeWait: []int{12}, Conntrack: []int{80}},
		{Services: 1000, CreateRate: 120, Keepalive: around(10000, 6), Short: around(3800, 6), Programming: 2 * time.Second,
			Position: map[string]int{"n2": 7}, ClusterIPs: map[string]int{"n2": 1003}},
		{Services: 5000, CreateRate: 95, Keepalive: around(10000, 6), Short: around(3000, 6)},
	}
	t.Run("not measured side by side is null, not 0", func(t *testing.T) {
		j, err := Judge(Input{Dataplane: "kube-proxy-nftables", EndpointsPerSvc: 4, Steps: steps})
		require.NoError(t, err)
		b, err := json.Marshal(j.Summary)
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal(b, &m))
		require.Contains(t, m, "seed_method_creation_rate_svc_per_s")
		require.Nil(t, m["seed_method_creation_rate_svc_per_s"])
		require.Equal(t, 120.0, m["creation_rate_svc_per_s"], "the best step's rate")
		require.Equal(t, 10000.0, m["keepalive_baseline_qps"])
		s0 := m["steps"].([]any)[0].(map[string]any)
		require.Equal(t, []any{1.5}, s0["drain_wait_s"])
		require.Equal(t, []any{12.0}, s0["time_wait_before_short"])
		require.NotContains(t, s0, "keepalive_degradation_pct", "the baseline has no change")
		s1 := m["steps"].([]any)[1].(map[string]any)
		require.Contains(t, s1, "short_conn_degradation_pct")
		require.Equal(t, 2.0, s1["programming_s"])
	})
	t.Run("side by side recorded", func(t *testing.T) {
		j, err := Judge(Input{Steps: steps, SideBySide: &Creation{Services: 2000, Ours: 94.5, Seed: 15.6}})
		require.NoError(t, err)
		require.Equal(t, 94.5, *j.Summary.SideBySideRate)
		require.Equal(t, 15.6, *j.Summary.SeedMethodCreationRate)
		require.Equal(t, 2000, j.Summary.SideBySideServices)
	})
}

func TestJudgeReportsASaturatedClient(t *testing.T) {
	base := Step{Keepalive: around(10000, 6), Short: around(4000, 6), CPUBusyKeepalive: []float64{0.5, 0.6}, CPUBusyShort: []float64{-1}}
	busy := Step{Services: 1000, Keepalive: around(10000, 6), Short: around(4000, 6),
		CPUBusyKeepalive: []float64{0.95, 0.5}, CPUBusyShort: []float64{0.99, -1}}
	j, err := Judge(Input{Dataplane: "dp", Steps: []Step{base, busy}, Saturation: 0.9})
	require.NoError(t, err)
	all := strings.Join(j.Summary.Findings, "\n")
	require.Contains(t, all, "dp: at 1000 Services the client's node was at least 90 % busy in 2 of 3 rounds")
	require.NotContains(t, all, "at 0 Services the client's node")
}

func TestJudgeClosingBaselineIsDriftNotAStep(t *testing.T) {
	base := Step{Keepalive: around(10000, 6), Short: around(4000, 6)}
	end := Step{Closing: true, Keepalive: around(8000, 6), Short: around(4000, 6), CPUBusyShort: []float64{0.95}}
	j, err := Judge(Input{Dataplane: "dp", Steps: []Step{base, {Services: 1000, Keepalive: around(10000, 6), Short: around(4000, 6)}, end}, Keepalive: pm(5), Saturation: 0.9})
	require.NoError(t, err)
	require.Len(t, j.Verdicts, 1, "the closing baseline is not judged against the Services bound")
	all := strings.Join(j.Summary.Findings, "\n")
	require.Contains(t, all, "dp: drift: keepalive req/s of the 0-Service baseline measured again at the end against the first: -20.0 %")
	require.True(t, j.Summary.Steps[2].ClosingBaseline)
	require.Contains(t, all, "dp: at the closing baseline the client's node was at least 90 % busy in 1 of 1 rounds")
	require.NotNil(t, j.Summary.Steps[2].KeepaliveDegradationPct)
}

// W-BUG-8: BPF map memory is measured at every step and its growth stated,
// map by map; the seed sampled it once and asserted it does not grow.
func TestJudgeStatesBPFMapGrowthAtEveryStepW_BUG_8(t *testing.T) {
	maps := func(svcBytes int64, svcEntries int) map[string][]bpfmaps.Map {
		return map[string][]bpfmaps.Map{"n1": {
			{Name: "cilium_ct4_global", Type: "lru_hash", MaxEntries: 221708, Bytes: 30800160, Preallocated: true, Entries: -1},
			{Name: "cilium_lb4_services_v2", Type: "hash", MaxEntries: 65536, Bytes: svcBytes, Entries: svcEntries},
		}}
	}
	base := Step{Keepalive: around(10000, 6), Short: around(4000, 6), BPFMaps: maps(1049736, 2)}
	top := Step{Services: 1000, Keepalive: around(10000, 6), Short: around(4000, 6), BPFMaps: maps(1049736+2*1<<20, 2002)}
	j, err := Judge(Input{Dataplane: "cilium-overlay", Steps: []Step{base, top}})
	require.NoError(t, err)
	all := strings.Join(j.Summary.Findings, "\n")
	require.Contains(t, all, "cilium-overlay: node n1: Cilium's 2 BPF maps hold 30.4 MiB at 0 Services and 32.4 MiB at 1000 Services (+2.0 MiB); "+
		"changed: cilium_lb4_services_v2 +2.00 MiB, 2 -> 2002 of 65536 entries (W-BUG-8)")
	for i, st := range j.Summary.Steps {
		require.Contains(t, st.BPFMaps, "n1", "step %d", i)
		require.Len(t, st.BPFMaps["n1"].Maps, 2)
	}
	require.Equal(t, int64(30800160+1049736+2<<20), j.Summary.Steps[1].BPFMaps["n1"].TotalBytes)

	j, err = Judge(Input{Dataplane: "kube-proxy-iptables", Steps: []Step{{Keepalive: around(10000, 6)}, {Services: 1000, Keepalive: around(10000, 6)}}})
	require.NoError(t, err)
	require.Nil(t, j.Summary.Steps[1].BPFMaps, "no Cilium, no BPF maps")
}
