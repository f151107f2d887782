// Command genrules writes kube-proxy-shaped rule sets for the capture in
// ../capture.sh: an iptables-restore input for the nat table (IPv4 and IPv6)
// and an `nft -f` script for the kube-proxy table. Chain names use kube-proxy
// v1.37.2's own hash functions and the rules copy the shapes of
// pkg/proxy/iptables/proxier.go and pkg/proxy/nftables/proxier.go (and the
// expected outputs of their proxier_test.go), so that what iptables-save and
// nft print back is what they print on a node running kube-proxy.
//
// It lives under testdata/ so that it is not part of the module's packages.
// Usage: go run ./testdata/kube-proxy/genrules <ipt4|ipt6|nft4|nft6|nft4-empty> > file
package main

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

type service struct {
	ns, name, port string // port is the port *name*, "" when unnamed
	proto          string
	clusterIP      string
	svcPort        int
	targetPort     int
	endpoints      []string
	externalIPs    []string
	lbIPs          []string
}

func (s service) portName() string { // ServicePortName.String()
	n := s.ns + "/" + s.name
	if s.port != "" {
		n += ":" + s.port
	}
	return n
}

// portProtoHash is pkg/proxy/iptables.portProtoHash.
func portProtoHash(spn, proto string) string {
	h := sha256.Sum256([]byte(spn + proto))
	return base32.StdEncoding.EncodeToString(h[:])[:16]
}

// sepHash is the hash of pkg/proxy/iptables.servicePortEndpointChainName.
func sepHash(spn, proto, ep string) string {
	h := sha256.Sum256([]byte(spn + proto + ep))
	return base32.StdEncoding.EncodeToString(h[:])[:16]
}

// nftBase is pkg/proxy/nftables.servicePortChainNameBase.
func nftBase(s service) string {
	name := fmt.Sprintf("%s/%s/%s/%s", s.ns, s.name, s.proto, s.port)
	h := sha256.Sum256([]byte(name))
	return base32.StdEncoding.EncodeToString(h[:])[:8] + "-" + name
}

func v4services() []service {
	var dummies []service
	for i := 1; i <= 5; i++ {
		var eps []string
		for e := 0; e < 4; e++ {
			g := (i-1)*4 + e // dummy endpoints in 198.18.0.0/15 (lab-recipe §7)
			eps = append(eps, fmt.Sprintf("198.18.%d.%d", g/254, g%254+1))
		}
		dummies = append(dummies, service{ns: "test-services", name: "dummy-svc-" + strconv.Itoa(i), proto: "tcp",
			clusterIP: fmt.Sprintf("10.96.100.%d", i), svcPort: 80, targetPort: 80, endpoints: eps})
	}
	// A fixed order that interleaves kinds, as kube-proxy's map-ordered output does.
	return []service{
		dummies[2],
		{ns: "default", name: "kubernetes", port: "https", proto: "tcp", clusterIP: "10.96.0.1", svcPort: 443, targetPort: 6443, endpoints: []string{"10.250.0.1"}},
		dummies[0],
		{ns: "kube-system", name: "kube-dns", port: "dns", proto: "udp", clusterIP: "10.96.0.10", svcPort: 53, targetPort: 53, endpoints: []string{"10.244.1.2", "10.244.2.2"}},
		{ns: "network-benchmark", name: "web", port: "http", proto: "tcp", clusterIP: "10.96.7.80", svcPort: 80, targetPort: 8080,
			endpoints: []string{"10.244.1.7"}, externalIPs: []string{"192.0.2.10"}, lbIPs: []string{"203.0.113.7"}},
		dummies[4],
		{ns: "network-benchmark", name: "fortio-service", proto: "tcp", clusterIP: "10.96.12.34", svcPort: 8080, targetPort: 8080, endpoints: []string{"10.244.1.5"}},
		{ns: "kube-system", name: "kube-dns", port: "dns-tcp", proto: "tcp", clusterIP: "10.96.0.10", svcPort: 53, targetPort: 53, endpoints: []string{"10.244.1.2", "10.244.2.2"}},
		dummies[1],
		{ns: "network-benchmark", name: "iperf-service", proto: "tcp", clusterIP: "10.96.40.7", svcPort: 5201, targetPort: 5201, endpoints: []string{"10.244.1.6"}},
		dummies[3],
	}
}

