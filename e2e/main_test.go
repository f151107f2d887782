// Package e2e is the benchmark suite: one file per dimension, each an
// e2e-framework feature. TestMain picks the cluster (PROVIDER): an existing
// one when a kubeconfig is given (--kubeconfig or KUBECONFIG), a kind
// cluster with one control plane and two workers (PROVIDER=kind, needs
// Docker), else the embedded lab, started here and removed when the suite
// ends, fails or is interrupted.
package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"testing"

	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/envfuncs"
	"sigs.k8s.io/e2e-framework/support/kind"

	"kube-netbench/internal/cluster"
)

var (
	testEnv env.Environment
	// onLab is set when the suite runs on a lab it started itself, and
	// labKubectl is then the lab's version-matched kubectl.
	onLab      bool
	labKubectl string
)

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	cfg, err := envconf.NewFromFlags()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: flags: %v\n", err)
		return 2
	}
	kubeconfig := cfg.KubeconfigFile()
	if kubeconfig == "" {
		kubeconfig = os.Getenv("KUBECONFIG")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	testEnv, err = env.NewWithContext(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	var teardownFailed, finished atomic.Bool
	provider, err := cluster.Select(os.Getenv(cluster.ProviderEnv), kubeconfig)
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 2
	}
	if provider == cluster.Existing {
		// A KUBECONFIG list (a:b) is merged into one file, as kubectl reads it.
		path, remove, err := cluster.KubeconfigFile(kubeconfig)
		if err != nil {
			fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
			return 2
		}
		defer func() {
			if err := remove(); err != nil {
				fmt.Fprintf(os.Stderr, "e2e: remove the merged kubeconfig: %v\n", err)
			}
		}()
		cfg.WithKubeconfigFile(path)
	}
	if provider == cluster.Kind {
		if err := cluster.CheckDocker(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
			return 2
		}
		cfgFile, err := os.CreateTemp("", "netbench-kind-*.yaml")
		if err == nil {
			_, err = cfgFile.WriteString(cluster.KindConfig)
			cfgFile.Close()
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "e2e: kind config: %v\n", err)
			return 2
		}
		defer os.Remove(cfgFile.Name())
		const name = "netbench"
		testEnv.Setup(envfuncs.CreateClusterWithConfig(kind.NewProvider(), name, cfgFile.Name()))
		testEnv.Finish(func(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
			ctx, err := envfuncs.DestroyCluster(name)(ctx, cfg)
			if err != nil {
				fmt.Fprintf(os.Stderr, "e2e: delete the kind cluster %s: %v\n", name, err)
				teardownFailed.Store(true)
			}
			return ctx, nil
		})
	}
	if provider == cluster.Lab {
		if err := useLab(ctx, log, &teardownFailed, &finished); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
			return 2
		}
	}
	code := testEnv.Run(m)
	finished.Store(true)
	if teardownFailed.Load() && code == 0 {
		code = 1
	}
	if ctx.Err() != nil && code == 0 {
		code = 130
	}
	return code
}
