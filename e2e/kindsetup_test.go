package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sync/atomic"

	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"kube-netbench/internal/cluster"
)

// useKind makes the suite create a kind cluster of KIND_DATAPLANE in its
// Setup and delete it in its Finish: only the cluster this run created, also
// when Setup fails (e2e-framework runs Finish then too) or the run is
// interrupted. Everything that can be checked is checked before anything is
// created.
func useKind(ctx context.Context, log *slog.Logger, dp cluster.Dataplane, teardownFailed, finished *atomic.Bool) error {
	if err := cluster.CheckContainerEngine(ctx, os.Getenv); err != nil {
		return err
	}
	binDir, err := cluster.KindBinDir(os.Getenv)
	if err != nil {
		return err
	}
	kc, err := cluster.PrepareKind(ctx, cluster.ExecRunner{Progress: os.Stderr}, log, dp, exec.LookPath, binDir)
	if err != nil {
		return err
	}
	testEnv.Setup(func(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
		if err := kc.Create(ctx); err != nil {
			return ctx, err
		}
		cfg.WithKubeconfigFile(kc.Kubeconfig)
		return ctx, nil
	})
	del := func() {
		if err := kc.Delete(context.Background()); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
			teardownFailed.Store(true)
		}
	}
	testEnv.Finish(func(ctx context.Context, _ *envconf.Config) (context.Context, error) {
		del()
		return ctx, nil
	})
	removeAfterInterrupt(ctx, finished, "the kind cluster "+kc.Name, del)
	return nil
}
