package suiteconfig

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kube-netbench/internal/config"
	"kube-netbench/profiles"
)

// TestTimeoutFitsTheMakeTargets: the sizes make test and make bench run
// with fit their own -timeout, so the check refuses only the absurd.
func TestTimeoutFitsTheMakeTargets(t *testing.T) {
	ci := config.Config{Rounds: 2, FortioDuration: 2 * time.Second, IperfDuration: 2 * time.Second, SvcScaleSteps: []int{1000}}
	bench := config.Config{Rounds: 6, FortioDuration: 10 * time.Second, IperfDuration: 10 * time.Second, SvcScaleSteps: []int{1000, 5000, 10000}}
	all := func(string) bool { return true }
	lab := where{lab: true, cilium: true}
	assert.Empty(t, checkTimeout(ci, all, lab, 30*time.Minute))
	assert.Empty(t, checkTimeout(bench, all, lab, 180*time.Minute))
	assert.Empty(t, checkTimeout(bench, all, lab, 0), "no timeout, no limit")
	assert.Empty(t, checkTimeout(bench, Selector("TestDataplaneSmoke", ""), lab, time.Minute), "the smoke test measures no rounds")

	// make bench's settings on a Cilium lab measure at least 6 × (4 + 1 + 3×5 + 2 + 2 + 2) × 10 s
	// of fortio, 36 gate runs of 10 s and 6 × 7 × 11 s of iperf3: 39m42s.
	errs := checkTimeout(bench, all, lab, 30*time.Minute)
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0].Error(), "at least 39m42s")
	assert.Contains(t, errs[0].Error(), "TestThroughput 42 × 11s")
	// On a cluster whose dataplane is not known yet, only what measures
	// anywhere counts: RPS, throughput and latency.
	errs = checkTimeout(bench, all, where{}, 10*time.Minute)
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0].Error(), fmt.Sprintf("at least %s", 6*(4+1)*10*time.Second+6*7*11*time.Second))
}

func TestSelector(t *testing.T) {
	for _, tc := range []struct {
		run, skip string
		yes, no   []string
	}{
		{"", "", []string{"TestRPS", "TestServiceScale"}, nil},
		{"TestRPS", "", []string{"TestRPS"}, []string{"TestThroughput"}},
		{"TestDataplaneSmoke|TestServiceScale", "", []string{"TestServiceScale"}, []string{"TestRPS"}},
		{"TestServiceScale/baseline|TestRPS", "", []string{"TestServiceScale", "TestRPS"}, []string{"TestLatency"}},
		{"Test(RPS|Latency)", "", []string{"TestRPS", "TestLatency"}, []string{"TestHubble"}},
		{"", "TestRegressionGate|TestNetworkPolicy", []string{"TestRPS"}, []string{"TestRegressionGate", "TestNetworkPolicy"}},
		{"", "TestServiceScale/drift", []string{"TestServiceScale"}, nil},
		{"Test[", "", []string{"TestRPS"}, nil}, // go test reports the bad pattern
	} {
		sel := Selector(tc.run, tc.skip)
		for _, n := range tc.yes {
			assert.True(t, sel(n), "-run %q -skip %q selects %s", tc.run, tc.skip, n)
		}
		for _, n := range tc.no {
			assert.False(t, sel(n), "-run %q -skip %q leaves out %s", tc.run, tc.skip, n)
		}
	}
}

func TestModuleRoot(t *testing.T) {
	wd, err := os.Getwd()
	require.NoError(t, err)
	root := ModuleRoot(wd)
	assert.Equal(t, filepath.Dir(filepath.Dir(wd)), root, "internal/suiteconfig is two levels below the root")
	other := t.TempDir()
	assert.Equal(t, other, ModuleRoot(other), "outside the module: the directory itself")
}

// TestEmbeddedProfileIsTheFile: the profile built into the suite is the
// repository's profiles/default.yaml.
func TestEmbeddedProfileIsTheFile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", profiles.DefaultName))
	require.NoError(t, err)
	assert.Equal(t, string(b), string(profiles.Default))
	_, err = config.ParseProfile(profiles.Default)
	require.NoError(t, err)
}

func TestCheckServiceRange(t *testing.T) {
	c := config.Config{SvcScaleSteps: []int{1000, 30000}, SvcEndpoints: 4, RunID: "nb-x"}
	require.NoError(t, CheckServiceRange(c, mustPrefix(t, "10.96.0.0/16"), "ServiceCIDR kubernetes"))
	err := CheckServiceRange(c, mustPrefix(t, "10.96.0.0/18"), "ServiceCIDR kubernetes")
	require.Error(t, err)
	assert.Equal(t, `SVC_SCALE_STEPS="1000,30000": the largest step, 30000 Services, needs as many ClusterIPs; `+
		`the Service range (ServiceCIDR kubernetes) assigns 16381; allowed: steps of at most 16381 Services on this cluster`, err.Error())
	err = CheckServiceRange(config.Config{SvcScaleSteps: []int{40000}, SvcEndpoints: 1}, mustPrefix(t, "10.96.0.0/17"), "x")
	assert.ErrorContains(t, err, "assigns 32765")
}

func mustPrefix(t *testing.T, s string) netip.Prefix {
	t.Helper()
	p, err := netip.ParsePrefix(s)
	require.NoError(t, err)
	return p
}
