package dataplane

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"kube-netbench/internal/golden"
)

// The fuzz targets feed each reader of what a node or an agent gives us its
// captures and what the fuzzer makes of them: none may panic or hang, a
// rejection says why, and what a reader accepts is what the suite counts
// on (a programmed Service has an address, a mode is one kube-proxy has).

// FuzzKubeServicesRules fuzzes the iptables-save -t nat reader (and through
// it parseServiceRule).
func FuzzKubeServicesRules(f *testing.F) {
	golden.FuzzParser(f, "kube-proxy/ip*tables-save-nat*.txt", golden.Text(KubeServicesRules), isNil, insaneRules)
}

// FuzzNftServiceIPs fuzzes the nft service-ips reader (and through it
// parseNftElement).
func FuzzNftServiceIPs(f *testing.F) {
	golden.FuzzParser(f, "kube-proxy/nft-service-ips*.txt", golden.Text(NftServiceIPs), isNil, insaneElements)
}

func isNil[T any](s []T) bool { return s == nil }

func insaneRules(rules []ServiceRule) string {
	for i, r := range rules {
		switch {
		case r.Index != i+1:
			return fmt.Sprintf("rule %d has index %d", i+1, r.Index)
		case r.Chain == "":
			return fmt.Sprintf("rule %d has no target", r.Index)
		case r.Kind == RuleNodePorts && r.Chain != "KUBE-NODEPORTS":
			return fmt.Sprintf("rule %d: a nodeports rule to %s", r.Index, r.Chain)
		case r.Kind == RuleClusterIP || r.Kind == RuleExternalIP || r.Kind == RuleLoadBalancerIP:
			if _, err := netip.ParseAddr(r.ClusterIP); err != nil {
				return fmt.Sprintf("rule %d: a %s rule whose destination %q is not an address", r.Index, r.Kind, r.ClusterIP)
			}
		case r.Kind != RuleNodePorts && r.Kind != RuleOther:
			return fmt.Sprintf("rule %d of kind %q", r.Index, r.Kind)
		}
	}
	return ""
}

func insaneElements(els []NftElement) string {
	for i, e := range els {
		_, ipErr := netip.ParseAddr(e.IP)
		port, portErr := strconv.ParseUint(e.Port, 10, 16)
		switch {
		case ipErr != nil:
			return fmt.Sprintf("element %d: %q is not an address", i+1, e.IP)
		case !slices.Contains([]string{"tcp", "udp", "sctp"}, e.Protocol):
			return fmt.Sprintf("element %d: protocol %q", i+1, e.Protocol)
		case portErr != nil || port == 0:
			return fmt.Sprintf("element %d: port %q", i+1, e.Port)
		case e.Verdict == "", (e.Verdict == "goto" || e.Verdict == "jump") != (e.Chain != ""):
			return fmt.Sprintf("element %d: verdict %q chain %q", i+1, e.Verdict, e.Chain)
		case e.External && e.ServicePort == "":
			return fmt.Sprintf("element %d: an external chain %q without its Service port", i+1, e.Chain)
		}
	}
	return ""
}

// FuzzKubeProxyConfig fuzzes the kube-proxy config file reader
// (parseKubeProxyConfig, through KubeProxyModeFromConfig and
// KubeProxyMetricsFromConfig), seeded with every file of the captured
// ConfigMaps.
func FuzzKubeProxyConfig(f *testing.F) {
	for name, b := range golden.TestdataGlob(f, "kube-proxy/*.configmap.yaml") {
		var cm corev1.ConfigMap
		if err := yaml.Unmarshal(b, &cm); err != nil {
			f.Fatalf("%s: %v", name, err)
		}
		for _, v := range cm.Data {
			f.Add([]byte(v))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		mode, explicit, err := KubeProxyModeFromConfig(string(b))
		switch {
		case err != nil:
			mustSay(t, b, err)
			if mode != "" || explicit {
				t.Errorf("rejected %q (%v) with mode %q explicit %v", b, err, mode, explicit)
			}
		case explicit != knownMode(mode), !explicit && mode != "":
			t.Errorf("accepted %q: mode %q explicit %v", b, mode, explicit)
		}
		if addr, err := KubeProxyMetricsFromConfig(string(b)); err != nil {
			mustSay(t, b, err)
			if addr != "" {
				t.Errorf("rejected %q (%v) with metricsBindAddress %q", b, err, addr)
			}
		}
	})
}

