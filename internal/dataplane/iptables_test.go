package dataplane

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestKubeServicesRulesCaptured(t *testing.T) {
	rules, err := KubeServicesRules(testdata(t, "iptables-save-nat.txt"))
	require.NoError(t, err)
	require.Len(t, rules, 14, "13 Service rules and the nodeports rule")

	// Spot checks against the capture, one per kind and port style.
	require.Equal(t, ServiceRule{Index: 1, Kind: RuleClusterIP, ClusterIP: "10.96.100.3", Port: "80", Protocol: "tcp",
		Comment: "test-services/dummy-svc-3", Chain: "KUBE-SVC-DGZHKE5WQMBGZH5Z"}, rules[0])
	require.Equal(t, ServiceRule{Index: 2, Kind: RuleClusterIP, ClusterIP: "10.96.0.1", Port: "443", Protocol: "tcp",
		Comment: "default/kubernetes:https", Chain: "KUBE-SVC-NPX46M4PTMTKRN6Y"}, rules[1])
	require.Equal(t, ServiceRule{Index: 4, Kind: RuleClusterIP, ClusterIP: "10.96.0.10", Port: "53", Protocol: "udp",
		Comment: "kube-system/kube-dns:dns", Chain: "KUBE-SVC-TCOU7JCQXEZGVUNU"}, rules[3])
	require.Equal(t, ServiceRule{Index: 6, Kind: RuleExternalIP, ClusterIP: "192.0.2.10", Port: "80", Protocol: "tcp",
		Comment: "network-benchmark/web:http", Chain: "KUBE-EXT-OCPXETAFDAVWDJXJ"}, rules[5])
	require.Equal(t, ServiceRule{Index: 7, Kind: RuleLoadBalancerIP, ClusterIP: "203.0.113.7", Port: "80", Protocol: "tcp",
		Comment: "network-benchmark/web:http", Chain: "KUBE-EXT-OCPXETAFDAVWDJXJ"}, rules[6])
	require.Equal(t, ServiceRule{Index: 14, Kind: RuleNodePorts,
		Comment: "kubernetes service nodeports; NOTE: this must be the last rule in this chain", Chain: "KUBE-NODEPORTS"}, rules[13])

	// The fronting Service's position: what W-STAT-10 records at each step.
	idx := -1
	clusterIPs := 0
	for i, r := range rules {
		require.Equal(t, i+1, r.Index)
		if r.Kind == RuleClusterIP {
			clusterIPs++
		}
		if r.Comment == "network-benchmark/fortio-service" && r.Kind == RuleClusterIP {
			idx = r.Index
			require.Equal(t, "10.96.12.34", r.ClusterIP)
			require.Equal(t, "8080", r.Port)
			require.Equal(t, "KUBE-SVC-MCYKSYZAPGMMBTR2", r.Chain)
		}
	}
	require.Equal(t, 9, idx)
	require.Equal(t, 11, clusterIPs, "what a W-SYNC-1 wait counts")
}

func TestKubeServicesRulesCapturedIPv6(t *testing.T) {
	rules, err := KubeServicesRules(testdata(t, "ip6tables-save-nat.txt"))
	require.NoError(t, err)
	require.Len(t, rules, 3)
	require.Equal(t, "fd00:10:96::1", rules[0].ClusterIP, "the /128 is dropped")
	require.Equal(t, "network-benchmark/fortio-service", rules[1].Comment)
	require.Equal(t, RuleNodePorts, rules[2].Kind)
}

func TestKubeServicesRulesNoKubeProxy(t *testing.T) {
	rules, err := KubeServicesRules(testdata(t, "iptables-save-nat-empty.txt"))
	require.EqualError(t, err, "iptables-save: no KUBE-SERVICES chain in the nat table: kube-proxy's iptables mode has not programmed this node")
	require.Nil(t, rules)
}

