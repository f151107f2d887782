package seedimport

import (
	"math"
	"strings"
	"testing"

	"kube-netbench/internal/golden"
	"kube-netbench/internal/tools/netperf"
)

// FuzzParseContext feeds parseContext the seed's context.yaml files and what
// the fuzzer makes of them: it may not panic or hang, and every key it
// accepts has its value.
func FuzzParseContext(f *testing.F) {
	golden.Seed(f, "seed-results/*/context.yaml")
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseContext(b)
		if err != nil {
			return
		}
		for _, k := range c.Keys {
			if _, ok := c.Values[k]; !ok {
				t.Errorf("key %q without a value", k)
			}
		}
	})
}

// FuzzParseSample feeds parse, as each kind of file, the tools' captures
// (the seed folder's files are copies of them) and what the fuzzer makes of
// them: the tools' own parsers have their targets; this one checks what the
// import builds on them, one finite, non-negative value per unit of its
// kind.
func FuzzParseSample(f *testing.F) {
	golden.Seed(f, "iperf3/*.json", "fortio/*.json", "netperf/*.txt")
	kinds := []scenario{
		{kind: kindIperf, streams: 8}, {kind: kindRPS, conns: 64}, {kind: kindReq, conns: 64, short: true},
		{kind: kindHTTP}, {kind: kindNetperf, test: netperf.TCPRR},
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, s := range kinds {
			smp, err := parse(s, b)
			if err != nil {
				if strings.TrimSpace(err.Error()) == "" {
					t.Errorf("kind %d: rejected %q with an empty error", s.kind, b)
				}
				continue
			}
			if len(smp.vals) != len(units[s.kind]) || smp.tool == "" {
				t.Errorf("kind %d: accepted %q as %d values of tool %q, want %d", s.kind, b, len(smp.vals), smp.tool, len(units[s.kind]))
			}
			for i, v := range smp.vals {
				if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
					t.Errorf("kind %d: accepted %q with %s %g", s.kind, b, units[s.kind][i].name, v)
				}
			}
		}
	})
}
