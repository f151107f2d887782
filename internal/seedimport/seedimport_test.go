package seedimport

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	goldenfile "kube-netbench/internal/golden"
	"kube-netbench/internal/report"
	"kube-netbench/internal/results"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/seed-results/golden")

// seedDir is the seed-layout folder arranged from real captures; its
// README.md says which file is which.
var (
	seedData = filepath.Join("..", "..", "testdata", "seed-results")
	seedDir  = filepath.Join(seedData, "cilium-overlay")
	finished = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
)

// only returns the element of xs that match accepts, failing without one.
func only[T any](t *testing.T, xs []T, match func(T) bool, what string) T {
	t.Helper()
	i := slices.IndexFunc(xs, match)
	require.GreaterOrEqual(t, i, 0, "none for %s", what)
	return xs[i]
}

func fileOf(t *testing.T, im *Import, p string) File {
	t.Helper()
	return only(t, im.Files, func(f File) bool { return f.Path == p }, p)
}

// TestImportGolden writes the folder as a run and compares every file of
// the run, and the printed summary, with the goldens.
func TestImportGolden(t *testing.T) {
	im, err := Read(seedDir)
	require.NoError(t, err)
	root := t.TempDir()
	dir, err := im.Write(root, "seed-golden", finished)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(root, "seed-golden"), dir)

	names, err := filepath.Glob(filepath.Join(dir, "*"))
	require.NoError(t, err)
	var got []string
	for _, p := range names {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		got = append(got, filepath.Base(p))
		goldenfile.Check(t, filepath.Join(seedData, "golden", filepath.Base(p)), b, *update)
	}
	require.Equal(t, []string{"hubble.bench.txt", "hubble.json", "import.md", "latency.bench.txt", "latency.json",
		"policy.bench.txt", "policy.json", "rps.bench.txt", "rps.json", "run.json", "servicescale.bench.txt",
		"servicescale.json", "throughput.bench.txt", "throughput.json"}, got)
	var out bytes.Buffer
	im.PrintSummary(&out, "RUN")
	goldenfile.Check(t, filepath.Join(seedData, "golden", "summary.txt"), out.Bytes(), *update)
}

