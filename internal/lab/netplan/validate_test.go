package netplan

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// machine is what this kind of machine typically has: loopback, one uplink, a default route.
var machine = []MachineRange{
	{Prefix: pfx("0.0.0.0/0"), Desc: "route default via 192.0.2.1 dev eth0"},
	{Prefix: pfx("127.0.0.0/8"), Desc: "local route 127.0.0.0/8 dev lo (table local)"},
	{Prefix: pfx("192.0.2.0/24"), Desc: "route 192.0.2.0/24 dev eth0"},
	{Prefix: pfx("192.0.2.0/24"), Desc: "address 192.0.2.2/24 on eth0"},
	{Prefix: pfx("fd00::/64"), Desc: "route fd00::/64 dev eth0"},
}

// with returns the default plan changed by f.
func with(f func(*Plan)) Plan {
	p := Default()
	f(&p)
	return p
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		plan    Plan
		machine []MachineRange
		wantErr []string // substrings that must all appear; nil means valid
	}{
		{name: "default plan", plan: Default(), machine: machine},
		{name: "no machine ranges", plan: Default()},
		{name: "one node in a /28 underlay and /23 pod CIDR",
			plan: with(func(p *Plan) { p.Nodes, p.Underlay, p.PodCIDR = 1, pfx("10.250.0.0/28"), pfx("10.244.0.0/23") })},
		{name: "64 nodes fit the defaults", plan: with(func(p *Plan) { p.Nodes = 64 })},
		{
			// A running lab (or one whose teardown was interrupted) owns routes and addresses inside its
			// ranges; they are not the machine's, and leftovers are reported by netlab.Leftovers.
			name: "the lab's own routes and addresses",
			plan: Default(),
			machine: append([]MachineRange{
				{Prefix: pfx("10.244.0.0/16"), Desc: "unreachable route 10.244.0.0/16", Lab: true},
				{Prefix: pfx("10.250.0.0/24"), Desc: "route 10.250.0.0/24 dev nb-root", Lab: true},
				{Prefix: pfx("10.250.0.1/32"), Desc: "local route 10.250.0.1/32 dev nb-root", Lab: true},
				{Prefix: pfx("10.250.0.0/24"), Desc: "address 10.250.0.1/24 on nb-root", Lab: true},
			}, machine...),
		},
		{name: "zero nodes", plan: with(func(p *Plan) { p.Nodes = 0 }),
			wantErr: []string{"LAB_NODES=0: must be from 1 to 64 nodes"}},
		{name: "65 nodes", plan: with(func(p *Plan) { p.Nodes = 65 }),
			wantErr: []string{"LAB_NODES=65: must be from 1 to 64 nodes"}},
		{name: "unset range", plan: with(func(p *Plan) { p.ServiceCIDR = netip.Prefix{} }),
			wantErr: []string{"LAB_SERVICE_CIDR is not set to a valid IPv4 CIDR"}},
		{name: "IPv6 range", plan: with(func(p *Plan) { p.PodCIDR = pfx("fd00:10:244::/48") }),
			wantErr: []string{"LAB_POD_CIDR fd00:10:244::/48: must be an IPv4 CIDR"}},
		{name: "host bits set", plan: with(func(p *Plan) { p.Underlay = pfx("10.250.0.1/24") }),
			wantErr: []string{"LAB_UNDERLAY_CIDR 10.250.0.1/24: host bits are set; did you mean 10.250.0.0/24?"}},
		{name: "whole address space", plan: with(func(p *Plan) { p.ServiceCIDR = pfx("0.0.0.0/0") }),
			wantErr: []string{"LAB_SERVICE_CIDR 0.0.0.0/0: must not be the whole IPv4 space"}},
		{name: "dummy range is checked too", plan: with(func(p *Plan) { p.DummyCIDR = pfx("198.18.0.1/15") }),
			wantErr: []string{"dummy range 198.18.0.1/15: host bits are set"}},
		{name: "underlay too small", plan: with(func(p *Plan) { p.Underlay = pfx("10.250.0.0/29") }),
			wantErr: []string{"LAB_UNDERLAY_CIDR 10.250.0.0/29 is too small for 2 node(s): it needs .1 for the " +
				"root and .11 to .12 for the nodes below its broadcast address; use a /28 or larger"}},
		{name: "underlay too small for 5 nodes",
			plan:    with(func(p *Plan) { p.Nodes, p.Underlay = 5, pfx("10.250.0.0/28") }),
			wantErr: []string{"use a /27 or larger"}},
		{name: "pod CIDR of one /24", plan: with(func(p *Plan) { p.PodCIDR = pfx("10.244.0.0/24") }),
			wantErr: []string{"LAB_POD_CIDR 10.244.0.0/24 cannot hold one /24 per node for 2 node(s) " +
				"(node i gets the i-th /24, i from 1): use a /22 or larger"}},
		{name: "pod CIDR /23 for two nodes", plan: with(func(p *Plan) { p.PodCIDR = pfx("10.244.0.0/23") }),
			wantErr: []string{"LAB_POD_CIDR 10.244.0.0/23 cannot hold", "use a /22 or larger"}},
		{name: "pod CIDR inside the Service range",
			plan:    with(func(p *Plan) { p.PodCIDR = pfx("10.100.0.0/16") }),
			wantErr: []string{"LAB_POD_CIDR 10.100.0.0/16 overlaps LAB_SERVICE_CIDR 10.96.0.0/12"}},
		{name: "underlay equal to the dummy range",
			plan:    with(func(p *Plan) { p.Underlay = pfx("198.18.0.0/24") }),
			wantErr: []string{"LAB_UNDERLAY_CIDR 198.18.0.0/24 overlaps dummy range 198.18.0.0/15"}},
		{
			name: "overlap with a machine route",
			plan: Default(),
			machine: append([]MachineRange{{Prefix: pfx("10.244.3.0/24"), Desc: "route 10.244.3.0/24 dev eth0"}},
				machine...),
			wantErr: []string{"LAB_POD_CIDR 10.244.0.0/16 overlaps the machine's route 10.244.3.0/24 dev eth0"},
		},
		{
			name:    "overlap with the machine's uplink, every entry named once",
			plan:    with(func(p *Plan) { p.Underlay = pfx("192.0.2.0/25") }),
			machine: machine,
			wantErr: []string{"LAB_UNDERLAY_CIDR 192.0.2.0/25 overlaps the machine's route 192.0.2.0/24 dev eth0; " +
				"address 192.0.2.2/24 on eth0"},
		},
		{
			name:    "a route that contains the range",
			plan:    Default(),
			machine: []MachineRange{{Prefix: pfx("10.0.0.0/8"), Desc: "route 10.0.0.0/8 via 192.0.2.254 dev eth0"}},
			wantErr: []string{
				"LAB_UNDERLAY_CIDR 10.250.0.0/24 overlaps the machine's route 10.0.0.0/8 via 192.0.2.254 dev eth0",
				"LAB_POD_CIDR 10.244.0.0/16 overlaps the machine's route 10.0.0.0/8",
				"LAB_SERVICE_CIDR 10.96.0.0/12 overlaps the machine's route 10.0.0.0/8",
			},
		},
		{
			name:    "leftover of a lab with other ranges",
			plan:    with(func(p *Plan) { p.PodCIDR = pfx("10.244.0.0/20") }),
			machine: []MachineRange{{Prefix: pfx("10.244.0.0/16"), Desc: "unreachable route 10.244.0.0/16", Lab: true}},
			wantErr: []string{"LAB_POD_CIDR 10.244.0.0/20 overlaps unreachable route 10.244.0.0/16, left by a lab " +
				"with other ranges: remove it first (netlab.Down)"},
		},
		{
			name: "every problem reported",
			plan: Plan{Nodes: 0, Underlay: pfx("10.250.0.0/24"), PodCIDR: pfx("10.250.0.0/16"),
				ServiceCIDR: pfx("10.96.0.1/12"), DummyCIDR: DefaultDummyCIDR},
			machine: []MachineRange{{Prefix: pfx("198.18.5.0/24")}},
			wantErr: []string{
				"LAB_NODES=0",
				"LAB_SERVICE_CIDR 10.96.0.1/12: host bits are set",
				"LAB_UNDERLAY_CIDR 10.250.0.0/24 overlaps LAB_POD_CIDR 10.250.0.0/16",
				"dummy range 198.18.0.0/15 overlaps the machine's 198.18.5.0/24",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.plan.Validate(tt.machine)
			if tt.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, s := range tt.wantErr {
				assert.Contains(t, err.Error(), s)
			}
		})
	}
}
