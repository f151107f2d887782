// Package guard tells a broken measurement from a slow dataplane: it
// snapshots the pods a round depends on (the run's workload and the
// dataplane's agents on the run's nodes) before and after the round, and
// watches the control path (the apiserver answering, each node's kubelet
// renewing its lease) while the round runs. A round during which a pod was
// deleted, replaced or restarted, the apiserver stopped answering or a
// kubelet stalled gives no sample, whatever its tool printed.
package guard

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"kube-netbench/internal/kube"
)

// Agents are a dataplane component's pods on the run's nodes: kube-proxy
// or the Cilium agents, as detection found them (node name to pod name).
type Agents struct {
	// What names the component in reasons: "kube-proxy", "cilium-agent".
	What      string
	Namespace string
	Pods      map[string]string
}

// Guard knows which pods a round depends on.
type Guard struct {
	client kubernetes.Interface
	// workload are the namespaces holding the run's own pods.
	workload []string
	agents   []agentSet
	nodes    []string
	// seen are the workload pods of every snapshot so far: one that is no
	// longer there was deleted, even between rounds.
	seen map[string]bool
}

// agentSet is an Agents whose pods are recognized after a restart too: a
// DaemonSet's replacement has a new name but the same generateName.
type agentSet struct {
	Agents
	// prefix is the pods' generateName ("" for static pods, known by name).
	prefix string
}

// New returns the guard of a run: its workload namespaces, the dataplane's
// agents (their pods read once, to know them again when replaced) and the
// nodes whose kubelets the round needs.
func New(ctx context.Context, c kubernetes.Interface, workload []string, agents []Agents, nodes []string) (*Guard, error) {
	g := &Guard{client: c, workload: workload, nodes: nodes, seen: map[string]bool{}}
	for _, a := range agents {
		set := agentSet{Agents: a}
		for _, name := range a.Pods {
			p, err := c.CoreV1().Pods(a.Namespace).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return nil, fmt.Errorf("guard: read %s pod %s/%s: %w", a.What, a.Namespace, name, err)
			}
			set.prefix = p.GenerateName
			break
		}
		g.agents = append(g.agents, set)
	}
	return g, nil
}

// Nodes are the nodes whose kubelets the guard watches.
func (g *Guard) Nodes() []string { return g.nodes }

// Pod is what a snapshot records of one pod.
type Pod struct {
	// Label names the pod in reasons: "pod nb-x/fortio-server",
	// "kube-proxy on node-1".
	Label    string
	Workload bool
	UID      string
	Restarts int32
	// Containers are the IDs of the running containers: a container
	// replaced without a counted restart still changes its ID.
	Containers []string
	Ready      bool
	// Why says why a pod is not Ready.
	Why string
	// Deleting is set once the pod's deletion started.
	Deleting bool
}

// State is a snapshot, keyed by pod label.
type State map[string]Pod

// Snapshot reads the pods the guard watches: the run's pods that have not
// completed (a one-shot probe that ended is no dependency) and the
// dataplane's agent on each of the run's nodes.
func (g *Guard) Snapshot(ctx context.Context) (State, error) {
	s := State{}
	for _, ns := range g.workload {
		list, err := g.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("guard: list the run's pods in %s: %w", ns, err)
		}
		for i := range list.Items {
			p := &list.Items[i]
			if p.Status.Phase == corev1.PodSucceeded {
				continue
			}
			s.add(fmt.Sprintf("pod %s/%s", ns, p.Name), true, p)
		}
	}
	for _, a := range g.agents {
		list, err := g.client.CoreV1().Pods(a.Namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("guard: list %s pods in %s: %w", a.What, a.Namespace, err)
		}
		for i := range list.Items {
			if p := &list.Items[i]; a.owns(p) {
				s.add(fmt.Sprintf("%s on %s", a.What, p.Spec.NodeName), false, p)
			}
		}
	}
	return s, nil
}

// owns reports whether p is the component's pod on one of the run's nodes.
func (a agentSet) owns(p *corev1.Pod) bool {
	want, ok := a.Pods[p.Spec.NodeName]
	if !ok || p.DeletionTimestamp != nil {
		return false
	}
	if a.prefix != "" {
		return p.GenerateName == a.prefix
	}
	return p.Name == want
}

func (s State) add(label string, workload bool, p *corev1.Pod) {
	ready, why := kube.PodReady(p)
	pod := Pod{Label: label, Workload: workload, UID: string(p.UID), Ready: ready, Why: why, Deleting: p.DeletionTimestamp != nil}
	for _, c := range p.Status.ContainerStatuses {
		pod.Restarts += c.RestartCount
		if c.ContainerID != "" {
			pod.Containers = append(pod.Containers, c.ContainerID)
		}
	}
	s[label] = pod
}

// Missing lists the run's pods an earlier snapshot saw that s does not
// have (or that are being deleted): deleted, they serve no later round. It
// records s's pods as seen.
func (g *Guard) Missing(s State) []string {
	var out []string
	for _, label := range slices.Sorted(maps.Keys(g.seen)) {
		if p, ok := s[label]; !ok || p.Deleting {
			out = append(out, label+" was deleted")
		}
	}
	for label, p := range s {
		if p.Workload {
			g.seen[label] = true
		}
	}
	return out
}

// NotReady lists the pods that are not Ready, with why: a round must not
// start before every pod it depends on is Ready again.
func (s State) NotReady() []string {
	var out []string
	for _, label := range slices.Sorted(maps.Keys(s)) {
		if p := s[label]; !p.Ready {
			out = append(out, fmt.Sprintf("%s not Ready (%s)", label, p.Why))
		}
	}
	return out
}

// Change is what happened to a pod between two snapshots.
type Change struct {
	Reason string
	// Gone is set when a pod of the run's workload no longer exists: the
	// rounds after this one cannot run.
	Gone bool
}

// Changes lists what happened between before and after to the pods that
// existed before: deleted, replaced (a new pod in its place), restarted
// (its restart count or container ID changed) or no longer Ready.
func Changes(before, after State) []Change {
	var out []Change
	for _, label := range slices.Sorted(maps.Keys(before)) {
		b := before[label]
		a, ok := after[label]
		switch {
		case (!ok || a.Deleting) && b.Workload:
			out = append(out, Change{Reason: label + " was deleted", Gone: true})
		case !ok:
			out = append(out, Change{Reason: label + " is gone (its pod was deleted)"})
		case a.UID != b.UID:
			out = append(out, Change{Reason: label + " was replaced by a new pod (restarted)", Gone: b.Workload})
		case a.Restarts != b.Restarts:
			out = append(out, Change{Reason: fmt.Sprintf("%s restarted (restart count %d to %d)", label, b.Restarts, a.Restarts)})
		case !slices.Equal(a.Containers, b.Containers):
			out = append(out, Change{Reason: label + " restarted (a container was replaced)"})
		case !a.Ready:
			out = append(out, Change{Reason: fmt.Sprintf("%s not Ready (%s)", label, a.Why)})
		}
	}
	return out
}

// Reasons joins changes' reasons for a failed sample.
func Reasons(cs []Change) string {
	r := make([]string, len(cs))
	for i, c := range cs {
		r[i] = c.Reason
	}
	return strings.Join(r, "; ")
}
