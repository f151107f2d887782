//go:build linux

package lab

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"kube-netbench/internal/lab/node"
)

// LogsEnv names the directory lab teardown copies the lab's logs into
// (default: lab-logs/<time> under RESULTS_DIR, or results/ beside the lab
// directory).
const LogsEnv = "LAB_LOGS_DIR"

// archiveLogs copies the lab's logs out of the lab directory, which teardown
// removes, and returns where they went ("" when there were none): the nodes'
// start-up, kubelet and containerd logs, the logs of the containers still on
// the nodes (the dataplane agents' above all), and the control plane's (from
// kwokctl's cluster directory).
func archiveLogs(dir, name string) (string, error) {
	dest := os.Getenv(LogsEnv)
	if dest == "" {
		results := os.Getenv("RESULTS_DIR")
		if results == "" {
			results = filepath.Join(filepath.Dir(dir), "results")
		}
		dest = filepath.Join(results, "lab-logs", time.Now().UTC().Format("20060102-150405"))
	}
	nodes := filepath.Join(dir, "nodes")
	cp := filepath.Join(dir, "kwok", "clusters", name, "logs")
	// Each match keeps its path below base, under dest/sub.
	sources := []struct{ glob, base, sub string }{
		{filepath.Join(dir, "logs", "*.log"), filepath.Join(dir, "logs"), "nodes"},
		{filepath.Join(nodes, "*", "*.log"), nodes, "nodes"},
		{filepath.Join(node.HostDir(filepath.Join(nodes, "*"), node.PodLogDir), "*", "*", "*.log"), nodes, "nodes"},
		{filepath.Join(cp, "*.log"), cp, "control-plane"},
	}
	copied := 0
	for _, s := range sources {
		files, err := filepath.Glob(s.glob)
		if err != nil {
			return "", err
		}
		for _, f := range files {
			rel, err := filepath.Rel(s.base, f)
			if err != nil {
				return "", err
			}
			if err := copyFile(f, filepath.Join(dest, s.sub, rel)); err != nil {
				return "", err
			}
			copied++
		}
	}
	if copied == 0 {
		return "", nil
	}
	return dest, nil
}

func copyFile(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}
