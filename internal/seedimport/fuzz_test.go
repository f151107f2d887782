package seedimport

import (
	"testing"

	"kube-netbench/internal/golden"
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
