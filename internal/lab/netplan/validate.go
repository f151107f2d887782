package netplan

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// MachineRange is a prefix the machine's root namespace already uses: a route (in any table) or the subnet of an
// interface address. netlab.MachinePrefixes collects them; tests build them by hand.
type MachineRange struct {
	// Prefix is the route's destination or the address's subnet.
	Prefix netip.Prefix
	// Desc completes "overlaps the machine's ...", e.g. "route 10.244.3.0/24 dev eth0" or
	// "address 192.0.2.2/24 on eth0". Empty means Prefix alone.
	Desc string
	// Lab marks what a lab created (a route with the lab's route protocol, or anything on an nb- link). Such
	// entries inside the plan's own ranges are the lab itself (running, or left over: leftovers are reported by
	// netlab.Leftovers), not a conflict.
	Lab bool
}

// String is the description used in messages.
func (m MachineRange) String() string {
	if m.Desc == "" {
		return m.Prefix.String()
	}
	return m.Desc
}

// Validate checks that the plan is well formed and safe to build next to the given machine ranges, and returns
// every problem found (errors.Join), each naming the range, the variable that sets it and what is wrong:
//   - Nodes is from MinNodes to MaxNodes;
//   - every range is a valid, canonical IPv4 prefix;
//   - the underlay holds the root (.1) and every node (.10+i) below its broadcast address;
//   - the pod CIDR holds node i's /24 (its i-th /24) for every node, so it is at most a /23;
//   - no two of the plan's ranges overlap;
//   - no range overlaps a machine range, except entries marked Lab that lie inside one of the plan's ranges
//     (the lab's own routes and addresses, so a running or half-removed lab re-validates cleanly). Default
//     routes (0.0.0.0/0) and non-IPv4 entries are ignored.
//
// Validate is pure: pass netlab.MachinePrefixes() for the real machine.
func (p Plan) Validate(machine []MachineRange) error {
	var errs []error
	if p.Nodes < MinNodes || p.Nodes > MaxNodes {
		errs = append(errs, fmt.Errorf("%s=%d: must be from %d to %d nodes", EnvNodes, p.Nodes, MinNodes, MaxNodes))
	}

	// Shape of each range; only well-formed ranges take part in the size and overlap checks.
	var good []Range
	for _, r := range p.Ranges() {
		if err := checkShape(r); err != nil {
			errs = append(errs, err)
			continue
		}
		good = append(good, r)
	}
	nodesOK := p.Nodes >= MinNodes && p.Nodes <= MaxNodes
	for _, r := range good {
		if !nodesOK {
			break
		}
		switch r.Var {
		case EnvUnderlay:
			errs = append(errs, p.checkUnderlaySize(r))
		case EnvPodCIDR:
			errs = append(errs, p.checkPodCIDRSize(r))
		}
	}

	for i, a := range good {
		for _, b := range good[i+1:] {
			if a.Prefix.Overlaps(b.Prefix) {
				errs = append(errs, fmt.Errorf("%s overlaps %s: the lab's ranges must be disjoint", a, b))
			}
		}
	}

	for _, r := range good {
		errs = append(errs, checkMachine(r, good, machine))
	}
	return errors.Join(errs...) // nil entries are dropped
}

// checkShape reports a range that is not a valid canonical IPv4 prefix.
func checkShape(r Range) error {
	name := r.Var
	if name == "" {
		name = r.Name
	}
	switch {
	case !r.Prefix.IsValid():
		return fmt.Errorf("%s is not set to a valid IPv4 CIDR", name)
	case !r.Prefix.Addr().Is4():
		return fmt.Errorf("%s %s: must be an IPv4 CIDR (the lab is IPv4 only)", name, r.Prefix)
	case r.Prefix.Bits() == 0:
		return fmt.Errorf("%s %s: must not be the whole IPv4 space", name, r.Prefix)
	case r.Prefix != r.Prefix.Masked():
		return fmt.Errorf("%s %s: host bits are set; did you mean %s?", name, r.Prefix, r.Prefix.Masked())
	}
	return nil
}

// checkUnderlaySize reports an underlay too small for .1 (root) and .10+i (node i) below its broadcast address.
func (p Plan) checkUnderlaySize(r Range) error {
	need := uint64(nodeHostOffset + p.Nodes + 2) // network address .. last node .. broadcast
	if hostCount(r.Prefix) >= need {
		return nil
	}
	return fmt.Errorf("%s is too small for %d node(s): it needs .1 for the root and .%d to .%d for the nodes "+
		"below its broadcast address; use a /%d or larger",
		r, p.Nodes, nodeHostOffset+1, nodeHostOffset+p.Nodes, largestBits(need))
}

// checkPodCIDRSize reports a pod CIDR that does not hold the i-th /24 for every node i.
func (p Plan) checkPodCIDRSize(r Range) error {
	if r.Prefix.Bits() <= 23 && uint64(1)<<(24-r.Prefix.Bits()) >= uint64(p.Nodes+1) {
		return nil
	}
	return fmt.Errorf("%s cannot hold one /24 per node for %d node(s) (node i gets the i-th /24, i from 1): "+
		"use a /%d or larger", r, p.Nodes, largestBits(uint64(p.Nodes+1)<<8))
}

// largestBits is the longest IPv4 prefix length whose range has at least n addresses.
func largestBits(n uint64) int {
	bits := 32
	for bits > 0 && uint64(1)<<(32-bits) < n {
		bits--
	}
	return bits
}

// checkMachine reports, in one error, every machine range that r overlaps.
func checkMachine(r Range, lab []Range, machine []MachineRange) error {
	var theirs, leftovers []string
	for _, m := range machine {
		if !m.Prefix.IsValid() || !m.Prefix.Addr().Is4() || m.Prefix.Bits() == 0 || !r.Prefix.Overlaps(m.Prefix) {
			continue
		}
		if m.Lab {
			if insideAny(m.Prefix, lab) {
				continue // the lab's own route or address: see netlab.Leftovers
			}
			leftovers = append(leftovers, m.String())
			continue
		}
		theirs = append(theirs, m.String())
	}
	var errs []error
	if len(theirs) > 0 {
		errs = append(errs, fmt.Errorf("%s overlaps the machine's %s", r, strings.Join(theirs, "; ")))
	}
	if len(leftovers) > 0 {
		errs = append(errs, fmt.Errorf("%s overlaps %s, left by a lab with other ranges: remove it first (netlab.Down)",
			r, strings.Join(leftovers, "; ")))
	}
	return errors.Join(errs...)
}

// insideAny reports whether pfx lies entirely inside one of the ranges.
func insideAny(pfx netip.Prefix, ranges []Range) bool {
	for _, r := range ranges {
		if r.Prefix.Bits() <= pfx.Bits() && r.Prefix.Contains(pfx.Addr()) {
			return true
		}
	}
	return false
}
