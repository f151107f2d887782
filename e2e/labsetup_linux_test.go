package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"

	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"kube-netbench/internal/lab"
)

// useLab makes the suite start the embedded lab in its Setup and remove it
// in its Finish, also after an interrupt. All lab input is validated here,
// before anything is created.
func useLab(ctx context.Context, log *slog.Logger, teardownFailed, finished *atomic.Bool) error {
	opts, err := lab.OptionsFromEnv(os.Getenv, lab.DefaultDir())
	if err != nil {
		return fmt.Errorf("lab configuration: %w", err)
	}
	onLab, labKubectl = true, opts.Cache.Binaries().Kubectl
	testEnv.Setup(func(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
		l, err := lab.Up(ctx, opts, log)
		if err != nil {
			return ctx, err
		}
		cfg.WithKubeconfigFile(l.Kubeconfig)
		return ctx, nil
	})
	down := func() {
		if err := lab.Down(context.Background(), opts.Dir, log); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: lab teardown failed: %v\n", err)
			teardownFailed.Store(true)
		}
	}
	testEnv.Finish(func(ctx context.Context, _ *envconf.Config) (context.Context, error) {
		down()
		return ctx, nil
	})
	removeAfterInterrupt(ctx, finished, "the lab", down)
	return nil
}
