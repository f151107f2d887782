package scale

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	"kube-netbench/fixtures"
)

// Limits of a Plan.
const (
	MinEndpoints    = 1
	MaxEndpoints    = 100
	MinPerNamespace = 1
	// MaxPerNamespace keeps a namespace small enough to delete in
	// reasonable time and a List of it cheap.
	MaxPerNamespace = 5000
)

// Defaults a caller may use to fill a Plan.
const (
	DefaultNamespacePrefix = "nb-scale"
	DefaultPerNamespace    = 5000
	DefaultPort            = 80
)

// DefaultDummy is where dummy endpoint addresses come from: 198.18.0.0/15,
// the RFC 2544 benchmarking range, which no real network routes and the lab
// blackholes (lab-recipe §7). It holds 131,070 usable addresses, enough for
// 30,000 Services of 4 endpoints.
var DefaultDummy = netip.MustParsePrefix("198.18.0.0/15")

// Labels of the dummy objects, besides the run labels of fixtures.
const (
	// RoleDummy is the netbench.io/role value of everything this package
	// creates.
	RoleDummy = "dummy"
	// SliceManager is the endpointslice.kubernetes.io/managed-by value of the
	// dummy EndpointSlices. Any value other than the EndpointSlice
	// controller's own makes that controller leave the slices alone (W-SYNC-2).
	SliceManager = fixtures.ManagedBy
)

// Plan describes a set of dummy Services and their EndpointSlices: which
// run they belong to, how many endpoints each has, how they are spread over
// namespaces and which addresses the endpoints get. Object i (0-based) is a
// pure function of the Plan and i, so a run can grow step by step and any
// step can be verified or rebuilt.
type Plan struct {
	// RunID labels everything (fixtures.LabelRun) and is part of every
	// namespace name.
	RunID string
	// Endpoints is the number of endpoints of each Service (the seed's 4).
	Endpoints int
	// PerNamespace is how many Services share a namespace.
	PerNamespace int
	// NamespacePrefix starts every namespace name, e.g. "nb-scale".
	NamespacePrefix string
	// Dummy is the prefix endpoint addresses are taken from (IPv4), e.g.
	// DefaultDummy.
	Dummy netip.Prefix
	// Port is the Service port, its target port and the endpoints' port.
	Port int32
	// MaxServices is the largest Service count the plan is used for (the
	// last scale step). Validate checks that Dummy holds that many Services'
	// endpoints, and Grow refuses to go beyond it; an explicit ClusterIP
	// allocation also uses it to keep every index's addresses distinct.
	MaxServices int
}

// Validate checks every field and returns all problems at once, each naming
// the field, its value and what is allowed.
func (p Plan) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if p.RunID == "" {
		bad("RunID is empty: it labels every object of the run")
	} else if msgs := validation.IsValidLabelValue(p.RunID); len(msgs) > 0 {
		bad("RunID %q is not a valid label value: %s", p.RunID, strings.Join(msgs, "; "))
	}
	if p.Endpoints < MinEndpoints || p.Endpoints > MaxEndpoints {
		bad("Endpoints %d: must be %d..%d", p.Endpoints, MinEndpoints, MaxEndpoints)
	}
	if p.PerNamespace < MinPerNamespace || p.PerNamespace > MaxPerNamespace {
		bad("PerNamespace %d: must be %d..%d", p.PerNamespace, MinPerNamespace, MaxPerNamespace)
	}
	if p.Port < 1 || p.Port > 65535 {
		bad("Port %d: must be 1..65535", p.Port)
	}
	if p.MaxServices < 1 {
		bad("MaxServices %d: must be at least 1", p.MaxServices)
	}
	if p.NamespacePrefix == "" {
		bad("NamespacePrefix is empty: must start every namespace name, e.g. %q", DefaultNamespacePrefix)
	} else if p.RunID != "" && p.MaxServices >= 1 && p.PerNamespace >= 1 {
		last := p.Namespace(p.MaxServices - 1)
		if msgs := validation.IsDNS1123Label(last); len(msgs) > 0 {
			bad("namespace name %q (NamespacePrefix %q, RunID %q) is not a valid DNS-1123 label: %s",
				last, p.NamespacePrefix, p.RunID, strings.Join(msgs, "; "))
		}
	}
	switch {
	case !p.Dummy.IsValid():
		bad("Dummy %v: must be an IPv4 prefix, e.g. %s", p.Dummy, DefaultDummy)
	case !p.Dummy.Addr().Is4():
		bad("Dummy %s: must be an IPv4 prefix (the EndpointSlices have addressType IPv4)", p.Dummy)
	case p.Endpoints >= MinEndpoints && p.MaxServices >= 1:
		need := uint64(p.MaxServices) * uint64(p.Endpoints)
		if have := hostCount(p.Dummy); have < need {
			bad("Dummy %s holds %d endpoint addresses; MaxServices %d x Endpoints %d needs %d: use a larger prefix such as %s",
				p.Dummy, have, p.MaxServices, p.Endpoints, need, DefaultDummy)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("scale plan: %w", errors.Join(errs...))
	}
	return nil
}

