//go:build linux

package lab

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/url"
	"path/filepath"
	"strings"

	"kube-netbench/internal/kube"
	"kube-netbench/internal/lab/cgroupbpf"
	"kube-netbench/internal/lab/components"
	"kube-netbench/internal/lab/netplan"
)

// CiliumImage is the image the lab's Cilium DaemonSet names
// (scripts/labbuild/images builds it).
const CiliumImage = "quay.io/cilium/cilium:" + components.CiliumVersion

// installCilium applies Cilium's CRDs (no operator runs in the lab to
// register them), then its ServiceAccount, RBAC, the cilium-config ConfigMap
// and the cilium DaemonSet (manifests/cilium.yaml), as a Helm install has
// them. server is the apiserver as nodes reach it.
func installCilium(ctx context.Context, kubectl, kubeconfig string, crds string, dp Dataplane, hubble bool, podCIDR, server string) error {
	if err := applyCRDs(ctx, kubectl, kubeconfig, crds); err != nil {
		return err
	}
	u, err := url.Parse(server)
	if err != nil {
		return fmt.Errorf("install cilium: apiserver address %q: %w", server, err)
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		return fmt.Errorf("install cilium: apiserver address %q: %w", server, err)
	}
	m, err := renderManifest("cilium.yaml", manifestParams{Image: CiliumImage, PodCIDR: podCIDR, Device: netplan.NodeLink,
		APIHost: host, APIPort: port, Native: dp == CiliumNative, Hubble: hubble})
	if err != nil {
		return err
	}
	if err := runKubectl(ctx, kubectl, kubeconfig, m, "apply", "--server-side", "-f", "-"); err != nil {
		return fmt.Errorf("install cilium: %w", err)
	}
	return nil
}

// applyCRDs applies every CRD file under dir with the lab's kubectl and waits
// until the apiserver serves them (Established).
func applyCRDs(ctx context.Context, kubectl, kubeconfig, dir string) error {
	var files []string
	for _, sub := range []string{"v2", "v2alpha1"} {
		m, err := filepath.Glob(filepath.Join(dir, sub, "*.yaml"))
		if err != nil {
			return err
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		return fmt.Errorf("install cilium: no CRDs in %s/{v2,v2alpha1}", dir)
	}
	args := []string{"apply", "--server-side", "--force-conflicts"}
	wait := []string{"wait", "--for=condition=Established", "--timeout=60s"}
	for _, f := range files {
		args, wait = append(args, "-f", f), append(wait, "-f", f)
	}
	if err := runKubectl(ctx, kubectl, kubeconfig, nil, args...); err != nil {
		return fmt.Errorf("install cilium: %d CRDs from %s: %w", len(files), dir, err)
	}
	if err := runKubectl(ctx, kubectl, kubeconfig, nil, wait...); err != nil {
		return fmt.Errorf("install cilium: wait for the CRDs: %w", err)
	}
	return nil
}

// socketLBPlaced is the wait for Cilium's socket load balancer: each
// node's own cgroup2 subtree holds its connect4 program (an agent reports
// Ready before it has attached them), and the machine's cgroup2 root no
// more socket programs than before the lab (rootBefore) — that is an error
// at once: there it would rewrite every process's connect() on the machine.
func socketLBPlaced(root string, rootBefore map[string]int, nodes int) kube.Condition {
	return func(context.Context) (bool, string, error) {
		now, err := cgroupbpf.Attached(root)
		if err != nil {
			return false, "", err
		}
		if !maps.Equal(now, rootBefore) {
			return false, "", fmt.Errorf("cilium attached socket programs to the machine's cgroup2 root %s: %v before the lab, %v now", root, rootBefore, now)
		}
		var missing []string
		for i := 1; i <= nodes; i++ {
			n := netplan.NodeName(i)
			got, err := cgroupbpf.Attached(filepath.Join(root, nodeCgroup(n)))
			if err != nil {
				return false, "", err
			}
			if got["connect4"] == 0 {
				missing = append(missing, fmt.Sprintf("%s (%v)", n, got))
			}
		}
		if len(missing) > 0 {
			return false, "no connect4 program yet on the cgroup of " + strings.Join(missing, ", "), nil
		}
		return true, "", nil
	}
}
