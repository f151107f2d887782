// Package deploy holds the manifests a user applies to run the suite on a
// cluster: rbac.yaml, the ServiceAccount and the roles it needs. The lab
// applies the same file, so every lab run proves it.
package deploy

import _ "embed"

// RBAC is rbac.yaml.
//
//go:embed rbac.yaml
var RBAC []byte

// The ServiceAccount rbac.yaml binds the roles to.
const (
	ServiceAccountNamespace = "kube-netbench"
	ServiceAccountName      = "kube-netbench"
)
