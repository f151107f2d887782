package scale

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// ServiceRange is the cluster's IPv4 Service range and where it was read,
// for the report.
type ServiceRange struct {
	Prefix netip.Prefix
	Source string
}

// DiscoverServiceRange reads the IPv4 Service range from the first source
// that has it: the ServiceCIDR objects (networking.k8s.io/v1, GA in 1.33),
// the --service-cluster-ip-range flag of a kube-apiserver pod the cluster
// shows (kubeadm and other self-hosted control planes), or, where neither
// is visible (managed control planes before 1.33), the range the apiserver
// names when refusing a server-side dry-run Service whose clusterIP lies
// outside it. The error says what each source answered.
func DiscoverServiceRange(ctx context.Context, c kubernetes.Interface, ns string) (ServiceRange, error) {
	var why []string
	list, err := c.NetworkingV1().ServiceCIDRs().List(ctx, metav1.ListOptions{})
	if err == nil {
		for _, sc := range list.Items {
			for _, cidr := range sc.Spec.CIDRs {
				if p, err := netip.ParsePrefix(cidr); err == nil && p.Addr().Is4() {
					return ServiceRange{p.Masked(), "ServiceCIDR " + sc.Name}, nil
				}
			}
		}
		why = append(why, fmt.Sprintf("ServiceCIDRs: %d objects, none IPv4", len(list.Items)))
	} else {
		why = append(why, fmt.Sprintf("ServiceCIDRs: %v", err))
	}
	pods, err := c.CoreV1().Pods(metav1.NamespaceSystem).List(ctx, metav1.ListOptions{LabelSelector: "component=kube-apiserver"})
	if err == nil {
		for _, p := range pods.Items {
			for _, ctr := range p.Spec.Containers {
				if pfx, ok := ServiceRangeFromArgs(append(append([]string{}, ctr.Command...), ctr.Args...)); ok {
					return ServiceRange{pfx, fmt.Sprintf("--service-cluster-ip-range of pod %s/%s", p.Namespace, p.Name)}, nil
				}
			}
		}
		why = append(why, fmt.Sprintf("kube-apiserver pods: %d, none with an IPv4 --service-cluster-ip-range", len(pods.Items)))
	} else {
		why = append(why, fmt.Sprintf("kube-apiserver pods: %v", err))
	}
	// 192.0.2.1 (TEST-NET-1, RFC 5737) is in no real Service range: the
	// allocator refuses it and names the valid one. Dry run: nothing is
	// stored or allocated.
	probe := &corev1.Service{ObjectMeta: metav1.ObjectMeta{GenerateName: "netbench-range-probe-", Namespace: ns},
		Spec: corev1.ServiceSpec{ClusterIP: probeClusterIP, Ports: []corev1.ServicePort{{Port: 80}}}}
	_, err = c.CoreV1().Services(ns).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		if pfx, ok := ServiceRangeFromError(err.Error()); ok {
			return ServiceRange{pfx, "the apiserver's refusal of a dry-run Service outside it"}, nil
		}
		if !apierrors.IsInvalid(err) {
			why = append(why, fmt.Sprintf("dry-run Service: %v", err))
		} else {
			why = append(why, fmt.Sprintf("dry-run Service refused without naming the range: %v", err))
		}
	} else {
		why = append(why, "dry-run Service with clusterIP "+probeClusterIP+" accepted")
	}
	return ServiceRange{}, errors.New("the cluster's IPv4 Service range cannot be read: " + strings.Join(why, "; "))
}

const probeClusterIP = "192.0.2.1"

// ServiceRangeFromArgs reads kube-apiserver's --service-cluster-ip-range
// (one range, or an IPv4 and an IPv6 one separated by a comma) from its
// command line and returns the IPv4 range.
func ServiceRangeFromArgs(argv []string) (netip.Prefix, bool) {
	const flag = "--service-cluster-ip-range"
	var val string
	for i, a := range argv {
		switch {
		case strings.HasPrefix(a, flag+"="):
			val = a[len(flag)+1:]
		case a == flag && i+1 < len(argv):
			val = argv[i+1]
		}
	}
	return firstIPv4(strings.Split(val, ","))
}

// validRange matches the allocator's refusal: "... is not in the valid
// range. The range of valid IPs is 10.96.0.0/12" (some versions say "is
// CIDR 10.96.0.0/12").
var validRange = regexp.MustCompile(`range of valid IPs is (?:CIDR )?([0-9A-Fa-f.:/]+)`)

// ServiceRangeFromError reads the IPv4 range an apiserver named when it
// refused a clusterIP outside it.
func ServiceRangeFromError(msg string) (netip.Prefix, bool) {
	var cidrs []string
	for _, m := range validRange.FindAllStringSubmatch(msg, -1) {
		cidrs = append(cidrs, m[1])
	}
	return firstIPv4(cidrs)
}

func firstIPv4(cidrs []string) (netip.Prefix, bool) {
	for _, s := range cidrs {
		if p, err := netip.ParsePrefix(strings.TrimSpace(s)); err == nil && p.Addr().Is4() {
			return p.Masked(), true
		}
	}
	return netip.Prefix{}, false
}
