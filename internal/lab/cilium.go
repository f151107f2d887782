package lab

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os/exec"
	"path/filepath"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"kube-netbench/internal/lab/components"
	"kube-netbench/internal/lab/netplan"
)

// CiliumImage is the image the lab's Cilium DaemonSet names; the lab maps it
// to the cilium-agent and cilium-dbg it built.
const CiliumImage = "quay.io/cilium/cilium:" + components.CiliumVersion

// ciliumConfig is the cilium-config ConfigMap's data, the agent's settings
// (--config-dir reads one flag per key), as Helm writes it for these choices:
//   - kube-proxy replacement on, no kube-proxy; IPAM from the Node's podCIDR
//     (ipam=kubernetes), so no operator is needed for addresses;
//   - overlay: VXLAN between the nodes' eth0; native: the pod range routed,
//     each agent installing routes to the other nodes' pod CIDRs;
//   - no Envoy (enable-l7-proxy=false): it is a C++ build with no Debian
//     package, so L7 policy cannot run here;
//   - socket-level load balancing off (bpf-lb-sock=false): it attaches to the
//     root cgroup, which the lab's node agents share with the whole machine;
//     ClusterIPs are translated per packet at the pod's veth instead, still
//     by hash lookups in Cilium's BPF maps;
//   - health checking off (no cilium-health endpoint per node), Hubble on
//     (Helm's default) with its local socket only.
func ciliumConfig(dp Dataplane, podCIDR string) map[string]string {
	cfg := map[string]string{
		"cluster-name":                    "default",
		"cluster-id":                      "0",
		"identity-allocation-mode":        "crd",
		"ipam":                            "kubernetes",
		"k8s-require-ipv4-pod-cidr":       "true",
		"enable-ipv4":                     "true",
		"enable-ipv6":                     "false",
		"kube-proxy-replacement":          "true",
		"bpf-lb-sock":                     "false",
		"devices":                         netplan.NodeLink,
		"enable-l7-proxy":                 "false",
		"enable-hubble":                   "true",
		"hubble-socket-path":              "/var/run/cilium/hubble.sock",
		"enable-health-checking":          "false",
		"enable-endpoint-health-checking": "false",
		"enable-ipv4-masquerade":          "false",
		"enable-policy":                   "default",
		"enable-k8s-networkpolicy":        "true",
		"preallocate-bpf-maps":            "false",
		"bpf-lb-map-max":                  "65536",
		"agent-health-port":               "9879",
		"bpf-root":                        "/sys/fs/bpf",
		"cgroup-root":                     "/run/cilium/cgroupv2",
		"cni-exclusive":                   "false",
		// The agent writes the node's CNI configuration once it is ready, as
		// Helm sets it up: the node stays NotReady until then.
		"write-cni-conf-when-ready": "/host/etc/cni/net.d/05-cilium.conflist",
		// Sysctls through the node's /proc, as Helm's unprivileged agent
		// does: the node keeps the machine-wide ones read-only.
		"procfs": "/host/proc",
		"debug":  "false",
		// Helm's defaults: without aggregation every packet is a trace event
		// for the monitor (and Hubble), which costs more than the packet.
		"monitor-aggregation":          "medium",
		"monitor-aggregation-interval": "5s",
		"monitor-aggregation-flags":    "all",
	}
	switch dp {
	case CiliumOverlay:
		cfg["routing-mode"] = "tunnel"
		cfg["tunnel-protocol"] = "vxlan"
	case CiliumNative:
		cfg["routing-mode"] = "native"
		cfg["ipv4-native-routing-cidr"] = podCIDR
		cfg["auto-direct-node-routes"] = "true"
	}
	return cfg
}

// installCilium applies Cilium's CRDs (no operator runs in the lab to
// register them), then creates its ServiceAccount, RBAC, the cilium-config
// ConfigMap and the cilium DaemonSet in kube-system, as a Helm install has
// them. server is the apiserver as nodes reach it: with kube-proxy replaced
// and no agent yet, the kubernetes Service's ClusterIP cannot be used, so
// the agent is pointed at it directly (Helm's k8sServiceHost/Port).
func installCilium(ctx context.Context, c kubernetes.Interface, kubectl, adminKubeconfig string, crds string, dp Dataplane, podCIDR, server string) error {
	if err := applyCRDs(ctx, kubectl, adminKubeconfig, crds); err != nil {
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
	// Helm's cilium ClusterRole lists what the agent reads and writes; the
	// lab binds cluster-admin instead (a test cluster on one machine, nothing
	// else runs in it).
	return installAgent(ctx, c, "cluster-admin", "cilium",
		&corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "cilium-config", Namespace: metav1.NamespaceSystem},
			Data:       ciliumConfig(dp, podCIDR),
		},
		ciliumDaemonSet(host, port))
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
	args := []string{"--kubeconfig", kubeconfig, "apply", "--server-side", "--force-conflicts"}
	for _, f := range files {
		args = append(args, "-f", f)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, kubectl, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("install cilium: apply %d CRDs from %s: %w\n%s", len(files), dir, err, out)
	}
	wait := []string{"--kubeconfig", kubeconfig, "wait", "--for=condition=Established", "--timeout=60s"}
	for _, f := range files {
		wait = append(wait, "-f", f)
	}
	if out, err := exec.CommandContext(ctx, kubectl, wait...).CombinedOutput(); err != nil {
		return fmt.Errorf("install cilium: wait for the CRDs: %w\n%s", err, out)
	}
	return nil
}

