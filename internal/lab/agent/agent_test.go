package agent

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/containernetworking/cni/libcni"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"

	"kube-netbench/internal/lab/runtime"
)

func testConfig() Config {
	return Config{
		NodeName: "nb-node-1", NodeIP: netip.MustParseAddr("10.250.0.11"), PodCIDR: netip.MustParsePrefix("10.244.1.0/24"),
		Kubeconfig: "/lab/kubeconfig", StateDir: "/lab/nodes/nb-node-1", CNIBinDir: "/cache/cni",
		CNIConfList: PTPConfList(netip.MustParsePrefix("10.244.1.0/24"), "/lab/nodes/nb-node-1/ipam"),
		KubeletPort: 10250, KubernetesVersion: "v1.37.2",
	}
}

func TestConfigValidate(t *testing.T) {
	require.NoError(t, testConfig().Validate())
	c := testConfig()
	c.NodeName, c.StateDir, c.KubeletPort, c.CNIConfList = "", "relative", 0, nil
	err := c.Validate()
	for _, want := range []string{"nodeName is empty", `stateDir "relative" must be an absolute path`, "kubeletPort 0", "cniConfList is empty"} {
		require.ErrorContains(t, err, want)
	}
}

// TestPTPConfList checks that the network list libcni will run is what the
// lab means: ptp, no masquerade, host-local addresses from the node's range,
// a default route through the node.
func TestPTPConfList(t *testing.T) {
	list, err := libcni.ConfListFromBytes(PTPConfList(netip.MustParsePrefix("10.244.3.0/24"), "/x/ipam"))
	require.NoError(t, err)
	require.Equal(t, "1.0.0", list.CNIVersion)
	require.Len(t, list.Plugins, 1)
	var ptp struct {
		Type   string
		IPMasq bool
		IPAM   struct {
			Type    string
			Ranges  [][]struct{ Subnet string }
			Routes  []struct{ Dst string }
			DataDir string
		}
	}
	require.NoError(t, json.Unmarshal(list.Plugins[0].Bytes, &ptp))
	require.Equal(t, "ptp", ptp.Type)
	require.False(t, ptp.IPMasq)
	require.Equal(t, "host-local", ptp.IPAM.Type)
	require.Equal(t, "10.244.3.0/24", ptp.IPAM.Ranges[0][0].Subnet)
	require.Equal(t, "0.0.0.0/0", ptp.IPAM.Routes[0].Dst)
	require.Equal(t, "/x/ipam", ptp.IPAM.DataDir)
}

func TestResultIPv4(t *testing.T) {
	_, v6, _ := net.ParseCIDR("fd00::5/64")
	_, v4, _ := net.ParseCIDR("10.244.1.7/24")
	v4.IP = net.ParseIP("10.244.1.7")
	v6.IP = net.ParseIP("fd00::5")
	ip, err := resultIPv4(&types100.Result{IPs: []*types100.IPConfig{{Address: *v6}, {Address: *v4}}})
	require.NoError(t, err)
	require.Equal(t, "10.244.1.7", ip.String())
	_, err = resultIPv4(&types100.Result{IPs: []*types100.IPConfig{{Address: *v6}}})
	require.ErrorContains(t, err, "no IPv4 address")
}

func TestBuildNode(t *testing.T) {
	n := testConfig().buildNode(time.Unix(0, 0))
	require.Equal(t, "nb-node-1", n.Labels[corev1.LabelHostname])
	require.Equal(t, InstanceType, n.Labels[corev1.LabelInstanceTypeStable])
	require.Equal(t, "10.244.1.0/24", n.Spec.PodCIDR)
	require.Equal(t, []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.250.0.11"}, {Type: corev1.NodeHostName, Address: "nb-node-1"}}, n.Status.Addresses)
	require.Equal(t, int32(10250), n.Status.DaemonEndpoints.KubeletEndpoint.Port)
	require.Equal(t, corev1.NodeReady, n.Status.Conditions[0].Type)
	require.Equal(t, corev1.ConditionTrue, n.Status.Conditions[0].Status)
}

func testAgent(objs ...k8sruntime.Object) *Agent {
	return &Agent{
		cfg: testConfig(), log: slog.New(slog.DiscardHandler), client: fake.NewClientset(objs...),
		events: record.NewFakeRecorder(10), serviceHost: "10.96.0.1",
	}
}

func testPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u1", Labels: map[string]string{"app": "x"}},
		Spec: corev1.PodSpec{NodeName: "nb-node-1", RestartPolicy: corev1.RestartPolicyAlways,
			Containers: []corev1.Container{{Name: "c", Image: "busybox:1.36"}}},
	}
}

