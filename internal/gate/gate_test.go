package gate

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"kube-netbench/internal/config"
	goldenfile "kube-netbench/internal/golden"
	"kube-netbench/internal/report"
	"kube-netbench/internal/results"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/gate/golden")

// testdata holds real results files; see its README for their provenance.
var testdata = filepath.Join("..", "..", "testdata", "gate")

func load(t *testing.T, dir string) Input {
	t.Helper()
	in, err := Load(filepath.Join(testdata, dir))
	require.NoError(t, err)
	return in
}

// defaults are the options of the shipped profile, named by its path as
// the CLI's tests give it.
func defaults(t *testing.T) Options {
	t.Helper()
	path := filepath.Join("..", "..", config.DefaultProfile)
	p, err := config.LoadProfile(path)
	require.NoError(t, err)
	return Options{Tolerances: p.Regression, Profile: path}
}

// allowEnv is defaults with AllowEnvChange.
func allowEnv(t *testing.T) Options {
	o := defaults(t)
	o.AllowEnvChange = true
	return o
}

// goldens writes both outputs of r and compares them with name.md and
// name.junit.xml.
func goldens(t *testing.T, name string, r Result) {
	t.Helper()
	var md, junit bytes.Buffer
	require.NoError(t, WriteMarkdown(&md, r))
	require.NoError(t, WriteJUnit(&junit, r))
	goldenfile.Check(t, filepath.Join(testdata, "golden", name+".md"), md.Bytes(), *update)
	goldenfile.Check(t, filepath.Join(testdata, "golden", name+".junit.xml"), junit.Bytes(), *update)
}

// scale multiplies the samples (and the summary) of every metric with unit
// in every run of in, to inject a known change into real data.
func scale(t *testing.T, in Input, unit string, factor float64) Input {
	t.Helper()
	out := in
	out.Runs = nil
	for _, src := range in.Runs {
		run := src.Run
		run.Results = nil
		for _, res := range src.Run.Results {
			res.Metrics = append([]report.Metric(nil), res.Metrics...)
			for i, m := range res.Metrics {
				if m.Unit != unit {
					continue
				}
				var xs []float64
				for _, x := range m.Samples {
					xs = append(xs, x*factor)
				}
				nm, err := report.NewMetric(m.Unit, m.Better, xs, 0.95)
				require.NoError(t, err)
				res.Metrics[i] = nm
			}
			run.Results = append(run.Results, res)
		}
		out.Runs = append(out.Runs, Source{Path: src.Path, Run: run})
	}
	return out
}

func byName(r Result) map[string]Metric {
	m := map[string]Metric{}
	for _, x := range r.Metrics {
		m[x.Name()] = x
	}
	return m
}

func TestLoad(t *testing.T) {
	a := load(t, "a")
	require.Len(t, a.Runs, 2)
	require.Equal(t, filepath.Join(testdata, "a", "hubble-cilium-overlay.json"), a.Runs[0].Path)
	require.Equal(t, "rps-845839249", a.Runs[1].Run.ID)
	require.Len(t, a.Skipped, 1)
	require.Equal(t, filepath.Join(testdata, "a", "servicescale-kube-proxy-nftables.summary.json"), a.Skipped[0].Path)
	require.Contains(t, a.Skipped[0].Reason, "a ServiceScale summary")

	one, err := Load(filepath.Join(testdata, "a", "rps-kube-proxy-nftables.json"))
	require.NoError(t, err)
	require.Len(t, one.Runs, 1)

	_, err = Load(filepath.Join(testdata, "a", "servicescale-kube-proxy-nftables.summary.json"))
	require.ErrorContains(t, err, "no kube-netbench/report/v1 run found")
	require.ErrorContains(t, err, "a ServiceScale summary")

	_, err = Load(filepath.Join(testdata, "golden"))
	require.ErrorContains(t, err, "no *.json file")

	_, err = Load(filepath.Join(testdata, "missing"))
	require.ErrorContains(t, err, "no such file")
}

