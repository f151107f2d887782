package scale

import (
	"context"
	"errors"
	"fmt"
	"strings"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// ListLimit is the page size of every List this package makes.
const ListLimit = 500

// Sample is a count of problems of one kind with the first few named.
type Sample struct {
	Count int
	First []string
}

func (s *Sample) add(what string) {
	s.Count++
	if len(s.First) < maxReported {
		s.First = append(s.First, what)
	}
}

// String is "<count> (<first>, ...)".
func (s Sample) String() string { return s.label("") }

// label is "<count> <label> (<first>, ...)".
func (s Sample) label(l string) string {
	more := ""
	if s.Count > len(s.First) {
		more = ", ..."
	}
	if l != "" {
		l += " "
	}
	return fmt.Sprintf("%d %s(%s%s)", s.Count, l, strings.Join(s.First, ", "), more)
}

// VerifyError is what Verify found wrong: objects missing, objects that
// should not exist, and EndpointSlices whose endpoints are not the plan's.
// Names are namespace/name.
type VerifyError struct {
	RunID string
	// Want is the number of Services expected: indexes [0, Want).
	Want int
	// FoundServices and FoundSlices count the run's dummy objects listed.
	FoundServices, FoundSlices int

	MissingServices, ExtraServices Sample
	MissingSlices, ExtraSlices     Sample
	// WrongSlices have the wrong number of endpoints, or endpoints with
	// other addresses than the plan's, or not ready.
	WrongSlices Sample
}

// Error is one line: what was expected and found, then the problems by
// kind, each with its count and the first few names.
func (e *VerifyError) Error() string {
	var svc, es []string
	note := func(dst *[]string, s Sample, label string) {
		if s.Count > 0 {
			*dst = append(*dst, s.label(label))
		}
	}
	note(&svc, e.MissingServices, "missing")
	note(&svc, e.ExtraServices, "extra")
	note(&es, e.MissingSlices, "missing")
	note(&es, e.ExtraSlices, "extra")
	note(&es, e.WrongSlices, "wrong")
	var parts []string
	if len(svc) > 0 {
		parts = append(parts, "Services: "+strings.Join(svc, ", "))
	}
	if len(es) > 0 {
		parts = append(parts, "EndpointSlices: "+strings.Join(es, ", "))
	}
	return fmt.Sprintf("verify run %s, want Services [0, %d), found %d Services and %d EndpointSlices: %s",
		e.RunID, e.Want, e.FoundServices, e.FoundSlices, strings.Join(parts, "; "))
}

func (e *VerifyError) empty() bool {
	return e.MissingServices.Count+e.ExtraServices.Count+e.MissingSlices.Count+e.ExtraSlices.Count+e.WrongSlices.Count == 0
}

// Verify checks that the run's dummy objects are exactly Services [0, n) of
// p, each in its namespace with one EndpointSlice of the plan's endpoints.
// It lists the run's Services and EndpointSlices by label across all
// namespaces (so objects in a wrong namespace show up as extra), ListLimit at
// a time. What it finds wrong is returned as a *VerifyError; an API failure
// is returned as such.
func (c Creator) Verify(ctx context.Context, p Plan, n int) error {
	if err := p.checkRange(0, n); err != nil {
		return err
	}
	if c.Client == nil {
		return errors.New("scale: Creator.Client is nil")
	}
	sel := labels.SelectorFromSet(Labels(p.RunID)).String()
	v := &VerifyError{RunID: p.RunID, Want: n}

	haveSvc := make([]bool, n)
	err := pages(ctx, sel, func(ctx context.Context, o metav1.ListOptions) (string, error) {
		l, err := c.Client.CoreV1().Services(metav1.NamespaceAll).List(ctx, o)
		if err != nil {
			return "", fmt.Errorf("list Services %q: %w", sel, err)
		}
		for _, s := range l.Items {
			v.FoundServices++
			i, ok := serviceIndex(s.Name)
			if !ok || i >= n || s.Namespace != p.Namespace(i) {
				v.ExtraServices.add(s.Namespace + "/" + s.Name)
				continue
			}
			haveSvc[i] = true
		}
		return l.Continue, nil
	})
	if err != nil {
		return fmt.Errorf("verify run %s: %w", p.RunID, err)
	}

	haveSlice := make([]bool, n)
	err = pages(ctx, sel, func(ctx context.Context, o metav1.ListOptions) (string, error) {
		l, err := c.Client.DiscoveryV1().EndpointSlices(metav1.NamespaceAll).List(ctx, o)
		if err != nil {
			return "", fmt.Errorf("list EndpointSlices %q: %w", sel, err)
		}
		for k := range l.Items {
			es := &l.Items[k]
			v.FoundSlices++
			key := es.Namespace + "/" + es.Name
			i, ok := serviceIndex(es.Labels[discoveryv1.LabelServiceName])
			if !ok || i >= n || es.Namespace != p.Namespace(i) || es.Name != SliceName(i) || haveSlice[i] {
				v.ExtraSlices.add(key)
				continue
			}
			haveSlice[i] = true
			if why := p.checkSlice(i, es); why != "" {
				v.WrongSlices.add(key + ": " + why)
			}
		}
		return l.Continue, nil
	})
	if err != nil {
		return fmt.Errorf("verify run %s: %w", p.RunID, err)
	}

	for i := range n {
		if !haveSvc[i] {
			v.MissingServices.add(p.Namespace(i) + "/" + ServiceName(i))
		}
		if !haveSlice[i] {
			v.MissingSlices.add(p.Namespace(i) + "/" + SliceName(i))
		}
	}
	if v.empty() {
		return nil
	}
	return v
}

// checkSlice says what is wrong with the endpoints of Service i's slice, or
// "" if they are the plan's: Endpoints ready endpoints with the plan's
// addresses, in order.
func (p Plan) checkSlice(i int, es *discoveryv1.EndpointSlice) string {
	if es.AddressType != discoveryv1.AddressTypeIPv4 {
		return fmt.Sprintf("addressType %s, want %s", es.AddressType, discoveryv1.AddressTypeIPv4)
	}
	if len(es.Endpoints) != p.Endpoints {
		return fmt.Sprintf("%d endpoints, want %d", len(es.Endpoints), p.Endpoints)
	}
	want, err := p.addrs(i)
	if err != nil {
		return err.Error()
	}
	for e, ep := range es.Endpoints {
		if len(ep.Addresses) != 1 || ep.Addresses[0] != want[e].String() {
			return fmt.Sprintf("endpoint %d has addresses %v, want [%s]", e, ep.Addresses, want[e])
		}
		if ep.Conditions.Ready == nil || !*ep.Conditions.Ready {
			return fmt.Sprintf("endpoint %d (%s) is not ready", e, want[e])
		}
	}
	return ""
}

// pages calls list with opts for each page of a paginated List, ListLimit
// objects at a time, until the continue token is empty.
func pages(ctx context.Context, selector string, list func(context.Context, metav1.ListOptions) (string, error)) error {
	opts := metav1.ListOptions{LabelSelector: selector, Limit: ListLimit}
	for {
		cont, err := list(ctx, opts)
		if err != nil {
			return err
		}
		if cont == "" {
			return nil
		}
		opts.Continue = cont
	}
}
