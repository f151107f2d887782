//go:build linux

package lab

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"kube-netbench/internal/lab/netplan"
	"kube-netbench/internal/lab/proc"
)

// state is the record of a lab, written before Up creates anything and
// updated as it goes, so that Down knows what to remove after any failure.
type state struct {
	Name      string       `json:"name"`
	Plan      netplan.Plan `json:"plan"`
	Dataplane Dataplane    `json:"dataplane"`
	Kwokctl   string       `json:"kwokctl"`
	Kubectl   string       `json:"kubectl"`
	Created   time.Time    `json:"created"`
	// Nodes are the nodes' processes, each holding its node's PID namespace.
	Nodes []proc.Ident `json:"nodes,omitempty"`
	// Tunables are the kernel tunables the kubelet writes machine-wide, as
	// they were before the first kubelet started; Down restores them.
	Tunables map[string]string `json:"tunables,omitempty"`
	// Cgroups are the machine's cgroup hierarchies and CgroupRoot the lab's
	// cgroup in each.
	Cgroups    []string `json:"cgroups,omitempty"`
	CgroupRoot string   `json:"cgroupRoot,omitempty"`
	// Ready is set once Up completed.
	Ready bool `json:"ready"`
}

const stateFile = "state.json"

func (s *state) save(dir string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, stateFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write lab state: %w", err)
	}
	return os.Rename(tmp, filepath.Join(dir, stateFile))
}

// loadState reads a lab's record; a missing record is (nil, nil).
func loadState(dir string) (*state, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read lab state: %w", err)
	}
	var s state
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("parse lab state %s: %w", filepath.Join(dir, stateFile), err)
	}
	return &s, nil
}
