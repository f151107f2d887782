package scale

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"kube-netbench/fixtures"
)

// Delete timing.
const (
	// DeletePoll is how often Delete looks whether the namespaces are gone.
	DeletePoll = 200 * time.Millisecond
	// DefaultDeleteTimeout bounds Delete when ctx has no deadline, plus
	// DeleteTimeoutPerService for every Service found: deleting 30,000
	// Services took a 2-core lab's apiserver over 15 minutes.
	DefaultDeleteTimeout    = 15 * time.Minute
	DeleteTimeoutPerService = 60 * time.Millisecond
)

// ErrLeftovers is wrapped by Leftovers' error when namespaces of earlier
// runs, or Terminating namespaces, are present.
var ErrLeftovers = errors.New("leftovers in the cluster")

// Delete deletes the run's Services one by one, DefaultWorkers at a time,
// then every namespace labelled with the run (which removes the
// EndpointSlices left in them), and waits, polling every DeletePoll, until
// they are gone; cleanup goes by label, never by name (W-OPS-1). A namespace
// deletion alone would delete its Services in one request
// (deletecollection), which with 5,000 Services outlasts the apiserver's
// 60 s request timeout on a small control plane, where each ClusterIP
// released costs it time in proportion to all ClusterIPs: a 2-core lab left
// six such namespaces Terminating after 15 minutes.
// Stats.Services counts the Services deleted, Stats.Namespaces the
// namespaces it asked to delete, and Stats.Wall is how long everything
// took. If ctx ends first (or, when ctx has no deadline,
// DefaultDeleteTimeout plus DeleteTimeoutPerService per Service passes),
// Stats.Remaining and the error name what is left and why, with the
// command that removes it.
func Delete(ctx context.Context, client kubernetes.Interface, runID string) (Stats, error) {
	start := time.Now()
	if runID == "" {
		return Stats{}, errors.New("delete: empty run ID")
	}
	if client == nil {
		return Stats{}, errors.New("delete: nil client")
	}
	sel := labels.SelectorFromSet(fixtures.RunLabels(runID)).String()
	hint := fmt.Sprintf("remove them with `kubectl delete ns -l %s=%s`", fixtures.LabelRun, runID)
	var s Stats
	nss, err := listNamespaces(ctx, client, sel)
	if err != nil {
		return s, fmt.Errorf("delete run %s: %w", runID, err)
	}
	svcs, err := listServices(ctx, client, nss)
	if err != nil {
		return s, fmt.Errorf("delete run %s: %w", runID, err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultDeleteTimeout+time.Duration(len(svcs))*DeleteTimeoutPerService)
		defer cancel()
	}
	var errs []error
	s.Services, s.Retries, errs = deleteServices(ctx, client, svcs)
	if len(errs) > 0 {
		s.Wall = time.Since(start)
		s.Remaining = names(nss)
		head := fmt.Sprintf("delete run %s: %d of %d Services not deleted (%s)", runID, len(svcs)-s.Services, len(svcs), hint)
		return s, joinFirst(head, len(errs), errs[:min(len(errs), 5)])
	}
	for _, ns := range nss {
		if ns.DeletionTimestamp != nil {
			continue // already going
		}
		_, err := retry(ctx, DefaultMaxRetries, DefaultBackoff, func() {}, func(ctx context.Context) error {
			return client.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{})
		})
		switch {
		case err == nil:
			s.Namespaces++
		case !apierrors.IsNotFound(err):
			errs = append(errs, fmt.Errorf("delete namespace %s: %w", ns.Name, err))
		}
	}
	if len(errs) > 0 {
		// A refused delete will not finish by waiting.
		s.Wall = time.Since(start)
		s.Remaining = names(nss)
		return s, fmt.Errorf("delete run %s: %w; %s", runID, errors.Join(errs...), hint)
	}

	t := time.NewTicker(DeletePoll)
	defer t.Stop()
	var last []corev1.Namespace
	var lastErr error
	for {
		left, err := listNamespaces(ctx, client, sel)
		switch {
		case err == nil && len(left) == 0:
			s.Wall = time.Since(start)
			return s, nil
		case err == nil:
			last, lastErr = left, nil
		case ctx.Err() == nil:
			lastErr = err // a failed poll is not the end; the next may work
		}
		select {
		case <-ctx.Done():
			s.Wall = time.Since(start)
			s.Remaining = names(last)
			desc := make([]string, len(last))
			for i := range last {
				desc[i] = describe(&last[i])
			}
			msg := fmt.Sprintf("delete run %s: %d namespaces not gone after %s: %s; %s",
				runID, len(last), s.Wall.Round(time.Millisecond), strings.Join(desc, ", "), hint)
			if lastErr != nil {
				msg += fmt.Sprintf(" (last poll failed: %v)", lastErr)
			}
			return s, fmt.Errorf("%s: %w", msg, context.Cause(ctx))
		case <-t.C:
		}
	}
}