// TestEnv checks the container environment's order and sources, as the
// kubelet builds it: image env, HOSTNAME and the kubernetes Service, envFrom,
// then env with $(VAR) expanded from what precedes it.
func TestEnv(t *testing.T) {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: "ns"}, Data: map[string]string{"MODE": "fast", "K": "v"}}
	a := testAgent(cm)
	pod := testPod()
	w := newPodWorker(a, pod)
	w.podIP = netip.MustParseAddr("10.244.1.5")
	c := corev1.Container{
		EnvFrom: []corev1.EnvFromSource{{Prefix: "CFG_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}},
		Env: []corev1.EnvVar{
			{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
			{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
			{Name: "APP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
			{Name: "MODE", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "MODE"}}},
			{Name: "URL", Value: "http://$(POD_IP):8080/$(MODE)/$$(MODE)/$(UNSET)"},
		},
	}
	env, err := w.env(context.Background(), pod, c, runtime.Image{Env: []string{"PATH=/img/bin", "IMG=1"}})
	require.NoError(t, err)
	require.Equal(t, []string{
		"PATH=/img/bin", "IMG=1", "HOSTNAME=p",
		"KUBERNETES_SERVICE_HOST=10.96.0.1", "KUBERNETES_SERVICE_PORT=443", "KUBERNETES_SERVICE_PORT_HTTPS=443",
		"CFG_K=v", "CFG_MODE=fast",
		"NODE=nb-node-1", "POD_IP=10.244.1.5", "APP=x", "MODE=fast",
		"URL=http://10.244.1.5:8080/fast/$(MODE)/$(UNSET)",
	}, sortEnvFrom(env, "CFG_"))

	c.Env = []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "missing"}, Key: "k"}}}}
	_, err = w.env(context.Background(), pod, c, runtime.Image{})
	require.ErrorContains(t, err, "env X: configmap missing")
}

// TestBuildStatus walks a pod through its states as the API sees them.
func TestBuildStatus(t *testing.T) {
	a := testAgent()
	pod := testPod()
	w := newPodWorker(a, pod)
	w.startTime = metav1.Now()

	st := w.buildStatus(corev1.PodStatus{})
	require.Equal(t, corev1.PodPending, st.Phase)
	require.Equal(t, "ContainerCreating", st.ContainerStatuses[0].State.Waiting.Reason)
	require.Equal(t, corev1.ConditionFalse, condition(st, corev1.PodReady))

	w.failure = &waiting{"ErrImagePull", `failed to pull image "nginx:1.27"`}
	st = w.buildStatus(st)
	require.Equal(t, "ErrImagePull", st.ContainerStatuses[0].State.Waiting.Reason)
	require.Contains(t, conditionMessage(st, corev1.PodReady), "nginx:1.27")

	w.failure = nil
	w.podIP = netip.MustParseAddr("10.244.1.9")
	w.containers["c"] = &container{spec: pod.Spec.Containers[0], proc: &runtime.Container{}, started: metav1.Now()}
	st = w.buildStatus(st)
	require.Equal(t, corev1.PodRunning, st.Phase)
	require.Equal(t, "10.244.1.9", st.PodIP)
	require.Equal(t, "10.250.0.11", st.HostIP)
	require.NotNil(t, st.ContainerStatuses[0].State.Running)
	require.Equal(t, corev1.ConditionFalse, condition(st, corev1.PodReady), "running is not ready")

	w.containers["c"].ready = true
	st = w.buildStatus(st)
	require.Equal(t, corev1.ConditionTrue, condition(st, corev1.PodReady))

	w.containers["c"].proc = nil
	w.containers["c"].term = &corev1.ContainerStateTerminated{ExitCode: 2}
	st = w.buildStatus(st)
	require.Equal(t, corev1.PodFailed, st.Phase)
}

func condition(st corev1.PodStatus, typ corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range st.Conditions {
		if c.Type == typ {
			return c.Status
		}
	}
	return ""
}

func conditionMessage(st corev1.PodStatus, typ corev1.PodConditionType) string {
	for _, c := range st.Conditions {
		if c.Type == typ {
			return c.Message
		}
	}
	return ""
}

func TestReadOnlyVolumes(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{
		{VolumeMounts: []corev1.VolumeMount{{Name: "ro", ReadOnly: true}, {Name: "mixed", ReadOnly: true}}},
		{VolumeMounts: []corev1.VolumeMount{{Name: "mixed"}, {Name: "rw"}}},
	}}}
	require.Equal(t, map[string]bool{"ro": true}, readOnlyVolumes(pod))
}
