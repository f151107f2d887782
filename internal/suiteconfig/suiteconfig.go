// Package suiteconfig validates everything a suite run reads, together and
// before anything is created: the suite's variables (internal/config), the
// thresholds profile, the workload images, the results directory and the
// provider's own variables (LAB_*, LAB_AS, KIND_DATAPLANE, the
// kubeconfig), and then the values against each other: a scale step larger
// than the lab's Service range or than the dummy endpoint range, a run ID
// that cannot name ServiceScale's namespaces, measurements longer than the
// test timeout. Every problem is reported at once (errors.Join), each
// naming the variable, its value and what is allowed, so that a bad setting
// fails in a second, not after a lab has started (W-OPS-6: a failed
// preflight fails fast).
//
// It reads the environment only through the getenv it is given. It reads
// files (the profile, the kubeconfig's presence, the results directory's
// nearest existing ancestor) and creates nothing but a probe file that it
// removes at once.
package suiteconfig

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"kube-netbench/internal/cluster"
	"kube-netbench/internal/config"
	"kube-netbench/internal/lab/netplan"
)

// Inputs is what a run's settings are read from besides the environment.
type Inputs struct {
	// Getenv looks variables up (os.Getenv in production).
	Getenv func(string) string
	// Kubeconfig is --kubeconfig, else KUBECONFIG (a list, as kubectl
	// reads it); empty when neither is given.
	Kubeconfig string
	// Root is where relative RESULTS_DIR and PROFILE paths resolve and the
	// lab keeps its state unless LAB_DIR says otherwise: the repository root
	// when the suite runs from its source (ModuleRoot), else the working
	// directory.
	Root string
	// Timeout is go test's -timeout (flag test.timeout); 0 means none.
	Timeout time.Duration
	// Selected reports whether -run and -skip select a top-level test
	// (Selector); nil selects every test.
	Selected func(test string) bool
}

// Suite is a run's validated settings.
type Suite struct {
	// Config is the suite's variables.
	Config config.Config
	// Profile holds the thresholds; ProfileFrom says where it was read: a
	// path, or the embedded default.
	Profile     config.Profile
	ProfileFrom string
	// Provider is where the run happens (PROVIDER and the kubeconfig).
	Provider cluster.Provider
	// ResultsRoot is RESULTS_DIR resolved against Inputs.Root.
	ResultsRoot string
	// Lab configures the lab when Provider is cluster.Lab, and LabAs says
	// who the suite acts as on it (LAB_AS).
	Lab   LabOptions
	LabAs cluster.Identity
	// KindDataplane is KIND_DATAPLANE when Provider is cluster.Kind.
	KindDataplane cluster.Dataplane
}

// Load reads and validates every setting of a run. On any problem it
// returns every problem found, joined, and the zero Suite. Checks between
// values run once the values they compare are valid themselves.
func Load(in Inputs) (Suite, error) {
	getenv := in.Getenv
	var s Suite
	cfg, cfgErr := config.FromEnv(getenv)
	errs := []error{cfgErr}
	errs = append(errs, checkImages(getenv)...)
	var err error
	s.Profile, s.ProfileFrom, err = loadProfile(getenv(config.EnvProfile), in.Root)
	errs = append(errs, err)
	var resultsErr error
	s.ResultsRoot, resultsErr = resultsRoot(getenv(config.EnvResultsDir), in.Root)
	errs = append(errs, resultsErr)

	w := where{}
	s.Provider, err = cluster.Select(getenv(cluster.ProviderEnv), in.Kubeconfig)
	errs = append(errs, err)
	switch s.Provider {
	case cluster.Existing:
		errs = append(errs, checkKubeconfig(in.Kubeconfig))
	case cluster.Kind:
		s.KindDataplane, err = cluster.ParseDataplane(cluster.KindDataplaneEnv, getenv(cluster.KindDataplaneEnv))
		errs = append(errs, err)
	case cluster.Lab:
		w.lab = true
		// The lab's own checks (every LAB_* variable, NETBENCH_CACHE), then
		// what the suite needs of its plan.
		s.Lab, err = labOptions(getenv, filepath.Join(in.Root, ".lab"))
		errs = append(errs, err)
		s.LabAs, err = cluster.SelectIdentity(getenv(cluster.IdentityEnv))
		errs = append(errs, err)
		if plan, err := netplan.FromEnv(getenv); err == nil { // else reported above
			errs = append(errs, checkNodes(plan))
			// The ranges among themselves now; the machine's routes when
			// the lab starts.
			if err := plan.Validate(nil); err != nil {
				errs = append(errs, err)
			} else {
				w.serviceCIDR = plan.ServiceCIDR
			}
		}
		dp, err := cluster.ParseDataplane("LAB_DATAPLANE", getenv("LAB_DATAPLANE"))
		w.cilium = err == nil && dp.Cilium()
	}

	if cfgErr == nil {
		s.Config = cfg
		sel := in.Selected
		if sel == nil {
			sel = func(string) bool { return true }
		}
		errs = append(errs, checkScale(cfg, sel, w)...)
		errs = append(errs, checkTimeout(cfg, sel, w, in.Timeout)...)
	}
	if err := errors.Join(errs...); err != nil {
		return Suite{}, err
	}
	return s, nil
}

// where is what is known, before anything starts, of the cluster a run
// will use.
type where struct {
	// lab is set when the suite starts its own lab, whose plan and
	// dataplane are known; serviceCIDR is then its Service range (when
	// valid) and cilium whether its dataplane is Cilium.
	lab         bool
	cilium      bool
	serviceCIDR netip.Prefix
}

// envError is a config.EnvError: `VAR="value": problem; allowed: ...`.
func envError(name, value, problem, allowed string) error {
	return &config.EnvError{Var: name, Value: value, Problem: problem, Allowed: allowed}
}

// Workers is how many schedulable workers every dimension places its pods
// on: the server on one, the client on another.
const Workers = 2

// checkNodes checks the lab's size against the suite's needs: netplan
// allows a lab of one node (MinNodes), but every dimension needs Workers.
func checkNodes(p netplan.Plan) error {
	if p.Nodes >= Workers {
		return nil
	}
	return envError(netplan.EnvNodes, fmt.Sprint(p.Nodes),
		fmt.Sprintf("the suite places its server and its client on %d different nodes", Workers),
		fmt.Sprintf("an integer from %d to %d for the suite (a lab on its own, netbench lab up, may have %d)", Workers, netplan.MaxNodes, netplan.MinNodes))
}

// checkKubeconfig checks that every file of a kubeconfig list exists, so
// that a typo is named before anything else happens.
func checkKubeconfig(kubeconfig string) error {
	var errs []error
	for _, p := range cluster.KubeconfigPaths(kubeconfig) {
		if _, err := os.Stat(p); err != nil {
			errs = append(errs, envError("KUBECONFIG", kubeconfig, err.Error(),
				"readable kubeconfig files, several separated by "+string(os.PathListSeparator)+" (or --kubeconfig)"))
		}
	}
	return errors.Join(errs...)
}

// ModuleRoot is the root of the kube-netbench module containing dir (go
// test runs the suite in e2e/), or dir itself outside the module (a
// compiled e2e.test run elsewhere).
func ModuleRoot(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.HasPrefix(string(b), "module kube-netbench\n") {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}