// Leftovers returns the namespaces that make a cluster unfit for a new
// scale run: any namespace of any kube-netbench run, and any namespace that
// is Terminating (its deletion still loads the apiserver and the dataplane,
// and the seed once measured into one: W-OPS-1). With leftovers, the error
// wraps ErrLeftovers and says what they are and how to remove them.
func Leftovers(ctx context.Context, client kubernetes.Interface) ([]string, error) {
	if client == nil {
		return nil, errors.New("leftovers: nil client")
	}
	all, err := listNamespaces(ctx, client, "")
	if err != nil {
		return nil, fmt.Errorf("leftovers: %w", err)
	}
	var found []corev1.Namespace
	for _, ns := range all {
		if ns.Labels[fixtures.LabelManaged] == fixtures.ManagedBy || terminating(&ns) {
			found = append(found, ns)
		}
	}
	if len(found) == 0 {
		return nil, nil
	}
	slices.SortFunc(found, func(a, b corev1.Namespace) int { return strings.Compare(a.Name, b.Name) })
	desc := make([]string, len(found))
	for i := range found {
		desc[i] = describe(&found[i])
	}
	return names(found), fmt.Errorf("%w: %d namespaces: %s; remove them with `%s` and wait until no namespace is Terminating (`kubectl get ns`)",
		ErrLeftovers, len(found), strings.Join(desc, ", "), removeHint)
}

// listNamespaces lists namespaces matching selector, ListLimit at a time.
func listNamespaces(ctx context.Context, client kubernetes.Interface, selector string) ([]corev1.Namespace, error) {
	var out []corev1.Namespace
	opts := metav1.ListOptions{LabelSelector: selector, Limit: ListLimit}
	for {
		l, err := client.CoreV1().Namespaces().List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("list namespaces %q: %w", selector, err)
		}
		out = append(out, l.Items...)
		if l.Continue == "" {
			return out, nil
		}
		opts.Continue = l.Continue
	}
}

func terminating(ns *corev1.Namespace) bool {
	return ns.DeletionTimestamp != nil || ns.Status.Phase == corev1.NamespaceTerminating
}

func names(nss []corev1.Namespace) []string {
	out := make([]string, len(nss))
	for i := range nss {
		out[i] = nss[i].Name
	}
	return out
}

// describe is a namespace's name with whose it is and, if Terminating, what
// holds it up (the namespace controller's conditions).
func describe(ns *corev1.Namespace) string {
	var notes []string
	if ns.Labels[fixtures.LabelManaged] == fixtures.ManagedBy {
		notes = append(notes, fmt.Sprintf("run %q", ns.Labels[fixtures.LabelRun]))
	} else {
		notes = append(notes, "not kube-netbench's")
	}
	if terminating(ns) {
		notes = append(notes, "Terminating")
		for _, c := range ns.Status.Conditions {
			if c.Status == corev1.ConditionTrue {
				notes = append(notes, string(c.Type)+": "+c.Message)
			}
		}
	}
	return ns.Name + " (" + strings.Join(notes, "; ") + ")"
}

// listServices lists the names of the Services in nss (namespaces being
// deleted are skipped: the namespace controller already deletes them).
func listServices(ctx context.Context, client kubernetes.Interface, nss []corev1.Namespace) ([]types.NamespacedName, error) {
	var out []types.NamespacedName
	for _, ns := range nss {
		if ns.DeletionTimestamp != nil {
			continue
		}
		opts := metav1.ListOptions{Limit: ListLimit}
		for {
			l, err := client.CoreV1().Services(ns.Name).List(ctx, opts)
			if err != nil {
				return nil, fmt.Errorf("list the Services of namespace %s: %w", ns.Name, err)
			}
			for _, svc := range l.Items {
				out = append(out, types.NamespacedName{Namespace: ns.Name, Name: svc.Name})
			}
			if l.Continue == "" {
				break
			}
			opts.Continue = l.Continue
		}
	}
	return out, nil
}

// deleteServices deletes svcs, DefaultWorkers at a time, retrying what the
// apiserver may answer later (429, 5xx, timeouts); a Service already gone
// counts as deleted. It returns the Services deleted, the retries and the
// errors of the others.
func deleteServices(ctx context.Context, client kubernetes.Interface, svcs []types.NamespacedName) (deleted, retries int, errs []error) {
	var mu sync.Mutex
	jobs := make(chan types.NamespacedName)
	var wg sync.WaitGroup
	for range min(DefaultWorkers, max(len(svcs), 1)) {
		wg.Go(func() {
			for svc := range jobs {
				n, err := retry(ctx, DefaultMaxRetries, DefaultBackoff, func() {}, func(ctx context.Context) error {
					return client.CoreV1().Services(svc.Namespace).Delete(ctx, svc.Name, metav1.DeleteOptions{})
				})
				mu.Lock()
				retries += n - 1
				if err == nil || apierrors.IsNotFound(err) {
					deleted++
				} else {
					errs = append(errs, fmt.Errorf("delete Service %s: %w", svc, err))
				}
				mu.Unlock()
			}
		})
	}
	for _, svc := range svcs {
		if ctx.Err() != nil {
			break
		}
		jobs <- svc
	}
	close(jobs)
	wg.Wait()
	if ctx.Err() != nil && deleted < len(svcs) {
		errs = append(errs, context.Cause(ctx))
	}
	return deleted, retries, errs
}
