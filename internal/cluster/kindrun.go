package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// Runner runs a program with extra environment entries and returns its
// standard output; its error carries the command and its standard error.
type Runner interface {
	Run(ctx context.Context, env []string, name string, args ...string) ([]byte, error)
}

// ExecRunner runs programs with os/exec, argv as given (no shell), copying
// their standard error to Progress when set (kind and helm report progress
// there).
type ExecRunner struct{ Progress io.Writer }

// Run implements Runner.
func (e ExecRunner) Run(ctx context.Context, env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if e.Progress != nil {
		cmd.Stderr = io.MultiWriter(&stderr, e.Progress)
	}
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// KindBinDir is where the suite installs kind KindVersion when none is on
// PATH: under NETBENCH_CACHE (the lab's component cache) or the user's cache
// directory, keyed by version.
func KindBinDir(getenv func(string) string) (string, error) {
	root := getenv("NETBENCH_CACHE")
	if root == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("kind install directory: set NETBENCH_CACHE: %w", err)
		}
		root = filepath.Join(dir, "kube-netbench")
	}
	return filepath.Join(root, "kind", KindVersion), nil
}

// KindCluster is the kind cluster of one suite run. It creates a cluster
// under a name no other cluster has and deletes only that one: a cluster it
// did not create is never used or removed.
type KindCluster struct {
	Name      string
	Dataplane Dataplane
	// Kubeconfig is the file kind writes this cluster's credentials to
	// (the user's kubeconfig is left untouched).
	Kubeconfig string

	run        Runner
	log        *slog.Logger
	kind, helm string
	dir        string
	// waitReady waits for the new cluster's nodes (replaced in tests).
	waitReady func(ctx context.Context, kubeconfig string) error

	mu      sync.Mutex
	created bool
}

// PrepareKind checks everything a kind cluster needs before anything is
// created: kind at KindVersion or newer (installed into binDir with `go
// install` when not on PATH), helm for the Cilium dataplanes. It picks the
// run's cluster name and a private directory for its files.
func PrepareKind(ctx context.Context, r Runner, log *slog.Logger, dp Dataplane, lookPath func(string) (string, error), binDir string) (*KindCluster, error) {
	kind, err := findKind(ctx, r, lookPath, binDir)
	if err != nil {
		return nil, err
	}
	c := &KindCluster{Dataplane: dp, run: r, log: log, kind: kind, waitReady: waitNodesReady}
	if dp.Cilium() {
		if c.helm, err = lookPath("helm"); err != nil {
			return nil, fmt.Errorf("%s=%s installs Cilium %s from its Helm chart, but helm is not on PATH (%v): install Helm 3 or newer (https://helm.sh/docs/intro/install/)",
				KindDataplaneEnv, dp, CiliumChartVersion, err)
		}
	}
	if c.Name, err = NewKindClusterName(); err != nil {
		return nil, err
	}
	if c.dir, err = os.MkdirTemp("", c.Name+"-*"); err != nil {
		return nil, fmt.Errorf("kind cluster %s: %w", c.Name, err)
	}
	c.Kubeconfig = filepath.Join(c.dir, "kubeconfig")
	return c, nil
}

// findKind returns a kind binary of KindVersion or newer: the one on PATH,
// else the one installed into binDir (installing it there if missing).
func findKind(ctx context.Context, r Runner, lookPath func(string) (string, error), binDir string) (string, error) {
	path, err := lookPath("kind")
	if err != nil {
		path = filepath.Join(binDir, "kind")
		if runtime.GOOS == "windows" {
			path += ".exe"
		}
		if _, statErr := os.Stat(path); statErr != nil {
			// GOFLAGS cleared: a -mod flag there makes `go install pkg@version` fail.
			env := []string{"GOBIN=" + binDir, "GOFLAGS="}
			if _, err := r.Run(ctx, env, "go", "install", "sigs.k8s.io/kind@"+KindVersion); err != nil {
				return "", fmt.Errorf("kind is not on PATH and installing kind %s into %s failed; install kind %s or newer (https://kind.sigs.k8s.io/docs/user/quick-start/#installation): %w",
					KindVersion, binDir, KindVersion, err)
			}
		}
	}
	out, err := r.Run(ctx, nil, path, "version")
	if err != nil {
		return "", err
	}
	if err := CheckKindVersion(path, string(out)); err != nil {
		return "", err
	}
	return path, nil
}

