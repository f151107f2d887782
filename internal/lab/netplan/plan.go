// Package netplan is the lab's address plan: which ranges the lab uses, which address and pod CIDR each node
// gets, and whether a plan is safe to build on this machine. It is pure: no syscalls, no environment access of
// its own (FromEnv takes the lookup function), so every rule is table-tested anywhere.
//
// The contract it implements is docs/lab.md ("Address plan").
package netplan

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Names of lab objects. Everything the lab creates on the machine (network namespaces, links in the root
// namespace) carries Prefix, so that teardown and leftover detection can find it by name alone.
const (
	// Prefix starts the name of every network namespace and root-namespace link the lab creates.
	Prefix = "nb-"
	// UnderlayNetns is the network namespace holding the underlay bridge.
	UnderlayNetns = Prefix + "underlay"
	// UnderlayBridge is the bridge inside UnderlayNetns that connects the root namespace and every node.
	UnderlayBridge = Prefix + "br0"
	// RootLink is the root namespace's end of its veth into the underlay; it holds RootIP.
	RootLink = Prefix + "root"
	// RootPeerLink is the underlay end of RootLink, enslaved to UnderlayBridge.
	RootPeerLink = Prefix + "root-ul"
	// NodeLink is the name of a node's uplink inside its own namespace.
	NodeLink = "eth0"
)

// Limits and defaults of the plan.
const (
	// MinNodes is the smallest Plan.Nodes.
	MinNodes = 1
	// MaxNodes is the largest Plan.Nodes: 64 keeps veth names within IFNAMSIZ and the nodes (.11 … .74) and
	// their pod /24s within the default ranges.
	MaxNodes = 64
	// DefaultNodes is the number of nodes when LAB_NODES is unset.
	DefaultNodes = 2
	// nodeHostOffset is the host number of node 0 on the underlay: node i is .10+i.
	nodeHostOffset = 10
)

// Environment variables that override the defaults (read by FromEnv, named in every error message).
const (
	// EnvNodes sets Plan.Nodes.
	EnvNodes = "LAB_NODES"
	// EnvUnderlay sets Plan.Underlay.
	EnvUnderlay = "LAB_UNDERLAY_CIDR"
	// EnvPodCIDR sets Plan.PodCIDR.
	EnvPodCIDR = "LAB_POD_CIDR"
	// EnvServiceCIDR sets Plan.ServiceCIDR.
	EnvServiceCIDR = "LAB_SERVICE_CIDR"
)

// Default ranges (docs/lab.md).
var (
	// DefaultUnderlay is the default Plan.Underlay: root .1, node i .10+i.
	DefaultUnderlay = netip.MustParsePrefix("10.250.0.0/24")
	// DefaultPodCIDR is the default Plan.PodCIDR: node i gets 10.244.<i>.0/24.
	DefaultPodCIDR = netip.MustParsePrefix("10.244.0.0/16")
	// DefaultServiceCIDR is the default Plan.ServiceCIDR: over a million ClusterIPs.
	DefaultServiceCIDR = netip.MustParsePrefix("10.96.0.0/12")
	// DefaultDummyCIDR is Plan.DummyCIDR, RFC 2544's benchmarking range; it is not configurable.
	DefaultDummyCIDR = netip.MustParsePrefix("198.18.0.0/15")
)

// Plan is the lab's address plan. The zero value is not usable; build one with Default or FromEnv and check it
// with Validate before creating anything.
type Plan struct {
	// Nodes is the number of worker nodes, numbered 1..Nodes.
	Nodes int
	// Underlay is the subnet shared by the root namespace (RootIP) and every node's eth0 (NodeIP).
	Underlay netip.Prefix
	// PodCIDR is the cluster's pod range; node i owns its i-th /24 (NodePodCIDR).
	PodCIDR netip.Prefix
	// ServiceCIDR is kube-apiserver's --service-cluster-ip-range.
	ServiceCIDR netip.Prefix
	// DummyCIDR holds the addresses of dummy endpoints, where nothing listens.
	DummyCIDR netip.Prefix
}

// Default returns the plan of docs/lab.md with no overrides.
func Default() Plan {
	return Plan{
		Nodes:       DefaultNodes,
		Underlay:    DefaultUnderlay,
		PodCIDR:     DefaultPodCIDR,
		ServiceCIDR: DefaultServiceCIDR,
		DummyCIDR:   DefaultDummyCIDR,
	}
}

// FromEnv builds a plan from the defaults overridden by LAB_NODES, LAB_UNDERLAY_CIDR, LAB_POD_CIDR and
// LAB_SERVICE_CIDR as returned by getenv (os.Getenv in production); an empty value means "use the default".
// It reports every unparsable variable, naming it, its value and what is allowed. It only parses: call
// Validate for the rules between ranges and against the machine.
func FromEnv(getenv func(string) string) (Plan, error) {
	p := Default()
	var errs []error
	if v := getenv(EnvNodes); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < MinNodes || n > MaxNodes {
			errs = append(errs, fmt.Errorf("%s=%q: must be an integer from %d to %d", EnvNodes, v, MinNodes, MaxNodes))
		} else {
			p.Nodes = n
		}
	}
	for _, r := range []struct {
		env string
		dst *netip.Prefix
	}{
		{EnvUnderlay, &p.Underlay},
		{EnvPodCIDR, &p.PodCIDR},
		{EnvServiceCIDR, &p.ServiceCIDR},
	} {
		v := getenv(r.env)
		if v == "" {
			continue
		}
		pfx, err := netip.ParsePrefix(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: must be an IPv4 CIDR such as %s: %w", r.env, v, r.dst, err))
			continue
		}
		*r.dst = pfx
	}
	if len(errs) > 0 {
		return Plan{}, errors.Join(errs...)
	}
	return p, nil
}

