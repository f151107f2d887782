package netplan

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// env returns a getenv over a fixed map.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    Plan
		wantErr []string // substrings that must all appear; nil means success
	}{
		{name: "defaults", env: nil, want: Default()},
		{
			name: "overrides",
			env: map[string]string{EnvNodes: "3", EnvUnderlay: "10.251.0.0/24", EnvPodCIDR: "10.32.0.0/12",
				EnvServiceCIDR: "10.200.0.0/16"},
			want: Plan{Nodes: 3, Underlay: pfx("10.251.0.0/24"), PodCIDR: pfx("10.32.0.0/12"),
				ServiceCIDR: pfx("10.200.0.0/16"), DummyCIDR: DefaultDummyCIDR},
		},
		{name: "zero nodes", env: map[string]string{EnvNodes: "0"},
			wantErr: []string{`LAB_NODES="0": must be an integer from 1 to 64`}},
		{name: "too many nodes", env: map[string]string{EnvNodes: "65"},
			wantErr: []string{`LAB_NODES="65": must be an integer from 1 to 64`}},
		{name: "nodes not a number", env: map[string]string{EnvNodes: "two"},
			wantErr: []string{`LAB_NODES="two": must be an integer from 1 to 64`}},
		{name: "cidr without length", env: map[string]string{EnvPodCIDR: "10.244.0.0"},
			wantErr: []string{`LAB_POD_CIDR="10.244.0.0": must be an IPv4 CIDR such as 10.244.0.0/16`}},
		{
			name: "every error reported",
			env:  map[string]string{EnvNodes: "-1", EnvUnderlay: "x", EnvServiceCIDR: "10.96.0.0/33"},
			wantErr: []string{`LAB_NODES="-1"`, `LAB_UNDERLAY_CIDR="x"`,
				`LAB_SERVICE_CIDR="10.96.0.0/33": must be an IPv4 CIDR such as 10.96.0.0/12`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromEnv(env(tt.env))
			if tt.wantErr == nil {
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
				return
			}
			require.Error(t, err)
			for _, s := range tt.wantErr {
				assert.Contains(t, err.Error(), s)
			}
		})
	}
}

func TestAddresses(t *testing.T) {
	p := Default()
	assert.Equal(t, addr("10.250.0.1"), p.RootIP())
	assert.Equal(t, addr("10.250.0.11"), p.NodeIP(1))
	assert.Equal(t, addr("10.250.0.12"), p.NodeIP(2))
	assert.Equal(t, pfx("10.244.1.0/24"), p.NodePodCIDR(1))
	assert.Equal(t, pfx("10.244.2.0/24"), p.NodePodCIDR(2))
	assert.Equal(t, []netip.Prefix{DefaultPodCIDR, DefaultServiceCIDR, DefaultDummyCIDR}, p.UnreachableRanges())

	// Outside 1..Nodes there is no node: the zero value, never a panic or a neighbour's address.
	for _, i := range []int{-1, 0, 3} {
		assert.False(t, p.NodeIP(i).IsValid(), "NodeIP(%d)", i)
		assert.False(t, p.NodePodCIDR(i).IsValid(), "NodePodCIDR(%d)", i)
	}

	big := Plan{Nodes: 64, Underlay: pfx("10.251.8.0/25"), PodCIDR: pfx("10.32.0.0/12")}
	assert.Equal(t, addr("10.251.8.1"), big.RootIP())
	assert.Equal(t, addr("10.251.8.74"), big.NodeIP(64))
	assert.Equal(t, pfx("10.32.64.0/24"), big.NodePodCIDR(64))

	// Addresses that do not fit an (invalid) plan are zero too.
	small := Plan{Nodes: 2, Underlay: pfx("10.251.8.0/29"), PodCIDR: pfx("10.32.0.0/24")}
	assert.False(t, small.NodeIP(1).IsValid())
	assert.False(t, small.NodePodCIDR(1).IsValid())
	assert.False(t, Plan{}.RootIP().IsValid())
}

func TestNames(t *testing.T) {
	assert.Equal(t, "nb-node-1", NodeName(1))
	assert.Equal(t, "nb-node-12", NodeNetns(12))
	assert.Equal(t, "nb-n12-ul", NodePeerLink(12))
	assert.Equal(t, "nb-underlay", UnderlayNetns)
	// Link names must fit IFNAMSIZ (15 characters plus NUL).
	for _, name := range []string{NodePeerLink(MaxNodes), RootLink, RootPeerLink, UnderlayBridge} {
		assert.LessOrEqual(t, len(name), 15, name)
		assert.True(t, strings.HasPrefix(name, Prefix), name)
	}
}

func TestDescribe(t *testing.T) {
	want := `lab plan: 2 node(s), no default route in any lab namespace
range          prefix         set by             use
underlay       10.250.0.0/24  LAB_UNDERLAY_CIDR  root 10.250.0.1 on nb-root; node i at .10+i on eth0
pod CIDR       10.244.0.0/16  LAB_POD_CIDR       node i owns the i-th /24; unreachable from the root netns
Service range  10.96.0.0/12   LAB_SERVICE_CIDR   ClusterIPs; unreachable from the root netns
dummy range    198.18.0.0/15  (fixed)            dummy endpoints, nothing listens; unreachable from the root netns

node       netns      eth0         pod CIDR
nb-node-1  nb-node-1  10.250.0.11  10.244.1.0/24
nb-node-2  nb-node-2  10.250.0.12  10.244.2.0/24
`
	assert.Equal(t, want, Default().Describe())
	// An invalid plan still describes itself.
	assert.Contains(t, Plan{Nodes: 1}.Describe(), "nb-node-1  nb-node-1  invalid  invalid")
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func addr(s string) netip.Addr  { return netip.MustParseAddr(s) }
