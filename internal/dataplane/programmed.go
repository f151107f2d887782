package dataplane

import (
	"context"
	"fmt"
	"strings"

	"kube-netbench/internal/podexec"
)

// Programmed is what one node's dataplane holds for Services, read from the
// rules it programmed.
type Programmed struct {
	Node string
	// ClusterIPs is the number of ClusterIP entries: KUBE-SERVICES rules of
	// kind ClusterIP in iptables mode, service-ips map elements in nftables
	// mode.
	ClusterIPs int
	// Position maps a watched ClusterIP to its 1-based position among
	// them (the scan depth of a new connection's first packet in iptables
	// mode: W-STAT-10); absent when not programmed.
	Position map[string]int
	// Source names the command the count came from.
	Source string
}

// ReadProgrammed reads the Service entries every node's Service agent
// programmed: Cilium's (when it replaces kube-proxy) or kube-proxy's. See
// ReadKubeProxyProgrammed and ReadCiliumProgrammed.
func ReadProgrammed(ctx context.Context, e podexec.Executor, det Detection, watch []string) ([]Programmed, error) {
	if det.Cilium != nil && det.Cilium.ReplacesKubeProxy() {
		return ReadCiliumProgrammed(ctx, e, det.Cilium, watch)
	}
	if det.KubeProxy == nil {
		return nil, fmt.Errorf("dataplane %s: neither Cilium with kube-proxy replacement nor kube-proxy found", det.Kind)
	}
	return ReadKubeProxyProgrammed(ctx, e, det.KubeProxy, watch)
}

// ReadCiliumProgrammed reads the ClusterIP frontends of every node's Cilium
// agent (`cilium-dbg service list -o json` in its pod: the agent's view of
// its BPF service map). Cilium looks a frontend up by hash, so there is no
// position: a watched ClusterIP that is programmed gets position 0 in
// Position, present but meaningless.
func ReadCiliumProgrammed(ctx context.Context, e podexec.Executor, cil *Cilium, watch []string) ([]Programmed, error) {
	argv := []string{"cilium-dbg", "service", "list", "-o", "json"}
	var out []Programmed
	for node, pod := range cil.Pods {
		b, err := podexec.Output(ctx, e, podexec.Target{Namespace: "kube-system", Pod: pod, Container: "cilium-agent"}, argv...)
		if err != nil {
			return nil, fmt.Errorf("node %s: %w", node, err)
		}
		fes, err := CiliumServices(b)
		if err != nil {
			return nil, fmt.Errorf("node %s: %w", node, err)
		}
		p := Programmed{Node: node, Position: map[string]int{}, Source: strings.Join(argv, " ")}
		want := set(watch)
		for _, fe := range fes {
			if fe.Type != "ClusterIP" {
				continue
			}
			p.ClusterIPs++
			if want[fe.IP.String()] {
				p.Position[fe.IP.String()] = 0
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// ReadKubeProxyProgrammed reads the Service entries of every node's kube-proxy, by
// exec into that node's kube-proxy pod (the image carries iptables and nft,
// on real clusters as on the lab), and the positions of the watched
// ClusterIPs. ctx must carry the exec deadline.
func ReadKubeProxyProgrammed(ctx context.Context, e podexec.Executor, kp *KubeProxy, watch []string) ([]Programmed, error) {
	var argv []string
	switch kp.Mode {
	case "iptables":
		argv = []string{"iptables-save", "-t", "nat"}
	case "nftables":
		argv = []string{"nft", "list", "map", "ip", "kube-proxy", "service-ips"}
	default:
		return nil, fmt.Errorf("reading programmed Services is not implemented for kube-proxy %s mode", kp.Mode)
	}
	var out []Programmed
	for node, pod := range kp.Pods {
		b, err := podexec.Output(ctx, e, podexec.Target{Namespace: "kube-system", Pod: pod}, argv...)
		if err != nil {
			return nil, fmt.Errorf("node %s: %w", node, err)
		}
		p := Programmed{Node: node, Position: map[string]int{}, Source: strings.Join(argv, " ")}
		want := set(watch)
		switch kp.Mode {
		case "iptables":
			rules, err := KubeServicesRules(string(b))
			if err != nil {
				return nil, fmt.Errorf("node %s: %w", node, err)
			}
			for _, r := range rules {
				if r.Kind != RuleClusterIP {
					continue
				}
				p.ClusterIPs++
				if want[r.ClusterIP] {
					if _, seen := p.Position[r.ClusterIP]; !seen {
						p.Position[r.ClusterIP] = p.ClusterIPs
					}
				}
			}
		case "nftables":
			elems, err := NftServiceIPs(string(b))
			if err != nil {
				return nil, fmt.Errorf("node %s: %w", node, err)
			}
			for _, el := range elems {
				if el.External {
					continue
				}
				p.ClusterIPs++
				if want[el.IP] {
					if _, seen := p.Position[el.IP]; !seen {
						p.Position[el.IP] = p.ClusterIPs
					}
				}
			}
		}
		out = append(out, p)
	}
	return out, nil
}

func set(keys []string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}
