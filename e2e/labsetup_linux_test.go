package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"kube-netbench/deploy"
	"kube-netbench/internal/cluster"
	"kube-netbench/internal/kube"
	"kube-netbench/internal/lab"
)

// useLab makes the suite start the embedded lab in its Setup and remove it
// in its Finish, also after an interrupt. Its options were validated with
// every other setting (suiteconfig.Load), before anything is created.
// Unless LAB_AS=admin, the suite then acts as deploy/rbac.yaml's
// ServiceAccount, so that every lab run proves the file grants all a run
// needs (a missing rule fails as Forbidden).
func useLab(ctx context.Context, log *slog.Logger, opts lab.Options, as cluster.Identity, teardownFailed, finished *atomic.Bool) error {
	onLab, labKubectl = true, opts.Cache.Binaries().Kubectl
	injectForward = func(ctx context.Context, n int) (func(context.Context) error, error) {
		return lab.InjectForwardRules(ctx, opts, n)
	}
	testEnv.Setup(func(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
		l, err := lab.Up(ctx, opts, log)
		if err != nil {
			return ctx, err
		}
		kubeconfig := l.Kubeconfig
		if as == cluster.AsServiceAccount {
			if kubeconfig, err = serviceAccountKubeconfig(ctx, l.Kubeconfig, opts.Dir); err != nil {
				return ctx, err
			}
		}
		log.Info("the suite acts as", "identity", string(as), "kubeconfig", kubeconfig)
		cfg.WithKubeconfigFile(kubeconfig)
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

// serviceAccountKubeconfig applies deploy/rbac.yaml as the lab's admin,
// requests a token of its ServiceAccount that outlives the suite, and
// writes a kubeconfig with that token and the admin's server and CA into
// the lab's directory (removed with the lab).
func serviceAccountKubeconfig(ctx context.Context, admin, dir string) (string, error) {
	if err := lab.Apply(ctx, labKubectl, admin, deploy.RBAC); err != nil {
		return "", fmt.Errorf("apply deploy/rbac.yaml: %w", err)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", admin)
	if err != nil {
		return "", err
	}
	c, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return "", err
	}
	token, _, err := kube.RequestToken(ctx, c, deploy.ServiceAccountNamespace, deploy.ServiceAccountName, tokenLifetime())
	if err != nil {
		return "", err
	}
	adminCfg, err := clientcmd.LoadFromFile(admin)
	if err != nil {
		return "", err
	}
	saCfg, err := kube.TokenKubeconfig(adminCfg, deploy.ServiceAccountName, token)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "kubeconfig-"+deploy.ServiceAccountName)
	if err := clientcmd.WriteToFile(*saCfg, path); err != nil {
		return "", fmt.Errorf("write the ServiceAccount's kubeconfig: %w", err)
	}
	return path, nil
}

// tokenLifetime covers the suite's -timeout (a day when it has none) plus
// the lab's teardown.
func tokenLifetime() time.Duration {
	d := 24 * time.Hour
	if t := testTimeout(); t > 0 {
		d = t
	}
	return max(d, time.Hour) + 10*time.Minute
}
