//go:build linux

package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"kube-netbench/internal/lab/proc"
	"kube-netbench/internal/report"
	"kube-netbench/internal/results"
	"kube-netbench/internal/scale"
)

// These tests run the e2e suite itself (its test binary, with a lab of its
// own) and check the machine after it ended: after a failed test and after
// SIGINT, the suite must have removed its lab.

// buildSuite compiles the e2e suite's test binary.
func buildSuite(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "e2e.test")
	cmd := exec.Command("go", "test", "-c", "-o", bin, "../../e2e")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "build the e2e suite: %s", out)
	return bin
}

// labProcesses returns the processes a lab recorded so far (nodes and
// control plane), read from its state directory.
func labProcesses(dir string) []proc.Ident {
	st, _ := loadState(dir)
	if st == nil {
		return nil
	}
	ids := append([]proc.Ident{}, st.Nodes...)
	return append(ids, newControlPlane(dir, st.Name, st.Kwokctl, st.Kubectl).processes()...)
}

func TestSuiteRemovesItsLabAfterAFailedTest(t *testing.T) {
	o := needLab(t)
	bin := buildSuite(t)
	cmd := exec.Command(bin, "-test.run", "TestDataplaneSmoke", "-test.v")
	// An image the lab does not hold: the pull fails (no registry) and with
	// it the smoke feature's setup.
	cmd.Env = append(os.Environ(), "LAB_DIR="+o.Dir, "FORTIO_IMAGE=nginx:1.27", "KUBECONFIG=")
	var seen []proc.Ident
	out, err := runWatching(t, cmd, func() { seen = merge(seen, labProcesses(o.Dir)) })
	require.Error(t, err, "the suite must fail: %s", out)
	require.Regexp(t, `(ErrImagePull|ImagePullBackOff): .*nginx:1\.27`, out)
	require.Contains(t, out, "lab down: nothing left")
	require.NotEmpty(t, seen, "the suite never started a lab")
	assertNothingLeft(t, o, seen, nil)
}

func TestSuiteRemovesItsLabOnSIGINT(t *testing.T) {
	o := needLab(t)
	bin := buildSuite(t)
	cmd := exec.Command(bin, "-test.run", "TestDataplaneSmoke", "-test.v")
	cmd.Env = append(os.Environ(), "LAB_DIR="+o.Dir, "KUBECONFIG=")
	var seen []proc.Ident
	interrupted := false
	out, err := runWatching(t, cmd, func() {
		seen = merge(seen, labProcesses(o.Dir))
		if interrupted || !smokeRunning(o.Dir) {
			return
		}
		// The smoke feature has created its namespace: interrupt mid-test.
		require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
		interrupted = true
	})
	require.True(t, interrupted, "the smoke test never started: %s", out)
	require.Error(t, err, "an interrupted suite must exit non-zero: %s", out)
	require.Contains(t, out, "lab down: nothing left")
	assertNothingLeft(t, o, seen, nil)
}

// smokeRunning reports whether the smoke feature's namespace exists in the
// lab of dir.
func smokeRunning(dir string) bool {
	st, _ := loadState(dir)
	if st == nil || !st.Ready {
		return false
	}
	c, err := clientFor(filepath.Join(dir, "kubeconfig"))
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	nss, err := c.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return false
	}
	for _, ns := range nss.Items {
		if strings.HasPrefix(ns.Name, "nb-smoke-") {
			return true
		}
	}
	return false
}

// runWatching runs cmd to completion (at most 10 minutes), calling watch
// every 50 ms while it runs, and returns its combined output.
func runWatching(t *testing.T, cmd *exec.Cmd, watch func()) (string, error) {
	t.Helper()
	var buf lockedBuffer
	return runWatchingInto(t, cmd, &buf, watch)
}

// runWatchingInto is runWatching writing the output into buf, for a watch
// that reads it.
func runWatchingInto(t *testing.T, cmd *exec.Cmd, buf *lockedBuffer, watch func()) (string, error) {
	t.Helper()
	cmd.Stdout, cmd.Stderr = buf, buf
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(10 * time.Minute)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			t.Logf("suite output:\n%s", buf.String())
			return buf.String(), err
		case <-tick.C:
			watch()
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatalf("the suite did not end within 10 minutes:\n%s", buf.String())
		}
	}
}

