package dataplane

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNftServiceIPsCaptured(t *testing.T) {
	els, err := NftServiceIPs(testdata(t, "nft-service-ips.txt"))
	require.NoError(t, err)
	require.Len(t, els, 13, "11 cluster IPs, an external and a load-balancer IP")

	require.Equal(t, NftElement{IP: "10.96.0.10", Protocol: "tcp", Port: "53", Verdict: "goto",
		Chain: "service-NWBZK7IH-kube-system/kube-dns/tcp/dns-tcp", ServicePort: "kube-system/kube-dns:dns-tcp"}, els[0])
	require.Equal(t, NftElement{IP: "10.96.100.1", Protocol: "tcp", Port: "80", Verdict: "goto",
		Chain: "service-JD66724R-test-services/dummy-svc-1/tcp/", ServicePort: "test-services/dummy-svc-1"}, els[2], "an unnamed port")
	require.Equal(t, NftElement{IP: "203.0.113.7", Protocol: "tcp", Port: "80", Verdict: "goto",
		Chain: "external-POOOJFGM-network-benchmark/web/tcp/http", ServicePort: "network-benchmark/web:http", External: true}, els[7])
	require.Equal(t, NftElement{IP: "10.96.0.1", Protocol: "tcp", Port: "443", Verdict: "goto",
		Chain: "service-2QRHZV4L-default/kubernetes/tcp/https", ServicePort: "default/kubernetes:https"}, els[12])

	// The same Services as the iptables capture: both dataplanes name them alike.
	rules, err := KubeServicesRules(testdata(t, "iptables-save-nat.txt"))
	require.NoError(t, err)
	fromIPT, fromNFT := map[string]bool{}, map[string]bool{}
	for _, r := range rules {
		if r.Kind == RuleClusterIP {
			fromIPT[r.Comment+" "+r.ClusterIP+":"+r.Port] = true
		}
	}
	for _, e := range els {
		if !e.External {
			fromNFT[e.ServicePort+" "+e.IP+":"+e.Port] = true
		}
	}
	require.Equal(t, fromIPT, fromNFT)
}

func TestNftServiceIPsCapturedIPv6(t *testing.T) {
	els, err := NftServiceIPs(testdata(t, "nft-service-ips-ip6.txt"))
	require.NoError(t, err)
	require.Equal(t, []NftElement{
		{IP: "fd00:10:96::1234", Protocol: "tcp", Port: "8080", Verdict: "goto", Chain: "service-RGKSGVVX-network-benchmark/fortio-service/tcp/", ServicePort: "network-benchmark/fortio-service"},
		{IP: "fd00:10:96::1", Protocol: "tcp", Port: "443", Verdict: "goto", Chain: "service-2QRHZV4L-default/kubernetes/tcp/https", ServicePort: "default/kubernetes:https"},
	}, els)
}

func TestNftServiceIPsCapturedEmptyMap(t *testing.T) {
	els, err := NftServiceIPs(testdata(t, "nft-service-ips-empty.txt"))
	require.NoError(t, err)
	require.Empty(t, els)
}

