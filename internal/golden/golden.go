// Package golden compares a test's output with a golden file: the one
// implementation of the -update and .got convention the package tests use.
package golden

import (
	"bytes"
	"os"
	"path/filepath"
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

// Testdata reads a file under the repository's testdata directory (found
// from the test's working directory up to go.mod), failing the test if it
// cannot: the real captures every parser test reads.
func Testdata(t testing.TB, elem ...string) []byte {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testdata: no go.mod above the test's directory")
		}
		dir = parent
	}
	b, err := os.ReadFile(filepath.Join(append([]string{dir, "testdata"}, elem...)...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
