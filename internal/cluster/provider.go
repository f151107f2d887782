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

// Select returns the provider for a PROVIDER value and a kubeconfig (from
// --kubeconfig, or KUBECONFIG, which may list several files separated by
// os.PathListSeparator): unset means the existing cluster when a kubeconfig
// is given, else the lab. Contradictions are errors.
func Select(value, kubeconfig string) (Provider, error) {
	given := len(KubeconfigPaths(kubeconfig)) > 0
	switch Provider(value) {
	case "":
		if given {
			return Existing, nil
		}
		return Lab, nil
	case Existing:
		if !given {
			return "", fmt.Errorf("%s=existing needs a kubeconfig: set KUBECONFIG or pass --kubeconfig", ProviderEnv)
		}
		return Existing, nil
	case Lab, Kind:
		if given {
			return "", fmt.Errorf("%s=%s creates its own cluster, but a kubeconfig (%s) names another: unset one of them", ProviderEnv, value, kubeconfig)
		}
		return Provider(value), nil
	}
	return "", fmt.Errorf("%s=%q: unknown provider; allowed: lab, kind, existing (or unset)", ProviderEnv, value)
}

// CheckContainerEngine fails with a clear message when the engine kind runs
// its nodes in does not answer: Docker, or Podman when
// KIND_EXPERIMENTAL_PROVIDER=podman (kind's own switch).
func CheckContainerEngine(ctx context.Context, getenv func(string) string) error {
	engine := "docker"
	if getenv("KIND_EXPERIMENTAL_PROVIDER") == "podman" {
		engine = "podman"
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, engine, "info").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s=kind needs a running %s engine: `%s info` failed: %v: %s", ProviderEnv, engine, engine, err, strings.TrimSpace(string(out)))
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
