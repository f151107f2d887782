package bench

import (
	"os"
	"testing"

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
}

func TestParseProcStat(t *testing.T) {
	got, err := ParseProcStat("cpu  100 5 50 800 20 0 10 15 0 0\ncpu0 1 0 0 0 0 0 0 0 0 0\ncpu1 1 0 0 0 0 0 0 0 0 0\nintr 1\n")
	require.NoError(t, err)
	require.Equal(t, CPUTimes{Busy: 100 + 5 + 50 + 0 + 10 + 15, Idle: 800 + 20, CPUs: 2}, got)

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
