//go:build linux

package lab

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"kube-netbench/internal/scale"
)

// TestServiceScaleInterruptedLeavesNoObjects runs the ServiceScale feature
// against an existing cluster (a lab started here, named by KUBECONFIG, as a
// user's cluster would be), interrupts it with SIGINT while it creates dummy
// Services, and checks that the run deleted every object it made (W-OPS-1):
// no namespace of any run is left, none Terminating; then the next run,
// right after, passes its leftover scan and completes.
func TestServiceScaleInterruptedLeavesNoObjects(t *testing.T) {
	o := needLab(t)
	l, err := Up(context.Background(), o, testLog(t))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, Down(context.Background(), o.Dir, testLog(t))) })
	c, err := clientFor(l.Kubeconfig)
	require.NoError(t, err)

	bin := buildSuite(t)
	cmd := exec.Command(bin, "-test.run", "TestServiceScale", "-test.v")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+l.Kubeconfig, "PROVIDER=", "SVC_SCALE_STEPS=3000", "ROUNDS=1",
		"FORTIO_DURATION=1s", "RESULTS_DIR="+filepath.Join(t.TempDir(), "results"))
	cmd.Dir = filepath.Join("..", "..", "e2e")
	interrupted := false
	out, err := runWatching(t, cmd, func() {
		if interrupted || !creatingDummies(c) {
			return
		}
		require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
		interrupted = true
	})
	require.True(t, interrupted, "the scale run never started creating Services: %s", out)
	require.Error(t, err, "an interrupted run must fail")
	require.Contains(t, out, "dummy Services deleted")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	left, err := scale.Leftovers(ctx, c)
	require.NoError(t, err, "objects left after the interrupted run: %v", left)
	nss, err := c.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	for _, ns := range nss.Items {
		require.False(t, strings.HasPrefix(ns.Name, "nb-"), "namespace %s (%s) left behind", ns.Name, ns.Status.Phase)
	}

	// The next run, right after, passes its leftover scan and completes.
	again := exec.Command(bin, "-test.run", "TestServiceScale", "-test.v", "--assess", "baseline|dummy Services|degradation")
	again.Env = append(os.Environ(), "KUBECONFIG="+l.Kubeconfig, "PROVIDER=", "SVC_SCALE_STEPS=100", "ROUNDS=1",
		"FORTIO_DURATION=1s", "RESULTS_DIR="+filepath.Join(t.TempDir(), "results"))
	again.Dir = cmd.Dir
	out, err = runWatching(t, again, func() {})
	require.NoError(t, err, "the run after the interrupted one: %s", out)
	require.Contains(t, out, "100 Services: programmed on")
}

// creatingDummies reports whether a scale run has created some of its dummy
// Services (and is still creating: the step has 3,000).
func creatingDummies(c kubernetes.Interface) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	l, err := c.CoreV1().Services("").List(ctx, metav1.ListOptions{LabelSelector: "netbench.io/role=dummy", Limit: 100})
	return err == nil && len(l.Items) >= 100
}
