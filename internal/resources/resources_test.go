package resources

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	for _, agent := range []string{"kube-proxy", "cilium-agent"} {
		b, err := os.ReadFile("../../testdata/procpid/" + agent + ".txt")
		require.NoError(t, err)
		s, err := Parse(string(b))
		require.NoError(t, err)
		require.Equal(t, agent, s.Comm)
		require.Greater(t, s.CPUTicks, uint64(0))
		require.Greater(t, s.RSSBytes, uint64(10<<20))
	}

	// A comm with spaces and parentheses: the fields start after the last ')'.
	s, err := Parse("42 (a (b) c) S 1 42 42 0 -1 4194560 1 0 0 0 250 50 0 0 20 0 1 0 5 100 200\nName:\ta\nVmRSS:\t  2048 kB\n")
	require.NoError(t, err)
	require.Equal(t, Sample{Comm: "a (b) c", CPUTicks: 300, RSSBytes: 2 << 20}, s)

	for _, tc := range []struct{ in, err string }{
		{"42 (x) S 1\n", "fields after comm"},
		{"no comm here\nVmRSS: 1 kB\n", "no (comm)"},
		{"42 (k) S 1 42 42 0 -1 1 1 0 0 0 1 1 0 0 20 0 1 0 5 0 0\nName:\tk\n", "no VmRSS line"},
		{"42 (x) S 1 42 42 0 -1 1 1 0 0 0 1 1 0 0 20 0 1 0 5 0 0\nVmRSS:\t12 MB\n", `VmRSS "12 MB"`},
		{"just one line", "one line only"},
	} {
		_, err := Parse(tc.in)
		require.ErrorContains(t, err, tc.err, tc.in)
	}
}

func TestMillicores(t *testing.T) {
	m, err := Millicores(Sample{CPUTicks: 100}, Sample{CPUTicks: 150}, 10*time.Second)
	require.NoError(t, err)
	require.InDelta(t, 50.0, m, 1e-9, "0.5 s of CPU in 10 s is 50 millicores")
	_, err = Millicores(Sample{CPUTicks: 100}, Sample{CPUTicks: 50}, time.Second)
	require.ErrorContains(t, err, "went backwards")
	_, err = Millicores(Sample{}, Sample{}, 0)
	require.ErrorContains(t, err, "no time")
}
