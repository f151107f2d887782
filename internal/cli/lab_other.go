//go:build !linux

package cli

import (
	"fmt"
	"io"
	"runtime"
)

// runLab refuses: the embedded lab is made of Linux network namespaces and
// cgroups.
func runLab(_ string, _, stderr io.Writer) int {
	fmt.Fprintf(stderr, "netbench lab: the embedded lab needs Linux (network namespaces, cgroups); this is %s/%s\n", runtime.GOOS, runtime.GOARCH)
	return 2
}
