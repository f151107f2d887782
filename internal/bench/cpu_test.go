package bench

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return string(b)
}

func TestParseProcStatCaptures(t *testing.T) {
	before, err := ParseProcStat(readFile(t, "../../testdata/procstat/before.txt"))
	require.NoError(t, err)
	after, err := ParseProcStat(readFile(t, "../../testdata/procstat/after.txt"))
	require.NoError(t, err)
	require.Equal(t, 2, before.CPUs)
	f, err := BusyFraction(before, after)
	require.NoError(t, err)
	require.Greater(t, f, 0.0)
	require.LessOrEqual(t, f, 1.0)
	// One second on 2 CPUs at 100 Hz is about 200 ticks.
	ticks := (after.Busy - before.Busy) + (after.Idle - before.Idle)
	require.InDelta(t, 200, float64(ticks), 40)
	// system 235443 -> 235500, irq 0, softirq 26155 -> 26206: 108 ticks.
	k, err := KernelCPU(before, after)
	require.NoError(t, err)
	require.Equal(t, 1080*time.Millisecond, k)
	u := Use(before, after)
	require.Equal(t, k, u.Kernel)
	require.Equal(t, f, u.Busy)
}

func TestKernelCPU(t *testing.T) {
	k, err := KernelCPU(CPUTimes{Busy: 100, Idle: 100, Kernel: 40}, CPUTimes{Busy: 300, Idle: 150, Kernel: 190})
	require.NoError(t, err)
	require.Equal(t, 1500*time.Millisecond, k, "150 ticks of USER_HZ=100")
	_, err = KernelCPU(CPUTimes{Kernel: 40}, CPUTimes{Kernel: 39})
	require.ErrorContains(t, err, "backwards")
	_, err = KernelCPU(CPUTimes{Busy: 5, Kernel: 1}, CPUTimes{Busy: 4, Kernel: 2})
	require.ErrorContains(t, err, "not the same node")
	require.Equal(t, CPUUse{Busy: -1, Kernel: -1}, Use(CPUTimes{Busy: 5, Idle: 5, Kernel: 3}, CPUTimes{Busy: 4, Idle: 5, Kernel: 3}))
}

func TestPerConnection(t *testing.T) {
	us, err := PerConnection(1500*time.Millisecond, 30000)
	require.NoError(t, err)
	require.InDelta(t, 50, us, 1e-9, "1.5 s of kernel CPU over 30,000 connections")
	_, err = PerConnection(time.Second, 0)
	require.ErrorContains(t, err, "0 connections made")
	_, err = PerConnection(-1, 10)
	require.ErrorContains(t, err, "negative kernel time")
}

func TestParseProcStat(t *testing.T) {
	got, err := ParseProcStat("cpu  100 5 50 800 20 0 10 15 0 0\ncpu0 1 0 0 0 0 0 0 0 0 0\ncpu1 1 0 0 0 0 0 0 0 0 0\nintr 1\n")
	require.NoError(t, err)
	require.Equal(t, CPUTimes{Busy: 100 + 5 + 50 + 0 + 10 + 15, Idle: 800 + 20, Kernel: 50 + 0 + 10, CPUs: 2}, got)

	for name, in := range map[string]string{
		"empty":        "",
		"no aggregate": "cpu0 1 2 3 4 5 6 7 8\n",
		"short line":   "cpu  1 2 3\ncpu0 1 2 3 4 5 6 7 8\n",
		"not a number": "cpu  1 2 x 4 5 6 7 8\ncpu0 1 2 3 4 5 6 7 8\n",
		"no per-cpu":   "cpu  1 2 3 4 5 6 7 8\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseProcStat(in)
			require.Error(t, err)
		})
	}
}

func TestBusyFraction(t *testing.T) {
	f, err := BusyFraction(CPUTimes{Busy: 100, Idle: 100}, CPUTimes{Busy: 280, Idle: 120})
	require.NoError(t, err)
	require.InDelta(t, 0.9, f, 1e-9)
	_, err = BusyFraction(CPUTimes{Busy: 100, Idle: 100}, CPUTimes{Busy: 50, Idle: 120})
	require.ErrorContains(t, err, "backwards")
	_, err = BusyFraction(CPUTimes{Busy: 1, Idle: 1}, CPUTimes{Busy: 1, Idle: 1})
	require.ErrorContains(t, err, "no CPU time")
}
