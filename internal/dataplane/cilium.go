package dataplane

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"kube-netbench/internal/bpfmaps"
	"kube-netbench/internal/podexec"
)

// The Cilium dataplanes: pod traffic between nodes routed natively or
// through a tunnel (VXLAN or Geneve).
const (
	CiliumNative  Kind = "cilium-native"
	CiliumOverlay Kind = "cilium-overlay"

	// GKEDataplaneV2 is Google's managed Cilium (anetd).
	GKEDataplaneV2 Kind = "gke-dataplane-v2"
)

// GKEDataplaneV2Name is how reports name it.
const GKEDataplaneV2Name = "GKE Dataplane V2"

// Cilium is what detection found about the Cilium agents, read from every
// running agent.
type Cilium struct {
	// Version is the agents' version ("1.19.4"), from `cilium-dbg version`.
	Version string
	// Routing is the agents' inter-host routing mode ("Tunnel" or
	// "Native"); TunnelProtocol its protocol when tunnelling ("vxlan").
	Routing, TunnelProtocol string
	// KubeProxyReplacement is the agents' kube-proxy replacement state
	// ("True" or "False"): when "True" Cilium's BPF maps carry Services.
	KubeProxyReplacement string
	// SocketLB is the agents' effective socket-level load balancing (see
	// CiliumStatus.SocketLB): it, not the bpf-lb-sock setting, says whether
	// a ClusterIP is translated once per connect() or per packet.
	SocketLB string
	// Hubble maps each node to its agent's Hubble state ("Ok", "Disabled").
	Hubble map[string]string
	// Namespace holds the agents; Pods maps each node to its agent pod.
	Namespace string
	Pods      map[string]string
	// Managed names a provider-managed Cilium ("GKE Dataplane V2"), and
	// Unreadable why its agents could not be read (the agent's state, BPF
	// maps and Hubble are then not measured; the datapath is).
	Managed, Unreadable string
	// Image is the agent image (from the first pod).
	Image string
	// Config is the cilium-config ConfigMap (nil when absent).
	Config map[string]string
}

// Readable is nil when the agents' own state can be read by exec, else why
// not: a dimension that needs it skips with that reason.
func (c *Cilium) Readable() error {
	if c.Unreadable != "" {
		return fmt.Errorf("%s: the agent cannot be read (%s)", c.Managed, c.Unreadable)
	}
	return nil
}

// ReplacesKubeProxy reports whether Cilium carries the Services.
func (c *Cilium) ReplacesKubeProxy() bool { return strings.EqualFold(c.KubeProxyReplacement, "true") }

// CiliumStatus is the part of `cilium-dbg status -o json` kube-netbench
// reads.
type CiliumStatus struct {
	// State is the agent's overall state ("Ok", "Warning", "Failure").
	State string
	// KubeProxyReplacement is "True" or "False".
	KubeProxyReplacement string
	// Routing is the inter-host routing mode ("Tunnel", "Native"),
	// TunnelProtocol its protocol ("vxlan", "geneve", "" when native).
	Routing, TunnelProtocol string
	// Hubble is Hubble's state ("Ok", "Disabled", "Warning", ...).
	Hubble string
	// SocketLB is "on" or "off" (features.socketLB.enabled), "unknown" when
	// the status does not say. kube-proxy-replacement=true turns it on
	// whatever bpf-lb-sock says.
	SocketLB string
}