// TestLoadRunDir reads a run's results directory: the runs its manifest
// lists, and the dimensions that wrote none as skipped with their reason.
func TestLoadRunDir(t *testing.T) {
	a := load(t, "a")
	root := t.TempDir()
	d, err := results.Create(root, "nb-1", a.Runs[1].Run.Started)
	require.NoError(t, err)
	require.NoError(t, d.Put("rps", a.Runs[1].Run, report.StatusPassed, ""))
	require.NoError(t, d.Record("hubble", report.StatusSkipped, "no Cilium"))
	in, err := Load(d.Path)
	require.NoError(t, err)
	require.Len(t, in.Runs, 1)
	require.Equal(t, filepath.Join(d.Path, "rps.json"), in.Runs[0].Path)
	require.Equal(t, a.Runs[1].Run.Results, in.Runs[0].Run.Results)
	require.Len(t, in.Skipped, 1)
	require.Contains(t, in.Skipped[0].Reason, "dimension hubble skipped without results: no Cilium")

	empty, err := results.Create(root, "nb-2", a.Runs[1].Run.Started)
	require.NoError(t, err)
	_, err = Load(empty.Path)
	require.ErrorContains(t, err, "run nb-2 holds no dimension's results")
}

func TestLoadBadFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		return p
	}
	_, err := Load(write("bad.json", "{"))
	require.ErrorContains(t, err, "bad.json: not JSON")
	_, err = Load(write("v2.json", `{"schema": "kube-netbench/report/v2"}`))
	require.ErrorContains(t, err, `v2.json: read JSON:`)
	in, err := Load(filepath.Join(testdata, "a", "hubble-cilium-overlay.json"))
	require.NoError(t, err)
	require.Len(t, in.Runs, 1)
	_, err = Load(write("other.json", `{"schema": "something/else"}`))
	require.ErrorContains(t, err, `schema "something/else": not a kube-netbench/report/v1 run`)
}

// TestAA compares two real CI runs of the same code on the same lab: no
// regression. RPS (2 rounds) has no interval; Hubble (6 pairs) has one.
func TestAA(t *testing.T) {
	r, err := Compare(load(t, "a"), load(t, "b"), defaults(t))
	require.NoError(t, err)
	require.Empty(t, r.Incomparable)
	require.Empty(t, r.EnvDiffs, "same code, same lab")
	require.Equal(t, ExitPass, r.ExitCode())
	require.Len(t, r.Metrics, 14) // RPS: 4 results x 3 metrics; Hubble: 2
	require.Empty(t, r.OneSided)

	m := byName(r)
	rps := m["RPS/dataplane=nftables/target=pod/conn=keepalive/c=64 req/s"]
	require.Equal(t, Inconclusive, rps.Outcome)
	require.Equal(t, "too few samples for a 95 % interval: the baseline has 2, the candidate 2; each run needs >= 6 (ROUNDS=6)", rps.Reason)
	hub := m["Hubble/dataplane=cilium-overlay/hubble=off/conn=keepalive/c=64 req/s"]
	require.True(t, hub.Change.Bounded(), "6 samples per side give an interval")
	require.NotEqual(t, Regression, hub.Outcome)
	goldens(t, "aa", r)
}

// TestRegression injects a regression into a real run: the candidate is
// run b with every req/s sample scaled by 0.7 (30 % fewer requests).
func TestRegression(t *testing.T) {
	r, err := Compare(load(t, "a"), scale(t, load(t, "b"), "req/s", 0.7), defaults(t))
	require.NoError(t, err)
	require.Equal(t, ExitRegression, r.ExitCode())
	var names []string
	for _, m := range r.With(Regression) {
		names = append(names, m.Name())
		require.Less(t, m.Change.Hi, -5.0, "the whole interval beyond the 5 %% tolerance")
	}
	require.Equal(t, []string{"Hubble/dataplane=cilium-overlay/hubble=off/conn=keepalive/c=64 req/s"}, names,
		"RPS req/s fell as much but has 2 rounds: inconclusive, never a guess")
	// Baseline a's hubble=on rounds spread from 7.3k to 12.8k req/s: the
	// same 30 % fall leaves an interval across the tolerance.
	on := byName(r)["Hubble/dataplane=cilium-overlay/hubble=on/conn=keepalive/c=64 req/s"]
	require.Equal(t, Inconclusive, on.Outcome)
	require.True(t, on.Change.Bounded())
	require.Equal(t, "the interval straddles the tolerance: measure more rounds or reduce noise", on.Reason)
	require.Equal(t, "1 regression", r.Headline())
	goldens(t, "regression", r)
}

