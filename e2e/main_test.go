// Package e2e is the benchmark suite: one file per dimension, each an
// e2e-framework feature. TestMain picks the cluster (PROVIDER): an existing
// one when a kubeconfig is given (--kubeconfig or KUBECONFIG, a list merged
// as kubectl does), a kind cluster of KIND_DATAPLANE with one control plane
// and two workers (PROVIDER=kind, needs Docker or Podman), else the embedded
// lab; a cluster the suite creates is removed when the suite ends, fails or
// is interrupted.
package e2e

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"kube-netbench/internal/cluster"
	"kube-netbench/internal/config"
	"kube-netbench/internal/provenance"
	"kube-netbench/internal/results"
	"kube-netbench/internal/seedview"
	"kube-netbench/internal/suiteconfig"
)

var (
	testEnv env.Environment
	// onLab is set when the suite runs on a lab it started itself, and
	// labKubectl is then the lab's version-matched kubectl.
	onLab      bool
	labKubectl string
	// injectForward, on the lab, puts n rules that match nothing at the
	// top of every node's FORWARD chain and returns what removes them.
	injectForward func(ctx context.Context, n int) (remove func(context.Context) error, err error)
	// runID labels every object the run creates and names its results
	// directory, resultsDir, which every dimension writes through.
	runID      string
	resultsDir *results.Dir
	// suite is the run's validated settings and profile, read once by
	// TestMain; each dimension takes its own copy (newDimension).
	suite suiteconfig.Suite
	// moduleRoot is the repository root when the suite runs from its
	// source, else the working directory (suiteconfig.ModuleRoot).
	moduleRoot string
	// suiteBinary is this binary's digest for every fingerprint, or why it
	// could not be read.
	suiteBinary string
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
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 2
	}
	// Every setting is validated together before anything is created (no
	// lab, cluster or namespace yet): each bad one is named, with its value
	// and what is allowed. The run ID is fixed here, once, for every
	// feature of the run.
	moduleRoot = suiteconfig.ModuleRoot(wd)
	suite, err = suiteconfig.Load(suiteconfig.Inputs{Getenv: os.Getenv, Kubeconfig: kubeconfig,
		Root: moduleRoot, Timeout: testTimeout(),
		Selected: suiteconfig.Selector(flagValue("test.run"), flagValue("test.skip"))})
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: configuration:\n%v\n", err)
		return 2
	}
	for _, w := range suite.Config.Warnings {
		fmt.Fprintf(os.Stderr, "e2e: configuration warning: %s\n", w)
	}
	fmt.Fprintf(os.Stderr, "e2e: profile %s\n", suite.ProfileFrom)
	if suiteBinary, err = provenance.ExecutableDigest(); err != nil {
		suiteBinary = "unknown: " + err.Error()
	}
	fmt.Fprintf(os.Stderr, "e2e: suite binary %s\n", suiteBinary)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	testEnv, err = env.NewWithContext(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 2
	}
	runID = suite.Config.RunID
	if err := os.Setenv(config.EnvRunID, runID); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 2
	}
	if resultsDir, err = results.Create(suite.ResultsRoot, runID, time.Now()); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 2
	}
	fmt.Fprintf(os.Stderr, "e2e: run %s, results in %s\n", runID, resultsDir.Path)
	defer finishResults()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	var teardownFailed, finished atomic.Bool
	switch suite.Provider {
	case cluster.Existing:
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
	case cluster.Kind:
		err = useKind(ctx, log, suite.KindDataplane, &teardownFailed, &finished)
	case cluster.Lab:
		err = useLab(ctx, log, suite.Lab, suite.LabAs, &teardownFailed, &finished)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 2
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

// finishResults records the run's end and writes the seed script's
// benchmark-summary.json as a view of everything the run measured.
func finishResults() {
	if err := resultsDir.Finish(time.Now()); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: results: %v\n", err)
		return
	}
	l, err := results.Read(resultsDir.Path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: results: %v\n", err)
		return
	}
	var b bytes.Buffer
	if err := seedview.Write(&b, l); err == nil {
		err = os.WriteFile(filepath.Join(resultsDir.Path, seedview.FileName), b.Bytes(), 0o644)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %s: %v\n", seedview.FileName, err)
	}
}

// flagValue is the value of a parsed flag, "" if there is none.
func flagValue(name string) string {
	if f := flag.Lookup(name); f != nil {
		return f.Value.String()
	}
	return ""
}

// testTimeout is go test's -timeout, 0 when there is none.
func testTimeout() time.Duration {
	if f := flag.Lookup("test.timeout"); f != nil {
		if g, ok := f.Value.(flag.Getter); ok {
			if t, ok := g.Get().(time.Duration); ok {
				return t
			}
		}
	}
	return 0
}

// removeAfterInterrupt removes what the suite created if, after an interrupt
// (which cancels ctx: tests then fail fast and Finish removes it), the tests
// have not returned within 90 s; the process then exits.
func removeAfterInterrupt(ctx context.Context, finished *atomic.Bool, what string, remove func()) {
	go func() {
		<-ctx.Done()
		time.Sleep(90 * time.Second)
		if !finished.Load() {
			fmt.Fprintf(os.Stderr, "e2e: interrupted and the tests did not stop; removing %s\n", what)
			remove()
			os.Exit(130)
		}
	}()
}