// ParseCiliumStatus reads `cilium-dbg status -o json`. A field it needs that
// is missing is an error: a status without routing or kube-proxy
// replacement says nothing about the dataplane.
func ParseCiliumStatus(b []byte) (CiliumStatus, error) {
	var raw struct {
		Cilium *struct {
			State string `json:"state"`
		} `json:"cilium"`
		KPR *struct {
			Mode     string `json:"mode"`
			Features struct {
				SocketLB *struct {
					Enabled bool `json:"enabled"`
				} `json:"socketLB"`
			} `json:"features"`
		} `json:"kube-proxy-replacement"`
		Routing *struct {
			InterHost      string `json:"inter-host-routing-mode"`
			TunnelProtocol string `json:"tunnel-protocol"`
		} `json:"routing"`
		Hubble *struct {
			State string `json:"state"`
		} `json:"hubble"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return CiliumStatus{}, fmt.Errorf("cilium-dbg status -o json: %w", err)
	}
	var missing []string
	if raw.Cilium == nil || raw.Cilium.State == "" {
		missing = append(missing, "cilium.state")
	}
	if raw.KPR == nil || raw.KPR.Mode == "" {
		missing = append(missing, "kube-proxy-replacement.mode")
	}
	if raw.Routing == nil || raw.Routing.InterHost == "" {
		missing = append(missing, "routing.inter-host-routing-mode")
	}
	if len(missing) > 0 {
		return CiliumStatus{}, fmt.Errorf("cilium-dbg status -o json: no %s", strings.Join(missing, ", "))
	}
	st := CiliumStatus{
		State:                raw.Cilium.State,
		KubeProxyReplacement: raw.KPR.Mode,
		Routing:              raw.Routing.InterHost,
		TunnelProtocol:       raw.Routing.TunnelProtocol,
		Hubble:               "Disabled",
		SocketLB:             "unknown",
	}
	if sl := raw.KPR.Features.SocketLB; sl != nil {
		st.SocketLB = map[bool]string{true: "on", false: "off"}[sl.Enabled]
	}
	if raw.Hubble != nil && raw.Hubble.State != "" {
		st.Hubble = raw.Hubble.State
	}
	return st, nil
}

// Kind is the dataplane the status describes.
func (s CiliumStatus) Kind() (Kind, error) {
	switch strings.ToLower(s.Routing) {
	case "tunnel":
		return CiliumOverlay, nil
	case "native":
		return CiliumNative, nil
	}
	return "", fmt.Errorf("cilium routing mode %q is neither Tunnel nor Native", s.Routing)
}

// ParseCiliumVersion reads the agent's version from `cilium-dbg version`
// ("Daemon: 1.19.4 95e477fdcf 2026-05-13T14:29:21Z go version ..."). An agent
// that does not answer is an error.
func ParseCiliumVersion(out string) (string, error) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "Daemon:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 || f[0] == "Not" || f[0] == "go" {
			return "", fmt.Errorf("cilium-dbg version: the agent gave no version (%q)", strings.TrimSpace(rest))
		}
		return f[0], nil
	}
	return "", errors.New("cilium-dbg version: no \"Daemon:\" line")
}

// CiliumFrontend is one Service frontend of `cilium-dbg service list -o
// json`.
type CiliumFrontend struct {
	IP       netip.Addr
	Port     uint16
	Protocol string
	// Type is the frontend's kind ("ClusterIP", "NodePort", "HostPort",
	// "LoadBalancer", "ExternalIPs", ...).
	Type string
	// Namespace and Name are the Kubernetes Service's.
	Namespace, Name string
	// Backends is the number of backends.
	Backends int
}

// CiliumServices reads `cilium-dbg service list -o json`.
func CiliumServices(b []byte) ([]CiliumFrontend, error) {
	var raw []struct {
		Spec *struct {
			Frontend struct {
				IP       string `json:"ip"`
				Port     uint16 `json:"port"`
				Protocol string `json:"protocol"`
			} `json:"frontend-address"`
			Backends []json.RawMessage `json:"backend-addresses"`
			Flags    struct {
				Type      string `json:"type"`
				Namespace string `json:"namespace"`
				Name      string `json:"name"`
			} `json:"flags"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("cilium-dbg service list -o json: %w", err)
	}
	out := make([]CiliumFrontend, 0, len(raw))
	for i, r := range raw {
		if r.Spec == nil {
			return nil, fmt.Errorf("cilium-dbg service list -o json: entry %d has no spec", i)
		}
		ip, err := netip.ParseAddr(r.Spec.Frontend.IP)
		if err != nil {
			return nil, fmt.Errorf("cilium-dbg service list -o json: entry %d: frontend %q: %w", i, r.Spec.Frontend.IP, err)
		}
		out = append(out, CiliumFrontend{
			IP: ip, Port: r.Spec.Frontend.Port, Protocol: r.Spec.Frontend.Protocol,
			Type: r.Spec.Flags.Type, Namespace: r.Spec.Flags.Namespace, Name: r.Spec.Flags.Name,
			Backends: len(r.Spec.Backends),
		})
	}
	return out, nil
}

// CiliumServiceMaps are the maps whose entries ReadCiliumBPFMaps counts:
// the ones that grow with Services and endpoints.
var CiliumServiceMaps = []string{"cilium_lb4_services_v2", "cilium_lb4_backends_v3", "cilium_lb4_reverse_nat"}

// ReadCiliumBPFMaps reads, on every node, the BPF maps its Cilium agent
// pinned (`bpftool -j -f map show` in the agent's pod, whose mount namespace
// holds its bpffs) and counts the entries of CiliumServiceMaps (`bpftool
// map dump pinned`). ctx must carry the exec deadline.
func ReadCiliumBPFMaps(ctx context.Context, e podexec.Executor, cil *Cilium) (map[string][]bpfmaps.Map, error) {
	if err := cil.Readable(); err != nil {
		return nil, err
	}
	out, err := perNode(ctx, cil.Pods, func(ctx context.Context, node, pod string) ([]bpfmaps.Map, error) {
		target := podexec.Target{Namespace: cil.Namespace, Pod: pod, Container: "cilium-agent"}
		b, err := podexec.Output(ctx, e, target, "bpftool", "-j", "-f", "map", "show")
		if err != nil {
			return nil, err
		}
		all, err := bpfmaps.ParseShow(b)
		if err != nil {
			return nil, err
		}
		maps := bpfmaps.Cilium(all)
		if len(maps) == 0 {
			return nil, fmt.Errorf("bpftool shows no map pinned by the cilium agent %s", pod)
		}
		for i, m := range maps {
			if !slices.Contains(CiliumServiceMaps, m.Name) {
				continue
			}
			d, err := podexec.Output(ctx, e, target, "bpftool", "map", "dump", "pinned", m.Pinned[0])
			if err != nil {
				return nil, err
			}
			if maps[i].Entries, err = bpfmaps.ParseDumpCount(string(d)); err != nil {
				return nil, fmt.Errorf("%s: %w", m.Name, err)
			}
		}
		return maps, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