// TestDirection: the same fall is an improvement for a lower-is-better
// metric.
func TestDirection(t *testing.T) {
	lower := func(in Input) Input {
		for i := range in.Runs {
			for j := range in.Runs[i].Run.Results {
				for k := range in.Runs[i].Run.Results[j].Metrics {
					in.Runs[i].Run.Results[j].Metrics[k].Better = report.LowerIsBetter
				}
			}
		}
		return in
	}
	r, err := Compare(lower(load(t, "a")), lower(scale(t, load(t, "b"), "req/s", 0.7)), defaults(t))
	require.NoError(t, err)
	require.Empty(t, r.With(Regression))
	require.Len(t, r.With(Improvement), 1)
	require.Equal(t, "Hubble/dataplane=cilium-overlay/hubble=off/conn=keepalive/c=64 req/s", r.With(Improvement)[0].Name())
	require.Equal(t, ExitPass, r.ExitCode())

	// And a rise beyond the tolerance of a higher-is-better metric.
	r, err = Compare(load(t, "a"), scale(t, load(t, "b"), "req/s", 1.5), defaults(t))
	require.NoError(t, err)
	require.NotEmpty(t, r.With(Improvement))
	require.Empty(t, r.With(Regression))
}

func TestNoTolerance(t *testing.T) {
	r, err := Compare(load(t, "a"), scale(t, load(t, "b"), "req/s", 0.7), Options{})
	require.NoError(t, err)
	require.Equal(t, ExitPass, r.ExitCode(), "a profile without a regression section judges nothing")
	hub := byName(r)["Hubble/dataplane=cilium-overlay/hubble=off/conn=keepalive/c=64 req/s"]
	require.Equal(t, NotJudged, hub.Outcome)
	require.Contains(t, hub.Reason, "no regression tolerance for Hubble req/s")
}

// TestNoOverlap: another dataplane's run shares no metric.
func TestNoOverlap(t *testing.T) {
	r, err := Compare(load(t, "a"), load(t, "iptables"), defaults(t))
	require.NoError(t, err)
	require.Equal(t, ExitIncomparable, r.ExitCode())
	require.Equal(t, []string{"no metric is in both runs: the baseline has Hubble (dataplane=cilium-overlay), RPS (dataplane=nftables), the candidate RPS (dataplane=iptables)"},
		r.Incomparable)
	goldens(t, "incomparable", r)
}

// TestFingerprints changes one field of the candidate's fingerprints at a
// time.
func TestFingerprints(t *testing.T) {
	cases := []struct {
		name   string
		edit   func(*report.Fingerprint)
		field  string
		mayDif bool
	}{
		{"kernel", func(f *report.Fingerprint) { f.Kernel = "6.19.0" }, "kernel", false},
		{"instance type", func(f *report.Fingerprint) { f.Nodes[0].InstanceType = "m7i.large" }, "node server instanceType", false},
		{"node kernel", func(f *report.Fingerprint) { f.Nodes[1].Kernel = "6.19.0" }, "node client kernel", false},
		{"node count", func(f *report.Fingerprint) { f.Nodes = f.Nodes[:1] }, "nodes", false},
		{"node role", func(f *report.Fingerprint) { f.Nodes[0].Role = "client" }, "nodes with role client", false},
		{"load tool image", func(f *report.Fingerprint) { f.Tools[0].Image = "fortio/fortio:1.67.0" }, "tool fortio image", false},
		{"load tool image ID", func(f *report.Fingerprint) { f.Tools[0].ImageID = "sha256:b" }, "", false},
		{"load configuration", func(f *report.Fingerprint) { f.Config["FORTIO_DURATION"] = "10s" }, "config FORTIO_DURATION", false},
		{"dataplane", func(f *report.Fingerprint) { f.Dataplane = "kube-proxy-iptables" }, "dataplane", false},
		{"upgrade: dataplane version", func(f *report.Fingerprint) { f.DataplaneVersion = "1.20.0" }, "dataplaneVersion", true},
		{"upgrade: Kubernetes", func(f *report.Fingerprint) { f.KubernetesVersion = "v1.38.0" }, "kubernetesVersion", true},
		{"upgrade: the dataplane's image", func(f *report.Fingerprint) { f.Tools[1].Image = "quay.io/cilium/cilium:v1.20.0" }, "tool cilium-agent image", true},
		{"more rounds", func(f *report.Fingerprint) { f.Config["ROUNDS"] = "6" }, "config ROUNDS", true},
		{"node names", func(f *report.Fingerprint) { f.Nodes[0].Name = "other" }, "node server name", true},
		{"extra", func(f *report.Fingerprint) { f.Extra["cilium-hubble-nb-node-1"] = "Disabled" }, "extra cilium-hubble-nb-node-1", true},
	}
	base := load(t, "a")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cand := load(t, "b")
			for i := range cand.Runs {
				if cand.Runs[i].Run.Fingerprint.Dataplane == "cilium-overlay" {
					tc.edit(&cand.Runs[i].Run.Fingerprint)
				}
			}
			r, err := Compare(base, cand, defaults(t))
			require.NoError(t, err)
			if tc.field == "" { // an image ID on one side only proves nothing
				require.Empty(t, r.EnvDiffs)
				return
			}
			require.NotEmpty(t, r.EnvDiffs)
			require.Equal(t, tc.field, r.EnvDiffs[0].Field)
			require.Equal(t, tc.mayDif, r.EnvDiffs[0].MayDiffer)
			if tc.mayDif {
				require.Empty(t, r.Incomparable)
				return
			}
			require.Equal(t, ExitIncomparable, r.ExitCode())
			require.Contains(t, r.Incomparable[0], "the fingerprints differ in "+tc.field)

			r, err = Compare(base, cand, allowEnv(t))
			require.NoError(t, err)
			require.Empty(t, r.Incomparable, "--allow-env-change")
			require.Equal(t, tc.field, r.EnvDiffs[0].Field, "still listed")
		})
	}
}

