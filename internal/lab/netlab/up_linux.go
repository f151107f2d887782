package netlab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"kube-netbench/internal/lab/netplan"
)

// Up builds the lab's network (docs/lab.md, "Topology"), in this order:
//  1. `unreachable` routes in the root namespace for the pod CIDR, the Service range and the dummy range, so
//     that from here on a stray packet to a lab address fails locally instead of leaving the machine;
//  2. the underlay namespace with the bridge, lo up;
//  3. a veth from the root namespace (netplan.RootLink, holding RootIP) into the bridge;
//  4. per node: its namespace, lo up, forwarding on and rp_filter off, eth0 (a veth into the bridge) with
//     NodeIP, and a route to every other node's pod /24 via that node. No namespace gets a default route.
//
// Before creating anything it validates the plan against the machine (MachinePrefixes) and refuses to run if
// any lab state is present (Leftovers): it never builds over, or tears down, a lab it did not create. If a
// later step fails, Up removes everything with Down and returns the step's error (joined with Down's, if
// that fails too). ctx is checked between steps.
func Up(ctx context.Context, p netplan.Plan) error {
	return UpWith(ctx, p, UpOptions{})
}

// UpOptions vary what Up builds.
type UpOptions struct {
	// NoPodRoutes leaves out the routes between the nodes' pod CIDRs: a
	// dataplane that carries pod traffic itself (Cilium's VXLAN tunnel, or
	// its native routing with the routes it installs) gets bare nodes.
	NoPodRoutes bool
}

// UpWith is Up with options.
func UpWith(ctx context.Context, p netplan.Plan, o UpOptions) (err error) {
	machine, err := MachinePrefixes()
	if err != nil {
		return fmt.Errorf("lab up: %w", err)
	}
	if err := p.Validate(machine); err != nil {
		return fmt.Errorf("lab up: the plan is not safe on this machine: %w", err)
	}
	left, err := Leftovers(p)
	if err != nil {
		return fmt.Errorf("lab up: %w", err)
	}
	if len(left) > 0 {
		return fmt.Errorf("lab up: lab state is already present (a lab is running, or an earlier one was not "+
			"torn down: run Down): %s", strings.Join(left, "; "))
	}

	defer func() {
		if err == nil {
			return
		}
		if derr := Down(p); derr != nil {
			err = errors.Join(err, fmt.Errorf("lab up: removing the partial lab: %w", derr))
		}
	}()
	b := &builder{plan: p, underlayFd: -1, noPodRoutes: o.NoPodRoutes}
	defer b.close()
	steps := []step{
		{"unreachable routes in the root netns", b.rootRoutes},
		{"underlay netns " + netplan.UnderlayNetns, b.underlay},
		{"root link " + netplan.RootLink, b.rootLink},
	}
	for i := 1; i <= p.Nodes; i++ {
		steps = append(steps, step{"node " + netplan.NodeName(i), func() error { return b.node(i) }})
	}
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("lab up: before %s: %w", s.what, err)
		}
		if err := s.do(); err != nil {
			return fmt.Errorf("lab up: %s: %w", s.what, err)
		}
	}
	return nil
}

// step is one stage of Up, named for error messages.
type step struct {
	what string
	do   func() error
}

// builder holds what Up's steps share: netlink handles for the root and underlay namespaces and an open file
// descriptor of the underlay namespace, where node veths put their peer end.
type builder struct {
	plan        netplan.Plan
	noPodRoutes bool
	root        *netlink.Handle
	underlayH   *netlink.Handle
	underlayFd  int
	bridge      netlink.Link
}

// close releases the handles.
func (b *builder) close() {
	if b.root != nil {
		b.root.Close()
	}
	if b.underlayH != nil {
		b.underlayH.Close()
	}
	if b.underlayFd >= 0 {
		_ = unix.Close(b.underlayFd) // read-only namespace fd: nothing to flush
	}
}

// rootRoutes adds the unreachable routes in the root namespace.
func (b *builder) rootRoutes() error {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("open netlink: %w", err)
	}
	b.root = h
	for _, pfx := range b.plan.UnreachableRanges() {
		r := &netlink.Route{
			Dst:      prefixNet(pfx),
			Type:     unix.RTN_UNREACHABLE,
			Table:    unix.RT_TABLE_MAIN,
			Protocol: RouteProtocol,
		}
		if err := h.RouteAdd(r); err != nil {
			return fmt.Errorf("add unreachable route %s: %w", pfx, err)
		}
	}
	return nil
}

// underlay creates the underlay namespace and its bridge.
func (b *builder) underlay() error {
	if err := CreateNetns(netplan.UnderlayNetns); err != nil {
		return err
	}
	fd, err := unix.Open(NetnsPath(netplan.UnderlayNetns), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", NetnsPath(netplan.UnderlayNetns), err)
	}
	b.underlayFd = fd
	if b.underlayH, err = handleIn(netplan.UnderlayNetns); err != nil {
		return err
	}
	if err := setUp(b.underlayH, "lo"); err != nil {
		return err
	}
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: netplan.UnderlayBridge}}
	if err := b.underlayH.LinkAdd(br); err != nil {
		return fmt.Errorf("add bridge %s: %w", netplan.UnderlayBridge, err)
	}
	b.bridge = br
	return setUp(b.underlayH, netplan.UnderlayBridge)
}

