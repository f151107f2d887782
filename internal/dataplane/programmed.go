package dataplane

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
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

// ProgrammedReadable is nil when ReadProgrammed can read this dataplane's
// Service entries on every node, else why not: a dimension that needs them
// skips with that reason.
func (d Detection) ProgrammedReadable() error {
	if d.Cilium != nil && d.Cilium.ReplacesKubeProxy() {
		return d.Cilium.Readable()
	}
	switch kp := d.KubeProxy; {
	case kp == nil:
		return fmt.Errorf("dataplane %s: neither Cilium with kube-proxy replacement nor kube-proxy found", d.Kind)
	case kp.Embedded:
		return errors.New("kube-proxy runs inside the node's agent (k3s), not in a pod: its rules cannot be read by exec")
	case kp.Mode == ModeIPVS:
		// IPVS virtual servers are per network namespace (/proc/net/ip_vs,
		// ipvsadm -Ln); kube-proxy's image has no ipvsadm and this project's
		// lab kernel has no IPVS to verify a reader against.
		return errors.New("kube-proxy ipvs: reading the programmed IPVS virtual servers is not implemented (not verifiable on the lab: its kernel has no IPVS)")
	}
	return nil
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
// position: a watched ClusterIP that is programmed (with a backend) gets
// position 0 in Position, present but meaningless.
func ReadCiliumProgrammed(ctx context.Context, e podexec.Executor, cil *Cilium, watch []string) ([]Programmed, error) {
	argv := []string{"cilium-dbg", "service", "list", "-o", "json"}
	if err := cil.Readable(); err != nil {
		return nil, err
	}
	got, err := perNode(ctx, cil.Pods, func(ctx context.Context, node, pod string) (Programmed, error) {
		b, err := podexec.Output(ctx, e, podexec.Target{Namespace: cil.Namespace, Pod: pod, Container: "cilium-agent"}, argv...)
		if err != nil {
			return Programmed{}, err
		}
		fes, err := CiliumServices(b)
		if err != nil {
			return Programmed{}, err
		}
		p := Programmed{Node: node, Position: map[string]int{}, Source: strings.Join(argv, " ")}
		want := set(watch)
		for _, fe := range fes {
			if fe.Type != "ClusterIP" {
				continue
			}
			p.ClusterIPs++
			// A frontend without backends answers nothing: not programmed yet.
			if want[fe.IP.String()] && fe.Backends > 0 {
				p.Position[fe.IP.String()] = 0
			}
		}
		return p, nil
	})
	return values(got, err)
}

// values returns a per-node map's values in node order, nil with err.
func values[T any](m map[string]T, err error) ([]T, error) {
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[k])
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
	if kp.Embedded {
		return nil, (Detection{KubeProxy: kp}).ProgrammedReadable()
	}
	got, err := perNode(ctx, kp.Pods, func(ctx context.Context, node, pod string) (Programmed, error) {
		b, err := podexec.Output(ctx, e, podexec.Target{Namespace: kp.Namespace, Pod: pod}, argv...)
		if err != nil {
			return Programmed{}, err
		}
		p := Programmed{Node: node, Position: map[string]int{}, Source: strings.Join(argv, " ")}
		want := set(watch)
		switch kp.Mode {
		case "iptables":
			rules, err := KubeServicesRules(string(b))
			if err != nil {
				return Programmed{}, err
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
				return Programmed{}, err
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
		return p, nil
	})
	return values(got, err)
}

func set(keys []string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// Converged reports whether every node of a reading (made with watch
// holding want and gone) programmed every ClusterIP of want and none of
// gone, and if not, how far each node is. Counting the run's own Services
// rather than all of them keeps the wait exact on a shared cluster, where
// other Services come and go while it runs.
func Converged(prog []Programmed, want, gone []string) (bool, string) {
	if len(prog) == 0 {
		return false, "no node read"
	}
	ok := true
	var status []string
	for _, p := range prog {
		has, stale := 0, 0
		for _, ip := range want {
			if _, in := p.Position[ip]; in {
				has++
			}
		}
		for _, ip := range gone {
			if _, in := p.Position[ip]; in {
				stale++
			}
		}
		if has != len(want) || stale != 0 {
			ok = false
		}
		status = append(status, fmt.Sprintf("%s %d/%d of the run's, %d deleted still there, %d others", p.Node, has, len(want), stale, p.ClusterIPs-has-stale))
	}
	return ok, strings.Join(status, "; ")
}
