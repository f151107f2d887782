package netlab

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"kube-netbench/internal/lab/netplan"
)

// MachinePrefixes returns what the calling process's network namespace (the root namespace, for the lab's
// controller) already routes or addresses in IPv4: routes of every table (main, local and any policy-routing
// table) except default routes, and the subnet of every interface address. Each entry says what it is, for
// netplan.Plan.Validate's messages, and marks what a lab created (RouteProtocol, or an nb- link).
func MachinePrefixes() ([]netplan.MachineRange, error) {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("machine prefixes: open netlink: %w", err)
	}
	defer h.Close()
	return machinePrefixes(h)
}

// machinePrefixes is MachinePrefixes on a given handle.
func machinePrefixes(h *netlink.Handle) ([]netplan.MachineRange, error) {
	names, err := linkNames(h)
	if err != nil {
		return nil, fmt.Errorf("machine prefixes: %w", err)
	}
	routes, err := allRoutes(h)
	if err != nil {
		return nil, fmt.Errorf("machine prefixes: %w", err)
	}
	var out []netplan.MachineRange
	for _, r := range routes {
		dst, ok := routeDst(r)
		if !ok || dst.Bits() == 0 {
			continue // default route (or not IPv4)
		}
		dev := names[r.LinkIndex]
		out = append(out, netplan.MachineRange{
			Prefix: dst,
			Desc:   describeRoute(r, dst, dev),
			Lab:    r.Protocol == RouteProtocol || strings.HasPrefix(dev, netplan.Prefix),
		})
	}
	addrs, err := dump("addresses", func() ([]netlink.Addr, error) { return h.AddrList(nil, netlink.FAMILY_V4) })
	if err != nil {
		return nil, fmt.Errorf("machine prefixes: %w", err)
	}
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok || a.IPNet == nil {
			continue
		}
		ones, _ := a.Mask.Size()
		ip = ip.Unmap()
		dev := names[a.LinkIndex]
		out = append(out, netplan.MachineRange{
			Prefix: netip.PrefixFrom(ip, ones).Masked(),
			Desc:   fmt.Sprintf("address %s/%d on %s", ip, ones, dev),
			Lab:    strings.HasPrefix(dev, netplan.Prefix),
		})
	}
	return out, nil
}

// allRoutes lists the IPv4 routes of every table.
func allRoutes(h *netlink.Handle) ([]netlink.Route, error) {
	return dump("routes", func() ([]netlink.Route, error) {
		return h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	})
}

// linkNames maps interface index to name.
func linkNames(h *netlink.Handle) (map[int]string, error) {
	links, err := dump("links", h.LinkList)
	if err != nil {
		return nil, err
	}
	names := make(map[int]string, len(links))
	for _, l := range links {
		names[l.Attrs().Index] = l.Attrs().Name
	}
	return names, nil
}

// dump runs a netlink dump, retrying when the kernel reports that the table changed during the dump
// (netlink.ErrDumpInterrupted, whose partial result may be inconsistent). Other engineers' labs and tests
// change routes and links on this machine concurrently, so this does happen.
func dump[T any](what string, list func() ([]T, error)) ([]T, error) {
	const attempts = 10
	var err error
	for range attempts {
		var v []T
		v, err = list()
		if err == nil {
			return v, nil
		}
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	return nil, fmt.Errorf("list %s: %w", what, err)
}

// routeDst is the route's destination as a netip.Prefix; ok is false for non-IPv4 routes. A default route may
// come with a nil Dst.
func routeDst(r netlink.Route) (netip.Prefix, bool) {
	if r.Dst == nil {
		return netip.PrefixFrom(netip.IPv4Unspecified(), 0), r.Family == 0 || r.Family == netlink.FAMILY_V4
	}
	return prefixOf(r.Dst)
}

// prefixOf converts an IPv4 net.IPNet.
func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	ip, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ip = ip.Unmap()
	ones, bits := n.Mask.Size()
	if !ip.Is4() || bits != 32 {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(ip, ones).Masked(), true
}

// ipNet converts an address with the length of a prefix into a net.IPNet for netlink ("10.250.0.1/24").
func ipNet(a netip.Addr, bits int) *net.IPNet {
	return &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(bits, a.BitLen())}
}

// prefixNet converts a prefix into a net.IPNet for netlink.
func prefixNet(p netip.Prefix) *net.IPNet {
	return ipNet(p.Masked().Addr(), p.Bits())
}

// describeRoute renders a route the way `ip route` would, roughly: "unreachable route 10.244.0.0/16 proto 212",
// "route 10.0.0.0/8 via 192.0.2.254 dev eth0", "local route 127.0.0.0/8 dev lo (table local)".
func describeRoute(r netlink.Route, dst netip.Prefix, dev string) string {
	var b strings.Builder
	switch r.Type {
	case unix.RTN_UNICAST:
	case unix.RTN_LOCAL:
		b.WriteString("local ")
	case unix.RTN_BROADCAST:
		b.WriteString("broadcast ")
	case unix.RTN_UNREACHABLE:
		b.WriteString("unreachable ")
	case unix.RTN_BLACKHOLE:
		b.WriteString("blackhole ")
	case unix.RTN_PROHIBIT:
		b.WriteString("prohibit ")
	default:
		fmt.Fprintf(&b, "type-%d ", r.Type)
	}
	fmt.Fprintf(&b, "route %s", dst)
	if r.Gw != nil {
		fmt.Fprintf(&b, " via %s", r.Gw)
	}
	if dev != "" {
		fmt.Fprintf(&b, " dev %s", dev)
	}
	if len(r.MultiPath) > 0 {
		fmt.Fprintf(&b, " (%d nexthops)", len(r.MultiPath))
	}
	if r.Protocol == RouteProtocol {
		fmt.Fprintf(&b, " proto %d", RouteProtocol)
	}
	switch r.Table {
	case unix.RT_TABLE_MAIN, unix.RT_TABLE_UNSPEC:
	case unix.RT_TABLE_LOCAL:
		b.WriteString(" (table local)")
	default:
		b.WriteString(" (table " + strconv.Itoa(r.Table) + ")")
	}
	return b.String()
}
