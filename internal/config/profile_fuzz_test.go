package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseProfile feeds ParseProfile the repository's profiles and what the
// fuzzer makes of them: it may not panic or hang.
func FuzzParseProfile(f *testing.F) {
	paths, err := filepath.Glob(filepath.Join("..", "..", "profiles", "*.yaml"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no profiles/*.yaml to seed from: %v", err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseProfile(b)
	})
}
