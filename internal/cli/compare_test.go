package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"kube-netbench/internal/config"
	"kube-netbench/internal/report"
	"kube-netbench/internal/stats"
	"kube-netbench/profiles"
)

// The gate's real runs; testdata/gate/README.md gives their provenance.
var (
	gateData = filepath.Join(testdata, "gate")
	profile  = filepath.Join("..", "..", "profiles", "default.yaml")
)

// rewrite copies the run at src (a report.Run JSON file) to dir with edit
// applied, and returns the new file's path.
func rewrite(t *testing.T, src, dir string, edit func(*report.Run)) string {
	t.Helper()
	f, err := os.Open(src)
	require.NoError(t, err)
	defer f.Close()
	run, err := report.ReadJSON(f)
	require.NoError(t, err)
	edit(&run)
	dst := filepath.Join(dir, filepath.Base(src))
	out, err := os.Create(dst)
	require.NoError(t, err)
	require.NoError(t, report.WriteJSON(out, run))
	require.NoError(t, out.Close())
	return dst
}

// scaleReqPerSec multiplies every req/s sample by factor: a regression
// injected into a real run.
func scaleReqPerSec(t *testing.T, factor float64) func(*report.Run) {
	return func(run *report.Run) {
		for i := range run.Results {
			for j, m := range run.Results[i].Metrics {
				if m.Unit != report.UnitReqPerSec {
					continue
				}
				xs := make([]float64, len(m.Samples))
				for k, x := range m.Samples {
					xs[k] = x * factor
				}
				nm, err := report.NewMetric(m.Unit, m.Better, xs, stats.DefaultConfidence)
				require.NoError(t, err)
				run.Results[i].Metrics[j] = nm
			}
		}
	}
}

// TestCompareDefaultProfile: without --profile, compare judges with the
// default profile built into it, here in a directory that has no
// profiles/default.yaml.
func TestCompareDefaultProfile(t *testing.T) {
	_, err := os.Stat(config.DefaultProfile)
	require.ErrorIs(t, err, os.ErrNotExist, "the test runs where the file is not")
	out := t.TempDir()
	code, stdout, stderr := run("", "compare", "-o", out, filepath.Join(gateData, "a"), filepath.Join(gateData, "b"))
	require.Empty(t, stderr)
	require.Equal(t, 0, code, stdout)
	md, err := os.ReadFile(filepath.Join(out, "compare.md"))
	require.NoError(t, err)
	require.Contains(t, string(md), profiles.DefaultName)
}

// TestCompareAA: two real CI runs of the same code pass, and compare.md is
// the gate's golden for them.
func TestCompareAA(t *testing.T) {
	out := t.TempDir()
	code, stdout, stderr := run("", "compare", "--profile", profile, "-o", out, filepath.Join(gateData, "a"), filepath.Join(gateData, "b"))
	require.Empty(t, stderr)
	require.Equal(t, 0, code, stdout)
	require.Contains(t, stdout, "netbench compare: no regression (exit 0)\n14 metrics compared: 0 regression, 0 improvement, ")
	require.Contains(t, stdout, "not compared: "+filepath.Join(gateData, "a", "servicescale-kube-proxy-nftables.summary.json")+": a ServiceScale summary")
	for written, goldenName := range map[string]string{"compare.md": "aa.md", "compare.junit.xml": "aa.junit.xml"} {
		got, err := os.ReadFile(filepath.Join(out, written))
		require.NoError(t, err)
		want, err := os.ReadFile(filepath.Join(gateData, "golden", goldenName))
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), "%s: what the gate renders (internal/gate's golden)", written)
	}
}

