// Package kube holds the harness's cluster helpers: named waits on realized
// state, pod readiness, and deleting what a run made.
package kube

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Condition is one poll of a wait: done, a description of what it saw (for
// the timeout error and the log), or an error that ends the wait.
type Condition func(ctx context.Context) (done bool, observed string, err error)

// Poll is how often waits look. Short: a wait should end within a poll of
// the state being reached, never after a fixed sleep.
const Poll = 100 * time.Millisecond

// WaitFor polls cond until it is done, it fails, or timeout passes; the
// timeout error names the wait and shows the last observed state. It returns
// how long the wait took, so callers can log and record it.
func WaitFor(ctx context.Context, what string, timeout time.Duration, cond Condition) (time.Duration, error) {
	return WaitEvery(ctx, what, timeout, Poll, cond)
}

// WaitEvery is WaitFor with its own poll interval, for conditions that are
// expensive to observe (reading a node's whole rule set).
func WaitEvery(ctx context.Context, what string, timeout, poll time.Duration, cond Condition) (time.Duration, error) {
	start := time.Now()
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(poll)
	defer t.Stop()
	var last string
	for {
		done, observed, err := cond(ctx)
		if err != nil {
			return time.Since(start), fmt.Errorf("wait for %s: %w", what, err)
		}
		if done {
			return time.Since(start), nil
		}
		// A poll cut short by the wait's deadline says nothing: keep the
		// last observation it completed.
		if ctx.Err() == nil || last == "" {
			last = observed
		}
		select {
		case <-ctx.Done():
			took := time.Since(start)
			if err := parent.Err(); err != nil {
				// Interrupted or out of the caller's time: not this wait's
				// timeout, which a reader would take for a slow cluster.
				return took, fmt.Errorf("wait for %s: stopped after %s of its %s: %w; last observed: %s",
					what, took.Round(time.Millisecond), timeout, context.Cause(parent), last)
			}
			return took, fmt.Errorf("wait for %s: not reached after %s; last observed: %s", what, timeout, last)
		case <-t.C:
		}
	}
}

// NodeReady reports whether a node's Ready condition is True.
func NodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// PodReady reports whether a pod is Ready, and if not, why, from its status
// (a pure function of the pod).
func PodReady(p *corev1.Pod) (bool, string) {
	if p.DeletionTimestamp != nil {
		return false, p.Name + " is being deleted"
	}
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && w.Reason != "" && w.Reason != "ContainerCreating" {
			return false, fmt.Sprintf("%s/%s waiting: %s: %s", p.Name, cs.Name, w.Reason, w.Message)
		}
		if t := cs.State.Terminated; t != nil {
			return false, fmt.Sprintf("%s/%s terminated: exit %d %s", p.Name, cs.Name, t.ExitCode, t.Message)
		}
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			if c.Status == corev1.ConditionTrue {
				return true, ""
			}
			return false, fmt.Sprintf("%s not Ready (phase %s)", p.Name, p.Status.Phase)
		}
	}
	return false, fmt.Sprintf("%s phase %s", p.Name, p.Status.Phase)
}

// imageFailures are waiting reasons that end a readiness wait at once: an
// image that cannot be pulled (on the lab: one it did not build) will not
// become Ready within a benchmark's patience, and failing with the reason
// beats a timeout that hides it.
var imageFailures = map[string]bool{
	"ErrImagePull": true, "ImagePullBackOff": true, "InvalidImageName": true, "ErrImageNeverPull": true,
}

// PodFailedImage returns the waiting message of a container whose image
// cannot be had, or "".
func PodFailedImage(p *corev1.Pod) string {
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && imageFailures[w.Reason] {
			return fmt.Sprintf("%s/%s: %s: %s", p.Name, cs.Name, w.Reason, w.Message)
		}
	}
	return ""
}

// PodsReady is a Condition: the named pods exist and are Ready. A pod whose
// image cannot be had ends the wait with an error naming it.
func PodsReady(c kubernetes.Interface, ns string, names ...string) Condition {
	return func(ctx context.Context) (bool, string, error) {
		for _, n := range names {
			p, err := c.CoreV1().Pods(ns).Get(ctx, n, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return false, n + " not found", nil
			}
			if err != nil {
				return false, err.Error(), nil
			}
			if msg := PodFailedImage(p); msg != "" {
				return false, msg, fmt.Errorf("%s", msg)
			}
			if ok, why := PodReady(p); !ok {
				return false, why, nil
			}
		}
		return true, "", nil
	}
}

// NamespaceGone is a Condition: the namespace no longer exists.
func NamespaceGone(c kubernetes.Interface, ns string) Condition {
	return func(ctx context.Context) (bool, string, error) {
		n, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, "", nil
		}
		if err != nil {
			return false, err.Error(), nil
		}
		return false, fmt.Sprintf("namespace %s is %s", ns, n.Status.Phase), nil
	}
}