// TestEnvChangeGolden: an upgrade (allowed) and a kernel change (allowed by
// AllowEnvChange), as compare.md shows them.
func TestEnvChangeGolden(t *testing.T) {
	cand := load(t, "b")
	for i := range cand.Runs {
		fp := &cand.Runs[i].Run.Fingerprint
		fp.Kernel = "6.19.0"
		if fp.Dataplane == "cilium-overlay" {
			fp.DataplaneVersion = "1.20.0"
			fp.Tools[1].Image = "quay.io/cilium/cilium:v1.20.0"
		}
	}
	r, err := Compare(load(t, "a"), cand, allowEnv(t))
	require.NoError(t, err)
	require.Equal(t, ExitPass, r.ExitCode())
	var md bytes.Buffer
	require.NoError(t, WriteMarkdown(&md, r))
	require.Contains(t, md.String(), "| kernel | \"6.18.44-fc-v1272\" | \"6.19.0\" | must not differ; allowed by --allow-env-change |")
	require.Contains(t, md.String(), "| dataplaneVersion | \"1.19.4\" | \"1.20.0\" | may differ |")
	require.Equal(t, 1, strings.Count(md.String(), "| kernel | \""), "a difference in every file is listed once")
}

func TestInputErrors(t *testing.T) {
	a := load(t, "a")
	twice := a
	twice.Runs = append(append([]Source(nil), a.Runs...), a.Runs[1])
	_, err := Compare(twice, a, Options{})
	require.ErrorContains(t, err, "RPS/dataplane=nftables/target=pod/conn=keepalive/c=64 req/s is in both")

	flipped := load(t, "b")
	for i := range flipped.Runs {
		for j := range flipped.Runs[i].Run.Results {
			flipped.Runs[i].Run.Results[j].Metrics[0].Better = report.LowerIsBetter
		}
	}
	r, err := Compare(a, flipped, Options{})
	require.NoError(t, err)
	require.Equal(t, ExitIncomparable, r.ExitCode())
	require.Contains(t, r.Incomparable[0], "req/s: better=higher in the baseline, better=lower in the candidate")
}

func TestZeroBaseline(t *testing.T) {
	a, b := load(t, "a"), load(t, "b")
	res := &a.Runs[1].Run.Results[0]
	m, err := report.NewMetric("req/s", report.HigherIsBetter, []float64{0, 10}, 0.95)
	require.NoError(t, err)
	res.Metrics = append([]report.Metric(nil), res.Metrics...)
	res.Metrics[0] = m
	r, err := Compare(a, b, defaults(t))
	require.NoError(t, err)
	got := byName(r)["RPS/dataplane=nftables/target=pod/conn=keepalive/c=64 req/s"]
	require.Equal(t, Inconclusive, got.Outcome)
	require.Contains(t, got.Reason, "baseline sample 0 is 0")
}

func TestMinSamples(t *testing.T) {
	require.Equal(t, 6, minSamples(0.95), "benchmath: need >= 6 samples at 95 %")
}