// ciliumDaemonSet is the agent's DaemonSet with Helm's host mounts: the node's bpffs and cgroup2 (mounted by the node at
// boot, as Helm's mount-bpf-fs and mount-cgroup init containers would on the
// machine: the lab keeps them per node), /etc/cni/net.d for the CNI
// configuration the agent writes, and Helm's install-cni-binaries init
// container putting cilium-cni from the image into the node's /opt/cni/bin.
func ciliumDaemonSet(apiHost, apiPort string) *appsv1.DaemonSet {
	labels := map[string]string{"k8s-app": "cilium", "app.kubernetes.io/name": "cilium-agent", "app.kubernetes.io/part-of": "cilium"}
	dirOrCreate := corev1.HostPathDirectoryOrCreate
	fileOrCreate := corev1.HostPathFileOrCreate
	directory := corev1.HostPathDirectory
	toContainer, bidi := corev1.MountPropagationHostToContainer, corev1.MountPropagationBidirectional
	env := func(name, path string) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
	}
	hostPath := func(name, path string, t *corev1.HostPathType) corev1.Volume {
		return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: path, Type: t}}}
	}
	agent := corev1.Container{
		Name:    "cilium-agent",
		Image:   CiliumImage,
		Command: []string{"cilium-agent"},
		Args:    []string{"--config-dir=/tmp/cilium/config-map"},
		Env: []corev1.EnvVar{
			env("K8S_NODE_NAME", "spec.nodeName"),
			env("CILIUM_K8S_NAMESPACE", "metadata.namespace"),
			{Name: "KUBERNETES_SERVICE_HOST", Value: apiHost},
			{Name: "KUBERNETES_SERVICE_PORT", Value: apiPort},
		},
		SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)},
		// Ready when the agent's own status says so (all its controllers
		// and the datapath up): Helm's probe, its /healthz on the health
		// port with the "brief" header, polled every 2 s rather than 30 so
		// the lab's waits end as soon as it is. An HTTP probe, not an exec:
		// on a real node each exec is a runc exec costing the node's CPU.
		ReadinessProbe: &corev1.Probe{
			ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Host: "127.0.0.1", Path: "/healthz", Port: intstr.FromInt32(9879), Scheme: corev1.URISchemeHTTP,
				HTTPHeaders: []corev1.HTTPHeader{{Name: "brief", Value: "true"}},
			}},
			PeriodSeconds: 2, TimeoutSeconds: 5, FailureThreshold: 3, SuccessThreshold: 1,
		},
		VolumeMounts: []corev1.VolumeMount{
			{Name: "cilium-config-path", MountPath: "/tmp/cilium/config-map", ReadOnly: true},
			{Name: "cilium-run", MountPath: "/var/run/cilium"},
			{Name: "lib-modules", MountPath: "/lib/modules", ReadOnly: true},
			{Name: "xtables-lock", MountPath: "/run/xtables.lock"},
			{Name: "bpf-maps", MountPath: "/sys/fs/bpf", MountPropagation: &bidi},
			{Name: "cilium-cgroup", MountPath: "/run/cilium/cgroupv2", MountPropagation: &toContainer},
			{Name: "etc-cni-netd", MountPath: "/host/etc/cni/net.d"},
			{Name: "host-proc-sys-net", MountPath: "/host/proc/sys/net"},
			{Name: "host-proc-sys-kernel", MountPath: "/host/proc/sys/kernel"},
		},
	}
	vols := []corev1.Volume{
		{Name: "cilium-config-path", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "cilium-config"}}}},
		hostPath("cilium-run", "/var/run/cilium", &dirOrCreate),
		hostPath("lib-modules", "/lib/modules", nil),
		hostPath("xtables-lock", "/run/xtables.lock", &fileOrCreate),
		hostPath("bpf-maps", "/sys/fs/bpf", &dirOrCreate),
		hostPath("cilium-cgroup", "/run/cilium/cgroupv2", &dirOrCreate),
		hostPath("etc-cni-netd", "/etc/cni/net.d", &dirOrCreate),
		hostPath("cni-path", "/opt/cni/bin", &dirOrCreate),
		hostPath("host-proc-sys-net", "/proc/sys/net", &directory),
		hostPath("host-proc-sys-kernel", "/proc/sys/kernel", &directory),
	}
	ds := agentDaemonSet("cilium", map[string]string{"k8s-app": "cilium"}, labels, agent, vols)
	ds.Spec.Template.Spec.InitContainers = []corev1.Container{{
		Name: "install-cni-binaries", Image: CiliumImage,
		Command:      []string{"/install-plugin.sh"},
		VolumeMounts: []corev1.VolumeMount{{Name: "cni-path", MountPath: "/host/opt/cni/bin"}},
	}}
	return ds
}
