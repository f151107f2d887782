package agent

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"kube-netbench/internal/lab/netlab"
	"kube-netbench/internal/lab/runtime"
)

// Restart back-off of a container that exits under restartPolicy Always or
// OnFailure: 1 s doubling to 5 min, shorter than the kubelet's 10 s start so
// that a lab fault shows quickly.
const (
	backoffStart = time.Second
	backoffMax   = 5 * time.Minute
	// maxGrace caps a pod's termination grace period in the lab.
	maxGrace = 30 * time.Second
)

// podWorker owns one pod from realization to teardown. All its state is
// touched by its run goroutine only, except latest/updated (under mu) and
// the read-only identity fields.
type podWorker struct {
	a               *Agent
	uid             types.UID
	namespace, name string
	dir             string

	mu      sync.Mutex
	latest  *corev1.Pod
	updated chan struct{}
	goneCh  chan struct{}
	goneOne sync.Once

	// set by setup, read by the kubelet API under mu
	netns      string // "" for hostNetwork pods
	podIP      netip.Addr
	containers map[string]*container
	failure    *waiting // pod-level failure (image, volume, network)
	exits      chan exitEvent
	startTime  metav1.Time

	// setup progress, owned by the run goroutine
	images    map[string]runtime.Image
	networked bool
	vols      map[string]string
	initDone  int
}

type waiting struct{ reason, message string }

type exitEvent struct {
	name   string
	status runtime.ExitStatus
}

func newPodWorker(a *Agent, pod *corev1.Pod) *podWorker {
	return &podWorker{
		a: a, uid: pod.UID, namespace: pod.Namespace, name: pod.Name,
		dir:        filepath.Join(a.cfg.StateDir, "pods", string(pod.UID)),
		latest:     pod,
		updated:    make(chan struct{}, 1),
		goneCh:     make(chan struct{}),
		exits:      make(chan exitEvent, 8),
		containers: map[string]*container{},
	}
}

func (w *podWorker) update(pod *corev1.Pod) {
	w.mu.Lock()
	w.latest = pod
	w.mu.Unlock()
	select {
	case w.updated <- struct{}{}:
	default:
	}
}

func (w *podWorker) gone() { w.goneOne.Do(func() { close(w.goneCh) }) }

func (w *podWorker) pod() *corev1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.latest
}

func (w *podWorker) String() string { return w.namespace + "/" + w.name }

// run realizes the pod and then supervises it until it is deleted or the
// agent stops.
func (w *podWorker) run(ctx context.Context) {
	log := w.a.log.With("pod", w.String())
	w.startTime = metav1.Now()
	// Setup is retried with back-off while it fails for a reason that can
	// pass (a ConfigMap not published yet, a transient API error), as the
	// kubelet retries volume setup; an unmapped image is final.
	retrySetup := time.NewTimer(time.Hour)
	retrySetup.Stop()
	setupBackoff := 200 * time.Millisecond
	trySetup := func() {
		err := w.setup(ctx)
		w.mu.Lock()
		w.failure = nil
		if err != nil && ctx.Err() == nil {
			reason, final := "CreateContainerError", false
			var fail *setupError
			if errors.As(err, &fail) {
				reason, final = fail.reason, fail.final
			}
			w.failure = &waiting{reason, err.Error()}
			if !final {
				retrySetup.Reset(setupBackoff)
				setupBackoff = min(2*setupBackoff, 10*time.Second)
			}
		}
		w.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			w.a.events.Event(w.pod(), corev1.EventTypeWarning, "Failed", err.Error())
			log.Warn("pod setup failed", "err", err, "retry", setupBackoff)
		}
	}
	trySetup()
	// Status posting is level-triggered: a post that failed (a timeout, the
	// apiserver busy) is retried on the next tick, not lost until the next
	// change.
	stale := !w.postStatus(ctx)

	probe := time.NewTicker(probeInterval)
	defer probe.Stop()
	restart := time.NewTimer(time.Hour)
	restart.Stop()
	for {
		select {
		case <-ctx.Done():
			w.teardown(context.Background(), 5*time.Second)
			return
		case <-w.goneCh:
			w.teardown(context.Background(), w.grace())
			return
		case <-w.updated:
			if pod := w.pod(); pod.DeletionTimestamp != nil {
				w.teardown(ctx, w.grace())
				w.deleteObject(ctx)
				return
			}
		case ev := <-w.exits:
			if next := w.handleExit(ctx, ev); next > 0 {
				restart.Reset(next)
			}
			stale = !w.postStatus(ctx)
		case <-restart.C:
			if next := w.restartDue(ctx); next > 0 {
				restart.Reset(next)
			}
			stale = !w.postStatus(ctx)
		case <-retrySetup.C:
			trySetup()
			stale = !w.postStatus(ctx)
		case <-probe.C:
			if w.probeAll(ctx) || stale {
				stale = !w.postStatus(ctx)
			}
		}
	}
}

