//go:build linux

package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"kube-netbench/internal/lab/components"
	"kube-netbench/internal/lab/netlab"
	"kube-netbench/internal/lab/netplan"
	"kube-netbench/internal/lab/node"
)

// LabCgroup is the cgroup under every hierarchy that holds the lab's nodes,
// one child per node (each node's kubelet cgroupRoot).
const LabCgroup = "/netbench-lab"

// ciliumProtectedSysctls are the machine-wide sysctls cilium-agent v1.19.4
// writes (pkg/datapath/loader Reinitialize, errors ignored), kept read-only in
// a Cilium node so that the machine keeps its values.
var ciliumProtectedSysctls = []string{"/proc/sys/kernel/unprivileged_bpf_disabled", "/proc/sys/kernel/timer_migration"}

// nodeCgroup is node name's cgroupRoot.
func nodeCgroup(name string) string { return LabCgroup + "/" + name }

// pkiDir is where kwokctl keeps the cluster's CA and admin credentials.
func pkiDir(dir, name string) string { return filepath.Join(dir, "kwok", "clusters", name, "pki") }

// startNodes records the machine's kernel tunables (the kubelet writes
// them machine-wide), registers each Node with its pod CIDR, issues each
// node's credentials from the cluster CA, and starts the nodes.
func startNodes(ctx context.Context, o Options, st *state, client kubernetes.Interface, server string, images []string, sandbox string) error {
	tun, err := node.ReadTunables()
	if err != nil {
		return fmt.Errorf("record the kernel tunables the kubelet changes: %w", err)
	}
	hier, err := node.Hierarchies()
	if err != nil {
		return err
	}
	st.Tunables, st.Cgroups, st.CgroupRoot = tun, hier, LabCgroup
	if err := st.save(o.Dir); err != nil {
		return err
	}
	bins, rt := o.Cache.Binaries(), o.Cache.NodeRuntime()
	var plugins []string
	for _, p := range components.CNIPlugins {
		plugins = append(plugins, filepath.Join(bins.CNIDir, p))
	}
	pki := pkiDir(o.Dir, o.Name)
	for i := 1; i <= o.Plan.Nodes; i++ {
		name := netplan.NodeName(i)
		nodeDir := filepath.Join(o.Dir, "nodes", name)
		if err := os.MkdirAll(nodeDir, 0o700); err != nil {
			return err
		}
		labels := map[string]string{"netbench.io/lab": o.Name}
		if err := registerNode(ctx, client, name, o.Plan.NodePodCIDR(i).String(), labels); err != nil {
			return err
		}
		c := node.Config{
			Name: name, IP: o.Plan.NodeIP(i), Netns: netlab.NetnsPath(netplan.NodeNetns(i)), Dir: nodeDir,
			CgroupRoot: nodeCgroup(name), Server: server,
			Bin: node.Binaries{Kubelet: bins.Kubelet, Containerd: rt.Containerd, Shim: rt.Shim, Ctr: rt.Ctr, Runc: rt.Runc,
				CNIPlugins: plugins},
			SandboxImage: sandbox,
			Images:       images,
			Labels:       labels,
		}
		if o.Dataplane.Cilium() {
			c.Mounts = []node.Mount{{FSType: "bpf", Target: "/sys/fs/bpf"}, {FSType: "cgroup2", Target: "/run/cilium/cgroupv2"}}
			// cilium-agent sets these two machine-wide sysctls (ignoring a
			// failure); unprivileged_bpf_disabled=1 cannot be undone until a
			// reboot. The agent writes sysctls through the node's /proc
			// (procfs=/host/proc), where these are read-only.
			c.ReadOnly = ciliumProtectedSysctls
		} else {
			c.CNIConfList = node.PTPConfList(o.Plan.NodePodCIDR(i), filepath.Join(nodeDir, "ipam"))
		}
		if err := c.IssueCerts(filepath.Join(pki, "ca.crt"), filepath.Join(pki, "ca.key"), 7*24*time.Hour); err != nil {
			return err
		}
		id, err := node.Start(c, hier, filepath.Join(o.Dir, "logs", "node-"+name+".log"))
		if err != nil {
			return err
		}
		st.Nodes = append(st.Nodes, id)
		if err := st.save(o.Dir); err != nil {
			return err
		}
	}
	return nil
}

