//go:build !linux

package suiteconfig

import (
	"fmt"
	"runtime"
)

// LabOptions stand for the embedded lab's options, which exist on Linux
// only.
type LabOptions struct{}

// labOptions refuses: the embedded lab is made of Linux network namespaces
// and cgroups. Elsewhere the suite runs against a cluster it is given.
func labOptions(func(string) string, string) (LabOptions, error) {
	return LabOptions{}, fmt.Errorf("no cluster given, and the embedded lab needs Linux (this is %s/%s): "+
		"set KUBECONFIG (or pass --kubeconfig) to run against a cluster, or PROVIDER=kind to create one", runtime.GOOS, runtime.GOARCH)
}