// Create creates the cluster, installs Cilium for the Cilium dataplanes and
// waits for every node to be Ready. It refuses a name `kind get clusters`
// already lists. Once creation has started, any failure (an interrupt
// included) deletes the cluster before returning.
func (c *KindCluster) Create(ctx context.Context) (err error) {
	out, err := c.run.Run(ctx, nil, c.kind, "get", "clusters")
	if err != nil {
		return err
	}
	if err := CheckKindNameFree(c.Name, string(out)); err != nil {
		return err
	}
	cfg, err := KindConfig(c.Dataplane)
	if err != nil {
		return err
	}
	cfgFile := filepath.Join(c.dir, "kind.yaml")
	if err := os.WriteFile(cfgFile, cfg, 0o600); err != nil {
		return fmt.Errorf("kind cluster %s: %w", c.Name, err)
	}
	c.mu.Lock()
	c.created = true
	c.mu.Unlock()
	defer func() {
		if err != nil {
			err = fmt.Errorf("create kind cluster %s (%s): %w", c.Name, c.Dataplane, err)
			// The caller's context may be the cancelled one that ended the creation.
			err = errors.Join(err, c.Delete(context.WithoutCancel(ctx)))
		}
	}()
	c.log.Info("creating kind cluster", "name", c.Name, "dataplane", c.Dataplane, "image", NodeImage)
	if _, err := c.run.Run(ctx, nil, c.kind, "create", "cluster", "--name", c.Name, "--config", cfgFile, "--kubeconfig", c.Kubeconfig); err != nil {
		return err
	}
	if c.Dataplane.Cilium() {
		if err := c.installCilium(ctx); err != nil {
			return err
		}
	}
	return c.waitReady(ctx, c.Kubeconfig)
}

// CiliumInstallArgs is helm's argv installing the pinned Cilium chart with
// the values file, into kube-system, waiting for its pods.
func CiliumInstallArgs(kubeconfig, valuesFile string) []string {
	return []string{"install", "cilium", "cilium", "--repo", CiliumChartRepo, "--version", CiliumChartVersion,
		"--namespace", "kube-system", "--kubeconfig", kubeconfig, "--values", valuesFile, "--wait", "--timeout", "10m"}
}

func (c *KindCluster) installCilium(ctx context.Context) error {
	values, err := CiliumValues(c.Dataplane, c.Name)
	if err != nil {
		return err
	}
	file := filepath.Join(c.dir, "cilium-values.yaml")
	if err := os.WriteFile(file, values, 0o600); err != nil {
		return err
	}
	c.log.Info("installing Cilium", "chart", CiliumChartVersion, "dataplane", c.Dataplane)
	_, err = c.run.Run(ctx, nil, c.helm, CiliumInstallArgs(c.Kubeconfig, file)...)
	return err
}

// Delete deletes the cluster if this run created it, and the run's files. It
// is safe to call more than once and from several goroutines.
func (c *KindCluster) Delete(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.created {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		c.log.Info("deleting kind cluster", "name", c.Name)
		if _, err := c.run.Run(ctx, nil, c.kind, "delete", "cluster", "--name", c.Name, "--kubeconfig", c.Kubeconfig); err != nil {
			return fmt.Errorf("delete kind cluster %s (remove it with `kind delete cluster --name %s`): %w", c.Name, c.Name, err)
		}
		c.created = false
	}
	if c.dir == "" {
		return nil
	}
	return os.RemoveAll(c.dir)
}