// TestImportFacts asserts what the folder was arranged to show, apart from
// the goldens.
func TestImportFacts(t *testing.T) {
	im, err := Read(seedDir)
	require.NoError(t, err)
	require.False(t, im.Complete())
	require.Equal(t, 2, im.Rounds)
	require.Equal(t, "cilium-overlay", im.Dataplane)

	// Every file of the folder is reported exactly once, and only the
	// missing ones are reported without being there.
	var onDisk []string
	require.NoError(t, filepath.WalkDir(seedDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(seedDir, p)
			onDisk = append(onDisk, filepath.ToSlash(rel))
		}
		return err
	}))
	var reported, missing []string
	for _, f := range im.Files {
		if f.Status == StatusMissing {
			missing = append(missing, f.Path)
		} else {
			reported = append(reported, f.Path)
		}
		require.True(t, f.Status == StatusImported || f.Reason != "", "%s: %s without a reason", f.Path, f.Status)
	}
	slices.Sort(onDisk)
	require.Equal(t, onDisk, reported)
	require.Equal(t, []string{"throughput/pod2pod_16stream_r2.json"}, missing)

	for p, want := range map[string]struct{ status, reason string }{
		"rps/svc_c64_r2.json":                    {StatusRejected, "104 of 200 calls"},
		"networkpolicy/l7_policy.json":           {StatusRejected, "(503: 104)"},
		"throughput/via_service_8stream_r2.json": {StatusUnparseable, "truncated JSON"},
		"throughput/pod2pod_16stream_r1.json":    {StatusUnparseable, "Connection refused"},
		"latency/tcp_crr_r2.txt":                 {StatusUnparseable, "are you sure there is a netserver"},
		"resources/cilium_agent_cpu_mem.csv":     {StatusNotImported, "cgroup"},
		"service-scale/rr_at_1000svc_r1.txt":     {StatusNotImported, "W-STAT-10"},
		"rps/svc_c64_r1.json":                    {StatusImported, "fortio ran 8 connections; the seed's layout says c=64"},
	} {
		f := fileOf(t, im, p)
		require.Equal(t, want.status, f.Status, p)
		require.Contains(t, f.Reason, want.reason, p)
	}

	// The rejected round is no sample: RPS svc c64 has round 1 only; the
	// seed averaged both.
	m := im.metric(report.DimRPS, "RPS/target=svc/conn=keepalive/c=64", report.UnitReqPerSec)
	require.NotNil(t, m)
	require.Len(t, m.Samples, 1)
	require.InDelta(t, 18807.3, m.Samples[0], 0.1)
	f := finding(t, im, "RPS/target=svc/conn=keepalive/c=64 req/s")
	require.Equal(t, []string{"W-BUG-4", "W-STAT-1"}, f.Flaws)
	require.Contains(t, f.Text, "seed rps.svc_c64.avg_qps = 12361 req/s")

	// Percentiles are the per-round values, summarized, never averaged.
	p99 := im.metric(report.DimLatency, "Latency/test=TCP_RR/target=pod/tool=netperf", "p99-sec")
	require.NotNil(t, p99)
	require.Equal(t, []float64{215e-6, 215e-6}, p99.Samples)
	require.Equal(t, []string{"W-STAT-2", "W-STAT-1"}, finding(t, im, "Latency/test=TCP_RR/target=pod/tool=netperf p99-sec").Flaws)

	require.Contains(t, finding(t, im, "Latency/test=HTTP-1000qps/target=svc/tool=fortio").Flaws, "W-STAT-1")
	require.True(t, slices.ContainsFunc(im.Findings, func(f Finding) bool { return slices.Contains(f.Flaws, "W-BUG-3") }))
	require.Equal(t, []string{"W-BUG-2"}, finding(t, im, "Throughput/path=pod-to-host/node=cross/streams=8").Flaws)
	require.Contains(t, finding(t, im, "ServiceScale/svc=1000/conn=keepalive degradation").Text,
		"seed service_scale.steps[1000].keepalive_degradation_pct = +52.1 % (a ratio of means of n ≤ 2, no interval); ours, the step's median over the RPS phase's (still across phases): +0.0 %")
	require.Contains(t, finding(t, im, "NetworkPolicy L7 overhead").Text, "seed networkpolicy.l7_overhead_pct = -68.5 %")
	require.Contains(t, finding(t, im, "NetworkPolicy L7 overhead").Text, "ours: none, a side has no sample here")

	fp := im.Fingerprint()
	require.Equal(t, "v1.37.2", fp.KubernetesVersion)
	require.Equal(t, map[string]string{"ROUNDS": "2", "IPERF_DURATION": "3s", "SVC_SCALE_STEPS": "1000", "SVC_ENDPOINTS": "4"}, fp.Config)
	require.Equal(t, seedDir, fp.Extra["imported-from"])
	require.Equal(t, "netbench import-seed", fp.Extra["import-tool"])
	require.Equal(t, "lab", fp.Extra["seed-cluster-name"], "quotes removed")
	require.Equal(t, []report.Tool{{Name: "iperf3", Version: "3.12"}, {Name: "fortio", Version: "1.66.5"}, {Name: "netperf"}}, fp.Tools)
}

func finding(t *testing.T, im *Import, subject string) Finding {
	t.Helper()
	return only(t, im.Findings, func(f Finding) bool { return f.Subject == subject }, subject)
}

