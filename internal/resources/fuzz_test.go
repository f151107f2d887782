package resources

import (
	"bytes"
	"testing"

	"kube-netbench/internal/golden"
)

// FuzzParse feeds Parse (/proc/<pid>/stat and status) and
// ParseResourceMetrics (the kubelet's /metrics/resource) the captures of
// both and what the fuzzer makes of them: neither may panic or hang.
func FuzzParse(f *testing.F) {
	golden.Seed(f, "procpid/*.txt", "kubelet/*.txt")
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = Parse(string(b))
		_, _ = ParseResourceMetrics(bytes.NewReader(b))
	})
}
