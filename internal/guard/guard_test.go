package guard

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
)

func pod(ns, name, node, uid string, restarts int32, ready bool) *corev1.Pod {
	cond := corev1.ConditionFalse
	if ready {
		cond = corev1.ConditionTrue
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(uid)},
		Spec:       corev1.PodSpec{NodeName: node},
		Status: corev1.PodStatus{Phase: corev1.PodRunning,
			Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: cond}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "c", RestartCount: restarts, ContainerID: "containerd://" + uid}}},
	}
}

func daemonPod(name, node, uid string, restarts int32) *corev1.Pod {
	p := pod("kube-system", name, node, uid, restarts, true)
	p.GenerateName = "kube-proxy-"
	return p
}

var kubeProxy = Agents{What: "kube-proxy", Namespace: "kube-system", Pods: map[string]string{"n1": "kube-proxy-a", "n2": "kube-proxy-b"}}

func TestSnapshotSeesTheRunsPodsAndTheAgentsOnItsNodes(t *testing.T) {
	other := daemonPod("kube-proxy-c", "n3", "u-c", 0)
	done := pod("nb-x-host", "probe", "n1", "u-p", 0, false)
	done.Status.Phase = corev1.PodSucceeded
	c := fake.NewClientset(pod("nb-x", "fortio-server", "n1", "u-s", 0, true), done,
		daemonPod("kube-proxy-a", "n1", "u-a", 0), daemonPod("kube-proxy-b", "n2", "u-b", 1), other,
		pod("kube-system", "coredns", "n1", "u-d", 0, true))
	g, err := New(context.Background(), c, []string{"nb-x", "nb-x-host"}, []Agents{kubeProxy}, []string{"n1", "n2"})
	require.NoError(t, err)
	s, err := g.Snapshot(context.Background())
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"pod nb-x/fortio-server", "kube-proxy on n1", "kube-proxy on n2"}, slices.Sorted(maps.Keys(s)),
		"a completed probe, an agent on another node and other kube-system pods are no dependency")
	assert.Equal(t, int32(1), s["kube-proxy on n2"].Restarts)
}

func TestChangesNameWhatBrokeTheRound(t *testing.T) {
	before := State{}
	before.add("pod nb-x/fortio-server", true, pod("nb-x", "fortio-server", "n1", "u-s", 0, true))
	before.add("pod nb-x/fortio-client", true, pod("nb-x", "fortio-client", "n2", "u-c", 0, true))
	before.add("kube-proxy on n1", false, daemonPod("kube-proxy-a", "n1", "u-a", 0))
	before.add("kube-proxy on n2", false, daemonPod("kube-proxy-b", "n2", "u-b", 2))
	before.add("cilium-agent on n1", false, daemonPod("cilium-a", "n1", "u-ca", 0))

	same := State{}
	for k, v := range before {
		same[k] = v
	}
	assert.Empty(t, Changes(before, same), "nothing happened")

	after := State{}
	client := pod("nb-x", "fortio-client", "n2", "u-c", 0, true)
	client.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	after.add("pod nb-x/fortio-client", true, client)
	after.add("kube-proxy on n1", false, daemonPod("kube-proxy-a", "n1", "u-a", 1))
	after.add("kube-proxy on n2", false, daemonPod("kube-proxy-z", "n2", "u-z", 0))
	cil := daemonPod("cilium-a", "n1", "u-ca", 0)
	cil.Status.ContainerStatuses[0].ContainerID = "containerd://other"
	after.add("cilium-agent on n1", false, cil)
	cs := Changes(before, after)
	require.Len(t, cs, 5)
	assert.Equal(t, Change{Reason: "cilium-agent on n1 restarted (a container was replaced)"}, cs[0])
	assert.Equal(t, Change{Reason: "kube-proxy on n1 restarted (restart count 0 to 1)"}, cs[1])
	assert.Equal(t, Change{Reason: "kube-proxy on n2 was replaced by a new pod (restarted)"}, cs[2])
	assert.Equal(t, Change{Reason: "pod nb-x/fortio-client was deleted", Gone: true}, cs[3], "its deletion started: it will not serve again")
	assert.Equal(t, Change{Reason: "pod nb-x/fortio-server was deleted", Gone: true}, cs[4])
	assert.Contains(t, Reasons(cs), "; pod nb-x/fortio-server was deleted")
}

