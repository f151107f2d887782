// Package golden compares a test's output with a golden file: the one
// implementation of the -update and .got convention the package tests use.
package golden

import (
	"bytes"
	"os"
	"testing"
)

// Check compares got with the file at path. With update it rewrites the
// file instead; on a mismatch it writes got next to it as path.got, so that
// `diff path path.got` shows the change, and fails the test.
func Check(t testing.TB, path string, got []byte, update bool) {
	t.Helper()
	if update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatalf("update golden: %v", err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (go test -update creates it): %v", err)
	}
	if bytes.Equal(got, want) {
		_ = os.Remove(path + ".got") // a stale .got from an earlier failure
		return
	}
	if err := os.WriteFile(path+".got", got, 0o644); err != nil {
		t.Fatalf("write %s.got: %v", path, err)
	}
	t.Errorf("output differs from %s; compare with: diff %s %s.got (go test -update accepts it)", path, path, path)
}
