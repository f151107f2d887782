package dataplane

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"kube-netbench/internal/podexec"
)

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../../testdata/cilium/" + name)
	require.NoError(t, err)
	return b
}

// W-BUG-1 / W-OPS-2: the seed's Hubble toggle reached one agent at most and
// took effect on none; a state is accepted only when every node's agent
// reports it.
func TestVerifyHubbleW_BUG_1(t *testing.T) {
	nodes := []string{"n1", "n2"}
	on := &Cilium{Hubble: map[string]string{"n1": "Ok", "n2": "Ok"}}
	require.NoError(t, VerifyHubble(on, nodes, true))
	require.EqualError(t, VerifyHubble(on, nodes, false),
		`hubble should be "Disabled" on every node, but the agents report n1: "Ok"; n2: "Ok"`)

	oneAgent := &Cilium{Hubble: map[string]string{"n1": "Disabled", "n2": "Ok"}}
	require.EqualError(t, VerifyHubble(oneAgent, nodes, false),
		`hubble should be "Disabled" on every node, but the agents report n2: "Ok"`)

	missing := &Cilium{Hubble: map[string]string{"n1": "Disabled"}}
	require.EqualError(t, VerifyHubble(missing, nodes, false),
		`hubble should be "Disabled" on every node, but the agents report n2: no running agent`)
}

// W-OPS-2: the seed ran status, LB counts, bpftool and the Hubble toggle
// against one arbitrary agent pod (kubectl exec ds/cilium). Every Cilium
// read here asks every node's agent.
func TestCiliumReadsAskEveryAgentW_OPS_2(t *testing.T) {
	show := read(t, "bpftool-map-show-overlay-idle.json")
	dump := read(t, "bpftool-dump-lb4-reverse-nat-overlay.txt")
	svcs := read(t, "service-list-overlay-idle.json")
	asked := map[string]int{}
	var mu sync.Mutex // the agents are read in parallel (perNode)
	e := execFunc(func(_ context.Context, tg podexec.Target, argv []string, _ io.Reader, stdout, _ io.Writer) error {
		mu.Lock()
		asked[tg.Pod]++
		mu.Unlock()
		out := dump
		switch {
		case argv[0] == "bpftool" && argv[2] == "-f":
			out = show
		case argv[0] == "cilium-dbg":
			out = svcs
		}
		_, err := stdout.Write(out)
		return err
	})
	cil := &Cilium{KubeProxyReplacement: "True", Pods: map[string]string{"n1": "cilium-a", "n2": "cilium-b", "n3": "cilium-c"}}
	maps, err := ReadCiliumBPFMaps(context.Background(), e, cil)
	require.NoError(t, err)
	require.Len(t, maps, 3)
	for _, node := range []string{"n1", "n2", "n3"} {
		require.NotEmpty(t, maps[node], node)
	}
	prog, err := ReadProgrammed(context.Background(), e, Detection{Cilium: cil}, nil)
	require.NoError(t, err)
	require.Len(t, prog, 3)
	require.Equal(t, map[string]int{"cilium-a": 1 + 1 + len(CiliumServiceMaps), "cilium-b": 5, "cilium-c": 5}, asked)
}

// W-SYNC-3: the seed slept 10/30/15 s after a policy change. The wait here
// ends only when every agent has the rule and every watched endpoint
// realized that revision, and says what it still waits for.
func TestWaitCiliumPolicyW_SYNC_3(t *testing.T) {
	withRule := []byte(`{"revision": 7, "policy": "[{\"labels\":[{\"key\":\"io.cilium.k8s.policy.name\",\"value\":\"p\",\"source\":\"k8s\"},{\"key\":\"io.cilium.k8s.policy.namespace\",\"value\":\"ns\",\"source\":\"k8s\"}]}]"}`)
	without := []byte(`{"revision": 6, "policy": "[]"}`)
	endpoints := func(rev int) []byte {
		return []byte(fmt.Sprintf(`[{"id": 12, "status": {"state": "ready", "external-identifiers": {"pod-name": "ns/server"},
			"policy": {"realized": {"policy-revision": %d, "policy-enabled": "ingress"}}}},
			{"id": 1, "status": {"state": "ready", "external-identifiers": {"pod-name": "/"}, "policy": {"realized": {"policy-revision": 1}}}}]`, rev))
	}
	polls := 0
	e := execFunc(func(_ context.Context, tg podexec.Target, argv []string, _ io.Reader, stdout, _ io.Writer) error {
		var out []byte
		switch argv[1] {
		case "policy":
			polls++
			out = without
			if polls > 2 || tg.Pod == "cilium-a" {
				out = withRule
			}
		case "endpoint":
			out = endpoints(6)
			if polls > 4 {
				out = endpoints(7)
			}
		}
		_, err := stdout.Write(out)
		return err
	})
	cil := &Cilium{Pods: map[string]string{"n1": "cilium-a", "n2": "cilium-b"}}
	took, revs, err := WaitCiliumPolicy(context.Background(), e, cil, "ns", "p", true, []string{"ns/server"}, 10*time.Second)
	require.NoError(t, err)
	require.Greater(t, took, time.Duration(0))
	require.Equal(t, map[string]int{"n1": 7, "n2": 7}, revs)
	require.Greater(t, polls, 4, "it returned before the endpoints realized revision 7")

	// Never realized: the wait fails, naming the endpoint and its revision.
	stuck := execFunc(func(_ context.Context, _ podexec.Target, argv []string, _ io.Reader, stdout, _ io.Writer) error {
		out := withRule
		if argv[1] == "endpoint" {
			out = endpoints(6)
		}
		_, err := stdout.Write(out)
		return err
	})
	_, _, err = WaitCiliumPolicy(context.Background(), stuck, &Cilium{Pods: map[string]string{"n1": "cilium-a"}}, "ns", "p", true, []string{"ns/server"}, time.Second)
	require.ErrorContains(t, err, "n1: endpoint 12 (ns/server) ready at revision 6 of 7")
}

// A restart marks the DaemonSet's template; restoring puts the mark back as
// found, removed when there was none, so that the template is as before
// (an interrupted Hubble run left netbench.io/restartedAt behind).
func TestRestartMarkIsPutBackAsFound(t *testing.T) {
	ctx := context.Background()
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "cilium"},
		Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{"other": "x"}}}}}
	c := fake.NewClientset(ds)
	mark, err := CiliumRestartMark(ctx, c, "kube-system")
	require.NoError(t, err)
	require.Nil(t, mark)
	stamp := "2026-12-06T17:00:00Z"
	_, err = markCilium(ctx, c, "kube-system", &stamp)
	require.NoError(t, err)
	got, err := CiliumRestartMark(ctx, c, "kube-system")
	require.NoError(t, err)
	require.Equal(t, stamp, *got)
	_, err = markCilium(ctx, c, "kube-system", mark)
	require.NoError(t, err)
	after, err := c.AppsV1().DaemonSets("kube-system").Get(ctx, "cilium", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"other": "x"}, after.Spec.Template.Annotations)

	_, err = CiliumRestartMark(ctx, fake.NewClientset(), "kube-system")
	require.ErrorContains(t, err, "read the cilium DaemonSet")
}