func v6services() []service {
	return []service{
		{ns: "default", name: "kubernetes", port: "https", proto: "tcp", clusterIP: "fd00:10:96::1", svcPort: 443, targetPort: 6443, endpoints: []string{"fd00:10:250::1"}},
		{ns: "network-benchmark", name: "fortio-service", proto: "tcp", clusterIP: "fd00:10:96::1234", svcPort: 8080, targetPort: 8080, endpoints: []string{"fd00:10:244:1::5"}},
	}
}

// iptables writes the nat table as kube-proxy's iptables proxier does
// (Cluster traffic policy, no session affinity), with the base jump rules
// kube-proxy ensures in the built-in chains.
func iptables(svcs []service, podCIDR string) string {
	var chains, rules []string
	chain := func(c string) { chains = append(chains, ":"+c+" - [0:0]") }
	rule := func(f string, a ...any) { rules = append(rules, fmt.Sprintf(f, a...)) }
	for _, c := range []string{"KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-MARK-MASQ"} {
		chain(c)
	}
	rule(`-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`)
	rule(`-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`)
	rule(`-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING`)
	var svcRules, perSvc []string
	for _, s := range svcs {
		spn, h := s.portName(), portProtoHash(s.portName(), s.proto)
		svc, ext := "KUBE-SVC-"+h, "KUBE-EXT-"+h
		chain(svc)
		svcRules = append(svcRules, fmt.Sprintf(`-A KUBE-SERVICES -m comment --comment "%s cluster IP" -m %s -p %s -d %s --dport %d -j %s`, spn, s.proto, s.proto, s.clusterIP, s.svcPort, svc))
		for _, ip := range s.externalIPs {
			svcRules = append(svcRules, fmt.Sprintf(`-A KUBE-SERVICES -m comment --comment "%s external IP" -m %s -p %s -d %s --dport %d -j %s`, spn, s.proto, s.proto, ip, s.svcPort, ext))
		}
		for _, ip := range s.lbIPs {
			svcRules = append(svcRules, fmt.Sprintf(`-A KUBE-SERVICES -m comment --comment "%s loadbalancer IP" -m %s -p %s -d %s --dport %d -j %s`, spn, s.proto, s.proto, ip, s.svcPort, ext))
		}
		if len(s.externalIPs)+len(s.lbIPs) > 0 {
			chain(ext)
			perSvc = append(perSvc,
				fmt.Sprintf(`-A %s -m comment --comment "masquerade traffic for %s external destinations" -j KUBE-MARK-MASQ`, ext, spn),
				fmt.Sprintf(`-A %s -j %s`, ext, svc))
		}
		perSvc = append(perSvc, fmt.Sprintf(`-A %s -m comment --comment "%s cluster IP" -m %s -p %s -d %s --dport %d ! -s %s -j KUBE-MARK-MASQ`, svc, spn, s.proto, s.proto, s.clusterIP, s.svcPort, podCIDR))
		for i, ep := range s.endpoints {
			hp := net.JoinHostPort(ep, strconv.Itoa(s.targetPort))
			sep := "KUBE-SEP-" + sepHash(spn, s.proto, hp)
			chain(sep)
			prob := ""
			if left := len(s.endpoints) - i; left > 1 {
				prob = fmt.Sprintf(" -m statistic --mode random --probability %0.10f", 1.0/float64(left))
			}
			perSvc = append(perSvc,
				fmt.Sprintf(`-A %s -m comment --comment "%s -> %s"%s -j %s`, svc, spn, hp, prob, sep),
				fmt.Sprintf(`-A %s -m comment --comment %s -s %s -j KUBE-MARK-MASQ`, sep, spn, ep),
				fmt.Sprintf(`-A %s -m comment --comment %s -m %s -p %s -j DNAT --to-destination %s`, sep, spn, s.proto, s.proto, hp))
		}
	}
	rules = append(rules, svcRules...)
	rules = append(rules, `-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS`)
	rules = append(rules,
		`-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000`,
		`-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN`,
		`-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000`,
		`-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully`)
	rules = append(rules, perSvc...)
	return "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n" +
		strings.Join(chains, "\n") + "\n" + strings.Join(rules, "\n") + "\nCOMMIT\n"
}

