package resources

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"kube-netbench/internal/golden"
)

// FuzzParse feeds Parse (/proc/<pid>/stat and status) and
// ParseResourceMetrics (the kubelet's /metrics/resource) the captures of
// both and what the fuzzer makes of them: neither may panic or hang, a
// rejection says why, and a container reading ParseResourceMetrics accepts
// has both times and counts a rate can be computed from.
func FuzzParse(f *testing.F) {
	golden.Seed(f, "procpid/*.txt", "kubelet/*.txt")
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, err := Parse(string(b)); err != nil {
			if s != (Sample{}) || strings.TrimSpace(err.Error()) == "" {
				t.Errorf("Parse rejected %q with %+v and error %q", b, s, err)
			}
		}
		got, err := ParseResourceMetrics(bytes.NewReader(b))
		if err != nil {
			if got != nil || strings.TrimSpace(err.Error()) == "" {
				t.Errorf("ParseResourceMetrics rejected %q with %v and error %q", b, got, err)
			}
			return
		}
		for c, s := range got {
			switch {
			case c.Pod == "" || c.Name == "":
				t.Errorf("ParseResourceMetrics accepted %q: a container without pod or name: %+v", b, c)
			case s.CPUAt.IsZero() || s.MemoryAt.IsZero():
				t.Errorf("ParseResourceMetrics accepted %q: %+v without a reading time: %+v", b, c, s)
			case !finiteNonNegative(s.CPUSeconds) || !finiteNonNegative(s.WorkingSetBytes):
				t.Errorf("ParseResourceMetrics accepted %q: %+v with CPU %g s, working set %g B", b, c, s.CPUSeconds, s.WorkingSetBytes)
			}
		}
	})
}

func finiteNonNegative(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) && v >= 0 }
