//go:build linux

// Package lab is the embedded lab: a real Kubernetes cluster on one Linux
// machine with no Docker and no cloud. It starts a real control plane through
// e2e-framework's kwok provider, makes worker nodes out of network namespaces
// joined by an underlay, runs a kubelet, containerd and runc in each
// (internal/lab/node), and installs a real dataplane (kube-proxy in iptables
// or nftables mode, or Cilium).
//
// Up creates a lab and records it in a state directory; Down removes
// everything a lab made, from that record, also after a failed or interrupted
// Up. See docs/lab.md for the topology and address plan.
package lab

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"kube-netbench/internal/cluster"
	"kube-netbench/internal/lab/components"
	"kube-netbench/internal/lab/netplan"
)

// Dataplane is the lab's Service dataplane, one of cluster.Dataplanes: kube-
// proxy in iptables or nftables mode (pods on ptp veths, routed between
// nodes by the lab), or Cilium with kube-proxy replacement and no
// kube-proxy, its pods attached by cilium-cni, across nodes through VXLAN
// (overlay) or routes Cilium installs (native).
type Dataplane = cluster.Dataplane

// The dataplanes the lab can run.
const (
	Iptables      = cluster.Iptables
	Nftables      = cluster.Nftables
	CiliumOverlay = cluster.CiliumOverlay
	CiliumNative  = cluster.CiliumNative
)

// Dataplanes lists every accepted LAB_DATAPLANE value.
var Dataplanes = cluster.Dataplanes

// Options configure a lab.
type Options struct {
	Plan      netplan.Plan
	Dataplane Dataplane
	// Dir is the lab's state directory (kubeconfig, the nodes' state, logs,
	// the kwokctl workdir). Down removes it.
	Dir   string
	Cache components.Cache
	// Name is the kwok cluster's name.
	Name string
	// Hubble turns Hubble on in the lab's Cilium (LAB_CILIUM_HUBBLE=on);
	// off by default, so that the dataplane is measured alone.
	Hubble bool

	// afterStep, when set (tests only), runs after each step of Up and can
	// fail it, to prove that a failure at any point leaves nothing behind.
	afterStep func(step string) error
}

// step reports a completed step of Up to the test hook, and checks for an
// interrupt between steps.
func (o Options) step(name string) error {
	if o.afterStep == nil {
		return nil
	}
	return o.afterStep(name)
}

// ClusterName is the kwok cluster name of the lab.
const ClusterName = "netbench-lab"

// OptionsFromEnv reads LAB_DATAPLANE, LAB_CILIUM_HUBBLE, LAB_DIR, NETBENCH_CACHE and the
// address plan's variables (see netplan.FromEnv); defaultDir is used when
// LAB_DIR is unset. Every error names the variable, its value and what is
// allowed.
func OptionsFromEnv(getenv func(string) string, defaultDir string) (Options, error) {
	var errs []error
	plan, err := netplan.FromEnv(getenv)
	if err != nil {
		errs = append(errs, err)
	}
	dp, err := ParseDataplane(getenv("LAB_DATAPLANE"))
	if err != nil {
		errs = append(errs, err)
	}
	var hubble bool
	switch v := getenv(EnvHubble); v {
	case "", "off":
	case "on":
		hubble = true
		if err == nil && !dp.Cilium() {
			errs = append(errs, fmt.Errorf("%s=%q: LAB_DATAPLANE=%s runs no Cilium; allowed with cilium-overlay or cilium-native", EnvHubble, v, dp))
		}
	default:
		errs = append(errs, fmt.Errorf("%s=%q: allowed: on, off (default off)", EnvHubble, v))
	}
	dir := getenv("LAB_DIR")
	if dir == "" {
		dir = defaultDir
	}
	if dir, err = filepath.Abs(dir); err != nil {
		errs = append(errs, fmt.Errorf("LAB_DIR=%q: %w", getenv("LAB_DIR"), err))
	}
	cache, err := components.DefaultCache(getenv)
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return Options{}, err
	}
	return Options{Plan: plan, Dataplane: dp, Dir: dir, Cache: cache, Name: ClusterName, Hubble: hubble}, nil
}

// EnvHubble turns Hubble on in a Cilium lab: the study's Cilium ran Helm's
// default (on), while the lab measures the dataplane alone unless asked.
const EnvHubble = "LAB_CILIUM_HUBBLE"

// ParseDataplane validates a LAB_DATAPLANE value ("" means iptables).
func ParseDataplane(v string) (Dataplane, error) { return cluster.ParseDataplane("LAB_DATAPLANE", v) }

// preflight checks everything that can be checked before the lab creates
// anything: root, the machine's tools, the built components, the address plan
// against the machine's routes, and leftovers of an earlier lab.
func (o Options) preflight() error {
	if os.Geteuid() != 0 {
		return errors.New("the lab needs root (network namespaces, routes, mounts): run as root")
	}
	var errs []error
	if err := components.CheckHostTools(); err != nil {
		errs = append(errs, err)
	}
	if err := o.Cache.Binaries().Check(); err != nil {
		errs = append(errs, err)
	}
	if err := o.Cache.NodeRuntime().Check(); err != nil {
		errs = append(errs, err)
	}
	if o.Dataplane.Cilium() {
		if err := o.Cache.CheckCiliumCRDs(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
