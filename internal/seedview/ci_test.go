package seedview

import (
	"bytes"
	"encoding/json"
	"flag"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	goldenfile "kube-netbench/internal/golden"
	"kube-netbench/internal/results"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/seedview/golden")

// testdata holds real CI outputs; see its README for their provenance.
var testdata = filepath.Join("..", "..", "testdata", "seedview")

// ciRun reads one of the CI's run directories under testdata/runs, as the
// suite wrote them (testdata/runs/README.md).
func ciRun(t *testing.T, name string) results.Loaded {
	t.Helper()
	l, err := results.Read(filepath.Join("..", "..", "testdata", "runs", name))
	require.NoError(t, err)
	return l
}

func TestGoldenCI(t *testing.T) {
	for _, name := range []string{"ci-iptables", "ci-nftables", "ci-cilium-overlay"} {
		t.Run(name, func(t *testing.T) {
			l := ciRun(t, name)
			var a, b bytes.Buffer
			require.NoError(t, Write(&a, l))
			require.NoError(t, Write(&b, l))
			require.Equal(t, a.String(), b.String(), "the same run must give the same bytes")
			var doc map[string]any
			require.NoError(t, json.Unmarshal(a.Bytes(), &doc), "the view is valid JSON")
			goldenfile.Check(t, filepath.Join(testdata, "golden", name+".json"), a.Bytes(), *update)
		})
	}
}

// TestCIValues checks the view against numbers read off the CI files by
// hand, so that the golden is not its own reference.
func TestCIValues(t *testing.T) {
	doc, notes := Summary(ciRun(t, "ci-iptables"))

	// rps.json, RPS/target=svc/conn=short/c=64: two rounds.
	short := doc["rps"].(map[string]any)["svc_short_c64"].(map[string]any)
	require.ElementsMatch(t, []float64{3232.0082734146454, 3043.2158088529904}, short["qps"])
	require.InDelta(t, (3232.0082734146454+3043.2158088529904)/2, short["avg_qps"], 1e-9, "the median of two rounds")
	require.Nil(t, short["ci95"], "2 rounds have no 95 % interval")
	require.Equal(t, 2, short["n"])

	// throughput: path=host/node=cross/streams=8 in Gbps.
	node := doc["throughput"].(map[string]any)["node_level_8stream"].(map[string]any)
	require.ElementsMatch(t, []float64{8.80533687221, 11.0726141009}, node["gbps"], "bits/s to Gbps, 12 significant digits")
	require.Equal(t, "host-to-host", node["path"])

	// latency: TCP_RR per-round p50 40 and 39 µs.
	lat := doc["latency"].(map[string]any)
	require.ElementsMatch(t, []float64{40, 39}, lat["tcp_rr_p50_us_samples"])
	require.Equal(t, 39.5, lat["tcp_rr_p50_us"])

	// servicescale: 1000 Services, keepalive 8751.63 and 10055.88 against
	// the baseline 11188.23 and 14024.89.
	ss := doc["service_scale"].(map[string]any)
	require.Equal(t, 4, ss["endpoints_per_svc"])
	step := ss["steps"].([]any)[0].(map[string]any)
	require.Equal(t, 1000, step["svc_count"])
	want := ((8751.630219139466+10055.882583427134)/2 - (11188.23364896558+14024.894383630974)/2) /
		((11188.23364896558 + 14024.894383630974) / 2) * 100
	require.InDelta(t, want, step["keepalive_degradation_pct"], 1e-9)
	require.Less(t, step["keepalive_degradation_pct"], 0.0, "fewer req/s is a negative degradation, as the seed's")

	require.NotContains(t, doc, "hubble")
	require.Contains(t, notes, "hubble: left out: the run has no hubble dimension", "not started on kube-proxy (label dataplane=cilium)")
	require.Equal(t, "kubeproxy-iptables", doc["cluster"].(map[string]any)["cluster_type"])
}
