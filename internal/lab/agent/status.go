package agent

import (
	"context"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
)

// buildStatus computes the pod status from the worker's state.
func (w *podWorker) buildStatus(prev corev1.PodStatus) corev1.PodStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	pod := w.latest
	st := corev1.PodStatus{
		HostIP:    w.a.hostIP().String(),
		HostIPs:   []corev1.HostIP{{IP: w.a.hostIP().String()}},
		StartTime: &w.startTime,
		QOSClass:  prev.QOSClass,
	}
	if w.podIP.IsValid() {
		st.PodIP = w.podIP.String()
		st.PodIPs = []corev1.PodIP{{IP: st.PodIP}}
	}
	allReady, anyRunning, allDone, anyFailed := true, false, true, false
	for _, spec := range pod.Spec.Containers {
		cs := corev1.ContainerStatus{Name: spec.Name, Image: spec.Image, ImageID: "netbench-lab://" + spec.Image}
		c, ok := w.containers[spec.Name]
		switch {
		case w.failure != nil && (!ok || c.proc == nil):
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: w.failure.reason, Message: w.failure.message}
			allDone = false
		case !ok:
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
			allDone = false
		case c.proc != nil:
			cs.ContainerID = containerID(w, c)
			cs.State.Running = &corev1.ContainerStateRunning{StartedAt: c.started}
			cs.Ready, cs.Started = c.ready, ptrBool(true)
			anyRunning, allDone = true, false
		case c.term != nil:
			cs.State.Terminated = c.term
			anyFailed = anyFailed || c.term.ExitCode != 0 || c.term.Signal != 0
		default:
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff",
				Message: "back-off restarting failed container " + spec.Name}
			allDone = false
		}
		if ok {
			cs.RestartCount = c.restarts
			if c.last != nil {
				cs.LastTerminationState.Terminated = c.last
			}
		}
		allReady = allReady && cs.Ready
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
	}
	sort.Slice(st.ContainerStatuses, func(i, j int) bool { return st.ContainerStatuses[i].Name < st.ContainerStatuses[j].Name })
	switch {
	case allDone && anyFailed:
		st.Phase = corev1.PodFailed
	case allDone:
		st.Phase = corev1.PodSucceeded
	case anyRunning || len(w.containers) > 0:
		st.Phase = corev1.PodRunning
	default:
		st.Phase = corev1.PodPending
	}
	initialized := w.failure == nil || w.failure.reason != "InitContainerError"
	st.Conditions = mergeConditions(prev.Conditions, map[corev1.PodConditionType]bool{
		corev1.PodReadyToStartContainers: w.podIP.IsValid(),
		corev1.PodInitialized:            initialized,
		corev1.ContainersReady:           allReady && anyRunning,
		corev1.PodReady:                  allReady && anyRunning,
	}, w.failure)
	return st
}

// mergeConditions sets the agent's conditions, keeping their transition time
// when the status did not change, and keeps conditions the agent does not own
// (PodScheduled, set by the scheduler).
func mergeConditions(prev []corev1.PodCondition, want map[corev1.PodConditionType]bool, fail *waiting) []corev1.PodCondition {
	now := metav1.Now()
	var out []corev1.PodCondition
	seen := map[corev1.PodConditionType]bool{}
	for _, c := range prev {
		if v, ok := want[c.Type]; ok {
			seen[c.Type] = true
			st := condStatus(v)
			if c.Status != st {
				c.Status, c.LastTransitionTime = st, now
			}
			c.Reason, c.Message = "", ""
			if !v && fail != nil && (c.Type == corev1.PodReady || c.Type == corev1.ContainersReady) {
				c.Reason, c.Message = fail.reason, fail.message
			}
		}
		out = append(out, c)
	}
	for _, typ := range []corev1.PodConditionType{corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
		if seen[typ] {
			continue
		}
		c := corev1.PodCondition{Type: typ, Status: condStatus(want[typ]), LastTransitionTime: now}
		if !want[typ] && fail != nil && (typ == corev1.PodReady || typ == corev1.ContainersReady) {
			c.Reason, c.Message = fail.reason, fail.message
		}
		out = append(out, c)
	}
	return out
}

func condStatus(v bool) corev1.ConditionStatus {
	if v {
		return corev1.ConditionTrue
	}
	return corev1.ConditionFalse
}

func ptrBool(b bool) *bool { return &b }

// postStatus writes the pod's status, retrying on conflicts with the
// scheduler's or a controller's writes, and reports whether it succeeded.
func (w *podWorker) postStatus(ctx context.Context) bool {
	pods := w.a.client.CoreV1().Pods(w.namespace)
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		cur, err := pods.Get(ctx, w.name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cur.UID != w.uid || cur.DeletionTimestamp != nil {
			return nil
		}
		cur.Status = w.buildStatus(cur.Status)
		_, err = pods.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	if err != nil && ctx.Err() == nil {
		w.a.log.Warn("update pod status; retrying", "pod", w.String(), "err", err)
		return false
	}
	return true
}
