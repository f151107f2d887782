package imageid

import (
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"kube-netbench/internal/report"
)

const (
	tools   = "ghcr.io/kube-netbench/tools:iperf3-3.12-netperf-2.7.0-r1"
	toolsA  = "ghcr.io/kube-netbench/tools@sha256:aaaa"
	toolsB  = "ghcr.io/kube-netbench/tools@sha256:bbbb"
	busybox = "busybox:1.36"
	bbID    = "docker.io/library/busybox@sha256:cccc"
)

func pod(containers map[string]string, statuses ...corev1.ContainerStatus) corev1.Pod {
	var p corev1.Pod
	for name, image := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: name, Image: image})
	}
	p.Status.ContainerStatuses = statuses
	return p
}

func TestFromPods(t *testing.T) {
	pods := []corev1.Pod{
		// The status's image is normalised; the reference is the spec's.
		pod(map[string]string{"netperf": tools, "probe": busybox},
			corev1.ContainerStatus{Name: "netperf", Image: "ghcr.io/kube-netbench/tools:iperf3-3.12-netperf-2.7.0-r1", ImageID: toolsB},
			corev1.ContainerStatus{Name: "probe", Image: "docker.io/library/busybox:1.36", ImageID: bbID}),
		pod(map[string]string{"netperf": tools, "probe": busybox},
			corev1.ContainerStatus{Name: "netperf", ImageID: toolsA},
			corev1.ContainerStatus{Name: "probe", ImageID: bbID}),
		// Not started yet: no image ID, the reference is still listed.
		pod(map[string]string{"fortio": "fortio/fortio:1.66.5"}, corev1.ContainerStatus{Name: "fortio"}),
	}
	pods[0].Spec.InitContainers = []corev1.Container{{Name: "init", Image: busybox}}
	pods[0].Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "init", ImageID: bbID}}

	require.Equal(t, []Image{
		{Ref: busybox, IDs: []string{bbID}},
		{Ref: "fortio/fortio:1.66.5"},
		{Ref: tools, IDs: []string{toolsA, toolsB}},
	}, FromPods(pods), "two nodes resolved the tools tag to different images: both are kept")
	require.Empty(t, FromPods(nil))
}

func TestAttach(t *testing.T) {
	in := []report.Tool{{Name: "netperf", Image: tools, Version: "2.7.0"}, {Name: "busybox", Image: "other/busybox:1"}}
	got := Attach(in, []Image{
		{Ref: busybox, IDs: []string{bbID}},
		{Ref: tools, IDs: []string{toolsA, toolsB}},
	})
	require.Equal(t, []report.Tool{
		{Name: "netperf", Image: tools, Version: "2.7.0", ImageID: toolsA + "," + toolsB},
		{Name: "busybox", Image: "other/busybox:1"},
		// An image no tool names is recorded too, under a free name.
		{Name: "busybox-2", Image: busybox, ImageID: bbID},
	}, got)
	require.Empty(t, in[0].ImageID, "the caller's tools are not modified")
}

func TestToolName(t *testing.T) {
	for ref, want := range map[string]string{
		"busybox:1.36":                          "busybox",
		"fortio/fortio:1.66.5":                  "fortio",
		tools:                                   "tools",
		"registry.local:5000/Net_Perf@sha256:1": "net-perf",
		"localhost:5000/9tools:1":               "image-9tools",
	} {
		require.Equal(t, want, toolName(ref), ref)
	}
}
