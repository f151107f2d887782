package dataplane

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// NftElement is one element of kube-proxy's nftables service-ips verdict
// map: traffic to IP . Protocol . Port goes to Chain.
type NftElement struct {
	// IP is the Service address (cluster, external or load-balancer IP).
	IP string
	// Protocol is tcp, udp or sctp.
	Protocol string
	// Port is the Service port.
	Port string
	// Verdict is "goto" or "jump" for a chain, or a bare verdict such as
	// "drop" (then Chain is empty).
	Verdict string
	// Chain is the target chain, e.g. "service-2QRHZV4L-default/kubernetes/tcp/https".
	Chain string
	// ServicePort is the Service port the chain belongs to, in the format of
	// ServiceRule.Comment ("default/kubernetes:https", "ns/name" for an
	// unnamed port), so the two dataplanes compare; empty if the chain is
	// not one of kube-proxy's service chains.
	ServicePort string
	// External is true for kube-proxy's external-… chains (external and
	// load-balancer IPs), false for cluster IPs.
	External bool
}

// kube-proxy's nftables table and map (pkg/proxy/nftables/proxier.go).
const (
	nftTable     = "kube-proxy"
	nftServiceIP = "service-ips"
)

// NftServiceIPs parses the output of `nft list map ip kube-proxy service-ips`
// (or ip6). Its element count tells whether kube-proxy's nftables mode has
// programmed N Services (W-SYNC-1). nftables looks Services up in this map
// in one step, so unlike iptables there is no position to record. A map
// with no elements gives none and no error.
//
// It fails on empty input (nft prints nothing when the table or map does
// not exist), on a table or map other than kube-proxy's service-ips, on an
// unterminated listing (truncated), and on an element it cannot read.
func NftServiceIPs(nftListMap string) ([]NftElement, error) {
	text := strings.TrimSpace(nftListMap)
	if text == "" {
		return nil, errors.New("nft service-ips: empty: the kube-proxy table or its service-ips map does not exist (kube-proxy's nftables mode has not programmed this node)")
	}
	fields := strings.Fields(text)
	if len(fields) < 7 || fields[0] != "table" || fields[2] != nftTable || fields[3] != "{" ||
		fields[4] != "map" || fields[5] != nftServiceIP || fields[6] != "{" {
		return nil, fmt.Errorf("nft service-ips: want a listing beginning %q, got %q",
			"table ip kube-proxy { map service-ips {", strings.Join(fields[:min(len(fields), 7)], " "))
	}
	if fields[1] != "ip" && fields[1] != "ip6" {
		return nil, fmt.Errorf("nft service-ips: table family %q: kube-proxy uses ip and ip6", fields[1])
	}
	if err := balanced(text); err != nil {
		return nil, fmt.Errorf("nft service-ips: %w", err)
	}
	_, body, ok := strings.Cut(text, "elements = {")
	if !ok {
		return nil, nil
	}
	end := strings.IndexByte(body, '}')
	if end < 0 {
		return nil, errors.New("nft service-ips: unterminated elements list: output truncated")
	}
	var out []NftElement
	for i, raw := range strings.Split(body[:end], ",") {
		e, err := parseNftElement(strings.Join(strings.Fields(raw), " "), fields[1])
		if err != nil {
			return nil, fmt.Errorf("nft service-ips: element %d: %w", i+1, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// What kube-proxy's service-ips map can hold: its key is "ipv4_addr" or
// "ipv6_addr" (by the table's family) ". inet_proto . inet_service", which
// nft prints as an address, a protocol name and a port number; its Services
// are TCP, UDP or SCTP; the bare verdicts are nft's (nft(8), VERDICT
// STATEMENT).
var (
	nftProtocols = []string{"tcp", "udp", "sctp"}
	nftVerdicts  = []string{"accept", "drop", "continue", "return"}
)

// parseNftElement reads "10.96.0.1 . tcp . 443 : goto service-…" from a
// table of family ("ip" or "ip6").
func parseNftElement(s, family string) (NftElement, error) {
	key, verdict, ok := strings.Cut(s, " : ")
	if !ok {
		return NftElement{}, fmt.Errorf("%q has no \" : \" between key and verdict", s)
	}
	parts := strings.Split(key, " . ")
	if len(parts) != 3 {
		return NftElement{}, fmt.Errorf("key %q is not address . protocol . port", key)
	}
	addr, err := netip.ParseAddr(parts[0])
	switch {
	case err != nil:
		return NftElement{}, fmt.Errorf("key %q: %q is not an address", key, parts[0])
	case (family == "ip") != addr.Is4():
		return NftElement{}, fmt.Errorf("key %q: %q is not an address of a table of family %s", key, parts[0], family)
	case !slices.Contains(nftProtocols, parts[1]):
		return NftElement{}, fmt.Errorf("key %q: protocol %q is not one of %s", key, parts[1], strings.Join(nftProtocols, ", "))
	}
	if port, err := strconv.ParseUint(parts[2], 10, 16); err != nil || port == 0 {
		return NftElement{}, fmt.Errorf("key %q: port %q is not a number from 1 to 65535", key, parts[2])
	}
	e := NftElement{IP: parts[0], Protocol: parts[1], Port: parts[2]}
	v := strings.Fields(verdict)
	switch {
	case len(v) == 2 && (v[0] == "goto" || v[0] == "jump"):
		e.Verdict, e.Chain = v[0], v[1]
	case len(v) == 1 && slices.Contains(nftVerdicts, v[0]):
		e.Verdict = v[0]
	default:
		return NftElement{}, fmt.Errorf("verdict %q is not \"goto <chain>\", \"jump <chain>\" or one of %s", verdict, strings.Join(nftVerdicts, ", "))
	}
	e.ServicePort, e.External = servicePortOfChain(e.Chain)
	return e, nil
}

// servicePortOfChain reads the Service port out of a kube-proxy service
// chain name, "<prefix>-<HASH>-<ns>/<name>/<proto>/<port>"
// (servicePortChainNameBase), and whether it is an external-… chain.
func servicePortOfChain(chain string) (servicePort string, external bool) {
	var rest string
	var ok bool
	for _, p := range []string{"service-", "local-", "external-"} {
		if rest, ok = strings.CutPrefix(chain, p); ok {
			external = p == "external-"
			break
		}
	}
	if !ok {
		return "", false
	}
	_, base, ok := strings.Cut(rest, "-") // drop the 8-character hash
	parts := strings.Split(base, "/")
	if !ok || len(parts) != 4 || strings.HasSuffix(chain, "...") {
		return "", false
	}
	servicePort = parts[0] + "/" + parts[1]
	if parts[3] != "" {
		servicePort += ":" + parts[3]
	}
	return servicePort, external
}

// balanced checks that every brace outside double quotes is closed, in
// order, and that the listing ends with the last one: nft's output cut short
// is the usual way a listing gets truncated (an exec stream that broke).
func balanced(text string) error {
	depth, inQuote := 0, false
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c == '"':
			inQuote = !inQuote
		case inQuote:
		case c == '{':
			depth++
		case c == '}':
			depth--
			if depth < 0 {
				return fmt.Errorf("unbalanced '}' at byte %d", i)
			}
			if depth == 0 && strings.TrimSpace(text[i+1:]) != "" {
				return fmt.Errorf("text after the table's closing brace at byte %d", i+1)
			}
		}
	}
	if depth != 0 || inQuote {
		return errors.New("the listing does not close all its braces: output truncated")
	}
	return nil
}
