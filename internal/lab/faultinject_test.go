//go:build linux

package lab

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"kube-netbench/internal/kube"
	"kube-netbench/internal/lab/conntrack"
	"kube-netbench/internal/lab/netplan"
	"kube-netbench/internal/lab/proc"
)

// The injectors of TestFaultDuringMeasurement. Each acts from the root
// namespace on what the lab started: processes found by walking down from
// the lab's own node and control-plane processes (never by name across the
// machine), the run's own pod, the client node's own conntrack table.

// faultTarget is what a fault acts on: the lab and the suite's run. The
// client node is known once the suite logged it, before any injection.
type faultTarget struct {
	dir    string
	c      kubernetes.Interface
	runID  string
	client string
}

// injector applies one fault; undo restores what inject changed and
// verifies it is back. undo is idempotent and a no-op before inject, so
// that t.Cleanup can call it whatever happened.
type injector interface {
	inject(ctx context.Context, tg *faultTarget) error
	undo(ctx context.Context, tg *faultTarget) error
}

// clientNode returns the index and process of the client node.
func (tg *faultTarget) clientNode() (int, proc.Ident, error) {
	st, err := loadState(tg.dir)
	if err != nil || st == nil {
		return 0, proc.Ident{}, fmt.Errorf("the lab's state in %s: %v", tg.dir, err)
	}
	for i := 1; i <= len(st.Nodes); i++ {
		if netplan.NodeName(i) == tg.client {
			return i, st.Nodes[i-1], nil
		}
	}
	return 0, proc.Ident{}, fmt.Errorf("client node %q is none of the lab's %d nodes", tg.client, len(st.Nodes))
}

// onClient finds the one process named comm on the client node.
func (tg *faultTarget) onClient(comm string) (proc.Ident, error) {
	_, node, err := tg.clientNode()
	if err != nil {
		return proc.Ident{}, err
	}
	found, err := node.Descendants(comm)
	if err != nil {
		return proc.Ident{}, err
	}
	if len(found) != 1 {
		return proc.Ident{}, fmt.Errorf("%d processes named %s on %s (node %s), want 1: %v", len(found), comm, tg.client, node, found)
	}
	return found[0], nil
}

// apiserver finds the lab's kube-apiserver.
func (tg *faultTarget) apiserver() (proc.Ident, error) {
	st, err := loadState(tg.dir)
	if err != nil || st == nil {
		return proc.Ident{}, fmt.Errorf("the lab's state in %s: %v", tg.dir, err)
	}
	return newControlPlane(tg.dir, st.Name, st.Kwokctl, st.Kubectl).component("kube-apiserver")
}

// deletePod deletes the run's fortio server. Nothing to undo: the run's
// teardown deletes its namespace, which the test checks.
type deletePod struct{ name string }

func (d deletePod) inject(ctx context.Context, tg *faultTarget) error {
	l, err := tg.c.CoreV1().Pods("").List(ctx, metav1.ListOptions{
		LabelSelector: "netbench.io/run=" + tg.runID, FieldSelector: "metadata.name=" + d.name})
	if err != nil {
		return err
	}
	if len(l.Items) != 1 {
		return fmt.Errorf("%d pods %s of run %s, want 1", len(l.Items), d.name, tg.runID)
	}
	return tg.c.CoreV1().Pods(l.Items[0].Namespace).Delete(ctx, d.name, metav1.DeleteOptions{})
}

func (deletePod) undo(context.Context, *faultTarget) error { return nil }

// killAgent SIGKILLs a node agent's process on the client node; its
// kubelet restarts the container. undo waits until the agent's pod there
// is Ready again with one more restart.
type killAgent struct {
	comm, app string
	mu        sync.Mutex
	// before is the pod's restart count before the kill.
	before int32
	killed bool
}

func (k *killAgent) inject(ctx context.Context, tg *faultTarget) error {
	pod, err := agentPod(ctx, tg.c, k.app, tg.client)
	if err != nil {
		return err
	}
	id, err := tg.onClient(k.comm)
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.before, k.killed = restarts(pod), true
	return id.Signal(syscall.SIGKILL)
}