func TestKubeServicesRules(t *testing.T) {
	full := testdata(t, "iptables-save-nat.txt")
	const minimal = "*nat\n:KUBE-SERVICES - [0:0]\n%s\nCOMMIT\n"
	cases := []struct {
		name, in string
		want     []ServiceRule
		err      string
	}{
		{name: "empty chain", in: "*nat\n:KUBE-SERVICES - [0:0]\nCOMMIT\n", want: nil},
		{name: "counters (-c), kube-proxy's own argument order, an unquoted comment",
			in: strings.Replace(minimal, "%s", `[12:720] -A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O`+"\n"+
				`-A KUBE-SERVICES -m comment --comment legacy -d 172.30.0.42 -j KUBE-SVC-Y`, 1),
			want: []ServiceRule{
				{Index: 1, Kind: RuleClusterIP, ClusterIP: "172.30.0.41", Port: "80", Protocol: "tcp", Comment: "ns1/svc1:p80", Chain: "KUBE-SVC-XPGD46QRK7WJZT7O"},
				{Index: 2, Kind: RuleOther, ClusterIP: "172.30.0.42", Comment: "legacy", Chain: "KUBE-SVC-Y"},
			}},
		{name: "escaped quote in a comment",
			in:   strings.Replace(minimal, "%s", `-A KUBE-SERVICES -d 10.0.0.1/32 -p tcp -m comment --comment "ns/a\"b cluster IP" -m tcp --dport 1 -j KUBE-SVC-X`, 1),
			want: []ServiceRule{{Index: 1, Kind: RuleClusterIP, ClusterIP: "10.0.0.1", Port: "1", Protocol: "tcp", Comment: `ns/a"b`, Chain: "KUBE-SVC-X"}}},
		{name: "negated destination is not the Service address",
			in:   strings.Replace(minimal, "%s", `-A KUBE-SERVICES ! -d 127.0.0.0/8 -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS`, 1),
			want: []ServiceRule{{Index: 1, Kind: RuleNodePorts, Comment: "kubernetes service nodeports; NOTE: this must be the last rule in this chain", Chain: "KUBE-NODEPORTS"}}},
		{name: "other tables are ignored",
			in:   "*filter\n:KUBE-SERVICES - [0:0]\n-A KUBE-SERVICES -d 10.0.0.9/32 -j REJECT\nCOMMIT\n" + strings.Replace(minimal, "%s", `-A KUBE-SERVICES -d 10.0.0.0/24 -j KUBE-X`, 1),
			want: []ServiceRule{{Index: 1, Kind: RuleOther, ClusterIP: "10.0.0.0/24", Chain: "KUBE-X"}}},

		{name: "empty input", in: "", err: "no *nat table: not the output of iptables-save -t nat"},
		{name: "filter table only", in: "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n", err: "no *nat table"},
		{name: "an error message instead of rules", in: "iptables-save v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)\n", err: "no *nat table"},
		{name: "truncated", in: full[:len(full)/2], err: "the nat table has no COMMIT line: output truncated"},
		{name: "unterminated quote", in: strings.Replace(minimal, "%s", `-A KUBE-SERVICES -m comment --comment "ns/a cluster IP -j KUBE-SVC-X`, 1),
			err: `iptables-save line 3: unterminated quote: -A KUBE-SERVICES`},
		{name: "no target", in: strings.Replace(minimal, "%s", `-A KUBE-SERVICES -d 10.0.0.1/32 -p tcp`, 1), err: "iptables-save line 3: no -j target"},
		{name: "dangling option", in: strings.Replace(minimal, "%s", `-A KUBE-SERVICES -j KUBE-SVC-X --dport`, 1), err: "--dport without a value"},
		{name: "a cluster IP rule without a destination", in: strings.Replace(minimal, "%s", `-A KUBE-SERVICES -p tcp -m comment --comment "ns/a cluster IP" -j KUBE-SVC-X`, 1),
			err: `iptables-save line 3: cluster IP rule: destination "" is not one address (kube-proxy matches -d <address>/32 or /128)`},
		{name: "an external IP rule for a whole prefix", in: strings.Replace(minimal, "%s", `-A KUBE-SERVICES -d 192.0.2.0/24 -m comment --comment "ns/a external IP" -j KUBE-EXT-X`, 1),
			err: `external IP rule: destination "192.0.2.0/24" is not one address`},
		{name: "bad address", in: strings.Replace(minimal, "%s", `-A KUBE-SERVICES -d 10.0.0.300/32 -j KUBE-SVC-X`, 1), err: `destination "10.0.0.300/32" is not an address or prefix`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := KubeServicesRules(tc.in)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				require.Nil(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestSplitIptablesArgs(t *testing.T) {
	got, err := splitIptablesArgs(`-A C  -m comment --comment "a \\ b \"c\" 'd'" -j "X"`)
	require.NoError(t, err)
	require.Equal(t, []string{"-A", "C", "-m", "comment", "--comment", `a \ b "c" 'd'`, "-j", "X"}, got)
	_, err = splitIptablesArgs(`-A C --comment "x\`)
	require.EqualError(t, err, "backslash at the end of the line")
}
