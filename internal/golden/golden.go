// Package golden compares a test's output with a golden file: the one
// implementation of the -update and .got convention the package tests use.
package golden

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
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
	b, err := os.ReadFile(filepath.Join(append([]string{testdataDir(t)}, elem...)...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestdataGlob reads every file under the repository's testdata directory
// whose path there matches pattern (filepath.Match syntax, e.g.
// "netperf/*.txt"), by that path; a pattern that matches nothing fails the
// test. Fuzz targets seed their corpus with it, so that a new capture is a
// new seed.
func TestdataGlob(t testing.TB, pattern string) map[string][]byte {
	t.Helper()
	root := testdataDir(t)
	paths, err := filepath.Glob(filepath.Join(root, pattern))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("testdata: nothing matches %s", pattern)
	}
	files := make(map[string][]byte, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.ToSlash(rel)] = b
	}
	return files
}

// testdataDir is the testdata directory beside the go.mod above the test's
// working directory.
func testdataDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "testdata")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testdata: no go.mod above the test's directory")
		}
		dir = parent
	}
}

// Seed adds every testdata file that matches one of the patterns (as in
// TestdataGlob) to a fuzz target's seed corpus.
func Seed(f *testing.F, patterns ...string) {
	f.Helper()
	for _, p := range patterns {
		for _, b := range TestdataGlob(f, p) {
			f.Add(b)
		}
	}
}

// FuzzParser fuzzes a parser of outside input from the testdata files that
// match pattern: it may not panic or hang, a rejected input gives the zero
// result (zero says whether res is one) and an error that says something,
// and an accepted one must be sane (insane says what is wrong, "" when
// nothing).
func FuzzParser[R any](f *testing.F, pattern string, parse func(io.Reader) (R, error), zero func(R) bool, insane func(R) string) {
	f.Helper()
	Seed(f, pattern)
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := parse(bytes.NewReader(b))
		if err != nil {
			if !zero(res) {
				t.Errorf("an error and a result %+v", res)
			}
			if strings.TrimSpace(err.Error()) == "" {
				t.Errorf("rejected %q with an empty error", b)
			}
			return
		}
		if msg := insane(res); msg != "" {
			t.Errorf("accepted %q: %s (%+v)", b, msg, res)
		}
	})
}

// Text adapts a parser of a whole output (read into a string or a byte
// slice) to FuzzParser.
func Text[R any, S string | []byte](parse func(S) (R, error)) func(io.Reader) (R, error) {
	return func(r io.Reader) (R, error) {
		b, err := io.ReadAll(r)
		if err != nil {
			var zero R
			return zero, err
		}
		return parse(S(b))
	}
}
