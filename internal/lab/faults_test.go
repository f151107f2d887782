//go:build linux

package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"kube-netbench/internal/kube"
	"kube-netbench/internal/lab/conntrack"
	"kube-netbench/internal/lab/netplan"
	"kube-netbench/internal/lab/proc"
)

// faultRounds is the rounds of each faulted run: the fault lands in round
// 2, with a round before and after it.
const faultRounds = 3

// faultCase is a fault injected in the middle of one RPS measurement: the
// injection starts delay after the suite logs the round's start for the
// case. The run must record that round of the case as failed, with a
// reason matching reason ({client} stands for the client node's name),
// and go on (the other rounds still give samples) or, if stops, end the
// dimension cleanly after that round.
type faultCase struct {
	name string
	// needs is the dataplane agent a fault acts on ("cilium" or
	// "kube-proxy", as agentLabel names it), "" for any lab.
	needs string
	round int
	// rpsCase is the case as the suite logs it, e.g. "svc c64 keepalive".
	rpsCase string
	delay   time.Duration
	// hold is how long the fault lasts before undo; untilCaseEnds holds
	// it until the case's round ended (its sample or failure logged); with
	// neither, undo starts right after injection.
	hold          time.Duration
	untilCaseEnds bool
	// inject builds a fresh injector for one run.
	inject func() injector
	reason string
	stops  bool
}

// faultCases are the faults of issue 13. FAULTS selects by name (a regular
// expression); make lab-tests runs two, make faults all on a kube-proxy and
// a Cilium lab.
var faultCases = []faultCase{
	{name: "server pod deleted", round: 2, rpsCase: "svc c256 keepalive", delay: time.Second, stops: true,
		inject: func() injector { return deletePod{name: "fortio-server"} }, reason: `fortio-server.*(deleted|gone)`},
	{name: "kube-proxy killed", needs: "kube-proxy", round: 2, rpsCase: "svc c64 keepalive", delay: time.Second,
		inject: func() injector { return &killAgent{comm: "kube-proxy", app: "kube-proxy"} }, reason: `kube-proxy.*restarted`},
	{name: "cilium-agent killed", needs: "cilium", round: 2, rpsCase: "svc c64 keepalive", delay: time.Second,
		inject: func() injector { return &killAgent{comm: "cilium-agent", app: "cilium"} }, reason: `cilium.*restarted`},
	{name: "apiserver stopped", round: 2, rpsCase: "svc c64 keepalive", delay: time.Second, hold: 20 * time.Second,
		inject: func() injector {
			return &pause{what: "kube-apiserver", find: func(tg *faultTarget) (proc.Ident, error) { return tg.apiserver() }}
		}, reason: `apiserver`},
	// 30 s: the guard calls a kubelet stalled once its Lease went
	// unrenewed for half its duration (two 10 s renewals missed); a 20 s
	// stop can fall between two renewals and go unseen.
	{name: "kubelet stopped", round: 2, rpsCase: "svc c64 keepalive", delay: time.Second, hold: 30 * time.Second,
		inject: func() injector {
			return &pause{what: "the client node's kubelet", find: func(tg *faultTarget) (proc.Ident, error) { return tg.onClient("kubelet") }}
		}, reason: `kubelet on {client}`},
	// Filling takes about 3 s (262,144 entries): it starts with the round.
	// The table is kept full until the round's case ended (its sample or
	// failure logged), so that the later rounds measure normally.
	{name: "conntrack full", round: 2, rpsCase: "svc c64 short",
		untilCaseEnds: true, inject: func() injector { return &fillConntrack{} }, reason: `.`},
}

// lines match the suite's lines for f's round and case: at, its start
// (progress's "round 2 of 3: svc c64 keepalive ..."), and ended, its
// sample or its failure.
func (f faultCase) lines() (at, ended *regexp.Regexp) {
	rc := regexp.QuoteMeta(f.rpsCase)
	return regexp.MustCompile(fmt.Sprintf(`round %d of \d+: %s \.\.\.$`, f.round, rc)),
		regexp.MustCompile(fmt.Sprintf(`round %d, %s: (\d+ req/s|broken measurement)`, f.round, rc))
}

