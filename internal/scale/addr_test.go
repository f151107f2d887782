package scale

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEndpointAddr(t *testing.T) {
	pfx := netip.MustParsePrefix
	cases := []struct {
		prefix string
		g      int
		want   string // "" = error
	}{
		{"198.18.0.0/15", 0, "198.18.0.1"},
		{"198.18.0.0/15", 253, "198.18.0.254"},
		{"198.18.0.0/15", 254, "198.18.0.255"}, // a host address inside a /15
		{"198.18.0.0/15", 255, "198.18.1.0"},
		{"198.18.0.0/15", 65535, "198.19.0.0"},
		{"198.18.0.0/15", 131069, "198.19.255.254"}, // the last host address
		{"198.18.0.0/15", 131070, ""},               // would be the broadcast address
		{"198.18.0.0/15", 1 << 40, ""},
		{"198.18.0.0/15", -1, ""},
		{"198.18.5.7/15", 0, "198.18.0.1"}, // an unmasked prefix counts from its network
		{"198.18.0.0/30", 0, "198.18.0.1"},
		{"198.18.0.0/30", 1, "198.18.0.2"},
		{"198.18.0.0/30", 2, ""},
		{"198.18.0.0/31", 0, ""},
		{"198.18.0.0/32", 0, ""},
		{"255.255.255.0/24", 253, "255.255.255.254"}, // no overflow at the top of the space
		{"255.255.255.0/24", 254, ""},
		{"0.0.0.0/0", 0, "0.0.0.1"},
		{"2001:db8::/64", 0, ""},
	}
	for _, tc := range cases {
		got, err := EndpointAddr(pfx(tc.prefix), tc.g)
		if tc.want == "" {
			require.Error(t, err, "%s g=%d gave %s", tc.prefix, tc.g, got)
			continue
		}
		require.NoError(t, err, "%s g=%d", tc.prefix, tc.g)
		require.Equal(t, tc.want, got.String(), "%s g=%d", tc.prefix, tc.g)
		require.True(t, pfx(tc.prefix).Masked().Contains(got))
	}
	_, err := EndpointAddr(netip.Prefix{}, 0)
	require.ErrorContains(t, err, "not an IPv4 prefix")
	_, err = EndpointAddr(pfx("198.18.0.0/15"), 131070)
	require.ErrorContains(t, err, "endpoint 131070: outside 198.18.0.0/15, which holds 131070 endpoint addresses (0..131069)")
}

func TestHostCount(t *testing.T) {
	for prefix, want := range map[string]uint64{
		"198.18.0.0/15": 131070, "10.96.0.0/12": 1<<20 - 2, "10.0.0.0/24": 254, "10.0.0.0/30": 2,
		"10.0.0.0/31": 0, "10.0.0.0/32": 0, "0.0.0.0/0": 1<<32 - 2, "::/64": 0,
	} {
		require.Equal(t, want, hostCount(netip.MustParsePrefix(prefix)), prefix)
	}
	require.Zero(t, hostCount(netip.Prefix{}))
}

func TestAllocation(t *testing.T) {
	require.False(t, Auto.IsExplicit())
	require.False(t, Allocation{}.IsExplicit(), "the zero value is Auto")
	require.Equal(t, "auto", Auto.String())
	ex := Explicit(netip.MustParsePrefix("10.96.0.0/12"))
	require.True(t, ex.IsExplicit())
	require.Equal(t, "explicit 10.96.0.0/12", ex.String())
	require.Equal(t, "explicit 10.96.0.0/12", Explicit(netip.MustParsePrefix("10.96.7.9/12")).String())

	require.NoError(t, Auto.check(1<<30))
	require.NoError(t, ex.check(30000))
	require.NoError(t, Explicit(netip.MustParsePrefix("10.96.0.0/17")).check(30000), "a /17 holds 30,000")
	require.ErrorContains(t, Explicit(netip.MustParsePrefix("10.96.0.0/18")).check(30000),
		"Service range 10.96.0.0/18 has 16381 assignable addresses; MaxServices 30000 needs more")
	require.ErrorContains(t, Explicit(netip.Prefix{}).check(1), "must be an IPv4 prefix")
	require.ErrorContains(t, Explicit(netip.MustParsePrefix("fd00::/108")).check(1), "must be an IPv4 prefix")

	_, err := Auto.ClusterIP(0, 0, 10)
	require.ErrorContains(t, err, "allocation is auto")
}

func TestClusterIP(t *testing.T) {
	ex := Explicit(netip.MustParsePrefix("10.96.0.0/12"))
	ip := func(i, attempt, max int) string {
		a, err := ex.ClusterIP(i, attempt, max)
		require.NoError(t, err)
		return a.String()
	}
	require.Equal(t, "10.96.0.2", ip(0, 0, 30000), "never .0 (network) or .1 (the kubernetes Service)")
	require.Equal(t, "10.96.0.3", ip(1, 0, 30000))
	require.Equal(t, "10.96.117.49", ip(29999, 0, 30000), "2 + 29999 = 30001 = 117*256 + 49")
	require.Equal(t, "10.96.117.50", ip(0, 1, 30000), "the next candidate is one plan further")
	require.Equal(t, ip(7, 3, 30000), ip(7, 3, 30000), "deterministic")

	_, err := ex.ClusterIP(30000, 0, 30000)
	require.ErrorContains(t, err, "need 0 <= index < 30000")
	_, err = ex.ClusterIP(0, -1, 30000)
	require.Error(t, err)
	require.Equal(t, "10.111.255.254", ip(1<<20-4, 0, 1<<20-3), "the last assignable address of a /12, not its broadcast")
}

// TestClusterIPExhaustive walks every candidate of every index of a small
// range: none is the network, first or broadcast address, none is outside
// the range, no two are equal, and each index runs out with an error.
func TestClusterIPExhaustive(t *testing.T) {
	cidr := netip.MustParsePrefix("10.0.0.0/24")
	ex := Explicit(cidr)
	const max = 50
	owner := map[netip.Addr]int{}
	for i := range max {
		k := 0
		for ; ; k++ {
			a, err := ex.ClusterIP(i, k, max)
			if err != nil {
				require.ErrorContains(t, err, "candidates in 10.0.0.0/24 are taken")
				break
			}
			require.True(t, cidr.Contains(a), "%s", a)
			last := a.As4()[3]
			require.NotContains(t, []byte{0, 1, 255}, last, "index %d attempt %d: %s", i, k, a)
			prev, dup := owner[a]
			require.False(t, dup, "%s is a candidate of indexes %d and %d", a, prev, i)
			owner[a] = i
		}
		// 253 assignable addresses (.2-.254): indexes 0-2 get 6 candidates, the rest 5.
		want := 5
		if i < 3 {
			want = 6
		}
		require.Equal(t, want, k, "index %d", i)
	}
	require.Len(t, owner, 253, "every assignable address is some index's candidate")
}
