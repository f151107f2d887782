package dataplane

import (
	"bufio"
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// RuleKind says what a KUBE-SERVICES rule captures, from the suffix
// kube-proxy's iptables proxier puts in its comment.
type RuleKind string

// Rule kinds of kube-proxy v1.37's KUBE-SERVICES chain (nat table).
const (
	RuleClusterIP      RuleKind = "cluster IP"
	RuleExternalIP     RuleKind = "external IP"
	RuleLoadBalancerIP RuleKind = "loadbalancer IP"
	// RuleNodePorts is the chain's last rule, the jump to KUBE-NODEPORTS.
	RuleNodePorts RuleKind = "nodeports"
	// RuleOther is any other rule (another version's or another tool's); it
	// still counts for the scan depth.
	RuleOther RuleKind = "other"
)

// KubeServicesChain is kube-proxy's dispatch chain in the nat table.
const KubeServicesChain = "KUBE-SERVICES"

// ServiceRule is one rule of the nat table's KUBE-SERVICES chain.
type ServiceRule struct {
	// Index is the rule's 1-based position in the chain: a packet to this
	// Service is compared against Index rules before it is dispatched. The
	// position of the Service under test is not stable across syncs, so it
	// is recorded with each measurement (W-STAT-10).
	Index int
	// Kind says what the rule captures.
	Kind RuleKind
	// ClusterIP is the destination the rule matches (-d), without a /32 or
	// /128: the cluster IP for RuleClusterIP, the external or load-balancer
	// address for those kinds, empty for the nodeports rule.
	ClusterIP string
	// Port is the destination port (--dport), empty if none.
	Port string
	// Protocol is the -p protocol (tcp, udp, sctp), empty if none.
	Protocol string
	// Comment is the Service port the rule belongs to, "ns/name:port" (or
	// "ns/name" for an unnamed port), without the kind suffix. For other
	// rules it is the whole comment.
	Comment string
	// Chain is the jump target: KUBE-SVC-…, KUBE-SVL-…, KUBE-EXT-…, KUBE-FW-…
	// or KUBE-NODEPORTS.
	Chain string
}

// KubeServicesRules parses the output of `iptables-save -t nat` (or
// ip6tables-save) and returns the KUBE-SERVICES rules in chain order. An
// empty chain gives no rules and no error. Counting the cluster-IP rules
// tells whether kube-proxy has programmed N Services on a node (W-SYNC-1);
// a rule's Index is the scan depth of its Service (W-STAT-10).
//
// It fails when the input has no nat table (not iptables-save -t nat
// output), when the table has no COMMIT line (truncated), when the table has
// no KUBE-SERVICES chain (kube-proxy's iptables mode has not run on this
// node), and on a KUBE-SERVICES rule it cannot read.
func KubeServicesRules(iptablesSaveNat string) (rules []ServiceRule, err error) {
	var (
		inNat, sawNat, committed, declared bool
		lineNo                             int
	)
	sc := bufio.NewScanner(strings.NewReader(iptablesSaveNat))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case strings.HasPrefix(line, "*"):
			inNat = line == "*nat" && !sawNat
			sawNat = sawNat || inNat
			continue
		case !inNat:
			continue
		case line == "COMMIT":
			inNat, committed = false, true
			continue
		case strings.HasPrefix(line, ":"+KubeServicesChain+" "):
			declared = true
			continue
		}
		if strings.HasPrefix(line, "[") { // iptables-save -c: "[pkts:bytes] -A ..."
			if i := strings.Index(line, "] "); i > 0 {
				line = line[i+2:]
			}
		}
		if !strings.HasPrefix(line, "-A "+KubeServicesChain+" ") {
			continue
		}
		r, err := parseServiceRule(line)
		if err != nil {
			return nil, fmt.Errorf("iptables-save line %d: %w: %s", lineNo, err, line)
		}
		r.Index = len(rules) + 1
		rules = append(rules, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("iptables-save: %w", err)
	}
	switch {
	case !sawNat:
		return nil, errors.New("iptables-save: no *nat table: not the output of iptables-save -t nat")
	case !committed:
		return nil, errors.New("iptables-save: the nat table has no COMMIT line: output truncated")
	case !declared:
		return nil, fmt.Errorf("iptables-save: no %s chain in the nat table: kube-proxy's iptables mode has not programmed this node", KubeServicesChain)
	}
	return rules, nil
}

