package provenance

import (
	"fmt"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ExecutableDigest is "sha256:<hex>" of the running binary, so a result
// names the exact suite that measured it: a study spread over several
// days proves it used one binary (go test -c -trimpath builds it the same
// from the same commit and toolchain).
func ExecutableDigest() (string, error) {
	path, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("suite binary: %w", err)
	}
	return FileDigest(path)
}

// FileDigest is "sha256:<hex>" of the file at path.
func FileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("suite binary: %w", err)
	}
	defer f.Close()
	h, _, err := v1.SHA256(f)
	if err != nil {
		return "", fmt.Errorf("suite binary %s: %w", path, err)
	}
	return h.String(), nil
}
