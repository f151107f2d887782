//go:build linux

package lab

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/url"
	"path/filepath"

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

// checkSocketLB verifies where Cilium's socket load balancer attached: on
// each node's own cgroup2 subtree (its connect4 hook holds a program), and
// nothing more on the machine's cgroup2 root than before the lab (rootBefore),
// where it would rewrite the connect() of every process on the machine.
func checkSocketLB(root string, rootBefore map[string]int, nodes int) error {
	now, err := cgroupbpf.Attached(root)
	if err != nil {
		return err
	}
	if !maps.Equal(now, rootBefore) {
		return fmt.Errorf("cilium attached socket programs to the machine's cgroup2 root %s: %v before the lab, %v now", root, rootBefore, now)
	}
	for i := 1; i <= nodes; i++ {
		n := netplan.NodeName(i)
		dir := filepath.Join(root, nodeCgroup(n))
		got, err := cgroupbpf.Attached(dir)
		if err != nil {
			return err
		}
		if got["connect4"] == 0 {
			return fmt.Errorf("node %s: no socket load-balancing program on its cgroup %s (%v): cilium-agent did not attach where the lab gave it", n, dir, got)
		}
	}
	return nil
}