func TestNotReadyBlocksTheNextRound(t *testing.T) {
	s := State{}
	s.add("kube-proxy on n1", false, pod("kube-system", "kube-proxy-a", "n1", "u-a", 1, false))
	s.add("pod nb-x/fortio-server", true, pod("nb-x", "fortio-server", "n1", "u-s", 0, true))
	nr := s.NotReady()
	require.Len(t, nr, 1)
	assert.Contains(t, nr[0], "kube-proxy on n1 not Ready")
}

func TestNewFailsOnAnAgentItCannotRead(t *testing.T) {
	_, err := New(context.Background(), fake.NewClientset(), nil, []Agents{kubeProxy}, nil)
	require.ErrorContains(t, err, "guard: read kube-proxy pod kube-system/kube-proxy-")
}

var t0 = time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

func leases(renewed map[string]float64) map[string]lease {
	out := map[string]lease{}
	for n, s := range renewed {
		out[n] = lease{renewed: at(s), duration: 40 * time.Second}
	}
	return out
}

func TestObserverQuietRound(t *testing.T) {
	o := newObserver(at(0))
	// Renewals every 10 s, polls every 2 s, a 60 s round.
	for s := 0.0; s <= 60; s += 2 {
		renew := float64(int(s/10) * 10)
		o.observe(at(s), true, leases(map[string]float64{"n1": renew, "n2": renew - 3}), "")
	}
	assert.Empty(t, o.problems(at(61)))
}

func TestObserverApiserverSilence(t *testing.T) {
	o := newObserver(at(0))
	o.observe(at(0), true, leases(map[string]float64{"n1": 0}), "")
	for s := 2.0; s < 24; s += 5 {
		o.observe(at(s), false, nil, "")
	}
	// The kubelet could not renew through a silent apiserver: it is not
	// blamed for it.
	o.observe(at(24), true, leases(map[string]float64{"n1": 0}), "")
	o.observe(at(26), true, leases(map[string]float64{"n1": 25}), "")
	assert.Equal(t, []string{"the apiserver did not answer for 24s during the round"}, o.problems(at(27)))

	o = newObserver(at(0))
	o.observe(at(3), false, nil, "")
	assert.Equal(t, []string{"the apiserver did not answer for 15s during the round"}, o.problems(at(15)),
		"still silent when the round ends")
	o = newObserver(at(0))
	o.observe(at(6), false, nil, "")
	o.observe(at(8), true, nil, "")
	assert.Empty(t, o.problems(at(9)), "a slow answer is not a broken round")
}

func TestObserverStalledKubelet(t *testing.T) {
	o := newObserver(at(0))
	for s := 0.0; s <= 40; s += 2 {
		n2 := float64(int(s/10) * 10)
		if s >= 12 && s < 38 { // stopped at 12 s for 26 s: the 10 s renewal stays
			n2 = 10
		}
		o.observe(at(s), true, leases(map[string]float64{"n1": float64(int(s/10) * 10), "n2": n2}), "")
	}
	assert.Equal(t, []string{"kubelet on n2 did not renew its node lease for 26s during the round (it renews every 10s)"}, o.problems(at(41)))
}

func TestObserverNotesAnUnreadableLease(t *testing.T) {
	o := newObserver(at(0))
	o.observe(at(0), true, nil, "kubelets not watched (node lease kube-node-lease/n1: forbidden)")
	assert.Empty(t, o.problems(at(1)))
	w := &Watch{obs: o}
	assert.Equal(t, []string{"kubelets not watched (node lease kube-node-lease/n1: forbidden)"}, w.Notes())
}

func TestMissingRemembersTheRunsPods(t *testing.T) {
	g := &Guard{seen: map[string]bool{}}
	s := State{}
	s.add("pod nb-x/fortio-server", true, pod("nb-x", "fortio-server", "n1", "u-s", 0, true))
	s.add("kube-proxy on n1", false, daemonPod("kube-proxy-a", "n1", "u-a", 0))
	assert.Empty(t, g.Missing(s))
	assert.Empty(t, g.Missing(s))
	assert.Equal(t, []string{"pod nb-x/fortio-server was deleted"}, g.Missing(State{}), "deleted between two rounds")
}