func merge(a, b []proc.Ident) []proc.Ident {
	for _, id := range b {
		found := false
		for _, x := range a {
			found = found || x == id
		}
		if !found {
			a = append(a, id)
		}
	}
	return a
}

// interruptPoint is a place in a run where an operator's Ctrl-C or a CI
// runner's SIGTERM can land: the signal goes to the suite right after it
// logs a line matching at (once a line matching after, if set, was seen).
type interruptPoint struct {
	name   string
	run    string
	env    []string
	args   []string
	after  *regexp.Regexp
	at     *regexp.Regexp
	sig    syscall.Signal
	cilium bool
	// until, if set, must also hold before the signal: what the cluster
	// shows once the suite is in the middle of the phase.
	until func(kubernetes.Interface) bool
}

// interruptPoints are the suite's interrupt points against a cluster (the
// lab's own start and a lab run's SIGINT are TestInterruptDuringUpLeavesNothing
// and TestSuiteRemovesItsLabOnSIGINT). INTERRUPT_POINTS selects by name (a
// regular expression); make lab-tests runs a subset, make interrupts all.
// noSeedComparison leaves out ServiceScale's first assessment (the
// seed-method comparison, its own point) so that the later points come
// sooner.
var noSeedComparison = []string{"--skip-assessment", "creation.rate.side.by.side"}

// straightToSteps leaves out the 0-Service baseline too.
var straightToSteps = []string{"--skip-assessment", "creation.rate.side.by.side|baseline.at.0.dummy"}

var interruptPoints = []interruptPoint{
	{name: "workload pods starting", run: "TestRPS", sig: syscall.SIGTERM,
		at: regexp.MustCompile(`setup: fortio server and client, Service \.\.\.$`)},
	{name: "dummy Service creation", run: "TestServiceScale", args: straightToSteps, env: []string{"SVC_SCALE_STEPS=3000"}, sig: syscall.SIGINT,
		at: regexp.MustCompile(`3000 Services: creating 3000 Services`), until: creatingDummies},
	{name: "programming wait", run: "TestServiceScale", args: straightToSteps, env: []string{"SVC_SCALE_STEPS=2000"}, sig: syscall.SIGTERM,
		at: regexp.MustCompile(`2000 Services: waiting until every node programmed`)},
	{name: "seed-method creation (kubectl children)", run: "TestServiceScale", env: []string{"SVC_SCALE_STEPS=1000"}, sig: syscall.SIGINT,
		at: regexp.MustCompile(`creation rate: \d+ Services with the seed script's method`)},
	{name: "closing baseline", run: "TestServiceScale", args: straightToSteps, env: []string{"SVC_SCALE_STEPS=200"}, sig: syscall.SIGTERM,
		after: regexp.MustCompile(`dummy Services deleted`), at: regexp.MustCompile(`0 Services: round 1 of`)},
	{name: "fortio run", run: "TestRPS", sig: syscall.SIGINT,
		at: regexp.MustCompile(`round 1 of \d+: .* \.\.\.$`)},
	{name: "iperf3 run", run: "TestThroughput", sig: syscall.SIGTERM,
		at: regexp.MustCompile(`round 1 of \d+: .* \.\.\.$`)},
	{name: "netperf run", run: "TestLatency", sig: syscall.SIGINT,
		at: regexp.MustCompile(`round 1 of \d+: netperf TCP_RR \.\.\.$`)},
	{name: "policy being applied", run: "TestNetworkPolicy", sig: syscall.SIGTERM,
		at: regexp.MustCompile(`NetworkPolicy.* applied \.\.\.$`)},
	{name: "teardown", run: "TestThroughput", env: []string{"ROUNDS=1"}, sig: syscall.SIGINT,
		at: regexp.MustCompile(`teardown: deleting namespaces nb-`)},
	{name: "Hubble rollout", run: "TestHubble", sig: syscall.SIGTERM, cilium: true,
		at: regexp.MustCompile(`hubble on: cilium-config, rollout, verify on every agent \.\.\.$`)},
	{name: "raised LB map", run: "TestServiceScale", args: noSeedComparison, sig: syscall.SIGINT, cilium: true,
		env:   []string{"SVC_SCALE_STEPS=12000", "AUTO_FIX_LB_MAP=true"},
		after: regexp.MustCompile(`bpf-lb-map-max to \d+ and roll`), at: regexp.MustCompile(`round 1 of`)},
}