// TestFaultDuringMeasurement runs the suite's RPS dimension against a lab
// and injects a fault in the middle of one measurement: the server pod
// deleted, a dataplane agent killed, the apiserver or the client node's
// kubelet stopped for 20 s, the client node's conntrack table full. Each
// faulted round must be recorded as failed, with its reason, never as a
// sample; the run goes on (or, without a server, stops) and ends non-zero
// with the dimension in error, leaving nothing behind; the fault is undone
// and the lab is whole before the next one.
func TestFaultDuringMeasurement(t *testing.T) {
	selected := regexp.MustCompile(os.Getenv("FAULTS"))
	sl := upForSuite(t)
	o, l, c := sl.o, sl.lab, sl.c
	agent := agentLabel(o.Dataplane)
	for i, f := range faultCases {
		if !selected.MatchString(f.name) {
			continue
		}
		t.Run(f.name, func(t *testing.T) {
			if f.needs != "" && f.needs != agent {
				t.Skipf("needs a %s dataplane; this lab runs %s (make faults runs it on both)", f.needs, o.Dataplane)
			}
			requireLabWhole(t, c, o)
			id := fmt.Sprintf("fault-%02d", i)
			out := filepath.Join(t.TempDir(), "results")
			cmd := suiteCommand(sl.bin, l.Kubeconfig, id, out, "TestRPS", nil,
				"ROUNDS="+strconv.Itoa(faultRounds), "FORTIO_DURATION=5s")
			tg := &faultTarget{dir: o.Dir, c: c, runID: id}
			log, exit := runWithFault(t, cmd, f, tg)
			require.Error(t, exit, "a run with a broken measurement must not pass")
			requireGroupGone(t, cmd.Process.Pid)
			requireNoRunObjects(t, c)
			require.Equal(t, sl.before, clusterSettings(t, c), "the cluster's configuration after the faulted run")
			requireFaultRecorded(t, filepath.Join(out, id), f, tg.client, log)
			requireLabWhole(t, c, o)
			requireNoFaultLeft(t, o.Dir)
		})
	}
}

// suiteNodes is the suite's log line naming the run's nodes.
var suiteNodes = regexp.MustCompile(`dataplane \S+; server node (\S+), client node (\S+)`)

// runWithFault runs the suite and injects f once the suite logs the start
// of f's round for f's case; it returns the suite's output and exit. The
// injector's undo runs on the normal path (checked) and at cleanup.
func runWithFault(t *testing.T, cmd *exec.Cmd, f faultCase, tg *faultTarget) (string, error) {
	t.Helper()
	at, caseEnded := f.lines()
	inj := f.inject()
	t.Cleanup(func() {
		if err := inj.undo(context.Background(), tg); err != nil {
			t.Errorf("undo %s at cleanup: %v", f.name, err)
		}
	})
	triggered, untilSeen, suiteDone := make(chan struct{}), make(chan struct{}), make(chan struct{})
	result, finished := make(chan error, 1), make(chan struct{})
	var endSuite sync.Once
	// Registered after the undo, so run before it: the injecting goroutine
	// ends (and logs nothing) before the test does.
	t.Cleanup(func() {
		endSuite.Do(func() { close(suiteDone) })
		select {
		case <-finished:
		case <-time.After(5 * time.Minute):
			t.Errorf("%s: the injection did not end within 5 minutes of the suite", f.name)
		}
	})
	go func() {
		defer close(finished)
		result <- applyFault(t, f, inj, tg, triggered, untilSeen, suiteDone)
	}()

	var buf lockedBuffer
	seen, fired, ended := 0, false, !f.untilCaseEnds
	out, exit := runWatchingInto(t, cmd, &buf, func() {
		lines := strings.Split(buf.String(), "\n")
		for ; seen < len(lines)-1; seen++ {
			line := strings.TrimSpace(lines[seen])
			if m := suiteNodes.FindStringSubmatch(line); m != nil && !fired {
				tg.client = m[2]
			}
			switch {
			case !fired && at.MatchString(line):
				fired = true
				close(triggered)
			case fired && !ended && caseEnded.MatchString(line):
				ended = true
				close(untilSeen)
			}
		}
	})
	endSuite.Do(func() { close(suiteDone) })
	require.True(t, fired, "the suite never logged %q", at)
	require.NotEmpty(t, tg.client, "the suite never named its client node (%s) before %q", suiteNodes, at)
	select {
	case err := <-result:
		require.NoError(t, err, "inject and undo %s", f.name)
	case <-time.After(5 * time.Minute):
		t.Fatalf("%s: the injection did not end within 5 minutes of the suite", f.name)
	}
	return out, exit
}