// TestWrittenRunReads: the run reads back with internal/results, each
// dimension with its status, the dimensions with problems as errors.
func TestWrittenRunReads(t *testing.T) {
	im, err := Read(seedDir)
	require.NoError(t, err)
	dir, err := im.Write(t.TempDir(), "seed-1", finished)
	require.NoError(t, err)
	l, err := results.Read(dir)
	require.NoError(t, err)
	status := map[string]string{}
	for _, d := range l.Manifest.Dimensions {
		status[d.Name] = d.Status
	}
	require.Equal(t, map[string]string{report.DimThroughput: report.StatusError, report.DimRPS: report.StatusError, report.DimLatency: report.StatusError,
		report.DimHubble: report.StatusPassed, report.DimPolicy: report.StatusError, report.DimServiceScale: report.StatusPassed}, status)
	require.Equal(t, im.Started, l.Manifest.Started)
	require.Equal(t, finished, l.Manifest.Finished)
	require.Equal(t, ReportFile, l.Manifest.Fingerprint.Extra["import-report"])
	require.FileExists(t, filepath.Join(dir, ReportFile))
}

// copyTree copies the seed folder to a temporary one for edits.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	require.NoError(t, filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	}))
	return dst
}

func write(t *testing.T, dir, p, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.FromSlash(p)), []byte(content), 0o644))
}

// cleanFolder is the test folder as a kube-proxy iptables run with every
// broken or missing file replaced by a good copy: nothing is left out.
func cleanFolder(t *testing.T) string {
	t.Helper()
	dir := copyTree(t, seedDir)
	ctx, err := os.ReadFile(filepath.Join(dir, ContextFile))
	require.NoError(t, err)
	write(t, dir, ContextFile, strings.Replace(string(ctx), "cilium-overlay", "kubeproxy-iptables", 1))
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "hubble")))
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "networkpolicy")))
	for dst, src := range map[string]string{
		"throughput/pod2pod_16stream_r1.json":    "throughput/pod2pod_8stream_r1.json",
		"throughput/pod2pod_16stream_r2.json":    "throughput/pod2pod_8stream_r1.json",
		"throughput/via_service_8stream_r2.json": "throughput/pod2pod_8stream_r1.json",
		"rps/svc_c64_r2.json":                    "rps/svc_c64_r1.json",
		"latency/tcp_crr_r2.txt":                 "latency/tcp_crr_r1.txt",
	} {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(src)))
		require.NoError(t, err)
		write(t, dir, dst, string(b))
	}
	return dir
}

func TestCleanKubeProxyFolder(t *testing.T) {
	dir := cleanFolder(t)
	im, err := Read(dir)
	require.NoError(t, err)
	require.True(t, im.Complete(), "%+v", im.Files)
	require.Equal(t, "kube-proxy-iptables", im.Dataplane)
	require.Equal(t, "iptables", im.KubeProxyMode)
	for _, d := range im.Dims {
		switch d.Name {
		case report.DimHubble, report.DimPolicy:
			require.Equal(t, report.StatusSkipped, d.Status, d.Name)
			require.Contains(t, d.Message, "Cilium only")
		default:
			require.Equal(t, report.StatusPassed, d.Status, "%s: %s", d.Name, d.Message)
		}
	}
	require.Equal(t, "RPS/dataplane=iptables/target=svc/conn=keepalive/c=64", im.Dims[1].Results[1].BenchmarkName())
	require.Equal(t, "seed-iptables-20261123T100000Z", im.DefaultID())
	// The stream counts are checked against the layout, not trusted.
	require.Contains(t, fileOf(t, im, "throughput/pod2pod_16stream_r1.json").Reason, "iperf3 ran 8 streams; the seed's layout says -P 16")

	// A Hubble file in a kube-proxy folder is reported, not imported.
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "hubble"), 0o755))
	write(t, dir, "hubble/hubble_on.json", "{}")
	require.NoError(t, os.Remove(filepath.Join(dir, SummaryFile)))
	im, err = Read(dir)
	require.NoError(t, err)
	require.Equal(t, StatusNotImported, fileOf(t, im, "hubble/hubble_on.json").Status)
	require.Equal(t, StatusMissing, fileOf(t, im, SummaryFile).Status)
	require.Contains(t, finding(t, im, "run").Text, "ROUNDS was 2")
	require.True(t, slices.ContainsFunc(im.Findings, func(f Finding) bool { return strings.Contains(f.Text, "no readable benchmark-summary.json") }))
}

