package scale

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// testPlan is a small valid plan: 10 Services per namespace, room for 100.
func testPlan(runID string) Plan {
	return Plan{RunID: runID, Endpoints: 4, PerNamespace: 10, NamespacePrefix: DefaultNamespacePrefix,
		Dummy: DefaultDummy, Port: DefaultPort, MaxServices: 100}
}

func TestValidate(t *testing.T) {
	require.NoError(t, testPlan("r1").Validate())
	full := testPlan("r1")
	full.PerNamespace, full.MaxServices = MaxPerNamespace, 30000
	require.NoError(t, full.Validate(), "the seed's largest step fits the default plan")

	cases := []struct {
		name   string
		change func(p *Plan)
		want   []string
	}{
		{"no run", func(p *Plan) { p.RunID = "" }, []string{"RunID is empty"}},
		{"bad run", func(p *Plan) { p.RunID = "Run 1!" }, []string{`RunID "Run 1!" is not a valid label value`}},
		{"uppercase run", func(p *Plan) { p.RunID = "Run1" }, []string{`namespace name "nb-scale-Run1-9"`, "DNS-1123"}},
		{"too long for a namespace", func(p *Plan) { p.RunID = strings.Repeat("a", 60) }, []string{"is not a valid DNS-1123 label", "63"}},
		{"endpoints 0", func(p *Plan) { p.Endpoints = 0 }, []string{"Endpoints 0: must be 1..100"}},
		{"endpoints 101", func(p *Plan) { p.Endpoints = 101 }, []string{"Endpoints 101: must be 1..100"}},
		{"per namespace 0", func(p *Plan) { p.PerNamespace = 0 }, []string{"PerNamespace 0: must be 1..5000"}},
		{"per namespace 5001", func(p *Plan) { p.PerNamespace = 5001 }, []string{"PerNamespace 5001: must be 1..5000"}},
		{"port 0", func(p *Plan) { p.Port = 0 }, []string{"Port 0: must be 1..65535"}},
		{"max services 0", func(p *Plan) { p.MaxServices = 0 }, []string{"MaxServices 0: must be at least 1"}},
		{"no prefix", func(p *Plan) { p.NamespacePrefix = "" }, []string{"NamespacePrefix is empty"}},
		{"no dummy", func(p *Plan) { p.Dummy = netip.Prefix{} }, []string{"Dummy invalid Prefix: must be an IPv4 prefix"}},
		{"ipv6 dummy", func(p *Plan) { p.Dummy = netip.MustParsePrefix("2001:db8::/64") }, []string{"Dummy 2001:db8::/64: must be an IPv4 prefix"}},
		{"dummy too small", func(p *Plan) { p.Dummy = netip.MustParsePrefix("198.18.0.0/24"); p.MaxServices = 64 },
			[]string{"Dummy 198.18.0.0/24 holds 254 endpoint addresses; MaxServices 64 x Endpoints 4 needs 256"}},
		{"seed step on a /16", func(p *Plan) { p.Dummy = netip.MustParsePrefix("198.18.0.0/16"); p.MaxServices = 30000 },
			[]string{"holds 65534 endpoint addresses; MaxServices 30000 x Endpoints 4 needs 120000"}},
		{"all at once", func(p *Plan) { p.Endpoints, p.PerNamespace, p.Port = 0, 0, -1 },
			[]string{"Endpoints 0", "PerNamespace 0", "Port -1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := testPlan("r1")
			tc.change(&p)
			err := p.Validate()
			require.Error(t, err)
			for _, w := range tc.want {
				require.ErrorContains(t, err, w)
			}
		})
	}

	edge := testPlan("r1")
	edge.Dummy, edge.MaxServices = netip.MustParsePrefix("198.18.0.0/24"), 63
	require.NoError(t, edge.Validate(), "63 x 4 = 252 of 254 host addresses")
}

func TestCheckRange(t *testing.T) {
	p := testPlan("r1")
	require.NoError(t, p.checkRange(0, 0))
	require.NoError(t, p.checkRange(40, 100))
	for _, r := range [][2]int{{-1, 5}, {5, 4}, {0, 101}} {
		require.ErrorContains(t, p.checkRange(r[0], r[1]), "must satisfy 0 <= from <= to <= MaxServices (100)")
	}
}