// nftBaseRules is baseRules of pkg/proxy/nftables/proxier_test.go (v1.37.2)
// with the lab's Service range and pod CIDR.
const nftBaseRules = `add table ip kube-proxy { comment "rules for kube-proxy" ; }
add set ip kube-proxy cluster-ips { type ipv4_addr ; comment "Active ClusterIPs" ; }
add set ip kube-proxy nodeport-ips { type ipv4_addr ; comment "IPs that accept NodePort traffic" ; }
add set ip kube-proxy hairpin-connections { type ipv4_addr . ipv4_addr . inet_proto . inet_service ; comment "service hairpin connections" ; }
add map ip kube-proxy firewall-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "destinations that are subject to LoadBalancerSourceRanges" ; }
add map ip kube-proxy no-endpoint-nodeports { type inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to service nodeports with no endpoints" ; }
add map ip kube-proxy no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }
add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }
add map ip kube-proxy service-nodeports { type inet_proto . inet_service : verdict ; comment "NodePort traffic" ; }
add chain ip kube-proxy cluster-ips-check
add chain ip kube-proxy filter-prerouting-pre-dnat { type filter hook prerouting priority -110 ; }
add chain ip kube-proxy filter-output-pre-dnat { type filter hook output priority -110 ; }
add chain ip kube-proxy filter-forward { type filter hook forward priority 0 ; }
add chain ip kube-proxy filter-input { type filter hook input priority 0 ; }
add chain ip kube-proxy filter-output { type filter hook output priority 0 ; }
add chain ip kube-proxy firewall-check
add chain ip kube-proxy masquerading
add chain ip kube-proxy nat-output { type nat hook output priority -100 ; }
add chain ip kube-proxy nat-postrouting { type nat hook postrouting priority 100 ; }
add chain ip kube-proxy nat-prerouting { type nat hook prerouting priority -100 ; }
add chain ip kube-proxy nodeport-endpoints-check
add chain ip kube-proxy reject-chain { comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; }
add chain ip kube-proxy services
add chain ip kube-proxy service-endpoints-check
add rule ip kube-proxy cluster-ips-check ip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"
add rule ip kube-proxy cluster-ips-check ip daddr { 10.96.0.0/12 } drop comment "Drop traffic to unallocated ClusterIPs"
add rule ip kube-proxy filter-prerouting-pre-dnat ct state new jump firewall-check
add rule ip kube-proxy filter-forward ct state new jump service-endpoints-check
add rule ip kube-proxy filter-forward ct state new jump cluster-ips-check
add rule ip kube-proxy filter-input ct state new jump nodeport-endpoints-check
add rule ip kube-proxy filter-input ct state new jump service-endpoints-check
add rule ip kube-proxy filter-output ct state new jump service-endpoints-check
add rule ip kube-proxy filter-output-pre-dnat ct state new jump firewall-check
add rule ip kube-proxy filter-output ct state new jump cluster-ips-check
add rule ip kube-proxy firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips
add rule ip kube-proxy masquerading mark and 0x4000 != 0 mark set mark xor 0x4000 masquerade fully-random
add rule ip kube-proxy masquerading ct status dnat ip saddr . ip daddr . meta l4proto . th dport @hairpin-connections masquerade fully-random
add rule ip kube-proxy nat-output jump services
add rule ip kube-proxy nat-postrouting jump masquerading
add rule ip kube-proxy nat-prerouting jump services
add rule ip kube-proxy nodeport-endpoints-check ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports
add rule ip kube-proxy reject-chain reject
add rule ip kube-proxy services ip daddr @cluster-ips ip saddr != 10.244.0.0/16 mark set mark or 0x4000 comment "masquerade clusterIP traffic from outside cluster"
add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips
add rule ip kube-proxy services ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports
add element ip kube-proxy nodeport-ips { 10.250.0.12 }
add rule ip kube-proxy service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services
`

