//go:build linux

package lab

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"os/exec"
	"text/template"
	"time"

	"kube-netbench/internal/lab/components"
)

// KubeProxyImage is the image the lab's kube-proxy DaemonSet names
// (scripts/labbuild/images builds it).
const KubeProxyImage = "registry.k8s.io/kube-proxy:" + components.KubernetesVersion

// manifests are the dataplanes' objects as YAML, so that they read and diff
// like the kubeadm and Helm output they follow.
//
//go:embed manifests/*.yaml
var manifests embed.FS

// manifestParams are what the manifests are rendered with.
type manifestParams struct {
	Image   string
	PodCIDR string
	// Mode is kube-proxy's mode; Server the apiserver as nodes reach it.
	Mode, Server string
	// Cilium: the nodes' device, the apiserver's host and port, and native
	// routing (else VXLAN).
	Device, APIHost, APIPort string
	Native, Hubble           bool
}

// renderManifest renders manifests/<name>.
func renderManifest(name string, p manifestParams) ([]byte, error) {
	t, err := template.ParseFS(manifests, "manifests/"+name)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, p); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	return b.Bytes(), nil
}

// runKubectl runs the lab's kubectl against the lab with stdin, within two
// minutes.
func runKubectl(ctx context.Context, bin, kubeconfig string, stdin []byte, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--kubeconfig", kubeconfig}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("kubectl %v: %w\n%s", args, err, out)
	}
	return nil
}

// installKubeProxy applies kube-proxy's ServiceAccount, RBAC, ConfigMap and
// DaemonSet (manifests/kube-proxy.yaml), as a kubeadm cluster has them.
func installKubeProxy(ctx context.Context, kubectl, kubeconfig string, mode Dataplane, podCIDR, server string) error {
	m, err := renderManifest("kube-proxy.yaml", manifestParams{Image: KubeProxyImage, PodCIDR: podCIDR, Mode: string(mode), Server: server})
	if err != nil {
		return err
	}
	if err := runKubectl(ctx, kubectl, kubeconfig, m, "apply", "--server-side", "-f", "-"); err != nil {
		return fmt.Errorf("install kube-proxy: %w", err)
	}
	return nil
}

// Apply applies a manifest to the lab with its kubectl, server-side, as
// the lab applies its own components.
func Apply(ctx context.Context, kubectl, kubeconfig string, manifest []byte) error {
	return runKubectl(ctx, kubectl, kubeconfig, manifest, "apply", "--server-side", "-f", "-")
}
