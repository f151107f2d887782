// Package agent is the lab's node agent: a small kubelet for one lab node.
//
// One agent runs inside each node's network namespace. It registers the Node
// object and keeps it Ready, realizes every pod the scheduler binds to its
// node (a network namespace wired by a real CNI plugin, the containers run
// from local binaries mapped by image, volumes, environment, readiness), serves
// the kubelet API the apiserver proxies `kubectl exec` and `kubectl logs` to,
// and tears pods down when they are deleted.
package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
)

// Config is everything an agent needs; the lab writes it as JSON and starts
// the agent with its path.
type Config struct {
	// NodeName is the Node object's name (also the node's hostname).
	NodeName string `json:"nodeName"`
	// NodeIP is the node's InternalIP, where the kubelet API listens.
	NodeIP netip.Addr `json:"nodeIP"`
	// PodCIDR is the node's pod range, written to spec.podCIDR.
	PodCIDR netip.Prefix `json:"podCIDR"`
	// Kubeconfig is the agent's credentials file.
	Kubeconfig string `json:"kubeconfig"`
	// StateDir holds the node's pods (rootfs, volumes, logs, PIDs).
	StateDir string `json:"stateDir"`
	// CNIBinDir holds the CNI plugins; CNIConfList is the network list used
	// for every pod that is not hostNetwork.
	CNIBinDir   string          `json:"cniBinDir"`
	CNIConfList json.RawMessage `json:"cniConfList"`
	// CNIExtraBinDirs are searched for plugins after CNIBinDir (a
	// dataplane's own plugin, such as cilium-cni, beside the reference
	// plugins' loopback).
	CNIExtraBinDirs []string `json:"cniExtraBinDirs,omitempty"`
	// CNIEnv is added to the environment plugins run with (cilium-cni finds
	// its node's agent through CILIUM_SOCK).
	CNIEnv map[string]string `json:"cniEnv,omitempty"`
	// KubeletPort is where the kubelet API listens (10250).
	KubeletPort int `json:"kubeletPort"`
	// Binaries maps a binary name (fortio, kube-proxy, ...) to its host path,
	// for the image map.
	Binaries map[string]string `json:"binaries"`
	// Labels are extra labels of the Node object.
	Labels map[string]string `json:"labels,omitempty"`
	// KubernetesVersion is reported as the node's kubelet version.
	KubernetesVersion string `json:"kubernetesVersion"`
}

// Validate names every missing or malformed field.
func (c Config) Validate() error {
	var errs []error
	if c.NodeName == "" {
		errs = append(errs, errors.New("nodeName is empty"))
	}
	if !c.NodeIP.Is4() {
		errs = append(errs, fmt.Errorf("nodeIP %q is not an IPv4 address", c.NodeIP))
	}
	if !c.PodCIDR.IsValid() {
		errs = append(errs, errors.New("podCIDR is not set"))
	}
	for name, v := range map[string]string{"kubeconfig": c.Kubeconfig, "stateDir": c.StateDir, "cniBinDir": c.CNIBinDir} {
		if !filepath.IsAbs(v) {
			errs = append(errs, fmt.Errorf("%s %q must be an absolute path", name, v))
		}
	}
	for _, v := range c.CNIExtraBinDirs {
		if !filepath.IsAbs(v) {
			errs = append(errs, fmt.Errorf("cniExtraBinDirs entry %q must be an absolute path", v))
		}
	}
	if len(c.CNIConfList) == 0 {
		errs = append(errs, errors.New("cniConfList is empty"))
	}
	if c.KubeletPort <= 0 || c.KubeletPort > 65535 {
		errs = append(errs, fmt.Errorf("kubeletPort %d is not a TCP port", c.KubeletPort))
	}
	return errors.Join(errs...)
}

// LoadConfig reads and validates a config file.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read agent config: %w", err)
	}
	var c Config
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("parse agent config %s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("agent config %s: %w", path, err)
	}
	return c, nil
}