// nftV6 is the part of the ip6 kube-proxy table that service-ips needs: the
// table, the map (as in baseRulesV6) and the service chains it points to.
const nftV6 = `add table ip6 kube-proxy { comment "rules for kube-proxy" ; }
add map ip6 kube-proxy service-ips { type ipv6_addr . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }
`

// nft writes the kube-proxy table as the nftables proxier does.
func nft(family string, svcs []service) string {
	var b strings.Builder
	if family == "ip6" {
		b.WriteString(nftV6)
	} else {
		b.WriteString(nftBaseRules)
	}
	for _, s := range svcs {
		base := nftBase(s)
		svc, ext := "service-"+base, "external-"+base
		fmt.Fprintf(&b, "add chain %s kube-proxy %s\n", family, svc)
		if len(s.endpoints) == 1 {
			fmt.Fprintf(&b, "add rule %s kube-proxy %s meta l4proto %s dnat to %s\n", family, svc, s.proto, net.JoinHostPort(s.endpoints[0], strconv.Itoa(s.targetPort)))
		} else {
			var m []string
			for i, ep := range s.endpoints {
				m = append(m, fmt.Sprintf("%d : %s . %d", i, ep, s.targetPort))
			}
			fmt.Fprintf(&b, "add rule ip kube-proxy %s meta l4proto %s dnat ip addr . port to numgen random mod %d map { %s }\n", svc, s.proto, len(s.endpoints), strings.Join(m, " , "))
		}
		fmt.Fprintf(&b, "add element %s kube-proxy service-ips { %s . %s . %d : goto %s }\n", family, s.clusterIP, s.proto, s.svcPort, svc)
		if family == "ip6" {
			continue
		}
		fmt.Fprintf(&b, "add element ip kube-proxy cluster-ips { %s }\n", s.clusterIP)
		for _, ep := range s.endpoints {
			fmt.Fprintf(&b, "add element ip kube-proxy hairpin-connections { %s . %s . %s . %d }\n", ep, ep, s.proto, s.targetPort)
		}
		if len(s.externalIPs)+len(s.lbIPs) > 0 {
			fmt.Fprintf(&b, "add chain ip kube-proxy %s\n", ext)
			fmt.Fprintf(&b, "add rule ip kube-proxy %s mark set mark or 0x4000 comment \"masquerade\"\n", ext)
			fmt.Fprintf(&b, "add rule ip kube-proxy %s goto %s\n", ext, svc)
			for _, ip := range append(append([]string{}, s.externalIPs...), s.lbIPs...) {
				fmt.Fprintf(&b, "add element ip kube-proxy service-ips { %s . %s . %d : goto %s }\n", ip, s.proto, s.svcPort, ext)
			}
		}
	}
	return b.String()
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: genrules ipt4|ipt6|nft4|nft6|nft4-empty")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "ipt4":
		fmt.Print(iptables(v4services(), "10.244.0.0/16"))
	case "ipt6":
		fmt.Print(iptables(v6services(), "fd00:10:244::/56"))
	case "nft4":
		fmt.Print(nft("ip", v4services()))
	case "nft6":
		fmt.Print(nft("ip6", v6services()))
	case "nft4-empty":
		fmt.Print(nftBaseRules)
	default:
		fmt.Fprintln(os.Stderr, "unknown output", os.Args[1])
		os.Exit(2)
	}
}
