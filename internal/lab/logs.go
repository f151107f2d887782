package lab

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// LogsEnv names the directory lab teardown copies the lab's logs into
// (default: lab-logs/<time> under RESULTS_DIR, or results/ beside the lab
// directory).
const LogsEnv = "LAB_LOGS_DIR"

// archiveLogs copies the agents' logs and the control plane's logs (from
// kwokctl's cluster directory) out of the lab directory, which teardown
// removes, and returns where they went ("" when there were none).
func archiveLogs(dir, name string) (string, error) {
	sources := map[string]string{
		"agents":        filepath.Join(dir, "logs"),
		"control-plane": filepath.Join(dir, "kwok", "clusters", name, "logs"),
	}
	dest := os.Getenv(LogsEnv)
	if dest == "" {
		results := os.Getenv("RESULTS_DIR")
		if results == "" {
			results = filepath.Join(filepath.Dir(dir), "results")
		}
		dest = filepath.Join(results, "lab-logs", time.Now().UTC().Format("20060102-150405"))
	}
	copied := 0
	for sub, src := range sources {
		files, err := filepath.Glob(filepath.Join(src, "*.log"))
		if err != nil {
			return "", err
		}
		for _, f := range files {
			if err := copyFile(f, filepath.Join(dest, sub, filepath.Base(f))); err != nil {
				return "", err
			}
			copied++
		}
	}
	// Container logs of the pods still on the nodes (the dataplane agents
	// above all): nodes/<node>/pods/<pod UID>/containers/<name>/log.
	logs, err := filepath.Glob(filepath.Join(dir, "nodes", "*", "pods", "*", "containers", "*", "log"))
	if err != nil {
		return "", err
	}
	for _, f := range logs {
		rel, err := filepath.Rel(filepath.Join(dir, "nodes"), f)
		if err != nil {
			return "", err
		}
		parts := strings.Split(rel, string(filepath.Separator)) // node, pods, uid, containers, name, log
		if err := copyFile(f, filepath.Join(dest, "pods", parts[0], parts[2], parts[4]+".log")); err != nil {
			return "", err
		}
		copied++
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
