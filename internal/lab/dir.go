//go:build linux

package lab

import (
	"os"
	"path/filepath"
)

// DefaultDir is the lab's state directory when LAB_DIR is unset: `.lab` at
// the root of the kube-netbench module containing the working directory (so
// `make lab-up` at the root and `go test ./e2e` in e2e/ find the same lab), or
// in the working directory outside the module.
func DefaultDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return ".lab"
	}
	for d := wd; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && isOurModule(b) {
			return filepath.Join(d, ".lab")
		}
		if filepath.Dir(d) == d {
			return filepath.Join(wd, ".lab")
		}
	}
}

func isOurModule(gomod []byte) bool {
	const want = "module kube-netbench\n"
	return len(gomod) >= len(want) && string(gomod[:len(want)]) == want
}
