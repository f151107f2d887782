package scale

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// hostCount is the number of host addresses of an IPv4 prefix: all of them
// but the network and the broadcast address (0 for a /31 or /32, which have
// no room for either convention to matter here). It is 0 for anything that
// is not a valid IPv4 prefix.
func hostCount(pfx netip.Prefix) uint64 {
	if !pfx.IsValid() || !pfx.Addr().Is4() {
		return 0
	}
	size := uint64(1) << (32 - pfx.Bits())
	if size < 4 {
		return 0
	}
	return size - 2
}

// nth is the address n places after the network address of pfx; the
// caller has checked that it lies inside pfx.
func nth(pfx netip.Prefix, n uint64) netip.Addr {
	b := pfx.Masked().Addr().As4()
	v := binary.BigEndian.Uint32(b[:]) + uint32(n)
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}

// EndpointAddr is the address of global endpoint g (Service i's endpoint e
// is g = i*Endpoints+e): the g-th host address of dummy, counting from the
// address after the network address, so g = 0 is x.x.x.1 of the prefix. The
// broadcast address is never used either: the last valid g is
// hostCount-1. An address outside the prefix is an error, never a wrap.
func EndpointAddr(dummy netip.Prefix, g int) (netip.Addr, error) {
	if !dummy.IsValid() || !dummy.Addr().Is4() {
		return netip.Addr{}, fmt.Errorf("dummy prefix %v: not an IPv4 prefix", dummy)
	}
	n := hostCount(dummy)
	if g < 0 || uint64(g) >= n {
		return netip.Addr{}, fmt.Errorf("endpoint %d: outside %s, which holds %d endpoint addresses (0..%d)",
			g, dummy.Masked(), n, int64(n)-1)
	}
	return nth(dummy, uint64(g)+1), nil
}

// Allocation is how dummy Services get their ClusterIPs. The zero value is
// Auto.
//
// Auto leaves spec.clusterIP empty and lets kube-apiserver's allocator pick
// an address at random. Explicit gives each Service an address of the
// Service range in spec.clusterIP, chosen by a deterministic function of the
// Service's index. The allocator then only checks and reserves that one
// address instead of searching the range; a conflict ("provided IP is already
// allocated", for example with kube-dns at .10 or a Service another client
// made) makes Grow try the index's next candidate. See the package
// documentation for what each costs.
type Allocation struct {
	explicit bool
	cidr     netip.Prefix
}

// Auto lets kube-apiserver allocate every ClusterIP.
var Auto = Allocation{}

// Explicit gives every Service an address of serviceCIDR, the cluster's
// Service range (kube-apiserver's --service-cluster-ip-range, or a ServiceCIDR
// object), in spec.clusterIP.
// An invalid or non-IPv4 prefix is reported by Grow, never silently treated
// as Auto.
func Explicit(serviceCIDR netip.Prefix) Allocation {
	return Allocation{explicit: true, cidr: serviceCIDR.Masked()}
}

// IsExplicit reports whether the allocation gives addresses itself.
func (a Allocation) IsExplicit() bool { return a.explicit }

// String is "auto" or "explicit <cidr>", for logs and the run's fingerprint.
func (a Allocation) String() string {
	if !a.IsExplicit() {
		return "auto"
	}
	return "explicit " + a.cidr.String()
}

// usable is the number of addresses Explicit may hand out: the range without
// its network address, its first address (the kubernetes Service's) and its
// broadcast address.
func (a Allocation) usable() uint64 {
	n := hostCount(a.cidr)
	if n < 2 {
		return 0
	}
	return n - 1
}

// Capacity is the number of ClusterIPs an explicit allocation may hand out
// (0 for Auto, which hands out none itself): the most Services a scale step
// can reach in this range.
func (a Allocation) Capacity() uint64 {
	if !a.IsExplicit() {
		return 0
	}
	return a.usable()
}

// EndpointCapacity is the number of endpoint addresses dummy holds
// (EndpointAddr's range), 0 for anything but an IPv4 prefix.
func EndpointCapacity(dummy netip.Prefix) uint64 { return hostCount(dummy) }

// check verifies that an explicit allocation has room for maxServices
// distinct addresses (W-BUG-5: the seed never checked the Service range's
// capacity).
func (a Allocation) check(maxServices int) error {
	if !a.IsExplicit() {
		return nil
	}
	if !a.cidr.IsValid() || !a.cidr.Addr().Is4() {
		return fmt.Errorf("explicit ClusterIP allocation: Service range %v: must be an IPv4 prefix", a.cidr)
	}
	if u := a.usable(); uint64(maxServices) > u {
		return fmt.Errorf("explicit ClusterIP allocation: Service range %s has %d assignable addresses; MaxServices %d needs more (30,000 Services need at least a /17)",
			a.cidr, u, maxServices)
	}
	return nil
}

// ClusterIP is the attempt-th candidate address (0-based) for Service i of a
// plan of maxServices Services: the range's address 2+i+attempt*maxServices.
// So candidates are deterministic per index, never the network, first or
// broadcast address, and never shared between two indexes of the run (i <
// maxServices). It fails once the candidates run past the range, and for
// Auto, which has no candidates.
func (a Allocation) ClusterIP(i, attempt, maxServices int) (netip.Addr, error) {
	if !a.IsExplicit() {
		return netip.Addr{}, fmt.Errorf("ClusterIP: allocation is auto")
	}
	if err := a.check(maxServices); err != nil {
		return netip.Addr{}, err
	}
	if i < 0 || i >= maxServices || attempt < 0 {
		return netip.Addr{}, fmt.Errorf("ClusterIP: index %d, attempt %d: need 0 <= index < %d and attempt >= 0", i, attempt, maxServices)
	}
	off := uint64(i) + uint64(attempt)*uint64(maxServices)
	if off >= a.usable() {
		return netip.Addr{}, fmt.Errorf("ClusterIP for index %d: all %d candidates in %s are taken", i, attempt, a.cidr)
	}
	return nth(a.cidr, off+2), nil
}