// grace is the pod's termination grace period, capped for the lab.
func (w *podWorker) grace() time.Duration {
	pod := w.pod()
	g := 30 * time.Second
	if pod.DeletionGracePeriodSeconds != nil {
		g = time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	} else if pod.Spec.TerminationGracePeriodSeconds != nil {
		g = time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return min(g, maxGrace)
}

// setupError is a pod failure the user must see (an unmapped image, a
// missing ConfigMap): it is reported in the pod's status with its reason.
// A final one is not retried.
type setupError struct {
	reason string
	err    error
	final  bool
}

func (e *setupError) Error() string { return e.err.Error() }
func (e *setupError) Unwrap() error { return e.err }

// setup resolves images, wires the pod's network, prepares volumes and starts
// the containers. It is resumable: a retry after a failure skips what is
// already done.
func (w *podWorker) setup(ctx context.Context) error {
	pod := w.pod()
	if w.images == nil {
		images := map[string]runtime.Image{}
		for _, c := range append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...) {
			img, err := w.a.images.Resolve(c.Image)
			if err != nil {
				return &setupError{"ErrImagePull", fmt.Errorf("failed to pull image %q: %w", c.Image, err), true}
			}
			images[c.Name] = img
		}
		w.images = images
	}
	if err := os.MkdirAll(w.dir, 0o700); err != nil {
		return err
	}
	if !w.networked {
		if err := w.wireNetwork(ctx, pod); err != nil {
			return err
		}
		w.networked = true
	}
	if w.vols == nil {
		vols, err := w.prepareVolumes(ctx, pod)
		if err != nil {
			return &setupError{"CreateContainerConfigError", err, false}
		}
		w.vols = vols
	}
	for ; w.initDone < len(pod.Spec.InitContainers); w.initDone++ {
		c := pod.Spec.InitContainers[w.initDone]
		if err := w.runInit(ctx, pod, c, w.images[c.Name], w.vols); err != nil {
			return &setupError{"InitContainerError", err, false}
		}
	}
	for _, c := range pod.Spec.Containers {
		w.mu.Lock()
		_, started := w.containers[c.Name]
		w.mu.Unlock()
		if started {
			continue
		}
		ctr, err := w.newContainer(ctx, pod, c, w.images[c.Name], w.vols)
		if err != nil {
			return &setupError{"CreateContainerConfigError", err, false}
		}
		if err := w.start(ctr); err != nil {
			return &setupError{"RunContainerError", err, false}
		}
		w.mu.Lock()
		w.containers[c.Name] = ctr
		w.mu.Unlock()
	}
	return nil
}

// wireNetwork gives the pod its network: the node's for hostNetwork pods,
// else a netns of its own attached through CNI.
func (w *podWorker) wireNetwork(ctx context.Context, pod *corev1.Pod) error {
	if pod.Spec.HostNetwork {
		w.setIP(w.a.hostIP())
		return nil
	}
	name := "nb-pod-" + string(pod.UID)
	if w.netns == "" {
		if err := netlab.CreateNetns(name); err != nil {
			return fmt.Errorf("create pod netns: %w", err)
		}
		w.mu.Lock()
		w.netns = name
		w.mu.Unlock()
	}
	ip, err := w.a.net.add(ctx, pod, netlab.NetnsPath(name))
	if err != nil {
		// Undo a partial ADD so that the retry starts clean.
		if derr := w.a.net.del(ctx, pod, netlab.NetnsPath(name)); derr != nil {
			err = fmt.Errorf("%w (and CNI DEL of the partial attachment: %v)", err, derr)
		}
		return fmt.Errorf("CNI ADD: %w", err)
	}
	w.setIP(ip)
	return nil
}

func (w *podWorker) setIP(ip netip.Addr) {
	w.mu.Lock()
	w.podIP = ip
	w.mu.Unlock()
}

// netnsPath is where the pod's processes run ("" = the node's netns).
func (w *podWorker) netnsPath() string {
	if w.netns == "" {
		return ""
	}
	return netlab.NetnsPath(w.netns)
}

// teardown stops every container, releases the pod's address and removes its
// network namespace and files. It is safe on a half-realized pod.
func (w *podWorker) teardown(ctx context.Context, grace time.Duration) {
	log := w.a.log.With("pod", w.String())
	w.mu.Lock()
	ctrs := make([]*container, 0, len(w.containers))
	for _, c := range w.containers {
		ctrs = append(ctrs, c)
	}
	netns := w.netns
	w.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range ctrs {
		wg.Add(1)
		go func() { defer wg.Done(); c.stop(ctx, grace, log) }()
	}
	wg.Wait()
	if netns != "" {
		if err := w.a.net.del(ctx, w.pod(), netlab.NetnsPath(netns)); err != nil {
			log.Warn("CNI DEL", "err", err)
		}
		if err := netlab.DeleteNetns(netns); err != nil {
			log.Warn("delete pod netns", "err", err)
		}
	}
	if err := os.RemoveAll(w.dir); err != nil {
		log.Warn("remove pod dir", "err", err)
	}
}

// deleteObject completes a graceful deletion, as the kubelet does once the
// pod's containers are gone.
func (w *podWorker) deleteObject(ctx context.Context) {
	err := w.a.client.CoreV1().Pods(w.namespace).Delete(ctx, w.name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To(int64(0)),
		Preconditions:      &metav1.Preconditions{UID: &w.uid},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		w.a.log.Warn("finalize pod deletion", "pod", w.String(), "err", err)
	}
}

// finalize deletes a pod the agent never realized.
func (a *Agent) finalize(ctx context.Context, pod *corev1.Pod) {
	w := newPodWorker(a, pod)
	_ = os.RemoveAll(w.dir)
	w.deleteObject(ctx)
}
