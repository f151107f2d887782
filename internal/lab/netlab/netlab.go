// Package netlab builds and removes the lab's network plumbing on a Linux machine (docs/lab.md, "Topology"):
// the underlay namespace with its bridge, one network namespace per node, the veths between them, and the
// root namespace's `unreachable` routes for the lab's ranges. It talks to the kernel through netlink and a few
// mount and namespace syscalls; it never runs `ip`.
//
// It needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN). Safety rules it enforces: Up validates the plan against
// the machine's routes and addresses and refuses to run over existing lab state; no lab namespace gets a
// default route; the root namespace routes every lab range except the underlay to `unreachable`; Down only
// removes what carries the lab's marks (names starting with netplan.Prefix, routes with RouteProtocol).
//
// Named network namespaces follow iproute2's convention (a bind mount under NetnsDir), so `ip netns exec`,
// `ip netns list` and CNI plugins (CNI_NETNS=NetnsPath(name)) see them.
package netlab

import (
	"fmt"
	"path/filepath"
	"strings"
)

// RouteProtocol is the routing protocol number (`proto 212` in `ip route`) the lab puts on every route it
// creates, so that teardown and leftover detection recognise the lab's routes without guessing from their
// shape. 212 is not assigned in iproute2's rt_protos nor used by the routing daemons we know of.
const RouteProtocol = 212

// NetnsDir is where named network namespaces are bind-mounted, as by `ip netns add`.
const NetnsDir = "/run/netns"

// NetnsPath is the path of the named network namespace: what CNI_NETNS, setns(2) and `nsenter --net=` take.
func NetnsPath(name string) string {
	return filepath.Join(NetnsDir, name)
}

// Process is a process with at least one thread inside a network namespace.
type Process struct {
	// PID is the process ID (in the caller's PID namespace).
	PID int
	// Comm is the process's command name from /proc/<pid>/comm.
	Comm string
}

// String formats the process as "1234 (sleep)".
func (p Process) String() string {
	return fmt.Sprintf("%d (%s)", p.PID, p.Comm)
}

// BusyError is returned when a network namespace is not deleted because processes still live in it. Deleting
// the name would leave the namespace alive, unnamed and unreachable until they exit; stop them first.
type BusyError struct {
	// Netns is the namespace's name.
	Netns string
	// Processes are the processes inside it.
	Processes []Process
}

// Error lists the processes.
func (e *BusyError) Error() string {
	ps := make([]string, len(e.Processes))
	for i, p := range e.Processes {
		ps[i] = p.String()
	}
	return fmt.Sprintf("netns %s still has processes %s: stop them before deleting it", e.Netns, strings.Join(ps, ", "))
}