// instanceType is the node.kubernetes.io/instance-type label of lab nodes, so
// the fingerprint of a result names the lab rather than a cloud machine.
const instanceType = "netbench-lab"

// registerNode creates the Node before its kubelet starts, with the pod CIDR
// of the lab's address plan (routes and IPAM follow the plan, so no
// controller may pick another) and the labels the lab's nodes carry; the
// kubelet then finds its Node and keeps its status.
func registerNode(ctx context.Context, c kubernetes.Interface, name, podCIDR string, extra map[string]string) error {
	labels := map[string]string{
		corev1.LabelHostname:           name,
		corev1.LabelOSStable:           "linux",
		corev1.LabelArchStable:         runtime.GOARCH,
		corev1.LabelInstanceTypeStable: instanceType,
	}
	for k, v := range extra {
		labels[k] = v
	}
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec:       corev1.NodeSpec{PodCIDR: podCIDR, PodCIDRs: []string{podCIDR}},
	}
	if _, err := c.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("register node %s: %w", name, err)
	}
	return nil
}

// stopNodes ends every node (its PID namespace, so every container with
// it), removes the lab's cgroups, and restores the kernel tunables recorded
// before the first kubelet started, saying what it changed back.
func stopNodes(st *state, logf func(msg string, args ...any)) error {
	var errs []error
	if st.CgroupRoot != "" {
		if err := node.Stop(st.Nodes, st.Cgroups, st.CgroupRoot, 30*time.Second); err != nil {
			errs = append(errs, err)
		}
		if err := node.RemoveCgroup(st.Cgroups, st.CgroupRoot, 30*time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	if len(st.Tunables) > 0 {
		changed, err := node.RestoreTunables(st.Tunables)
		if err != nil {
			errs = append(errs, err)
		}
		logf("lab down: kernel tunables as recorded before the first kubelet", "restored", strings.Join(changed, "; "), "recorded", fmt.Sprint(st.Tunables))
	}
	return errors.Join(errs...)
}

// nodeLeftovers lists what of a recorded lab's nodes is still on the
// machine: a node process, a kernel tunable not as recorded.
func nodeLeftovers(st *state) []string {
	var left []string
	for _, id := range st.Nodes {
		if id.Alive() {
			left = append(left, fmt.Sprintf("node process %s (%s) still runs", id, id.Comm()))
		}
	}
	if now, err := node.ReadTunables(); err == nil {
		for k, v := range st.Tunables {
			if now[k] != v {
				left = append(left, fmt.Sprintf("kernel tunable %s is %s, recorded %s before the lab", k, now[k], v))
			}
		}
	}
	return left
}

// cgroupLeftovers lists the lab's cgroup in every hierarchy where it exists,
// whether or not a lab is recorded.
func cgroupLeftovers() ([]string, error) {
	hier, err := node.Hierarchies()
	if err != nil {
		return nil, err
	}
	var left []string
	for _, h := range hier {
		if _, err := os.Stat(filepath.Join(h, LabCgroup)); err == nil {
			left = append(left, "cgroup "+filepath.Join(h, LabCgroup))
		}
	}
	return left, nil
}

// KernelTunables describes the kernel tunables the kubelet writes: each
// one's value now and, when a lab recorded them, before its first kubelet
// started ("kernel.panic=10 (recorded 1)").
func KernelTunables(dir string) ([]string, error) {
	now, err := node.ReadTunables()
	if err != nil {
		return nil, err
	}
	st, err := loadState(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, k := range node.KernelTunables {
		line := k + "=" + now[k]
		if st != nil && st.Tunables != nil {
			if rec := st.Tunables[k]; rec != now[k] {
				line += " (recorded " + rec + " before the lab: restored by lab down)"
			} else {
				line += " (as recorded)"
			}
		}
		out = append(out, line)
	}
	return out, nil
}