// RootIP is the root namespace's address on the underlay (host .1), where the control plane listens.
// It is the zero Addr if the underlay is not a valid IPv4 prefix.
func (p Plan) RootIP() netip.Addr {
	return hostAddr(p.Underlay, 1)
}

// NodeIP is node i's eth0 address, host .10+i of the underlay (node 1 is .11). It is the zero Addr if i is
// outside 1..Nodes or the address does not fit in the underlay.
func (p Plan) NodeIP(i int) netip.Addr {
	if i < 1 || i > p.Nodes {
		return netip.Addr{}
	}
	return hostAddr(p.Underlay, nodeHostOffset+i)
}

// NodePodCIDR is node i's pod range: the i-th /24 of the pod CIDR (10.244.<i>.0/24 by default). It is the zero
// Prefix if i is outside 1..Nodes or the /24 does not fit in the pod CIDR.
func (p Plan) NodePodCIDR(i int) netip.Prefix {
	if i < 1 || i > p.Nodes || !p.PodCIDR.IsValid() || !p.PodCIDR.Addr().Is4() || p.PodCIDR.Bits() > 24 {
		return netip.Prefix{}
	}
	if i >= 1<<(24-p.PodCIDR.Bits()) {
		return netip.Prefix{}
	}
	base := p.PodCIDR.Masked().Addr().As4()
	return netip.PrefixFrom(addU32(base, uint32(i)<<8), 24)
}

// NodeName is node i's Kubernetes node name, "nb-node-<i>".
func NodeName(i int) string {
	return Prefix + "node-" + strconv.Itoa(i)
}

// NodeNetns is the name of node i's network namespace; it equals NodeName so that logs, `ip netns` and
// Node objects all use one word.
func NodeNetns(i int) string {
	return NodeName(i)
}

// NodePeerLink is the underlay end of node i's uplink, "nb-n<i>-ul", enslaved to UnderlayBridge.
func NodePeerLink(i int) string {
	return Prefix + "n" + strconv.Itoa(i) + "-ul"
}

