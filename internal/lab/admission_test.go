//go:build linux

package lab

import (
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/pod-security-admission/admission/api/load"
	psaapi "k8s.io/pod-security-admission/api"
	"sigs.k8s.io/yaml"
)

// TestAdmissionConfig: the apiserver's Pod Security configuration loads and
// validates with the admission plugin's own loader, enforces baseline by
// default, and exempts only kube-system (the lab's privileged DaemonSets).
func TestAdmissionConfig(t *testing.T) {
	var ac struct {
		APIVersion, Kind string
		Plugins          []struct {
			Name          string
			Configuration map[string]any
		}
	}
	require.NoError(t, yaml.UnmarshalStrict([]byte(admissionConfig), &ac))
	require.Equal(t, "apiserver.config.k8s.io/v1", ac.APIVersion)
	require.Equal(t, "AdmissionConfiguration", ac.Kind)
	require.Len(t, ac.Plugins, 1)
	require.Equal(t, "PodSecurity", ac.Plugins[0].Name)
	b, err := yaml.Marshal(ac.Plugins[0].Configuration)
	require.NoError(t, err)
	cfg, err := load.LoadFromData(b)
	require.NoError(t, err)
	require.Equal(t, string(psaapi.LevelBaseline), cfg.Defaults.Enforce)
	require.Equal(t, string(psaapi.LevelRestricted), cfg.Defaults.Warn)
	require.Equal(t, string(psaapi.LevelRestricted), cfg.Defaults.Audit)
	require.Equal(t, []string{"kube-system"}, cfg.Exemptions.Namespaces)
	require.Empty(t, cfg.Exemptions.Usernames)
	require.Empty(t, cfg.Exemptions.RuntimeClasses)
}

func TestKwokctlConfigPassesAdmissionConfig(t *testing.T) {
	o, err := OptionsFromEnv(func(k string) string { return map[string]string{"NETBENCH_CACHE": "/tmp/cache-x"}[k] }, "/tmp/lab-x")
	require.NoError(t, err)
	c := kwokctlConfig(o)
	require.Contains(t, c, "  - key: admission-control-config-file\n    value: /tmp/lab-x/admission.yaml\n")
	require.Contains(t, c, "kubeAdmission: true")
	require.Contains(t, c, "kubeAuthorization: true")
}

// The fault test stops the apiserver for 20 s: an elected controller
// manager gives up its lease after 10 s and exits ("leaderelection
// lost"), and with it namespace deletion, for the rest of the lab's life.
func TestKwokctlConfigRunsTheControllersWithoutLeaderElection(t *testing.T) {
	o, err := OptionsFromEnv(func(k string) string { return map[string]string{"NETBENCH_CACHE": "/tmp/cache-x"}[k] }, "/tmp/lab-x")
	require.NoError(t, err)
	var cfg struct {
		ComponentsPatches []struct {
			Name      string `json:"name"`
			ExtraArgs []struct {
				Key   string `json:"key"`
				Value string `json:"value"`
			} `json:"extraArgs"`
		} `json:"componentsPatches"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(kwokctlConfig(o)), &cfg))
	elect := map[string]string{}
	for _, p := range cfg.ComponentsPatches {
		for _, a := range p.ExtraArgs {
			if a.Key == "leader-elect" {
				elect[p.Name] = a.Value
			}
		}
	}
	require.Equal(t, map[string]string{"kube-controller-manager": "false", "kube-scheduler": "false"}, elect)
}
