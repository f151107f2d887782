package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KernelTunables are the machine-wide sysctls the kubelet writes at start
// (pkg/kubelet/cm setupKernelTunables of v1.37.2). No supported setting
// avoids the writes: protectKernelDefaults only turns them into a refusal to
// start. The lab records their values before the first kubelet starts and
// restores them at teardown.
var KernelTunables = []string{
	"vm.overcommit_memory",
	"vm.panic_on_oom",
	"kernel.panic",
	"kernel.panic_on_oops",
	"kernel.keys.root_maxkeys",
	"kernel.keys.root_maxbytes",
}

func sysctlPath(name string) string {
	return filepath.Join("/proc/sys", strings.ReplaceAll(name, ".", "/"))
}

// ReadTunables reads the current value of every KernelTunables entry.
func ReadTunables() (map[string]string, error) {
	out := map[string]string{}
	var errs []error
	for _, n := range KernelTunables {
		b, err := os.ReadFile(sysctlPath(n))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[n] = strings.TrimSpace(string(b))
	}
	return out, errors.Join(errs...)
}

// RestoreTunables writes back recorded values that differ from the current
// ones, and returns what it changed ("name: now -> recorded").
func RestoreTunables(recorded map[string]string) ([]string, error) {
	var changed []string
	var errs []error
	for _, n := range KernelTunables {
		want, ok := recorded[n]
		if !ok {
			continue
		}
		b, err := os.ReadFile(sysctlPath(n))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if now := strings.TrimSpace(string(b)); now != want {
			if err := os.WriteFile(sysctlPath(n), []byte(want), 0); err != nil {
				errs = append(errs, fmt.Errorf("restore %s to %s: %w", n, want, err))
				continue
			}
			changed = append(changed, fmt.Sprintf("%s: %s -> %s", n, now, want))
		}
	}
	return changed, errors.Join(errs...)
}
