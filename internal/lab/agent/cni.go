package agent

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	corev1 "k8s.io/api/core/v1"
)

// network attaches pods through real CNI plugins run by libcni, the way a
// container runtime does. The plugin list comes from the lab (ptp +
// host-local for kube-proxy dataplanes; another dataplane's own plugin can
// take its place).
type network struct {
	cni  *libcni.CNIConfig
	list *libcni.NetworkConfigList
	lo   *libcni.PluginConfig
}

func newNetwork(cfg Config) (*network, error) {
	list, err := libcni.ConfListFromBytes(cfg.CNIConfList)
	if err != nil {
		return nil, fmt.Errorf("CNI network list: %w", err)
	}
	lo, err := libcni.ConfFromBytes([]byte(`{"cniVersion":"1.0.0","name":"lo","type":"loopback"}`))
	if err != nil {
		return nil, err
	}
	return &network{
		cni:  libcni.NewCNIConfigWithCacheDir(append([]string{cfg.CNIBinDir}, cfg.CNIExtraBinDirs...), filepath.Join(cfg.StateDir, "cni-cache"), cniExec(cfg.CNIEnv)),
		list: list,
		lo:   lo,
	}, nil
}

// cniExec runs plugins with the agent's environment plus env (nil: libcni's
// default, the agent's environment alone).
func cniExec(env map[string]string) invoke.Exec {
	if len(env) == 0 {
		return nil
	}
	return &envExec{DefaultExec: &invoke.DefaultExec{RawExec: &invoke.RawExec{Stderr: os.Stderr}}, env: env}
}

// envExec is libcni's default Exec with extra environment variables: libcni
// passes a plugin the CNI_* variables on top of the given environment.
type envExec struct {
	*invoke.DefaultExec
	env map[string]string
}

func (e *envExec) ExecPlugin(ctx context.Context, pluginPath string, stdinData []byte, environ []string) ([]byte, error) {
	for k, v := range e.env {
		environ = append(environ, k+"="+v)
	}
	return e.RawExec.ExecPlugin(ctx, pluginPath, stdinData, environ)
}

func runtimeConf(pod *corev1.Pod, netnsPath string) *libcni.RuntimeConf {
	return &libcni.RuntimeConf{
		ContainerID: string(pod.UID),
		NetNS:       netnsPath,
		IfName:      "eth0",
		Args: [][2]string{
			{"IgnoreUnknown", "1"},
			{"K8S_POD_NAMESPACE", pod.Namespace},
			{"K8S_POD_NAME", pod.Name},
			{"K8S_POD_UID", string(pod.UID)},
		},
	}
}

// add wires the pod's netns and returns the pod's IPv4 address from the CNI
// result.
func (n *network) add(ctx context.Context, pod *corev1.Pod, netnsPath string) (netip.Addr, error) {
	rt := runtimeConf(pod, netnsPath)
	loRT := *rt
	loRT.IfName = "lo"
	if _, err := n.cni.AddNetwork(ctx, n.lo, &loRT); err != nil {
		return netip.Addr{}, fmt.Errorf("loopback: %w", err)
	}
	res, err := n.cni.AddNetworkList(ctx, n.list, rt)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("network %s: %w", n.list.Name, err)
	}
	r, err := types100.NewResultFromResult(res)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("network %s: result: %w", n.list.Name, err)
	}
	return resultIPv4(r)
}

// resultIPv4 picks the pod's IPv4 address from a CNI result.
func resultIPv4(r *types100.Result) (netip.Addr, error) {
	for _, ip := range r.IPs {
		if a, ok := netip.AddrFromSlice(ip.Address.IP); ok && a.Unmap().Is4() {
			return a.Unmap(), nil
		}
	}
	return netip.Addr{}, fmt.Errorf("CNI result has no IPv4 address: %v", r)
}

// del releases the pod's address and links.
func (n *network) del(ctx context.Context, pod *corev1.Pod, netnsPath string) error {
	return n.cni.DelNetworkList(ctx, n.list, runtimeConf(pod, netnsPath))
}

// PTPConfList is the kube-proxy lab's CNI network: a veth pair per pod with a
// /32 route on the node (ptp) and addresses from the node's pod CIDR
// (host-local). No masquerade: pod addresses are routed across nodes.
func PTPConfList(podCIDR netip.Prefix, ipamDir string) []byte {
	return fmt.Appendf(nil, `{
  "cniVersion": "1.0.0",
  "name": "netbench-lab",
  "plugins": [{
    "type": "ptp",
    "ipMasq": false,
    "mtu": 1500,
    "ipam": {
      "type": "host-local",
      "ranges": [[{"subnet": %q}]],
      "routes": [{"dst": "0.0.0.0/0"}],
      "dataDir": %q
    }
  }]
}`, podCIDR.String(), ipamDir)
}
