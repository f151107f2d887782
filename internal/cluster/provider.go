// Package cluster chooses the cluster a suite run uses: an existing one (a
// kubeconfig), a kind cluster it creates, or the embedded lab.
package cluster

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// Provider is where the suite runs.
type Provider string

// The providers.
const (
	Lab      Provider = "lab"
	Kind     Provider = "kind"
	Existing Provider = "existing"
)

// ProviderEnv names the variable that picks the provider.
const ProviderEnv = "PROVIDER"

// Select returns the provider for a PROVIDER value and a kubeconfig path
// (from --kubeconfig or KUBECONFIG): unset means the existing cluster when a
// kubeconfig is given, else the lab. Contradictions are errors.
func Select(value, kubeconfig string) (Provider, error) {
	switch Provider(value) {
	case "":
		if kubeconfig != "" {
			return Existing, nil
		}
		return Lab, nil
	case Existing:
		if kubeconfig == "" {
			return "", fmt.Errorf("%s=existing needs a kubeconfig: set KUBECONFIG or pass --kubeconfig", ProviderEnv)
		}
		return Existing, nil
	case Lab, Kind:
		if kubeconfig != "" {
			return "", fmt.Errorf("%s=%s creates its own cluster, but a kubeconfig (%s) names another: unset one of them", ProviderEnv, value, kubeconfig)
		}
		return Provider(value), nil
	}
	return "", fmt.Errorf("%s=%q: unknown provider; allowed: lab, kind, existing (or unset)", ProviderEnv, value)
}

// KindConfig is the kind cluster the suite creates: one control plane and two
// workers, so workloads land on two distinct schedulable workers.
const KindConfig = `kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
- role: control-plane
- role: worker
- role: worker
`

// CheckDocker fails with a clear message when no Docker engine answers (kind
// runs its nodes as Docker containers).
func CheckDocker(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s=kind needs a running Docker engine: `docker info` failed: %v: %s", ProviderEnv, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Identity is who the suite acts as on the lab.
type Identity string

// The identities: the lab's admin, or the ServiceAccount of deploy/rbac.yaml
// with only the rights that file grants (the default, so that every lab
// run proves the file complete).
const (
	AsAdmin          Identity = "admin"
	AsServiceAccount Identity = "serviceaccount"
)

// IdentityEnv names the variable that picks the identity.
const IdentityEnv = "LAB_AS"

// SelectIdentity returns the identity for a LAB_AS value; unset means the
// ServiceAccount.
func SelectIdentity(value string) (Identity, error) {
	switch Identity(value) {
	case "", AsServiceAccount:
		return AsServiceAccount, nil
	case AsAdmin:
		return AsAdmin, nil
	}
	return "", fmt.Errorf("%s=%q: unknown identity; allowed: serviceaccount (the default), admin", IdentityEnv, value)
}