// FuzzKubeProxyMode fuzzes the readers of kube-proxy's mode in text it or
// its supervisor wrote: its log, k3s's or RKE2's log, its /proxyMode answer.
// No /proxyMode answer was captured; kube-proxy v1.37.2 writes the bare mode
// (cmd/kube-proxy/app/server.go, serveMetrics), so that word seeds it.
func FuzzKubeProxyMode(f *testing.F) {
	golden.Seed(f, "kube-proxy/*.log")
	f.Add([]byte(ModeIPTables))
	f.Fuzz(func(t *testing.T, b []byte) {
		for name, read := range map[string]func(string) (string, error){
			"KubeProxyModeFromLog": KubeProxyModeFromLog, "ParseProxyModeResponse": ParseProxyModeResponse,
		} {
			mode, err := read(string(b))
			if err != nil {
				mustSay(t, b, err)
			}
			if (err == nil) != knownMode(mode) {
				t.Errorf("%s(%q) = %q, %v", name, b, mode, err)
			}
		}
		args, err := KubeProxyArgsFromSupervisorLog(string(b))
		if err != nil {
			mustSay(t, b, err)
			if args != nil {
				t.Errorf("rejected %q (%v) with args %q", b, err, args)
			}
		}
	})
}

// FuzzCilium fuzzes the readers of the agent's CLI output (cilium-dbg
// status, version, policy get, endpoint list and service list), each fed
// every capture. No `policy get -o json` was captured: the other JSON
// captures seed it.
func FuzzCilium(f *testing.F) {
	golden.Seed(f, "cilium/*.json", "cilium/version-*.txt")
	f.Fuzz(func(t *testing.T, b []byte) {
		if st, err := ParseCiliumStatus(b); err != nil {
			mustSay(t, b, err)
		} else if st.State == "" || st.KubeProxyReplacement == "" || st.Routing == "" || st.Hubble == "" {
			t.Errorf("status %q: a state left blank: %+v", b, st)
		}
		if v, err := ParseCiliumVersion(string(b)); err != nil {
			mustSay(t, b, err)
		} else if v == "" || strings.ContainsAny(v, " \t\r\n") {
			t.Errorf("version %q: %q", b, v)
		}
		if p, err := ParseCiliumPolicy(b); err != nil {
			mustSay(t, b, err)
		} else if p.Revision < 0 || slices.ContainsFunc(p.From, func(s string) bool { return strings.HasSuffix(s, "/") }) {
			t.Errorf("policy %q: %+v", b, p)
		}
		if eps, err := CiliumEndpoints(b); err != nil {
			mustSay(t, b, err)
		} else if slices.ContainsFunc(eps, func(e CiliumEndpoint) bool { return e.PolicyRevision < 0 }) {
			t.Errorf("endpoints %q: a negative policy revision: %+v", b, eps)
		}
		if fes, err := CiliumServices(b); err != nil {
			mustSay(t, b, err)
		} else if slices.ContainsFunc(fes, func(fe CiliumFrontend) bool { return !fe.IP.IsValid() }) {
			t.Errorf("services %q: a frontend without an address: %+v", b, fes)
		}
	})
}

// mustSay fails when a rejection's error says nothing.
func mustSay(t *testing.T, b []byte, err error) {
	t.Helper()
	if strings.TrimSpace(err.Error()) == "" {
		t.Errorf("rejected %q with an empty error", b)
	}
}
