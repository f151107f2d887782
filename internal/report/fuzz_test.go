package report

import (
	"bytes"
	"testing"

	goldenfile "kube-netbench/internal/golden"
)

// FuzzRead feeds ReadJSON and ReadManifest the run files kept in testdata
// and what the fuzzer makes of them: neither may panic or hang, and what
// they accept validates.
func FuzzRead(f *testing.F) {
	goldenfile.Seed(f, "runs/*/*.json", "report/*.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		if run, err := ReadJSON(bytes.NewReader(b)); err == nil {
			if err := run.Validate(); err != nil {
				t.Errorf("ReadJSON accepted a run that does not validate: %v", err)
			}
		}
		_, _ = ReadManifest(bytes.NewReader(b)) // must not panic or hang
	})
}