func (k *killAgent) undo(ctx context.Context, tg *faultTarget) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.killed {
		return nil
	}
	_, err := kube.WaitFor(ctx, k.app+" on "+tg.client+" Ready after the kill", 3*time.Minute, func(ctx context.Context) (bool, string, error) {
		pod, err := agentPod(ctx, tg.c, k.app, tg.client)
		if err != nil {
			return false, err.Error(), nil
		}
		if n := restarts(pod); n <= k.before {
			return false, fmt.Sprintf("%s restarts %d, %d before the kill", pod.Name, n, k.before), nil
		}
		ok, why := kube.PodReady(pod)
		return ok, why, nil
	})
	if err == nil {
		k.killed = false
	}
	return err
}

// agentPod is the kube-system pod labelled k8s-app=app on node.
func agentPod(ctx context.Context, c kubernetes.Interface, app, node string) (*corev1.Pod, error) {
	l, err := c.CoreV1().Pods(metav1.NamespaceSystem).List(ctx, metav1.ListOptions{
		LabelSelector: "k8s-app=" + app, FieldSelector: "spec.nodeName=" + node})
	if err != nil {
		return nil, err
	}
	if len(l.Items) != 1 {
		return nil, fmt.Errorf("%d %s pods on %s, want 1", len(l.Items), app, node)
	}
	return &l.Items[0], nil
}

func restarts(p *corev1.Pod) int32 {
	var n int32
	for _, cs := range p.Status.ContainerStatuses {
		n += cs.RestartCount
	}
	return n
}

// pause SIGSTOPs a process; undo SIGCONTs it and checks it runs.
type pause struct {
	what    string
	find    func(*faultTarget) (proc.Ident, error)
	mu      sync.Mutex
	stopped *proc.Ident
}

func (p *pause) inject(_ context.Context, tg *faultTarget) error {
	id, err := p.find(tg)
	if err != nil {
		return fmt.Errorf("find %s: %w", p.what, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	// Recorded first: a SIGSTOP that reached the process and reported an
	// error is undone all the same.
	p.stopped = &id
	return id.Signal(syscall.SIGSTOP)
}

func (p *pause) undo(ctx context.Context, _ *faultTarget) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped == nil {
		return nil
	}
	id := *p.stopped
	if err := id.Signal(syscall.SIGCONT); err != nil {
		return err
	}
	_, err := kube.WaitFor(ctx, p.what+" running after SIGCONT", 10*time.Second, func(context.Context) (bool, string, error) {
		return !id.Stopped(), id.String() + " stopped", nil
	})
	if err == nil {
		p.stopped = nil
	}
	return err
}

// fillConntrack fills the client node's conntrack table with dummy
// entries and keeps it full (the kernel frees room as real entries
// expire) until undo, which removes exactly those entries.
type fillConntrack struct {
	mu    sync.Mutex
	tbl   *conntrack.Table
	netns string
	stop  chan struct{}
	done  chan error
}

func (f *fillConntrack) inject(_ context.Context, tg *faultTarget) error {
	i, _, err := tg.clientNode()
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.netns = netplan.NodeNetns(i)
	limit, err := conntrack.Max(f.netns)
	if err != nil {
		return err
	}
	// Longer than the round: the entries must not expire while it runs;
	// undo removes them.
	if f.tbl, err = conntrack.Open(f.netns, 5*time.Minute); err != nil {
		return err
	}
	// One more than the limit: the kernel's refusal says the table is full.
	limit++
	full, err := f.tbl.Fill(limit)
	if err == nil && !full {
		err = fmt.Errorf("conntrack table of %s not full after %d entries (nf_conntrack_max %d)", f.netns, f.tbl.Added(), limit)
	}
	if err != nil {
		return err
	}
	f.stop, f.done = make(chan struct{}), make(chan error, 1)
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-f.stop:
				f.done <- nil
				return
			case <-tick.C:
				if _, err := f.tbl.Fill(limit); err != nil {
					f.done <- err
					return
				}
			}
		}
	}()
	return nil
}

func (f *fillConntrack) undo(context.Context, *faultTarget) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tbl == nil {
		return nil
	}
	var errs []error
	if f.stop != nil {
		close(f.stop)
		if err := <-f.done; err != nil {
			errs = append(errs, fmt.Errorf("keeping the table full: %w", err))
		}
		f.stop = nil
	}
	if err := f.tbl.Remove(); err != nil {
		return errors.Join(append(errs, err)...)
	}
	f.tbl.Close()
	f.tbl = nil
	return errors.Join(errs...)
}
