// Package provenance builds a run's report.Fingerprint from what the run
// read: the detected dataplane, the nodes it used, the images its pods ran,
// the effective configuration. It reads nothing itself, so what a result
// claims about where it was measured is unit-tested (W-BUG-9: the seed's
// results were relabelled to a Cilium version nothing had recorded). Only
// ExecutableDigest reads: the suite's own binary.
package provenance

import (
	"maps"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"kube-netbench/internal/config"
	"kube-netbench/internal/dataplane"
	"kube-netbench/internal/imageid"
	"kube-netbench/internal/report"
)

// Inputs are what a run read about itself.
type Inputs struct {
	// Detection is the detected dataplane.
	Detection dataplane.Detection
	// Config is the effective configuration.
	Config config.Config
	// Tools are the load and probe tools the dimension ran.
	Tools []report.Tool
	// Images are the images the run's pods ran (imageid.FromPods), and
	// ImagesErr why they could not be read.
	Images    []imageid.Image
	ImagesErr error
	// Workload describes the workload pods' sizing (fixtures.Resources.Describe).
	Workload map[string]string
	// ServerVersion is the apiserver's GitVersion, "" if unread.
	ServerVersion string
	// Nodes are the nodes used, the server's first, then the client's.
	Nodes []corev1.Node
	// Suite is the suite binary's digest (ExecutableDigest), or why it is
	// unknown; "" leaves it out.
	Suite string
}

// Roles are the nodes' roles in order: the first node serves, the second
// runs the clients.
var Roles = []string{"server", "client"}

// Fingerprint builds the run's provenance: dataplane and version (kube-proxy's
// image tag, or Cilium's reported version), kube-proxy's mode and what
// decided it, Cilium's routing and settings that shape results, every tool
// with the image ID the cluster ran it as, the nodes with roles, instance
// types and kernels, and the configuration without the values that change
// every run (run ID, results directory), so two runs of one setup compare.
func Fingerprint(in Inputs) report.Fingerprint {
	det := in.Detection
	fp := report.Fingerprint{Dataplane: string(det.Kind), Config: ConfigMap(in.Config),
		Tools: imageid.Attach(in.Tools, in.Images), KubernetesVersion: in.ServerVersion, Extra: map[string]string{}}
	if kp := det.KubeProxy; kp != nil {
		fp.KubeProxyMode = kp.Mode
		fp.Extra["kube-proxy-mode-evidence"] = kp.Decided()
		fp.Tools = append(fp.Tools, report.Tool{Name: "kube-proxy", Image: kp.Image})
		if i := strings.LastIndexByte(kp.Image, ':'); i > 0 {
			fp.DataplaneVersion = kp.Image[i+1:]
		}
	}
	if c := det.Cilium; c != nil {
		fp.DataplaneVersion = c.Version
		fp.Tools = append(fp.Tools, report.Tool{Name: "cilium-agent", Image: c.Image, Version: c.Version})
		maps.Copy(fp.Extra, map[string]string{
			"cilium-routing":                c.Routing,
			"cilium-tunnel-protocol":        c.TunnelProtocol,
			"cilium-kube-proxy-replacement": c.KubeProxyReplacement,
			"cilium-socket-lb":              c.SocketLB,
			"cilium-namespace":              c.Namespace,
		})
		if c.Managed != "" {
			fp.Extra["cilium-managed"] = c.Managed
		}
		for _, k := range []string{"bpf-lb-map-max", "preallocate-bpf-maps", "bpf-lb-sock", "enable-hubble", "enable-l7-proxy"} {
			if v, ok := c.Config[k]; ok {
				fp.Extra["cilium-config-"+k] = v
			}
		}
		for node, st := range c.Hubble {
			fp.Extra["cilium-hubble-"+node] = st
		}
	}
	maps.Copy(fp.Extra, in.Workload)
	if in.Suite != "" {
		fp.Extra["suite-binary"] = in.Suite
	}
	if in.ImagesErr != nil {
		fp.Extra["image-ids"] = "unknown: " + strings.Join(strings.Fields(in.ImagesErr.Error()), " ")
	}
	kernels := map[string]bool{}
	for i, n := range in.Nodes {
		k := n.Status.NodeInfo.KernelVersion
		fp.Nodes = append(fp.Nodes, report.Node{Name: n.Name, Role: Roles[i%len(Roles)],
			InstanceType: n.Labels[corev1.LabelInstanceTypeStable], Kernel: k})
		kernels[k], fp.Kernel = true, k
	}
	if len(kernels) > 1 {
		fp.Kernel = "" // the nodes disagree: each node's is in Nodes
	}
	return fp
}

// ConfigMap is the effective configuration for the fingerprint, without
// the run-specific values benchstat would otherwise split tables on.
func ConfigMap(c config.Config) map[string]string {
	out := map[string]string{}
	for _, kv := range c.Describe() {
		if kv.Key == config.EnvRunID || kv.Key == config.EnvResultsDir {
			continue
		}
		out[kv.Key] = kv.Value
	}
	return out
}
