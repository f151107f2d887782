//go:build linux

package lab

import (
	"os"
	"path/filepath"
)

// admissionConfig is the apiserver's AdmissionConfiguration: Pod Security
// enforces baseline in any namespace that sets no level of its own (warning
// and auditing restricted), as a hardened cluster does, so that a suite pod
// a level refuses fails on the lab as it would there. kube-system is
// exempt: the lab's kube-proxy and cilium DaemonSets need privileged (host
// network, host paths, capabilities), as they do on any cluster.
const admissionConfig = `apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: PodSecurity
  configuration:
    apiVersion: pod-security.admission.config.k8s.io/v1
    kind: PodSecurityConfiguration
    defaults:
      enforce: baseline
      enforce-version: latest
      warn: restricted
      warn-version: latest
      audit: restricted
      audit-version: latest
    exemptions:
      usernames: []
      runtimeClasses: []
      namespaces: [kube-system]
`

// admissionConfigPath is where the lab writes admissionConfig for its
// apiserver.
func admissionConfigPath(dir string) string { return filepath.Join(dir, "admission.yaml") }

func writeAdmissionConfig(dir string) error {
	return os.WriteFile(admissionConfigPath(dir), []byte(admissionConfig), 0o600)
}
