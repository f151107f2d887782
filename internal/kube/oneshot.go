package kube

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// RunPod creates a pod that runs to completion (restartPolicy Never), waits
// until it ended, and returns its only container's output. It deletes the
// pod whatever happens. A pod that exits non-zero returns its output in
// the error; one that cannot start (image, admission) fails at once.
func RunPod(ctx context.Context, c kubernetes.Interface, p *corev1.Pod) (out string, err error) {
	pods := c.CoreV1().Pods(p.Namespace)
	if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
		return "", fmt.Errorf("create pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if derr := pods.Delete(dctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))}); derr != nil && !apierrors.IsNotFound(derr) {
			err = errors.Join(err, fmt.Errorf("delete pod %s/%s: %w", p.Namespace, p.Name, derr))
		}
	}()
	var last *corev1.Pod
	if _, err := WaitEvery(ctx, "pod "+p.Name+" done", time.Until(deadlineOr(ctx, 2*time.Minute)), 250*time.Millisecond, func(ctx context.Context) (bool, string, error) {
		got, err := pods.Get(ctx, p.Name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		if msg := PodFailedImage(got); msg != "" {
			return false, msg, fmt.Errorf("%s", msg)
		}
		last = got
		phase := got.Status.Phase
		return phase == corev1.PodSucceeded || phase == corev1.PodFailed, "phase " + string(phase), nil
	}); err != nil {
		return "", err
	}
	b, err := pods.GetLogs(p.Name, &corev1.PodLogOptions{}).DoRaw(ctx)
	if err != nil {
		return "", fmt.Errorf("log of pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	if last.Status.Phase == corev1.PodFailed {
		why := []string{}
		for _, cs := range last.Status.ContainerStatuses {
			if t := cs.State.Terminated; t != nil {
				why = append(why, fmt.Sprintf("exit %d %s", t.ExitCode, strings.TrimSpace(t.Reason+" "+t.Message)))
			}
		}
		return "", fmt.Errorf("pod %s/%s failed (%s): %q", p.Namespace, p.Name, strings.Join(why, ", "), strings.TrimSpace(string(b)))
	}
	return string(b), nil
}

// deadlineOr is ctx's deadline, or d from now when it has none.
func deadlineOr(ctx context.Context, d time.Duration) time.Time {
	if dl, ok := ctx.Deadline(); ok {
		return dl
	}
	return time.Now().Add(d)
}
