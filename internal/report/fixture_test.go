package report

import (
	"flag"
	"path/filepath"
	"testing"
	"time"

	goldenfile "kube-netbench/internal/golden"
	"kube-netbench/internal/stats"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/report")

// goldenDir holds this package's goldens, at the repository's testdata.
var goldenDir = filepath.Join("..", "..", "testdata", "report")

// golden compares got with the golden file name (goldenfile.Check).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, filepath.Join(goldenDir, name), got, *update)
}

// metric builds a metric from samples, failing the test on bad input.
func metric(t *testing.T, unit, better string, samples ...float64) Metric {
	t.Helper()
	m, err := NewMetric(unit, better, samples, stats.DefaultConfidence)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// percentile builds a per-round percentile metric (W-STAT-2).
func percentile(t *testing.T, unit string, perRound ...float64) Metric {
	t.Helper()
	s, err := stats.PercentileAcrossRounds(perRound, stats.DefaultConfidence)
	if err != nil {
		t.Fatal(err)
	}
	return Metric{Unit: unit, Better: LowerIsBetter, Samples: perRound, Summary: s}
}

func scale(svc, conn string) []KV {
	return []KV{{"dataplane", "iptables"}, {"svc", svc}, {"conn", conn}}
}

// fixtureRun is a run on a two-node kube-proxy iptables cluster: Service
// scale at 0 and 10,000 Services with six rounds each, a throughput
// scenario with only three rounds (so its summary warns), a skipped and a
// broken scenario. shortAt10k are the short-connection req/s at 10,000
// Services, so that two runs can differ.
func fixtureRun(t *testing.T, id string, shortAt10k ...float64) Run {
	t.Helper()
	start := time.Date(2026, 11, 23, 19, 35, 38, 0, time.UTC)
	return Run{
		ID:       id,
		Started:  start,
		Finished: start.Add(65*time.Minute + 24*time.Second),
		Fingerprint: Fingerprint{
			Dataplane:         "kube-proxy-iptables",
			DataplaneVersion:  "v1.37.2",
			KubeProxyMode:     "iptables",
			KubernetesVersion: "v1.37.2",
			Kernel:            "6.6.0-netbench",
			Nodes: []Node{
				{Name: "worker-1", Role: "client", InstanceType: "SA5.LARGE8"},
				{Name: "worker-2", Role: "server", InstanceType: "SA5.LARGE8"},
			},
			Tools: []Tool{
				{Name: "fortio", Image: "fortio/fortio:1.66.5@sha256:0d3b1f6e2c5a", Version: "1.66.5"},
				{Name: "iperf3", Image: "networkstatic/iperf3:3.17@sha256:9a1c2e4b7d80", Version: "3.17"},
			},
			Config: map[string]string{"ROUNDS": "6", "FORTIO_DURATION": "30s", "SVC_ENDPOINTS": "4"},
			Extra:  map[string]string{"service-cidr": "10.96.0.0/12"},
		},
		Results: []Result{{
			Name: "ServiceScale",
			Keys: scale("0", "keepalive"),
			Metrics: []Metric{
				metric(t, UnitReqPerSec, HigherIsBetter, 100955, 101230, 100410, 100712, 101004, 100588),
				percentile(t, "p99-sec", 0.000312, 0.000298, 0.000305, 0.000331, 0.000301, 0.000309),
			},
		}, {
			Name: "ServiceScale",
			Keys: scale("10000", "keepalive"),
			Metrics: []Metric{
				metric(t, UnitReqPerSec, HigherIsBetter, 100120, 100873, 99650, 100402, 100011, 100266),
				percentile(t, "p99-sec", 0.000318, 0.000306, 0.000299, 0.000322, 0.000311, 0.000315),
			},
		}, {
			Name:    "ServiceScale",
			Keys:    scale("0", "short"),
			Metrics: []Metric{metric(t, UnitReqPerSec, HigherIsBetter, 14002, 13920, 14105, 13987, 14050, 13899)},
		}, {
			Name:    "ServiceScale",
			Keys:    scale("10000", "short"),
			Metrics: []Metric{metric(t, UnitReqPerSec, HigherIsBetter, shortAt10k...)},
			Raw:     []byte(`{"fortio":["service-scale/short_at_10000svc_r1.json"]}`),
		}, {
			Name:    "Throughput",
			Keys:    []KV{{"path", "pod2pod"}, {"streams", "8"}},
			Metrics: []Metric{metric(t, UnitBitsPerSec, HigherIsBetter, 10.41e9, 10.38e9, 10.52e9)},
		}},
		Scenarios: []ScenarioStatus{
			{Name: "ServiceScale", Status: StatusPassed},
			{Name: "Throughput", Status: StatusPassed, Message: "3 rounds: fewer than the 6 a 95 % interval needs"},
			{Name: "Hubble", Status: StatusSkipped, Message: "not a Cilium cluster"},
			{Name: "NetworkPolicy", Status: StatusError, Message: "fortio exited 1:\nconnection refused"},
		},
	}
}

// shortOld and shortNew are two runs' short-connection req/s at 10,000
// Services: the second about 10 % slower.
var (
	shortOld = []float64{11230, 11105, 11342, 11190, 11276, 11158}
	shortNew = []float64{10120, 10047, 10233, 10089, 10175, 9998}
)

// olderRun and newerRun are two runs of the same setup half a day apart,
// the newer one about 10 % slower on short connections at 10,000 Services.
func olderRun(t *testing.T) Run {
	return fixtureRun(t, "nb-20261123-193538-a1b2c3", shortOld...)
}

func newerRun(t *testing.T) Run {
	run := fixtureRun(t, "nb-20261124-073538-d4e5f6", shortNew...)
	run.Started = run.Started.Add(12 * time.Hour)
	run.Finished = run.Finished.Add(12 * time.Hour)
	return run
}
