package netlab

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"kube-netbench/internal/lab/netplan"
)

// Down removes everything Up may have created, and nothing else: the root namespace's nb- links, every route
// in the root namespace with RouteProtocol, and every network namespace whose name starts with netplan.Prefix.
// It works from any partial state and can be repeated; missing pieces are not errors.
//
// A namespace with processes still inside is not deleted (see DeleteNetns): Down reports their PIDs in a
// *BusyError and carries on with the rest; kill them and call Down again. Finally it checks Leftovers(p) and
// reports whatever is still there, such as a route in a lab range that the lab did not create (Down leaves
// those alone). The result joins every problem (errors.Join).
func Down(p netplan.Plan) error {
	var errs []error
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("lab down: open netlink: %w", err)
	}
	defer h.Close()

	// Links first: deleting nb-root here is synchronous, whereas the kernel destroys a namespace's veths
	// (and with them their root-namespace peers) asynchronously after the namespace's last reference goes.
	links, err := dump("links", h.LinkList)
	if err != nil {
		errs = append(errs, fmt.Errorf("lab down: %w", err))
	}
	for _, l := range links {
		name := l.Attrs().Name
		if !strings.HasPrefix(name, netplan.Prefix) {
			continue
		}
		if err := h.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
			errs = append(errs, fmt.Errorf("lab down: delete link %s: %w", name, err))
		}
	}

	routes, err := allRoutes(h)
	if err != nil {
		errs = append(errs, fmt.Errorf("lab down: %w", err))
	}
	for _, r := range routes {
		if r.Protocol != RouteProtocol {
			continue
		}
		if err := h.RouteDel(&r); err != nil && !errors.Is(err, unix.ESRCH) {
			dst, _ := routeDst(r)
			errs = append(errs, fmt.Errorf("lab down: delete %s: %w", describeRoute(r, dst, ""), err))
		}
	}

	nss, err := labNetns()
	if err != nil {
		errs = append(errs, fmt.Errorf("lab down: %w", err))
	}
	for _, ns := range nss {
		if err := deleteNetns(ns.name, ns.procs); err != nil {
			errs = append(errs, fmt.Errorf("lab down: %w", err))
		}
	}

	if len(errs) == 0 {
		left, err := Leftovers(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("lab down: %w", err))
		} else if len(left) > 0 {
			errs = append(errs, fmt.Errorf("lab down: still present: %s", strings.Join(left, "; ")))
		}
	}
	return errors.Join(errs...)
}

// Leftovers lists, one human-readable line each, everything of a lab present on the machine: network
// namespaces named nb-* (and the processes inside each, with PID and command), nb-* links in the root
// namespace, and root-namespace routes that carry RouteProtocol or overlap one of the plan's ranges (whoever
// made them; those the lab did not make are marked, since Down leaves them). An empty list means clean.
func Leftovers(p netplan.Plan) ([]string, error) {
	var out []string
	nss, err := labNetns()
	if err != nil {
		return nil, fmt.Errorf("lab leftovers: %w", err)
	}
	for _, ns := range nss {
		if !ns.mounted {
			out = append(out, fmt.Sprintf("netns %s (an empty name, no namespace mounted)", ns.name))
			continue
		}
		out = append(out, "netns "+ns.name)
		for _, proc := range ns.procs {
			out = append(out, fmt.Sprintf("netns %s: process %s", ns.name, proc))
		}
	}

	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("lab leftovers: open netlink: %w", err)
	}
	defer h.Close()
	names, err := linkNames(h)
	if err != nil {
		return nil, fmt.Errorf("lab leftovers: %w", err)
	}
	var links []string
	for _, name := range names {
		if strings.HasPrefix(name, netplan.Prefix) {
			links = append(links, "link "+name+" in the root netns")
		}
	}
	slices.Sort(links)
	out = append(out, links...)

	routes, err := allRoutes(h)
	if err != nil {
		return nil, fmt.Errorf("lab leftovers: %w", err)
	}
	for _, r := range routes {
		dst, ok := routeDst(r)
		if !ok {
			continue
		}
		dev := names[r.LinkIndex]
		ours := r.Protocol == RouteProtocol || strings.HasPrefix(dev, netplan.Prefix)
		if !ours && (dst.Bits() == 0 || !overlapsPlan(dst, p)) {
			continue
		}
		line := describeRoute(r, dst, dev) + " in the root netns"
		if !ours {
			line += " (not created by the lab: Down leaves it)"
		}
		out = append(out, line)
	}
	return out, nil
}

// overlapsPlan reports whether pfx overlaps one of the plan's (valid) ranges.
func overlapsPlan(pfx netip.Prefix, p netplan.Plan) bool {
	for _, r := range p.Ranges() {
		if r.Prefix.IsValid() && r.Prefix.Overlaps(pfx) {
			return true
		}
	}
	return false
}

// labNs is a name under NetnsDir with the lab's prefix.
type labNs struct {
	name    string
	mounted bool      // a namespace is mounted there (false for a half-created name)
	procs   []Process // processes inside it
}

// labNetns lists the lab's named namespaces, in name order, with the processes inside each (one /proc scan).
func labNetns() ([]labNs, error) {
	entries, err := os.ReadDir(NetnsDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", NetnsDir, err)
	}
	var out []labNs
	inodes := map[uint64]bool{}
	inodeOf := map[string]uint64{}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), netplan.Prefix) {
			continue
		}
		ino, mounted, err := netnsInode(NetnsPath(e.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, labNs{name: e.Name(), mounted: mounted})
		if mounted {
			inodes[ino] = true
			inodeOf[e.Name()] = ino
		}
	}
	procs, err := processesIn(inodes)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if ino, ok := inodeOf[out[i].name]; ok {
			out[i].procs = procs[ino]
		}
	}
	return out, nil
}
