//go:build !linux

package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync/atomic"

	"kube-netbench/internal/cluster"
	"kube-netbench/internal/suiteconfig"
)

// useLab fails: the embedded lab is made of Linux network namespaces and
// cgroups. Elsewhere the suite runs against a cluster it is given.
func useLab(context.Context, *slog.Logger, suiteconfig.LabOptions, cluster.Identity, *atomic.Bool, *atomic.Bool) error {
	return fmt.Errorf("no cluster given, and the embedded lab needs Linux (this is %s/%s): "+
		"set KUBECONFIG (or pass --kubeconfig) to run against a cluster, or PROVIDER=kind to create one", runtime.GOOS, runtime.GOARCH)
}
