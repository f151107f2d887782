//go:build linux

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"kube-netbench/fixtures"
	"kube-netbench/internal/kube"
	"kube-netbench/internal/lab/proc"
	"kube-netbench/internal/podexec"
)

// labPods checks how the embedded lab realizes pods: what a user of the lab
// relies on when a benchmark runs there.
type labPods struct {
	*run
	node corev1.Node
}

const busybox = "busybox:1.36"

// TestLabPods runs only on the embedded lab: it checks the lab's own
// realization of pods (network namespaces, CNI addresses, images, exec and
// logs through the API, teardown on deletion).
func TestLabPods(t *testing.T) {
	s := &labPods{}
	f := features.New("embedded lab pods").
		WithLabel("dimension", "lab").WithLabel("tier", "smoke").WithLabel("lab", "only").
		Setup(s.setup).
		Assess("an image the lab does not hold fails the pod with ErrImagePull naming the image", s.unmappedImage).
		Assess("images run with their own entrypoint: iperf3 -s from args alone, pause", s.entrypoints).
		Assess("a pod's address is its CNI address, in its own network namespace", s.podNetns).
		Assess("a hostNetwork pod runs in its node's network namespace", s.hostNetwork).
		Assess("Pod Security is enforced: baseline where a namespace sets no level, restricted in the run's", s.podSecurity).
		Assess("exec through the API keeps stdout, stderr and the exit code", s.execStreams).
		Assess("logs are readable through the API", s.logs).
		Assess("deleting a pod ends every process in its network namespace", s.deletion).
		Feature()
	testEnv.Test(t, f)
}

func (s *labPods) setup(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
	if !onLab {
		t.Skip("not on the embedded lab (a kubeconfig was given): these checks are about the lab's own pod realization")
	}
	s.run = startRun(ctx, t, cfg, "lab", 1)
	s.node = s.nodes[0]
	return ctx
}

// pod is a hardened pod on the lab's node: in the run's restricted
// namespace, or its privileged host namespace when hostNetwork.
func (s *labPods) pod(name, image string, hostNetwork bool, command ...string) *corev1.Pod {
	ns := s.ns
	if hostNetwork {
		ns = s.hostNS
	}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: fixtures.RunLabels(s.id)},
		Spec: corev1.PodSpec{
			Affinity:                      fixtures.OnNode(s.node.Name),
			HostNetwork:                   hostNetwork,
			TerminationGracePeriodSeconds: ptr.To(int64(1)),
			Containers:                    []corev1.Container{{Name: "c", Image: image, Command: command}},
		},
	}
	fixtures.Harden(&p.Spec)
	return p
}

