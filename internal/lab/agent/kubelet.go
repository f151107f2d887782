package agent

import (
	"context"
	"fmt"
	"io"

	"k8s.io/client-go/tools/remotecommand"

	"kube-netbench/internal/lab/kubeletapi"
)

// kubeletRuntime serves the kubelet API from the agent's pods.
type kubeletRuntime struct{ a *Agent }

func (k kubeletRuntime) container(ref kubeletapi.ContainerRef) (*podWorker, *container, error) {
	w, err := k.a.worker(ref)
	if err != nil {
		return nil, nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.containers[ref.Container]
	if !ok {
		return nil, nil, &kubeletapi.NotFoundError{Ref: ref, Missing: kubeletapi.MissingContainer}
	}
	return w, c, nil
}

// Exec runs cmd inside the container's namespaces and root, with its
// environment, as `kubectl exec` expects.
func (k kubeletRuntime) Exec(ctx context.Context, ref kubeletapi.ContainerRef, cmd []string, stdin io.Reader, stdout, stderr io.WriteCloser, tty bool, _ <-chan remotecommand.TerminalSize) error {
	if tty {
		return fmt.Errorf("the lab does not allocate TTYs for exec: run without -t")
	}
	w, c, err := k.container(ref)
	if err != nil {
		return err
	}
	w.mu.Lock()
	p := c.proc
	w.mu.Unlock()
	if p == nil {
		return fmt.Errorf("container %s of pod %s/%s is not running", ref.Container, ref.Namespace, ref.Pod)
	}
	var out, errw io.Writer
	if stdout != nil {
		out = stdout
	}
	if stderr != nil {
		errw = stderr
	}
	return p.Exec(ctx, cmd, c.rt.Env, stdin, out, errw)
}

// Logs returns the container's log file; Done closes when its process ends.
func (k kubeletRuntime) Logs(ref kubeletapi.ContainerRef, previous bool) (kubeletapi.LogSource, error) {
	w, c, err := k.container(ref)
	if err != nil {
		return kubeletapi.LogSource{}, err
	}
	w.mu.Lock()
	p := c.proc
	w.mu.Unlock()
	done := make(chan struct{})
	if p == nil {
		close(done)
	} else {
		go func() { <-p.Done(); close(done) }()
	}
	return kubeletapi.LogSource{Path: c.rt.LogPath, Done: done}, nil
}

// CheckContainer lets the kubelet API answer 404 before upgrading an exec
// stream for a pod or container this node does not run.
func (k kubeletRuntime) CheckContainer(_ context.Context, ref kubeletapi.ContainerRef) error {
	_, _, err := k.container(ref)
	return err
}
