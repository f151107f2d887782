package suiteconfig

import (
	"fmt"
	"net/netip"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"kube-netbench/internal/config"
	"kube-netbench/internal/lab/netplan"
	"kube-netbench/internal/scale"
)

// TestServiceScale is the test whose settings checkScale checks.
const TestServiceScale = "TestServiceScale"

// ScalePlan is the plan of ServiceScale's dummy Services for c: their own
// run ID (so that deleting them leaves the run's workloads alone), c's
// endpoints per Service, up to the largest step.
func ScalePlan(c config.Config) scale.Plan {
	maxSvc := 0
	if n := len(c.SvcScaleSteps); n > 0 {
		maxSvc = c.SvcScaleSteps[n-1]
	}
	return scale.Plan{RunID: c.RunID + "-svc", Endpoints: c.SvcEndpoints, PerNamespace: scale.DefaultPerNamespace,
		NamespacePrefix: scale.DefaultNamespacePrefix, Dummy: scale.DefaultDummy, Port: scale.DefaultPort, MaxServices: maxSvc}
}

// checkScale checks ServiceScale's settings against each other when it is
// selected: the dummy endpoints fit their range, the run ID names valid
// namespaces, and on the lab the largest step fits its Service range.
func checkScale(c config.Config, selected func(string) bool, w where) []error {
	if !selected(TestServiceScale) {
		return nil
	}
	p := ScalePlan(c)
	steps := c.ScaleSteps()
	var errs []error
	need := uint64(p.MaxServices) * uint64(p.Endpoints)
	if have := scale.EndpointCapacity(p.Dummy); need > have {
		errs = append(errs, envError(config.EnvSvcScaleSteps, steps,
			fmt.Sprintf("the largest step, %d Services of %s=%d endpoints, needs %d endpoint addresses; the dummy range %s holds %d",
				p.MaxServices, config.EnvSvcEndpoints, p.Endpoints, need, p.Dummy, have),
			fmt.Sprintf("steps of at most %d Services with %s=%d", have/uint64(p.Endpoints), config.EnvSvcEndpoints, p.Endpoints)))
	}
	if ns := p.Namespace(p.MaxServices - 1); len(validation.IsDNS1123Label(ns)) > 0 {
		errs = append(errs, envError(config.EnvRunID, c.RunID,
			fmt.Sprintf("it names ServiceScale's namespaces (%s), which must be DNS-1123 labels: %s", ns, strings.Join(validation.IsDNS1123Label(ns), "; ")),
			fmt.Sprintf("lowercase letters, digits and '-', beginning and ending with a letter or digit, at most %d characters", maxRunIDForNamespaces(p))))
	}
	if w.lab && w.serviceCIDR.IsValid() {
		errs = append(errs, CheckServiceRange(c, w.serviceCIDR, netplan.EnvServiceCIDR+"="+w.serviceCIDR.String()))
	}
	return errs
}

// CheckServiceRange checks that the largest scale step fits the cluster's
// Service range rng (where says where it was read): every dummy Service
// takes an address of it (scale.Explicit). On the lab the range is known
// before it starts; on another cluster it is read before ServiceScale
// creates anything.
func CheckServiceRange(c config.Config, rng netip.Prefix, where string) error {
	p := ScalePlan(c)
	capacity := scale.Explicit(rng).Capacity()
	if uint64(p.MaxServices) <= capacity {
		return nil
	}
	return envError(config.EnvSvcScaleSteps, c.ScaleSteps(),
		fmt.Sprintf("the largest step, %d Services, needs as many ClusterIPs; the Service range (%s) assigns %d", p.MaxServices, where, capacity),
		fmt.Sprintf("steps of at most %d Services on this cluster", capacity))
}

// maxRunIDForNamespaces is the longest run ID whose namespaces fit a
// DNS-1123 label.
func maxRunIDForNamespaces(p scale.Plan) int {
	p.RunID = ""
	return validation.DNS1123LabelMaxLength - len(p.Namespace(p.MaxServices-1)) - len("-svc")
}