func TestNftServiceIPs(t *testing.T) {
	full := testdata(t, "nft-service-ips.txt")
	wrap := func(elements string) string {
		return "table ip kube-proxy {\n\tmap service-ips {\n\t\ttype ipv4_addr . inet_proto . inet_service : verdict\n\t\telements = { " + elements + " }\n\t}\n}\n"
	}
	cases := []struct {
		name, in string
		want     []NftElement
		err      string
	}{
		{name: "jump and bare verdicts, a local- chain, a truncated chain name",
			in: wrap("10.0.0.1 . udp . 53 : jump local-AAAAAAAA-ns/svc/udp/dns, 10.0.0.2 . tcp . 80 : drop, 10.0.0.3 . sctp . 9 : goto service-BBBBBBBB-ns/very-long..."),
			want: []NftElement{
				{IP: "10.0.0.1", Protocol: "udp", Port: "53", Verdict: "jump", Chain: "local-AAAAAAAA-ns/svc/udp/dns", ServicePort: "ns/svc:dns"},
				{IP: "10.0.0.2", Protocol: "tcp", Port: "80", Verdict: "drop"},
				{IP: "10.0.0.3", Protocol: "sctp", Port: "9", Verdict: "goto", Chain: "service-BBBBBBBB-ns/very-long..."},
			}},
		{name: "a chain that is not kube-proxy's", in: wrap("10.0.0.1 . tcp . 1 : goto mychain"),
			want: []NftElement{{IP: "10.0.0.1", Protocol: "tcp", Port: "1", Verdict: "goto", Chain: "mychain"}}},

		{name: "empty (nft prints nothing when the map is missing)", in: "\n", err: "empty: the kube-proxy table or its service-ips map does not exist"},
		{name: "nft's error text", in: "Error: No such file or directory\nlist map ip kube-proxy service-ips\n                       ^^^^^^^^^^^^^^\n",
			err: `want a listing beginning "table ip kube-proxy { map service-ips {", got "Error: No such file or directory list"`},
		{name: "another map", in: strings.Replace(full, "service-ips", "service-nodeports", 1), err: `got "table ip kube-proxy { map service-nodeports {"`},
		{name: "another table", in: strings.Replace(full, "kube-proxy", "cilium", 1), err: `got "table ip cilium {`},
		{name: "inet family", in: strings.Replace(full, "table ip ", "table inet ", 1), err: `table family "inet": kube-proxy uses ip and ip6`},
		{name: "truncated in the elements", in: full[:len(full)/2], err: "does not close all its braces: output truncated"},
		{name: "truncated before the table's brace", in: strings.TrimSuffix(strings.TrimSpace(full), "}"), err: "output truncated"},
		{name: "two listings", in: full + full, err: "text after the table's closing brace"},
		{name: "element without a verdict", in: wrap("10.0.0.1 . tcp . 80"), err: `element 1: "10.0.0.1 . tcp . 80" has no " : " between key and verdict`},
		{name: "key of two parts", in: wrap("tcp . 80 : goto x"), err: `key "tcp . 80" is not address . protocol . port`},
		{name: "key without an address", in: wrap("foo . tcp . 80 : goto x"), err: `"foo" is not an address`},
		{name: "goto without a chain", in: wrap("10.0.0.1 . tcp . 80 : goto"), err: `verdict "goto" is not`},
		{name: "empty element", in: wrap("10.0.0.1 . tcp . 80 : drop,"), err: "element 2"},
		// What FuzzNftServiceIPs found accepted (testdata/fuzz/FuzzNftServiceIPs).
		{name: "fuzz: an IPv6 address, protocol 0, port 0, verdict 0 in an ip table",
			in: "table ip kube-proxy { map service-ips { elements = {:: . 0 . 0 : 0}}}", err: `"::" is not an address of a table of family ip`},
		{name: "an IPv4 address in an ip6 table", in: strings.Replace(wrap("10.0.0.1 . tcp . 80 : drop"), "table ip ", "table ip6 ", 1),
			err: `"10.0.0.1" is not an address of a table of family ip6`},
		{name: "a protocol kube-proxy does not program", in: wrap("10.0.0.1 . icmp . 80 : drop"), err: `protocol "icmp" is not one of tcp, udp, sctp`},
		{name: "port 0", in: wrap("10.0.0.1 . tcp . 0 : drop"), err: `port "0" is not a number from 1 to 65535`},
		{name: "a port by name", in: wrap("10.0.0.1 . tcp . https : drop"), err: `port "https" is not a number`},
		{name: "port out of range", in: wrap("10.0.0.1 . tcp . 65536 : drop"), err: `port "65536"`},
		{name: "a bare word that is no verdict", in: wrap("10.0.0.1 . tcp . 80 : 0"), err: `verdict "0" is not "goto <chain>", "jump <chain>" or one of accept, drop, continue, return`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NftServiceIPs(tc.in)
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