// startPod creates a pod and waits until it is Ready.
func (s *labPods) startPod(ctx context.Context, t *testing.T, p *corev1.Pod) *corev1.Pod {
	t.Helper()
	if _, err := s.client.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := kube.WaitFor(ctx, "pod "+p.Name+" Ready", time.Minute, kube.PodsReady(s.client, p.Namespace, p.Name)); err != nil {
		t.Fatal(err)
	}
	got, err := s.client.CoreV1().Pods(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func (s *labPods) execIn(ctx context.Context, ns, pod string, argv ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	err := s.exec.Exec(ctx, podexec.Target{Namespace: ns, Pod: pod, Container: "c"}, argv, nil, &out, &errb)
	return out.String(), errb.String(), err
}

// labPauseImage is the pause image the lab's nodes hold: the sandbox image
// kubelet v1.37.2 and kubeadm 1.37 use.
const labPauseImage = "registry.k8s.io/pause:3.10.2"

func (s *labPods) unmappedImage(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	const image = "nginx:1.27"
	p := s.pod("unmapped", image, false)
	if _, err := s.client.CoreV1().Pods(s.ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var msg string
	_, err := kube.WaitFor(ctx, "pod with an unmapped image reports it", 30*time.Second, func(ctx context.Context) (bool, string, error) {
		got, err := s.client.CoreV1().Pods(s.ns).Get(ctx, p.Name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		msg = kube.PodFailedImage(got)
		return msg != "", fmt.Sprintf("phase %s, statuses %v", got.Status.Phase, got.Status.ContainerStatuses), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// There is no registry: as on a cluster that cannot reach one, the pull
	// fails and the status names the reference.
	if !strings.Contains(msg, image) || !(strings.Contains(msg, "ErrImagePull") || strings.Contains(msg, "ImagePullBackOff")) {
		t.Fatalf("the pod's status is not ErrImagePull naming the image %s: %q", image, msg)
	}
	t.Logf("status: %s", msg)
	return ctx
}

// entrypoints gives an iperf3 pod only args, as one would on a real node:
// the image's ENTRYPOINT (iperf3) must run them, and the pod is Ready only
// once iperf3 listens on its declared port.
func (s *labPods) entrypoints(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	iperf := s.pod("iperf3", fixtures.IperfImage, false)
	iperf.Spec.Containers[0].Args = []string{"-s", "-p", "5201"}
	iperf.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 5201, Protocol: corev1.ProtocolTCP}}
	p := s.startPod(ctx, t, iperf)
	out, _, err := s.execIn(ctx, p.Namespace, p.Name, "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out) != "iperf3 -s -p 5201" {
		t.Fatalf("iperf3 pod runs %q, want the image entrypoint with the pod's args: \"iperf3 -s -p 5201\"", out)
	}
	pause := s.startPod(ctx, t, s.pod("pause", labPauseImage, false))
	t.Logf("iperf3 pod runs %q and is Ready; pause pod %s Ready", strings.TrimSpace(out), pause.Name)
	return ctx
}

func (s *labPods) podNetns(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	p := s.startPod(ctx, t, s.pod("netns", busybox, false, "sh", "-c", "echo hello from the lab; exec sleep 3600"))
	out, _, err := s.execIn(ctx, p.Namespace, p.Name, "ip", "-4", "-o", "addr", "show", "dev", "eth0")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, " "+p.Status.PodIP+"/") {
		t.Fatalf("pod IP %s (status) is not on the pod's eth0: %q", p.Status.PodIP, out)
	}
	if p.Status.PodIP == p.Status.HostIP {
		t.Fatalf("pod IP equals the node IP %s: not a pod network namespace", p.Status.HostIP)
	}
	out, _, err = s.execIn(ctx, p.Namespace, p.Name, "ip", "-4", "route", "show", "default")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("pod %s on %s: eth0 has %s; default route %q", p.Name, p.Spec.NodeName, p.Status.PodIP, strings.TrimSpace(out))
	return ctx
}

func (s *labPods) hostNetwork(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	p := s.startPod(ctx, t, s.pod("hostnet", busybox, true, "sleep", "3600"))
	var nodeIP string
	for _, a := range s.node.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			nodeIP = a.Address
		}
	}
	out, _, err := s.execIn(ctx, p.Namespace, p.Name, "ip", "-4", "-o", "addr", "show")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, " "+nodeIP+"/") || p.Status.PodIP != nodeIP {
		t.Fatalf("hostNetwork pod: want the node's address %s in its netns and as its pod IP (%s); addresses: %q", nodeIP, p.Status.PodIP, out)
	}
	t.Logf("hostNetwork pod sees the node's address %s", nodeIP)
	return ctx
}