func TestNamespaces(t *testing.T) {
	p := testPlan("r1")
	require.Equal(t, "nb-scale-r1-0", p.Namespace(0))
	require.Equal(t, "nb-scale-r1-0", p.Namespace(9))
	require.Equal(t, "nb-scale-r1-1", p.Namespace(10))
	require.Equal(t, "nb-scale-r1-9", p.Namespace(99))
	require.Nil(t, p.namespaces(5, 5))
	require.Equal(t, []string{"nb-scale-r1-0"}, p.namespaces(0, 10))
	require.Equal(t, []string{"nb-scale-r1-0", "nb-scale-r1-1"}, p.namespaces(9, 11))
	require.Equal(t, []string{"nb-scale-r1-1", "nb-scale-r1-2"}, p.namespaces(10, 25))
}

func TestServiceIndex(t *testing.T) {
	for name, want := range map[string]int{"dummy-0": 0, "dummy-7": 7, "dummy-29999": 29999} {
		i, ok := serviceIndex(name)
		require.True(t, ok, name)
		require.Equal(t, want, i)
	}
	for _, name := range []string{"dummy-", "dummy-01", "dummy--1", "dummy-x", "svc-1", "dummy-3-1", ""} {
		_, ok := serviceIndex(name)
		require.False(t, ok, name)
	}
}

func TestService(t *testing.T) {
	p := testPlan("r1")
	s := p.Service(12)
	require.Equal(t, "dummy-12", s.Name)
	require.Equal(t, "nb-scale-r1-1", s.Namespace)
	require.Equal(t, map[string]string{"netbench.io/managed-by": "kube-netbench", "netbench.io/run": "r1", "netbench.io/role": "dummy"}, s.Labels)
	require.Equal(t, corev1.ServiceTypeClusterIP, s.Spec.Type)
	require.Empty(t, s.Spec.Selector, "the endpoints come from the hand-made slice")
	require.Empty(t, s.Spec.ClusterIP)
	require.Equal(t, []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(80), Protocol: corev1.ProtocolTCP}}, s.Spec.Ports)
}

func TestSlice(t *testing.T) {
	p := testPlan("r1")
	es := p.Slice(12)
	require.NotNil(t, es)
	require.Equal(t, "dummy-12-1", es.Name)
	require.Equal(t, "nb-scale-r1-1", es.Namespace)
	require.Equal(t, map[string]string{
		"netbench.io/managed-by": "kube-netbench", "netbench.io/run": "r1", "netbench.io/role": "dummy",
		"kubernetes.io/service-name": "dummy-12", "endpointslice.kubernetes.io/managed-by": "kube-netbench",
	}, es.Labels)
	require.Equal(t, discoveryv1.AddressTypeIPv4, es.AddressType)
	var addrs []string
	for _, ep := range es.Endpoints {
		require.Len(t, ep.Addresses, 1)
		require.NotNil(t, ep.Conditions.Ready)
		require.True(t, *ep.Conditions.Ready)
		addrs = append(addrs, ep.Addresses[0])
	}
	// g = 12*4+e = 48..51, the 49th..52nd addresses after 198.18.0.0.
	require.Equal(t, []string{"198.18.0.49", "198.18.0.50", "198.18.0.51", "198.18.0.52"}, addrs)
	require.Len(t, es.Ports, 1)
	require.Equal(t, "", *es.Ports[0].Name, "must match the Service's unnamed port")
	require.Equal(t, int32(80), *es.Ports[0].Port)
	require.Equal(t, corev1.ProtocolTCP, *es.Ports[0].Protocol)

	small := testPlan("r1")
	small.Dummy = netip.MustParsePrefix("198.18.0.0/30") // 2 host addresses
	require.Nil(t, small.Slice(0), "4 endpoints do not fit: nil, not a slice with wrong addresses")
}

func TestPlanAddressesDistinctAndInside(t *testing.T) {
	p := testPlan("r1")
	p.MaxServices, p.PerNamespace = 30000, MaxPerNamespace
	require.NoError(t, p.Validate())
	seen := map[netip.Addr]int{}
	for _, i := range []int{0, 1, 16383, 16384, 29998, 29999} {
		addrs, err := p.addrs(i)
		require.NoError(t, err)
		for _, a := range addrs {
			require.True(t, p.Dummy.Contains(a), "%s outside %s", a, p.Dummy)
			prev, dup := seen[a]
			require.False(t, dup, "%s used by Services %d and %d", a, prev, i)
			seen[a] = i
		}
	}
	last, err := p.addrs(29999)
	require.NoError(t, err)
	require.Equal(t, "198.19.212.192", last[3].String(), "g = 119999 -> 198.18.0.0 + 120000")
}
