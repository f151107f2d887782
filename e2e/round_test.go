package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"kube-netbench/internal/dataplane"
	"kube-netbench/internal/guard"
	"kube-netbench/internal/kube"
	"kube-netbench/internal/report"
)

// recoverWithin bounds the wait, before a round, for every pod the round
// depends on to be Ready again (a restarted agent resyncs its node) and for
// the apiserver to answer.
const recoverWithin = 2 * time.Minute

// measurement is one round's measurement. It returns keep, which records
// its sample: the round runs keep only once the guard found nothing broken,
// so that no number comes from a broken measurement.
type measurement func(ctx context.Context) (keep func(), err error)

// guardWith sets up the run's guard: its own pods and the dataplane's
// agents on its nodes, as detection found them.
func (r *run) guardWith(ctx context.Context, t *testing.T, det dataplane.Detection) {
	t.Helper()
	var agents []guard.Agents
	if kp := det.KubeProxy; kp != nil && !kp.Embedded && len(kp.Pods) > 0 {
		agents = append(agents, guard.Agents{What: "kube-proxy", Namespace: kp.Namespace, Pods: kp.Pods})
	}
	if c := det.Cilium; c != nil && len(c.Pods) > 0 {
		agents = append(agents, guard.Agents{What: "cilium-agent", Namespace: c.Namespace, Pods: c.Pods})
	}
	g, err := guard.New(ctx, r.client, []string{r.ns, r.hostNS}, agents, r.nodeNames())
	if err != nil {
		t.Fatal(err)
	}
	r.guard = g
}

// measureRound runs one round's measurement m under the run's guard. The
// round waits until every pod it depends on is Ready; then m runs while the
// guard watches the apiserver and the kubelets. A round whose measurement
// failed, or during which a pod it depends on was deleted, replaced or
// restarted, the apiserver went silent or a kubelet stalled, is a failed
// sample with its reasons (a broken measurement, not a regression) and
// keeps nothing; the rounds after it go on unless the run's own workload
// is gone. It reports whether the sample was kept.
func (r *run) measureRound(ctx context.Context, t *testing.T, o *outcome, round int, label string, m measurement) bool {
	t.Helper()
	where := fmt.Sprintf("round %d, %s", round, label)
	stopIfInterrupted(ctx, t, where)
	before, err := r.readyToMeasure(ctx)
	if err != nil {
		stopIfInterrupted(ctx, t, where)
		o.broke(t, round, label, err.Error())
		t.Fatalf("%s: not measurable: no further rounds", where)
	}
	w := r.guard.Watch(ctx)
	keep, err := m(ctx)
	problems := w.Stop()
	for _, n := range w.Notes() {
		o.note(n)
	}
	stopIfInterrupted(ctx, t, where)
	// The guard's findings first: they name the cause the tool's error
	// (a refused connection, an exec that failed) only shows.
	reasons := problems
	gone := false
	after, serr := r.snapshot(ctx)
	if serr != nil {
		reasons = append(reasons, serr.Error())
	} else {
		for _, c := range guard.Changes(before, after) {
			reasons = append(reasons, c.Reason)
			gone = gone || c.Gone
		}
	}
	if err != nil {
		reasons = append(reasons, err.Error())
	}
	if len(reasons) == 0 {
		if keep != nil {
			keep()
		}
		return true
	}
	t.Logf("%s: broke: %s", where, strings.Join(reasons, "; "))
	o.broke(t, round, label, report.Reason(strings.Join(reasons, "; ")))
	if gone {
		t.Fatalf("%s: a pod of the run is gone: no further rounds", where)
	}
	return false
}

// readyToMeasure waits until the apiserver answers and every pod the round
// depends on is Ready, and returns that state.
func (r *run) readyToMeasure(ctx context.Context) (guard.State, error) {
	var s guard.State
	_, err := kube.WaitEvery(ctx, "every pod the round depends on Ready", recoverWithin, time.Second, func(ctx context.Context) (bool, string, error) {
		var err error
		if s, err = r.guard.Snapshot(ctx); err != nil {
			return false, err.Error(), nil
		}
		if gone := r.guard.Missing(s); len(gone) > 0 {
			return false, "", errors.New(strings.Join(gone, "; "))
		}
		nr := s.NotReady()
		return len(nr) == 0, strings.Join(nr, "; "), nil
	})
	return s, err
}

// snapshot reads the state after a round, waiting out an apiserver that is
// not answering yet.
func (r *run) snapshot(ctx context.Context) (guard.State, error) {
	var s guard.State
	_, err := kube.WaitEvery(ctx, "the apiserver's answer after the round", recoverWithin, time.Second, func(ctx context.Context) (bool, string, error) {
		var err error
		s, err = r.guard.Snapshot(ctx)
		if err != nil {
			return false, err.Error(), nil
		}
		return true, "", nil
	})
	return s, err
}

// broke records a failed sample: the round, its case and why, for the
// results (report.Failure) and the manifest (status error).
func (o *outcome) broke(t *testing.T, round int, label, reason string) {
	t.Helper()
	if o.failures == nil {
		o.failures = map[string][]report.Failure{}
	}
	o.failures[label] = append(o.failures[label], report.Failure{Round: round, Reason: reason})
	o.broken = append(o.broken, fmt.Sprintf("round %d, %s: %s", round, label, reason))
	t.Errorf("round %d, %s: broken measurement, no sample: %s", round, label, reason)
}

// note adds a note to the manifest's entry once.
func (o *outcome) note(n string) {
	for _, m := range o.notes {
		if m == n {
			return
		}
	}
	o.notes = append(o.notes, n)
}
