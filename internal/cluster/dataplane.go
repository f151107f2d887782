package cluster

import (
	"fmt"
	"strings"
)

// Dataplane is a dataplane the suite can create a cluster with: the lab
// (LAB_DATAPLANE) and kind (KIND_DATAPLANE) offer the same four.
type Dataplane string

// The dataplanes: kube-proxy in iptables or nftables mode, or Cilium with
// kube-proxy replacement and no kube-proxy, across nodes through VXLAN
// (overlay) or routes (native).
const (
	Iptables      Dataplane = "iptables"
	Nftables      Dataplane = "nftables"
	CiliumOverlay Dataplane = "cilium-overlay"
	CiliumNative  Dataplane = "cilium-native"
)

// Dataplanes lists every accepted value.
var Dataplanes = []Dataplane{Iptables, Nftables, CiliumOverlay, CiliumNative}

// Cilium reports whether the dataplane is a Cilium one.
func (d Dataplane) Cilium() bool { return d == CiliumOverlay || d == CiliumNative }

// ParseDataplane validates the value v of the variable env ("" means
// iptables); the error names both and what is allowed.
func ParseDataplane(env, v string) (Dataplane, error) {
	if v == "" {
		return Iptables, nil
	}
	allowed := make([]string, len(Dataplanes))
	for i, d := range Dataplanes {
		if Dataplane(v) == d {
			return d, nil
		}
		allowed[i] = string(d)
	}
	return "", fmt.Errorf("%s=%q: unknown dataplane; allowed: %s", env, v, strings.Join(allowed, ", "))
}