// TestInterruptAtEveryPoint runs the suite against a lab, as against a
// user's cluster, and interrupts it at each point. After each the suite
// has ended within its budget, no process it started is left, no object
// or namespace of any run is left, the cluster's configuration
// (kube-system ConfigMaps, DaemonSets) is as before, the run's results
// directory reads back with the interrupted dimension not passed (a broken
// measurement is never a result), and the next run starts without
// complaint: the next point's, and a smoke run at the end.
func TestInterruptAtEveryPoint(t *testing.T) {
	selected := regexp.MustCompile(os.Getenv("INTERRUPT_POINTS"))
	sl := upForSuite(t)
	o, l, c, bin, before := sl.o, sl.lab, sl.c, sl.bin, sl.before
	cilium := o.Dataplane.Cilium()
	for i, p := range interruptPoints {
		if !selected.MatchString(p.name) {
			continue
		}
		t.Run(p.name, func(t *testing.T) {
			if p.cilium && !cilium {
				t.Skipf("needs a Cilium dataplane; this lab runs %s (make interrupts runs it on cilium-overlay)", o.Dataplane)
			}
			id := fmt.Sprintf("interrupt-%02d", i)
			out := filepath.Join(t.TempDir(), "results")
			cmd := suiteCommand(bin, l.Kubeconfig, id, out, p.run, p.args, p.env...)
			sent, exit, log := interruptAt(t, cmd, c, p)
			require.True(t, sent, "the suite never logged %q: %s", p.at, log)
			if p.name != "teardown" {
				require.Error(t, exit, "an interrupted run must not pass")
			}
			requireGroupGone(t, cmd.Process.Pid)
			requireNoRunObjects(t, c)
			require.Equal(t, before, clusterSettings(t, c), "the cluster's configuration after the interrupted run")
			requireNotPassed(t, filepath.Join(out, id), p)
		})
	}
	// The run after the last interrupted one passes its leftover scan and
	// completes.
	cmd := suiteCommand(bin, l.Kubeconfig, "interrupt-after", filepath.Join(t.TempDir(), "results"), "TestDataplaneSmoke", nil)
	out, err := runWatching(t, cmd, func() {})
	require.NoError(t, err, "the run after the interrupted ones: %s", out)
}

// suiteLab is a lab for running the suite against, as against a user's
// cluster.
type suiteLab struct {
	o   Options
	lab *Lab
	c   kubernetes.Interface
	// bin is the suite's test binary.
	bin string
	// before is the cluster's settings before any run (clusterSettings).
	before map[string]string
}

// upForSuite brings a lab up (down again at cleanup) and builds the suite.
func upForSuite(t *testing.T) suiteLab {
	t.Helper()
	o := needLab(t)
	l, err := Up(context.Background(), o, testLog(t))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, Down(context.Background(), o.Dir, testLog(t))) })
	c, err := clientFor(l.Kubeconfig)
	require.NoError(t, err)
	return suiteLab{o: o, lab: l, c: c, bin: buildSuite(t), before: clusterSettings(t, c)}
}

