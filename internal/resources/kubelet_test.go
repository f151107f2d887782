package resources

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func readMetrics(t *testing.T, name string) map[Container]CgroupSample {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "testdata", "kubelet", name))
	require.NoError(t, err)
	defer f.Close()
	m, err := ParseResourceMetrics(f)
	require.NoError(t, err)
	return m
}

// TestParseResourceMetrics reads two real readings of a lab kubelet
// (testdata/kubelet, with provenance).
func TestParseResourceMetrics(t *testing.T) {
	kp := Container{Namespace: "kube-system", Pod: "kube-proxy-nrz2f", Name: "kube-proxy"}
	before, after := readMetrics(t, "metrics-resource.txt"), readMetrics(t, "metrics-resource-later.txt")
	require.Len(t, before, 5, "one sample per container; pod and node lines are not containers")
	b := before[kp]
	require.InDelta(t, 1.227086586, b.CPUSeconds, 1e-9)
	require.Equal(t, time.UnixMilli(1796512418611), b.CPUAt)
	require.InDelta(t, 1.306624e+07, b.WorkingSetBytes, 1)
	m, err := CgroupMillicores(b, after[kp])
	require.NoError(t, err)
	// (1.23891652 - 1.227086586) s over 14.512 s: ~0.8 millicores, an idle kube-proxy.
	require.InDelta(t, 0.815, m, 0.01)
}

func TestCgroupMillicoresRefusesARepeatedReading(t *testing.T) {
	at := time.UnixMilli(1796512418611)
	s := CgroupSample{CPUSeconds: 1, CPUAt: at}
	_, err := CgroupMillicores(s, s)
	require.True(t, errors.Is(err, ErrNoNewReading), "%v", err)
	_, err = CgroupMillicores(s, CgroupSample{CPUSeconds: 0.5, CPUAt: at.Add(time.Second)})
	require.ErrorContains(t, err, "went backwards")
}

func TestParseResourceMetricsRejects(t *testing.T) {
	for _, tc := range []struct{ name, in, err string }{
		{"not resource metrics", "# TYPE up gauge\nup 1\n", "no container_cpu_usage_seconds_total"},
		{"no timestamp", "# TYPE container_cpu_usage_seconds_total counter\ncontainer_cpu_usage_seconds_total{container=\"c\",namespace=\"n\",pod=\"p\"} 1\n" +
			"# TYPE container_memory_working_set_bytes gauge\ncontainer_memory_working_set_bytes{container=\"c\",namespace=\"n\",pod=\"p\"} 1 5\n", "has no timestamp"},
		{"truncated", "# TYPE container_cpu_usage_seconds_total counter\ncontainer_cpu_usage_seconds_total{container=\"c\",namespace=", "kubelet resource metrics"},
		// Inputs on which prometheus/common's text parser dereferences a nil
		// metric (found by FuzzParse, kept in testdata/fuzz/FuzzParse).
		{"labels without a metric name", "#0000000\n{}0", "kubelet resource metrics: not the Prometheus text format"},
		{"labels without a metric name after HELP", "# HELP a x\n{}", "kubelet resource metrics: not the Prometheus text format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseResourceMetrics(strings.NewReader(tc.in))
			require.ErrorContains(t, err, tc.err)
		})
	}
}
