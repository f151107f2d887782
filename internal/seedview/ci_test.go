package seedview

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	goldenfile "kube-netbench/internal/golden"
	"kube-netbench/internal/report"
	"kube-netbench/internal/results"
	"kube-netbench/internal/stats"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/seedview/golden")

// testdata holds real CI outputs; see its README for their provenance.
var testdata = filepath.Join("..", "..", "testdata", "seedview")

// ciRun turns one CI directory of the older flat layout (one
// <dimension>-<dataplane>.json per dimension, ServiceScale as its
// .summary.json) into a run directory through results.Create and Put, and
// reads it back: the path a run of the suite takes.
func ciRun(t *testing.T, name string) results.Loaded {
	t.Helper()
	src := filepath.Join(testdata, "ci", name)
	files, err := filepath.Glob(filepath.Join(src, "*.json"))
	require.NoError(t, err)
	type dim struct {
		name string
		run  report.Run
	}
	var dims []dim
	var scale string
	for _, f := range files {
		base := filepath.Base(f)
		switch {
		case strings.HasSuffix(base, ".summary.json"):
			scale = f
			continue
		case base == "skipped.json":
			continue
		}
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		run, err := report.ReadJSON(bytes.NewReader(b))
		require.NoError(t, err, f)
		dims = append(dims, dim{strings.SplitN(base, "-", 2)[0], run})
	}
	require.NotEmpty(t, dims, src)
	require.NotEmpty(t, scale, "%s: no ServiceScale summary", src)
	dims = append(dims, dim{report.DimServiceScale, scaleRun(t, scale, dims[0].run)})
	sort.Slice(dims, func(i, j int) bool { return dims[i].run.Started.Before(dims[j].run.Started) })

	d, err := results.Create(t.TempDir(), name, dims[0].run.Started)
	require.NoError(t, err)
	finished := time.Time{}
	for _, x := range dims {
		require.NoError(t, d.Put(x.name, x.run, report.StatusPassed, ""))
		if x.run.Finished.After(finished) {
			finished = x.run.Finished
		}
	}
	if b, err := os.ReadFile(filepath.Join(src, "skipped.json")); err == nil {
		var skipped map[string]string
		require.NoError(t, json.Unmarshal(b, &skipped))
		keys := make([]string, 0, len(skipped))
		for k := range skipped {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			require.NoError(t, d.Record(k, report.StatusSkipped, skipped[k]))
		}
	}
	require.NoError(t, d.Finish(finished))
	l, err := results.Read(d.Path)
	require.NoError(t, err)
	return l
}

// scaleRun rebuilds ServiceScale's results from its summary as e2e writes
// them (svc=N or 0-closing, conn=keepalive|short, req/s): its ID and times
// from the .bench.txt header, its fingerprint from another dimension of
// the same go test run (like).
func scaleRun(t *testing.T, path string, like report.Run) report.Run {
	t.Helper()
	var sum struct {
		ServiceScale struct {
			Steps []struct {
				SvcCount  int       `json:"svc_count"`
				Closing   bool      `json:"closing_baseline"`
				Keepalive []float64 `json:"keepalive_samples"`
				Short     []float64 `json:"short_conn_samples"`
			} `json:"steps"`
		} `json:"service_scale"`
	}
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &sum))
	run := benchHeader(t, strings.TrimSuffix(path, ".summary.json")+".bench.txt")
	run.Fingerprint = like.Fingerprint
	run.Fingerprint.Tools = []report.Tool{{Name: "fortio", Image: "fortio/fortio:1.66.5", Version: "1.66.5"}}
	dataplane := key(like.Results[0], "dataplane")
	for _, st := range sum.ServiceScale.Steps {
		svc := strconv.Itoa(st.SvcCount)
		if st.Closing {
			svc += "-closing"
		}
		for _, c := range []struct {
			conn    string
			samples []float64
		}{{"keepalive", st.Keepalive}, {"short", st.Short}} {
			m, err := report.NewMetric(report.UnitReqPerSec, report.HigherIsBetter, c.samples, stats.DefaultConfidence)
			require.NoError(t, err)
			run.Results = append(run.Results, report.Result{Name: "ServiceScale",
				Keys:    []report.KV{{Key: "dataplane", Value: dataplane}, {Key: "svc", Value: svc}, {Key: "conn", Value: c.conn}},
				Metrics: []report.Metric{m}})
		}
	}
	return run
}

// benchHeader reads "# kube-netbench run ID" and "# started T, finished
// T" from a benchmark-format file.
func benchHeader(t *testing.T, path string) report.Run {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var run report.Run
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if id, ok := strings.CutPrefix(line, "# kube-netbench run "); ok {
			run.ID = id
		}
		if times, ok := strings.CutPrefix(line, "# started "); ok {
			start, end, found := strings.Cut(times, ", finished ")
			require.True(t, found, line)
			run.Started, err = time.Parse(time.RFC3339, start)
			require.NoError(t, err)
			run.Finished, err = time.Parse(time.RFC3339, end)
			require.NoError(t, err)
		}
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, run.ID, path)
	return run
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

	// rps-kube-proxy-iptables.json, RPS/target=svc/conn=short/c=64: two rounds.
	short := doc["rps"].(map[string]any)["svc_short_c64"].(map[string]any)
	require.ElementsMatch(t, []float64{3562.450486320244, 2728.5547143528697}, short["qps"])
	require.InDelta(t, (3562.450486320244+2728.5547143528697)/2, short["avg_qps"], 1e-9, "the median of two rounds")
	require.Nil(t, short["ci95"], "2 rounds have no 95 % interval")
	require.Equal(t, 2, short["n"])

	// throughput: path=host/node=cross/streams=8 in Gbps.
	node := doc["throughput"].(map[string]any)["node_level_8stream"].(map[string]any)
	require.ElementsMatch(t, []float64{11.1388489643, 6.43642675086}, node["gbps"], "bits/s to Gbps, 12 significant digits")
	require.Equal(t, "host-to-host", node["path"])

	// latency: TCP_RR per-round p50 41 and 40 µs.
	lat := doc["latency"].(map[string]any)
	require.ElementsMatch(t, []float64{41, 40}, lat["tcp_rr_p50_us_samples"])
	require.Equal(t, 40.5, lat["tcp_rr_p50_us"])

	// servicescale summary: 1000 Services, keepalive 10409.90 and 7732.82
	// against the baseline 14181.31 and 13739.75.
	ss := doc["service_scale"].(map[string]any)
	require.Equal(t, 4, ss["endpoints_per_svc"])
	step := ss["steps"].([]any)[0].(map[string]any)
	require.Equal(t, 1000, step["svc_count"])
	want := ((10409.904518615522+7732.8207470655525)/2 - (14181.305046095898+13739.752311934855)/2) /
		((14181.305046095898 + 13739.752311934855) / 2) * 100
	require.InDelta(t, want, step["keepalive_degradation_pct"], 1e-9)
	require.Less(t, step["keepalive_degradation_pct"], 0.0, "fewer req/s is a negative degradation, as the seed's")

	require.NotContains(t, doc, "hubble")
	require.Contains(t, notes, "hubble: left out: dimension hubble skipped without results: dataplane kube-proxy-iptables runs no Cilium: Hubble is Cilium's")
	require.Equal(t, "kubeproxy-iptables", doc["cluster"].(map[string]any)["cluster_type"])
}