// suiteCommand runs the compiled suite against kubeconfig at CI size, in
// a process group of its own (so that whatever it starts can be found).
func suiteCommand(bin, kubeconfig, runID, resultsDir, run string, args []string, env ...string) *exec.Cmd {
	cmd := exec.Command(bin, append([]string{"-test.run", run, "-test.v"}, args...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "PROVIDER=", "RUN_ID="+runID, "RESULTS_DIR="+resultsDir,
		"ROUNDS=2", "FORTIO_DURATION=2s", "IPERF_DURATION=2s", "SVC_SCALE_STEPS=100")
	cmd.Env = append(cmd.Env, env...)
	cmd.Dir = filepath.Join("..", "..", "e2e")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// interruptAt runs cmd and sends p.sig to the suite's process (as a CI
// runner does, not to its group) after the line p names; it returns whether
// the signal was sent, the suite's exit and its output.
func interruptAt(t *testing.T, cmd *exec.Cmd, c kubernetes.Interface, p interruptPoint) (bool, error, string) {
	t.Helper()
	var buf lockedBuffer
	sent, armed, matched := false, p.after == nil, ""
	seen := 0
	signal := func() {
		require.NoError(t, cmd.Process.Signal(p.sig))
		t.Logf("%s sent after %q", p.sig, matched)
		sent = true
	}
	out, err := runWatchingInto(t, cmd, &buf, func() {
		if sent {
			return
		}
		if matched != "" {
			if p.until(c) {
				signal()
			}
			return
		}
		lines := strings.Split(buf.String(), "\n")
		for ; seen < len(lines)-1; seen++ {
			line := strings.TrimSpace(lines[seen])
			if !armed {
				armed = p.after.MatchString(line)
				continue
			}
			if p.at.MatchString(line) {
				matched = line
				if p.until == nil {
					signal()
				}
				return
			}
		}
	})
	return sent, err, out
}

// requireGroupGone checks that no process of the suite's process group is
// left: kubectl children of the seed method, port-forwards, tools.
func requireGroupGone(t *testing.T, pgid int) {
	t.Helper()
	err := syscall.Kill(-pgid, 0)
	require.True(t, errors.Is(err, syscall.ESRCH), "processes of the suite's group %d are left (kill -0: %v)", pgid, err)
}

// requireNoRunObjects checks the cluster for anything a run creates: its
// namespaces (nb-*, in any phase) and dummy Services anywhere.
func requireNoRunObjects(t *testing.T, c kubernetes.Interface) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	left, err := scale.Leftovers(ctx, c)
	require.NoError(t, err, "objects left: %v", left)
	nss, err := c.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	for _, ns := range nss.Items {
		require.False(t, strings.HasPrefix(ns.Name, "nb-"), "namespace %s (%s) left behind", ns.Name, ns.Status.Phase)
	}
	svcs, err := c.CoreV1().Services("").List(ctx, metav1.ListOptions{LabelSelector: "netbench.io/run"})
	require.NoError(t, err)
	require.Empty(t, svcs.Items, "Services of a run left behind")
}

// clusterSettings is what a run may change and must restore: the data of
// kube-system's ConfigMaps (kube-proxy's, cilium-config) and every
// DaemonSet's pod template, without the restart annotation a restoring
// rollout sets.
func clusterSettings(t *testing.T, c kubernetes.Interface) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got := map[string]string{}
	cms, err := c.CoreV1().ConfigMaps("kube-system").List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	for _, cm := range cms.Items {
		b, err := json.Marshal(cm.Data)
		require.NoError(t, err)
		got["configmap "+cm.Name] = string(b)
	}
	dss, err := c.AppsV1().DaemonSets("").List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	for _, ds := range dss.Items {
		tmpl := ds.Spec.Template.DeepCopy()
		delete(tmpl.Annotations, "kubectl.kubernetes.io/restartedAt")
		b, err := json.Marshal(tmpl)
		require.NoError(t, err)
		got["daemonset "+ds.Namespace+"/"+ds.Name] = string(b)
	}
	return got
}

// requireNotPassed reads the interrupted run's results back: the manifest
// and every file it lists must read, and no dimension of a run interrupted
// before its teardown counts as passed.
func requireNotPassed(t *testing.T, dir string, p interruptPoint) {
	t.Helper()
	if !results.IsRun(dir) {
		t.Logf("the run wrote no manifest in %s (interrupted before its first dimension ended)", dir)
		return
	}
	loaded, err := results.Read(dir)
	require.NoError(t, err, "the interrupted run's results")
	for _, d := range loaded.Manifest.Dimensions {
		t.Logf("results: %s %s %s", d.Name, d.Status, d.Message)
		if p.name != "teardown" {
			require.NotEqual(t, report.StatusPassed, d.Status, "dimension %s of a run interrupted at %s", d.Name, p.name)
		}
	}
}

// creatingDummies reports whether a scale run has created some of its dummy
// Services (and is still creating: the step has 3,000).
func creatingDummies(c kubernetes.Interface) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	l, err := c.CoreV1().Services("").List(ctx, metav1.ListOptions{LabelSelector: "netbench.io/role=dummy", Limit: 100})
	return err == nil && len(l.Items) >= 100
}