func TestReadRefusesWhatIsNoSeedFolder(t *testing.T) {
	empty := t.TempDir()
	notDir := filepath.Join(empty, "file")
	write(t, empty, "file", "x")
	bad := func(ctx string) string {
		d := t.TempDir()
		write(t, d, ContextFile, ctx)
		return d
	}
	for _, tc := range []struct{ name, dir, err string }{
		{"no such DIR", filepath.Join(empty, "nope"), "DIR " + filepath.Join(empty, "nope") + ": stat"},
		{"a file", notDir, "is a file; give the seed's results folder"},
		{"no context.yaml", empty, "has no context.yaml: not a seed results folder"},
		{"unknown cluster_type", bad("cluster_type: kubeproxy-nftables\ntest_date: 2026-11-23T10:00:00Z\n"),
			`cluster_type "kubeproxy-nftables" is not one the seed writes (cilium-native, cilium-overlay, kubeproxy-iptables, kubeproxy-ipvs)`},
		{"no cluster_type", bad("test_date: 2026-11-23T10:00:00Z\n"), `cluster_type "" is not one the seed writes`},
		{"bad test_date", bad("cluster_type: cilium-native\ntest_date: yesterday\n"), `test_date "yesterday" is not an RFC 3339 time`},
		{"no test_date", bad("cluster_type: cilium-native\n"), "no test_date"},
		{"not key: value", bad("cluster_type cilium-native\n"), `line 1 "cluster_type cilium-native" is not "key: value"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(tc.dir)
			require.ErrorContains(t, err, tc.err)
		})
	}
}

func TestWriteRefusesAnExistingRun(t *testing.T) {
	im, err := Read(seedDir)
	require.NoError(t, err)
	root := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(root, "seed-1"), 0o755))
	_, err = im.Write(root, "seed-1", finished)
	require.ErrorContains(t, err, filepath.Join(root, "seed-1")+" already exists")
	entries, err := os.ReadDir(filepath.Join(root, "seed-1"))
	require.NoError(t, err)
	require.Empty(t, entries, "nothing written into it")

	_, err = im.Write(root, "../x", finished)
	require.ErrorContains(t, err, "cannot name a directory")
}

func TestParseContext(t *testing.T) {
	c, err := parseContext([]byte("cluster_name: \"tke-a\"\ncluster_type: cilium-native\n\n# note\nnode_os: 'TencentOS Server 4'\nk8s_version: v1.34.1-tke.5\n"))
	require.NoError(t, err)
	require.Equal(t, []string{"cluster_name", "cluster_type", "node_os", "k8s_version"}, c.Keys)
	require.Equal(t, "tke-a", c.Values["cluster_name"])
	require.Equal(t, "TencentOS Server 4", c.Values["node_os"])
	require.Equal(t, "v1.34.1-tke.5", c.Values["k8s_version"])
}

// TestLegacyScaleStep: the older seed's single step (svc_1k_svc_r*.json,
// no scale_steps.txt) is ServiceScale at 1000 Services, keepalive.
func TestLegacyScaleStep(t *testing.T) {
	dir := copyTree(t, seedDir)
	b, err := os.ReadFile(filepath.Join(dir, "service-scale", "ka_at_1000svc_r1.json"))
	require.NoError(t, err)
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "service-scale")))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "service-scale"), 0o755))
	write(t, dir, "service-scale/svc_1k_svc_r1.json", string(b))
	im, err := Read(dir)
	require.NoError(t, err)
	require.Equal(t, StatusImported, fileOf(t, im, "service-scale/svc_1k_svc_r1.json").Status)
	require.Equal(t, StatusMissing, fileOf(t, im, "service-scale/svc_1k_svc_r2.json").Status)
	require.Equal(t, StatusMissing, fileOf(t, im, "service-scale/scale_steps.txt").Status)
	res := im.Dims[5].Results
	require.Len(t, res, 1)
	require.Equal(t, "ServiceScale/dataplane=cilium-overlay/svc=1000/conn=keepalive", res[0].BenchmarkName())
}