// podSecurity proves the lab's apiserver enforces Pod Security, so that a
// pod a level refuses fails the lab run as it would on a hardened cluster:
// a hostNetwork pod is refused in a namespace without labels (the
// apiserver's default, baseline) and in the run's restricted namespace; a
// root pod passes baseline but not restricted.
func (s *labPods) podSecurity(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	unlabelled := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: s.ns + "-unlabelled", Labels: fixtures.RunLabels(s.id)}}
	if _, err := s.client.CoreV1().Namespaces().Create(ctx, unlabelled, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteNamespace(t, s.client, unlabelled.Name) })
	refused := func(ns string, p *corev1.Pod, want string) {
		t.Helper()
		p.Namespace = ns
		_, err := s.client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), want) {
			t.Fatalf("pod %s in namespace %s: want Forbidden by Pod Security naming %q, got %v", p.Name, ns, want, err)
		}
		t.Logf("refused in %s: %v", ns, err)
	}
	hostNet := s.pod("psa-hostnet", busybox, true, "sleep", "3600")
	refused(unlabelled.Name, hostNet.DeepCopy(), `violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true)`)
	refused(s.ns, hostNet.DeepCopy(), `violates PodSecurity "restricted:latest": host namespaces (hostNetwork=true)`)
	root := s.pod("psa-root", busybox, false, "sleep", "3600")
	root.Spec.SecurityContext, root.Spec.Containers[0].SecurityContext = nil, nil
	refused(s.ns, root.DeepCopy(), `violates PodSecurity "restricted:latest"`)
	root.Namespace = unlabelled.Name
	if _, err := s.client.CoreV1().Pods(unlabelled.Name).Create(ctx, root, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Fatalf("a pod baseline allows is refused in namespace %s: %v", unlabelled.Name, err)
	}
	return ctx
}

func (s *labPods) execStreams(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	out, errOut, err := s.execIn(ctx, s.ns, "netns", "sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 7")
	var ee *podexec.ExitError
	if !errors.As(err, &ee) || ee.Code != 7 {
		t.Fatalf("want exit code 7 as *podexec.ExitError, got %v", err)
	}
	if out != "to-stdout\n" || errOut != "to-stderr\n" {
		t.Fatalf("streams mixed or lost: stdout %q, stderr %q", out, errOut)
	}
	return ctx
}

func (s *labPods) logs(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	b, err := s.client.CoreV1().Pods(s.ns).GetLogs("netns", &corev1.PodLogOptions{Container: "c"}).DoRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "hello from the lab") {
		t.Fatalf("log of pod netns: %q", b)
	}
	return ctx
}

// deletion reads the pod's network namespace from the machine (a file
// under /run/netns; the test never connects to a pod address) and the
// processes inside it, deletes the pod, and checks both are gone.
func (s *labPods) deletion(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	p, err := s.client.CoreV1().Pods(s.ns).Get(ctx, "netns", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The pod's network namespace as its container sees it ("net:[<inode>]"):
	// the runtime names and mounts it where the node sees it, not the suite.
	out, _, err := s.execIn(ctx, p.Namespace, p.Name, "readlink", "/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	var st struct{ Ino uint64 }
	if _, err := fmt.Sscanf(strings.TrimSpace(out), "net:[%d]", &st.Ino); err != nil {
		t.Fatalf("the pod's network namespace %q: %v", out, err)
	}
	nsFile := fmt.Sprintf("net:[%d]", st.Ino)
	pids := processesInNetns(st.Ino)
	if len(pids) == 0 {
		t.Fatalf("no process runs in the pod's netns %s", nsFile)
	}
	if err := s.client.CoreV1().Pods(s.ns).Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	took, err := kube.WaitFor(ctx, "pod netns deleted", time.Minute, func(ctx context.Context) (bool, string, error) {
		_, err := s.client.CoreV1().Pods(s.ns).Get(ctx, p.Name, metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			return false, "pod object still present", nil
		}
		if left := processesInNetns(st.Ino); len(left) > 0 {
			return false, fmt.Sprintf("processes %v still in the pod's netns", left), nil
		}
		return true, "", nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("pod deleted in %s: processes %v ended, none left in %s", took.Round(time.Millisecond), pids, nsFile)
	return ctx
}

// processesInNetns lists the PIDs whose network namespace has inode ino.
func processesInNetns(ino uint64) []string {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var out []string
	for _, d := range dirs {
		var st syscall.Stat_t
		if syscall.Stat(filepath.Join(d, "ns", "net"), &st) == nil && st.Ino == ino {
			// A zombie has exited: it only waits to be reaped.
			if pid, err := strconv.Atoi(filepath.Base(d)); err == nil {
				if id, err := proc.Of(pid); err == nil && id.Alive() {
					out = append(out, filepath.Base(d))
				}
			}
		}
	}
	return out
}
