package bpfmaps

import (
	"testing"

	"kube-netbench/internal/golden"
)

// FuzzParse feeds ParseShow and ParseDumpCount bpftool's captured outputs
// and what the fuzzer makes of them: neither may panic or hang, and a count
// they accept is a count.
func FuzzParse(f *testing.F) {
	golden.Seed(f, "cilium/bpftool-*.json", "cilium/bpftool-*.txt")
	f.Fuzz(func(t *testing.T, b []byte) {
		if maps, err := ParseShow(b); err == nil {
			for _, m := range maps {
				if m.Bytes < 0 {
					t.Errorf("ParseShow accepted map %d with %d bytes", m.ID, m.Bytes)
				}
			}
		}
		if n, err := ParseDumpCount(string(b)); err == nil && n < 0 {
			t.Errorf("ParseDumpCount accepted %d elements", n)
		}
	})
}
