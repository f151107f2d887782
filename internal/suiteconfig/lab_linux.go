//go:build linux

package suiteconfig

import "kube-netbench/internal/lab"

// LabOptions configure the embedded lab.
type LabOptions = lab.Options

// labOptions runs the lab's own checks of its variables; defaultDir is its
// state directory when LAB_DIR is unset.
func labOptions(getenv func(string) string, defaultDir string) (LabOptions, error) {
	return lab.OptionsFromEnv(getenv, defaultDir)
}