// parseServiceRule reads one "-A KUBE-SERVICES ..." line.
func parseServiceRule(line string) (ServiceRule, error) {
	args, err := splitIptablesArgs(line)
	if err != nil {
		return ServiceRule{}, err
	}
	var r ServiceRule
	var comment string
	for i := 2; i < len(args); i++ {
		val := func() (string, error) {
			if i+1 >= len(args) {
				return "", fmt.Errorf("%s without a value", args[i])
			}
			i++
			return args[i], nil
		}
		var err error
		switch args[i] {
		case "-d", "--destination":
			var d string
			if d, err = val(); err == nil {
				r.ClusterIP, err = hostOf(d)
			}
		case "--dport", "--destination-port":
			r.Port, err = val()
		case "-p", "--protocol":
			r.Protocol, err = val()
		case "--comment":
			comment, err = val()
		case "-j", "--jump", "-g", "--goto":
			r.Chain, err = val()
		case "!": // a negation applies to the next match; kube-proxy uses none here
			i++
		}
		if err != nil {
			return ServiceRule{}, err
		}
	}
	if r.Chain == "" {
		return ServiceRule{}, errors.New("no -j target")
	}
	r.Kind, r.Comment = RuleOther, comment
	if r.Chain == "KUBE-NODEPORTS" {
		r.Kind = RuleNodePorts
		return r, nil
	}
	for _, k := range []RuleKind{RuleClusterIP, RuleExternalIP, RuleLoadBalancerIP} {
		if svc, ok := strings.CutSuffix(comment, " "+string(k)); ok {
			r.Kind, r.Comment = k, svc
			break
		}
	}
	// kube-proxy matches a Service address with -d <address>/32 (or /128);
	// a rule of these kinds without one would be counted as a programmed
	// Service that has no address.
	if r.Kind != RuleOther {
		if _, err := netip.ParseAddr(r.ClusterIP); err != nil {
			return ServiceRule{}, fmt.Errorf("%s rule: destination %q is not one address (kube-proxy matches -d <address>/32 or /128)", r.Kind, r.ClusterIP)
		}
	}
	return r, nil
}

// hostOf returns the address of a single-address prefix ("10.96.0.1/32")
// and any other prefix or address unchanged, after checking it parses.
func hostOf(d string) (string, error) {
	if a, err := netip.ParseAddr(d); err == nil {
		return a.String(), nil
	}
	p, err := netip.ParsePrefix(d)
	if err != nil {
		return "", fmt.Errorf("destination %q is not an address or prefix", d)
	}
	if p.IsSingleIP() {
		return p.Addr().String(), nil
	}
	return p.String(), nil
}

// splitIptablesArgs splits an iptables-save line into arguments. A value
// with characters other than letters, digits, '-' and '_' is double-quoted
// by iptables-save, with '"', '\” and '\\' escaped by a backslash
// (libxtables xtables_save_string).
func splitIptablesArgs(line string) ([]string, error) {
	var (
		args    []string
		cur     strings.Builder
		inQuote bool
		inArg   bool
	)
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\' && inQuote:
			if i+1 == len(line) {
				return nil, errors.New("backslash at the end of the line")
			}
			i++
			cur.WriteByte(line[i])
		case c == '"':
			inQuote, inArg = !inQuote, true
		case (c == ' ' || c == '\t') && !inQuote:
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteByte(c)
			inArg = true
		}
	}
	if inQuote {
		return nil, errors.New("unterminated quote")
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args, nil
}