// applyFault waits for the trigger, injects after f.delay, and undoes the
// fault after f.hold, once the case's round ended if f.untilCaseEnds,
// right away otherwise, and at the latest when the suite ended.
func applyFault(t *testing.T, f faultCase, inj injector, tg *faultTarget, triggered, untilSeen, suiteDone <-chan struct{}) error {
	select {
	case <-triggered:
	case <-suiteDone:
		return nil // runWithFault reports the missing trigger
	}
	time.Sleep(f.delay)
	ctx := context.Background()
	start := time.Now()
	if err := inj.inject(ctx, tg); err != nil {
		return errors.Join(fmt.Errorf("inject: %w", err), inj.undo(ctx, tg))
	}
	t.Logf("%s: injected (took %s)", f.name, time.Since(start).Round(time.Millisecond))
	switch {
	case f.hold > 0:
		select {
		case <-time.After(f.hold):
		case <-suiteDone:
		}
	case f.untilCaseEnds:
		select {
		case <-untilSeen:
		case <-suiteDone:
		}
	}
	start = time.Now()
	if err := inj.undo(ctx, tg); err != nil {
		return fmt.Errorf("undo: %w", err)
	}
	t.Logf("%s: undone (took %s)", f.name, time.Since(start).Round(time.Millisecond))
	return nil
}

// requireLabWhole waits until the lab is ready (labReady) and every
// kube-system pod is Ready: a fault's restarts are over before the next.
func requireLabWhole(t *testing.T, c kubernetes.Interface, o Options) {
	t.Helper()
	ready := labReady(c, o.Plan.Nodes, agentLabel(o.Dataplane))
	_, err := kube.WaitFor(context.Background(), "the lab ready and every kube-system pod Ready", 3*time.Minute, func(ctx context.Context) (bool, string, error) {
		if ok, why, err := ready(ctx); !ok || err != nil {
			return ok, why, err
		}
		pl, err := c.CoreV1().Pods(metav1.NamespaceSystem).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		var why []string
		for i := range pl.Items {
			if ok, w := kube.PodReady(&pl.Items[i]); !ok {
				why = append(why, w)
			}
		}
		return len(why) == 0, strings.Join(why, "; "), nil
	})
	require.NoError(t, err)
}

// requireNoFaultLeft checks that no fault outlived its undo: no process
// of the lab stopped (its control plane, nodes, kubelets and containerds)
// and no dummy conntrack entry in any node's table.
func requireNoFaultLeft(t *testing.T, dir string) {
	t.Helper()
	ids := labProcesses(dir)
	st, err := loadState(dir)
	require.NoError(t, err)
	require.NotNil(t, st)
	for i, n := range st.Nodes {
		for _, comm := range []string{"kubelet", "containerd"} {
			found, err := n.Descendants(comm)
			require.NoError(t, err)
			ids = append(ids, found...)
		}
		tbl, err := conntrack.Open(netplan.NodeNetns(i+1), time.Second)
		require.NoError(t, err)
		left, err := tbl.Left()
		tbl.Close()
		require.NoError(t, err)
		require.Zero(t, left, "dummy conntrack entries left on %s", netplan.NodeName(i+1))
	}
	for _, id := range ids {
		require.False(t, id.Stopped(), "%s (%s) is stopped", id, id.Comm())
	}
}