// Ranges lists the plan's ranges with the variable that sets each, in a fixed order (underlay, pod CIDR, Service
// range, dummy range). Validate and teardown code iterate over it.
func (p Plan) Ranges() []Range {
	return []Range{
		{Name: "underlay", Var: EnvUnderlay, Prefix: p.Underlay},
		{Name: "pod CIDR", Var: EnvPodCIDR, Prefix: p.PodCIDR},
		{Name: "Service range", Var: EnvServiceCIDR, Prefix: p.ServiceCIDR},
		{Name: "dummy range", Var: "", Prefix: p.DummyCIDR},
	}
}

// UnreachableRanges are the ranges the root namespace must not route anywhere: it gets an `unreachable`
// route for each, so that a stray packet fails locally instead of following the machine's default route.
func (p Plan) UnreachableRanges() []netip.Prefix {
	return []netip.Prefix{p.PodCIDR, p.ServiceCIDR, p.DummyCIDR}
}

// Range is one of the plan's ranges.
type Range struct {
	// Name says what the range is for ("pod CIDR").
	Name string
	// Var is the environment variable that sets it; empty for the fixed dummy range.
	Var string
	// Prefix is the range itself.
	Prefix netip.Prefix
}

// String names the range the way error messages do: "LAB_POD_CIDR 10.244.0.0/16" or "dummy range 198.18.0.0/15".
func (r Range) String() string {
	if r.Var == "" {
		return r.Name + " " + r.Prefix.String()
	}
	return r.Var + " " + r.Prefix.String()
}

// Describe renders the plan as a plain-text table for logs and READMEs. It never fails; addresses that do not
// fit an invalid plan show as "invalid".
func (p Plan) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "lab plan: %d node(s), no default route in any lab namespace\n", p.Nodes)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "range\tprefix\tset by\tuse")
	for _, r := range p.Ranges() {
		set := r.Var
		if set == "" {
			set = "(fixed)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, show(r.Prefix), set, p.rangeUse(r))
	}
	_ = tw.Flush() // writes into a strings.Builder, which cannot fail
	b.WriteByte('\n')
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "node\tnetns\teth0\tpod CIDR")
	for i := 1; i <= p.Nodes && i <= MaxNodes; i++ {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", NodeName(i), NodeNetns(i), show(p.NodeIP(i)), show(p.NodePodCIDR(i)))
	}
	_ = tw.Flush()
	return b.String()
}

// rangeUse is the "use" column of Describe.
func (p Plan) rangeUse(r Range) string {
	switch r.Name {
	case "underlay":
		return fmt.Sprintf("root %s on %s; node i at .%d+i on %s", show(p.RootIP()), RootLink, nodeHostOffset, NodeLink)
	case "pod CIDR":
		return "node i owns the i-th /24; unreachable from the root netns"
	case "Service range":
		return "ClusterIPs; unreachable from the root netns"
	default:
		return "dummy endpoints, nothing listens; unreachable from the root netns"
	}
}

// show formats an address or prefix, or "invalid" for the zero value.
func show[T interface {
	IsValid() bool
	String() string
}](v T) string {
	if !v.IsValid() {
		return "invalid"
	}
	return v.String()
}

// hostAddr returns host number n of an IPv4 prefix, or the zero Addr if the prefix is not IPv4 or n is not a
// usable host (the network or broadcast address, or beyond the prefix).
func hostAddr(pfx netip.Prefix, n int) netip.Addr {
	if !pfx.IsValid() || !pfx.Addr().Is4() || n < 1 || uint64(n) >= hostCount(pfx)-1 {
		return netip.Addr{}
	}
	return addU32(pfx.Masked().Addr().As4(), uint32(n))
}

// hostCount is the number of addresses in an IPv4 prefix (including network and broadcast).
func hostCount(pfx netip.Prefix) uint64 {
	return 1 << (32 - pfx.Bits())
}

// addU32 adds n to an IPv4 address.
func addU32(a [4]byte, n uint32) netip.Addr {
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v += n
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