// TestCompareRegression: run b with its req/s scaled by 0.7 regresses
// against run a; the metrics are named.
func TestCompareRegression(t *testing.T) {
	cand := t.TempDir()
	rewrite(t, filepath.Join(gateData, "b", "hubble-cilium-overlay.json"), cand, scaleReqPerSec(t, 0.7))
	rewrite(t, filepath.Join(gateData, "b", "rps-kube-proxy-nftables.json"), cand, scaleReqPerSec(t, 0.7))
	out := filepath.Join(t.TempDir(), "new")
	code, stdout, stderr := run("", "compare", "--profile", profile, "-o", out, filepath.Join(gateData, "a"), cand)
	require.Empty(t, stderr)
	require.Equal(t, 1, code, stdout)
	require.Contains(t, stdout, "netbench compare: 1 regression (exit 1)")
	require.Contains(t, stdout, "REGRESSION Hubble/dataplane=cilium-overlay/hubble=off/conn=keepalive/c=64 req/s: ")
	require.Contains(t, stdout, "beyond the tolerance 5 % (regression.defaultPct)")
	require.FileExists(t, filepath.Join(out, "compare.md"), "-o is created")
	require.FileExists(t, filepath.Join(out, "compare.junit.xml"))
}

// TestCompareIncomparable: no shared metric, or an environment that must
// not differ, exits 2; --allow-env-change compares the latter anyway.
func TestCompareIncomparable(t *testing.T) {
	out := t.TempDir()
	code, stdout, _ := run("", "compare", "--profile", profile, "-o", out, filepath.Join(gateData, "a"), filepath.Join(gateData, "iptables"))
	require.Equal(t, 2, code)
	require.Contains(t, stdout, "INCOMPARABLE no metric is in both runs")
	require.FileExists(t, filepath.Join(out, "compare.md"), "an incomparable verdict is still written")

	cand := t.TempDir()
	newKernel := func(r *report.Run) { r.Fingerprint.Kernel = "6.19.0" }
	rewrite(t, filepath.Join(gateData, "b", "rps-kube-proxy-nftables.json"), cand, newKernel)
	base := filepath.Join(gateData, "a", "rps-kube-proxy-nftables.json")
	code, stdout, _ = run("", "compare", "--profile", profile, "-o", out, base, cand)
	require.Equal(t, 2, code)
	require.Contains(t, stdout, `INCOMPARABLE the fingerprints differ in kernel "6.18.44-fc-v1272" -> "6.19.0"`)

	code, stdout, _ = run("", "compare", "--profile", profile, "--allow-env-change", "-o", out, base, cand)
	require.Equal(t, 0, code, stdout)
}

func TestCompareBadInput(t *testing.T) {
	a := filepath.Join(gateData, "a")
	out := t.TempDir()
	for name, tc := range map[string]struct {
		args []string
		err  string
	}{
		"one run":         {[]string{a}, "want BASELINE and CANDIDATE (flags first), got 1 arguments"},
		"flags last":      {[]string{a, a, "-o", out}, "got 4 arguments"},
		"unknown flag":    {[]string{"--tolerance", "5", a, a}, "flag provided but not defined: -tolerance"},
		"missing":         {[]string{"-o", out, a, "nowhere"}, "CANDIDATE nowhere: stat nowhere: no such file or directory; give a run's results directory (holding run.json)"},
		"no run":          {[]string{"-o", out, filepath.Join(gateData, "a", "servicescale-kube-proxy-nftables.summary.json"), a}, "BASELINE " + filepath.Join(gateData, "a", "servicescale-kube-proxy-nftables.summary.json") + ": no kube-netbench/report/v1 run found"},
		"missing profile": {[]string{"--profile", "none.yaml", a, a}, "--profile none.yaml: profile: open none.yaml: no such file or directory"},
	} {
		t.Run(name, func(t *testing.T) {
			args := []string{"compare"}
			if name != "missing profile" && name != "unknown flag" {
				args = append(args, "--profile", profile)
			}
			code, stdout, stderr := run("", append(args, tc.args...)...)
			require.Equal(t, 2, code)
			require.Empty(t, stdout)
			require.Contains(t, stderr, tc.err)
		})
	}
}