// checkRange validates p and the index range [from, to).
func (p Plan) checkRange(from, to int) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if from < 0 || to < from || to > p.MaxServices {
		return fmt.Errorf("scale plan: index range [%d, %d): must satisfy 0 <= from <= to <= MaxServices (%d)", from, to, p.MaxServices)
	}
	return nil
}

// Namespace is the namespace of Service i: <prefix>-<runID>-<i/PerNamespace>.
func (p Plan) Namespace(i int) string {
	per := max(p.PerNamespace, 1)
	return p.namespaceN(i / per)
}

// namespaceN is the name of the run's k-th namespace.
func (p Plan) namespaceN(k int) string {
	return p.NamespacePrefix + "-" + p.RunID + "-" + strconv.Itoa(k)
}

// namespaces are the names of the namespaces holding indexes [from, to).
func (p Plan) namespaces(from, to int) []string {
	if to <= from {
		return nil
	}
	per := max(p.PerNamespace, 1)
	var out []string
	for k := from / per; k <= (to-1)/per; k++ {
		out = append(out, p.namespaceN(k))
	}
	return out
}

// ServiceName is the name of dummy Service i.
func ServiceName(i int) string { return "dummy-" + strconv.Itoa(i) }

// SliceName is the name of the EndpointSlice of dummy Service i.
func SliceName(i int) string { return ServiceName(i) + "-1" }

// serviceIndex parses a ServiceName back into its index.
func serviceIndex(name string) (int, bool) {
	s, ok := strings.CutPrefix(name, "dummy-")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(s)
	if err != nil || i < 0 || strconv.Itoa(i) != s {
		return 0, false
	}
	return i, true
}

// Labels are the labels of every dummy Service and EndpointSlice of a run:
// the run labels and netbench.io/role=dummy.
func Labels(runID string) map[string]string {
	l := fixtures.RunLabels(runID)
	l[fixtures.LabelRole] = RoleDummy
	return l
}

// Service is dummy Service i: type ClusterIP, no selector (its endpoints
// come from the hand-made EndpointSlice), one TCP port Port -> Port.
func (p Plan) Service(i int) *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: ServiceName(i), Namespace: p.Namespace(i), Labels: Labels(p.RunID)},
		Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeClusterIP,
			Ports: []corev1.ServicePort{{
				Port: p.Port, TargetPort: intstr.FromInt32(p.Port), Protocol: corev1.ProtocolTCP,
			}},
		},
	}
}

// Slice is the EndpointSlice of dummy Service i: Endpoints ready endpoints
// with addresses EndpointAddr(i*Endpoints+e), port Port/TCP, managed by
// SliceManager so that the EndpointSlice controller leaves it alone. It
// returns nil when the addresses do not fit in Dummy (an index beyond what
// Validate accepted); Grow checks its range first.
func (p Plan) Slice(i int) *discoveryv1.EndpointSlice {
	s, err := p.slice(i)
	if err != nil {
		return nil
	}
	return s
}

func (p Plan) slice(i int) (*discoveryv1.EndpointSlice, error) {
	addrs, err := p.addrs(i)
	if err != nil {
		return nil, err
	}
	eps := make([]discoveryv1.Endpoint, len(addrs))
	for e, a := range addrs {
		eps[e] = discoveryv1.Endpoint{
			Addresses:  []string{a.String()},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
		}
	}
	l := Labels(p.RunID)
	l[discoveryv1.LabelServiceName] = ServiceName(i)
	l[discoveryv1.LabelManagedBy] = SliceManager
	return &discoveryv1.EndpointSlice{
		TypeMeta:    metav1.TypeMeta{APIVersion: "discovery.k8s.io/v1", Kind: "EndpointSlice"},
		ObjectMeta:  metav1.ObjectMeta{Name: SliceName(i), Namespace: p.Namespace(i), Labels: l},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   eps,
		Ports: []discoveryv1.EndpointPort{{
			Name: ptr.To(""), Port: ptr.To(p.Port), Protocol: ptr.To(corev1.ProtocolTCP),
		}},
	}, nil
}

// addrs are the endpoint addresses of Service i.
func (p Plan) addrs(i int) ([]netip.Addr, error) {
	if i < 0 || p.Endpoints < 1 {
		return nil, fmt.Errorf("service index %d with %d endpoints: no addresses", i, p.Endpoints)
	}
	out := make([]netip.Addr, p.Endpoints)
	for e := range out {
		a, err := EndpointAddr(p.Dummy, i*p.Endpoints+e)
		if err != nil {
			return nil, err
		}
		out[e] = a
	}
	return out, nil
}
