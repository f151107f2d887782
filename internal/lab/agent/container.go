package agent

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kube-netbench/internal/lab/proc"
	"kube-netbench/internal/lab/runtime"
)

// container is one container of a pod and its current process.
type container struct {
	spec     corev1.Container
	image    runtime.Image
	rt       runtime.Spec
	proc     *runtime.Container // nil while not running
	started  metav1.Time
	ready    bool
	restarts int32
	backoff  time.Duration
	due      time.Time // restart time while in back-off
	last     *corev1.ContainerStateTerminated
	term     *corev1.ContainerStateTerminated // set when it will not restart
	probe    probeState
}

// newContainer computes a container's argv, environment and mounts.
func (w *podWorker) newContainer(ctx context.Context, pod *corev1.Pod, c corev1.Container, img runtime.Image, vols map[string]string) (*container, error) {
	env, err := w.env(ctx, pod, c, img)
	if err != nil {
		return nil, err
	}
	argv := runtime.Argv(img, c.Command, c.Args, env)
	if len(argv) == 0 {
		return nil, fmt.Errorf("container %q: image %s has no entrypoint and the pod gives no command", c.Name, c.Image)
	}
	mounts := append([]runtime.Mount{}, img.Binds...)
	for _, vm := range c.VolumeMounts {
		src, ok := vols[vm.Name]
		if !ok {
			return nil, fmt.Errorf("container %q mounts volume %q, which the pod does not define", c.Name, vm.Name)
		}
		if vm.SubPath != "" {
			src = filepath.Join(src, vm.SubPath)
		}
		mounts = append(mounts, runtime.Mount{Source: src, Target: vm.MountPath, ReadOnly: vm.ReadOnly})
	}
	dir := filepath.Join(w.dir, "containers", c.Name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	workDir := c.WorkingDir
	if workDir == "" {
		workDir = img.WorkDir
	}
	return &container{
		spec: c, image: img, backoff: backoffStart,
		rt: runtime.Spec{
			ID:        fmt.Sprintf("%s_%s_%s", w.namespace, w.name, c.Name),
			Argv:      argv,
			Env:       env,
			WorkDir:   workDir,
			Mounts:    mounts,
			Dirs:      img.Dirs,
			NetnsPath: w.netnsPath(),
			RootDir:   filepath.Join(dir, "rootfs"),
			LogPath:   filepath.Join(dir, "log"),
		},
	}, nil
}

// start runs the container's process and records its identity so that lab
// teardown can end it even if this agent dies.
func (w *podWorker) start(c *container) error {
	p, err := runtime.Start(c.rt)
	if err != nil {
		return fmt.Errorf("start container %q: %w", c.spec.Name, err)
	}
	if id, err := proc.Of(p.PID()); err == nil {
		w.a.track(id)
	}
	w.mu.Lock()
	c.proc = p
	c.started = metav1.Now()
	c.ready = false
	c.probe = probeState{}
	w.mu.Unlock()
	w.a.events.Eventf(w.pod(), corev1.EventTypeNormal, "Started", "Started container %s (pid %d)", c.spec.Name, p.PID())
	name := c.spec.Name
	go func() {
		st := <-p.Wait()
		w.exits <- exitEvent{name: name, status: st}
	}()
	return nil
}

// handleExit records a container's exit and returns when it restarts (0: not).
func (w *podWorker) handleExit(ctx context.Context, ev exitEvent) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.containers[ev.name]
	if !ok || c.proc == nil {
		return 0
	}
	term := &corev1.ContainerStateTerminated{
		ExitCode: int32(ev.status.Code), Signal: int32(ev.status.Signal),
		StartedAt: c.started, FinishedAt: metav1.NewTime(ev.status.FinishedAt),
		ContainerID: containerID(w, c), Reason: "Completed",
	}
	if ev.status.Code != 0 || ev.status.Signal != 0 {
		term.Reason = "Error"
	}
	if ev.status.Err != nil {
		term.Message = ev.status.Err.Error()
	}
	c.proc, c.ready, c.last = nil, false, term
	_ = runtime.Remove(c.rt)
	policy := w.latest.Spec.RestartPolicy
	if policy == corev1.RestartPolicyNever || (policy == corev1.RestartPolicyOnFailure && term.ExitCode == 0 && term.Signal == 0) {
		c.term = term
		return 0
	}
	delay := c.backoff
	c.backoff = min(2*c.backoff, backoffMax)
	c.due = time.Now().Add(delay)
	return delay
}

// restartDue restarts the containers whose back-off has passed and returns
// the wait until the next one.
func (w *podWorker) restartDue(ctx context.Context) time.Duration {
	var next time.Duration
	for _, c := range w.containersSnapshot() {
		if c.proc != nil || c.term != nil || c.due.IsZero() {
			continue
		}
		if wait := time.Until(c.due); wait > 0 {
			if next == 0 || wait < next {
				next = wait
			}
			continue
		}
		c.due = time.Time{}
		c.restarts++
		if err := w.start(c); err != nil {
			w.a.log.Warn("restart container", "pod", w.String(), "container", c.spec.Name, "err", err)
			c.due = time.Now().Add(c.backoff)
			next = c.backoff
		}
	}
	return next
}

func (w *podWorker) containersSnapshot() []*container {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]*container, 0, len(w.containers))
	for _, c := range w.containers {
		out = append(out, c)
	}
	return out
}

// runInit runs an init container to completion; a failure fails the pod.
func (w *podWorker) runInit(ctx context.Context, pod *corev1.Pod, c corev1.Container, img runtime.Image, vols map[string]string) error {
	ctr, err := w.newContainer(ctx, pod, c, img, vols)
	if err != nil {
		return err
	}
	p, err := runtime.Start(ctr.rt)
	if err != nil {
		return fmt.Errorf("start init container %q: %w", c.Name, err)
	}
	if id, err := proc.Of(p.PID()); err == nil {
		w.a.track(id)
	}
	select {
	case st := <-p.Wait():
		_ = runtime.Remove(ctr.rt)
		if st.Code != 0 || st.Signal != 0 || st.Err != nil {
			return fmt.Errorf("init container %q exited with code %d signal %d (log: %s)", c.Name, st.Code, st.Signal, ctr.rt.LogPath)
		}
		return nil
	case <-ctx.Done():
		_ = p.Stop(context.Background(), time.Second)
		_ = runtime.Remove(ctr.rt)
		return ctx.Err()
	}
}

// stop ends the container's process within grace and removes its root.
func (c *container) stop(ctx context.Context, grace time.Duration, log *slog.Logger) {
	if c.proc != nil {
		if err := c.proc.Stop(ctx, grace); err != nil {
			log.Warn("stop container", "container", c.spec.Name, "err", err)
		}
	}
	if err := runtime.Remove(c.rt); err != nil {
		log.Warn("remove container root", "container", c.spec.Name, "err", err)
	}
}

func containerID(w *podWorker, c *container) string {
	return fmt.Sprintf("netbench-lab://%s-%s-%d", w.uid, c.spec.Name, c.restarts)
}