// rootLink connects the root namespace to the bridge and gives it RootIP.
func (b *builder) rootLink() error {
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: netplan.RootLink},
		PeerName:      netplan.RootPeerLink,
		PeerNamespace: netlink.NsFd(b.underlayFd),
	}
	if err := b.root.LinkAdd(veth); err != nil {
		return fmt.Errorf("add veth %s (peer %s in %s): %w", netplan.RootLink, netplan.RootPeerLink,
			netplan.UnderlayNetns, err)
	}
	if err := b.bridgePort(netplan.RootPeerLink); err != nil {
		return err
	}
	return addrUp(b.root, netplan.RootLink, b.plan.RootIP(), b.plan.Underlay.Bits())
}

// node builds node i.
func (b *builder) node(i int) error {
	p, name := b.plan, netplan.NodeNetns(i)
	if err := CreateNetns(name); err != nil {
		return err
	}
	h, err := handleIn(name)
	if err != nil {
		return err
	}
	defer h.Close()
	if err := setUp(h, "lo"); err != nil {
		return err
	}
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: netplan.NodeLink},
		PeerName:      netplan.NodePeerLink(i),
		PeerNamespace: netlink.NsFd(b.underlayFd),
	}
	if err := h.LinkAdd(veth); err != nil {
		return fmt.Errorf("add veth %s (peer %s in %s): %w", netplan.NodeLink, netplan.NodePeerLink(i),
			netplan.UnderlayNetns, err)
	}
	if err := b.bridgePort(netplan.NodePeerLink(i)); err != nil {
		return err
	}
	if err := InNetns(name, nodeSysctls); err != nil {
		return err
	}
	if err := addrUp(h, netplan.NodeLink, p.NodeIP(i), p.Underlay.Bits()); err != nil {
		return err
	}
	eth0, err := h.LinkByName(netplan.NodeLink)
	if err != nil {
		return fmt.Errorf("find %s: %w", netplan.NodeLink, err)
	}
	for j := 1; j <= p.Nodes; j++ {
		if j == i || b.noPodRoutes {
			continue
		}
		r := &netlink.Route{
			LinkIndex: eth0.Attrs().Index,
			Dst:       prefixNet(p.NodePodCIDR(j)),
			Gw:        p.NodeIP(j).AsSlice(),
			Protocol:  RouteProtocol,
		}
		if err := h.RouteAdd(r); err != nil {
			return fmt.Errorf("add route %s via %s: %w", p.NodePodCIDR(j), p.NodeIP(j), err)
		}
	}
	return nil
}

// bridgePort enslaves the underlay link to the bridge and sets it up.
func (b *builder) bridgePort(name string) error {
	l, err := b.underlayH.LinkByName(name)
	if err != nil {
		return fmt.Errorf("find %s in %s: %w", name, netplan.UnderlayNetns, err)
	}
	if err := b.underlayH.LinkSetMaster(l, b.bridge); err != nil {
		return fmt.Errorf("enslave %s to %s: %w", name, netplan.UnderlayBridge, err)
	}
	if err := b.underlayH.LinkSetUp(l); err != nil {
		return fmt.Errorf("set %s up: %w", name, err)
	}
	return nil
}

// nodeSysctls makes the current thread's namespace a router that accepts asymmetric paths: forwarding on,
// reverse-path filtering off. kube-proxy sets route_localnet itself when it needs it, as on a real node. It
// runs inside InNetns: /proc/sys/net shows the namespace of the thread that opens it.
func nodeSysctls() error {
	for _, s := range []struct{ key, value string }{
		{"net/ipv4/ip_forward", "1"},
		{"net/ipv4/conf/all/rp_filter", "0"},
		{"net/ipv4/conf/default/rp_filter", "0"},
		{"net/ipv4/conf/" + netplan.NodeLink + "/rp_filter", "0"},
	} {
		path := filepath.Join("/proc/sys", s.key)
		if err := os.WriteFile(path, []byte(s.value), 0o644); err != nil {
			return fmt.Errorf("sysctl %s=%s: %w", strings.ReplaceAll(s.key, "/", "."), s.value, err)
		}
	}
	return nil
}

// handleIn opens a netlink handle whose socket lives in the named namespace; it can then be used from any
// thread. (netlink.NewHandleAt does the same but, if it cannot return its thread to the original namespace,
// unlocks it anyway; InNetns discards such a thread.)
func handleIn(name string) (*netlink.Handle, error) {
	var h *netlink.Handle
	err := InNetns(name, func() error {
		var err error
		h, err = netlink.NewHandle(unix.NETLINK_ROUTE)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("netlink handle in %s: %w", name, err)
	}
	return h, nil
}

// setUp sets a link up.
func setUp(h *netlink.Handle, name string) error {
	l, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("find %s: %w", name, err)
	}
	if err := h.LinkSetUp(l); err != nil {
		return fmt.Errorf("set %s up: %w", name, err)
	}
	return nil
}

// addrUp gives the link the address (with the prefix length bits) and sets it up.
func addrUp(h *netlink.Handle, name string, a netip.Addr, bits int) error {
	l, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("find %s: %w", name, err)
	}
	if err := h.AddrAdd(l, &netlink.Addr{IPNet: ipNet(a, bits)}); err != nil {
		return fmt.Errorf("add address %s/%d to %s: %w", a, bits, name, err)
	}
	if err := h.LinkSetUp(l); err != nil {
		return fmt.Errorf("set %s up: %w", name, err)
	}
	return nil
}
