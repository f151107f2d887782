package cluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/client-go/tools/clientcmd"
)

// KubeconfigPaths splits a KUBECONFIG value into its files, as kubectl does:
// a list separated by os.PathListSeparator (':', ';' on Windows), empty
// entries dropped.
func KubeconfigPaths(v string) []string {
	var paths []string
	for _, p := range filepath.SplitList(v) {
		if p != "" {
			paths = append(paths, p)
		}
	}
	return paths
}

// MergeKubeconfigs writes to dst the one configuration kubectl sees for a
// KUBECONFIG list: client-go's loading rules merge the files (the first to
// set a value wins, missing files are skipped) and make relative paths in
// them absolute, so dst can live anywhere. dst holds credentials: it is
// written with mode 0600 and the caller removes it.
func MergeKubeconfigs(paths []string, dst string) error {
	rules := &clientcmd.ClientConfigLoadingRules{Precedence: paths}
	merged, err := rules.Load()
	if err != nil {
		return fmt.Errorf("KUBECONFIG: %w", err)
	}
	if len(merged.Contexts) == 0 {
		return fmt.Errorf("KUBECONFIG=%q: no context in any of its files (missing files are skipped)", strings.Join(paths, string(os.PathListSeparator)))
	}
	if err := clientcmd.WriteToFile(*merged, dst); err != nil {
		return fmt.Errorf("KUBECONFIG: write the merged configuration: %w", err)
	}
	return nil
}

// KubeconfigFile returns one file holding the configuration a kubeconfig
// value names, for consumers that take a single path (e2e-framework's
// client, kubectl --kubeconfig): the file itself, or, for a list, a merged
// copy in a private temporary directory that remove deletes.
func KubeconfigFile(v string) (path string, remove func() error, err error) {
	paths := KubeconfigPaths(v)
	switch len(paths) {
	case 0:
		return "", nil, fmt.Errorf("KUBECONFIG=%q: names no file", v)
	case 1:
		return paths[0], func() error { return nil }, nil
	}
	dir, err := os.MkdirTemp("", "netbench-kubeconfig-*")
	if err != nil {
		return "", nil, fmt.Errorf("KUBECONFIG: %w", err)
	}
	remove = func() error { return os.RemoveAll(dir) }
	path = filepath.Join(dir, "config")
	if err := MergeKubeconfigs(paths, path); err != nil {
		return "", nil, errors.Join(err, remove())
	}
	return path, remove, nil
}
