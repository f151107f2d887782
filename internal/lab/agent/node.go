package agent

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

// leaseDuration is the node lease's duration; the agent renews it every
// quarter of it, as the kubelet does (40 s / 10 s).
const leaseDuration = 40 * time.Second

// InstanceType is the node.kubernetes.io/instance-type label of lab nodes, so
// the fingerprint of a result names the lab rather than a cloud machine.
const InstanceType = "netbench-lab"

// buildNode returns the Node object the agent registers.
func (c Config) buildNode(now time.Time) *corev1.Node {
	labels := map[string]string{
		corev1.LabelHostname:           c.NodeName,
		corev1.LabelOSStable:           "linux",
		corev1.LabelArchStable:         runtime.GOARCH,
		corev1.LabelInstanceTypeStable: InstanceType,
	}
	for k, v := range c.Labels {
		labels[k] = v
	}
	var uts unix.Utsname
	kernel := "unknown"
	if unix.Uname(&uts) == nil {
		kernel = unix.ByteSliceToString(uts.Release[:])
	}
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewQuantity(int64(runtime.NumCPU()), resource.DecimalSI),
		corev1.ResourceMemory: resource.MustParse("8Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: c.NodeName, Labels: labels},
		Spec:       corev1.NodeSpec{PodCIDR: c.PodCIDR.String(), PodCIDRs: []string{c.PodCIDR.String()}},
		Status: corev1.NodeStatus{
			Capacity:    capacity,
			Allocatable: capacity,
			Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeInternalIP, Address: c.NodeIP.String()},
				{Type: corev1.NodeHostName, Address: c.NodeName},
			},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(c.KubeletPort)}},
			NodeInfo: corev1.NodeSystemInfo{
				KernelVersion:           kernel,
				OSImage:                 "kube-netbench lab node (network namespace)",
				OperatingSystem:         "linux",
				Architecture:            runtime.GOARCH,
				ContainerRuntimeVersion: "netbench-lab://" + c.KubernetesVersion,
				KubeletVersion:          c.KubernetesVersion,
				KubeProxyVersion:        c.KubernetesVersion,
			},
			Conditions: nodeConditions(now),
		},
	}
}

func nodeConditions(now time.Time) []corev1.NodeCondition {
	t := metav1.NewTime(now)
	cond := func(typ corev1.NodeConditionType, st corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: typ, Status: st, Reason: reason, Message: msg, LastHeartbeatTime: t, LastTransitionTime: t}
	}
	return []corev1.NodeCondition{
		cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "lab agent is posting ready status"),
		cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "lab node"),
		cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "lab node"),
		cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "lab node"),
		cond(corev1.NodeNetworkUnavailable, corev1.ConditionFalse, "RouteCreated", "lab node routes pod CIDRs over the underlay"),
	}
}

// registerNode creates the Node, or takes over an existing one of the same
// name (an agent restart), then posts its status.
func (a *Agent) registerNode(ctx context.Context) error {
	want := a.cfg.buildNode(time.Now())
	nodes := a.client.CoreV1().Nodes()
	got, err := nodes.Create(ctx, want, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		got, err = nodes.Get(ctx, want.Name, metav1.GetOptions{})
		if err == nil && got.Spec.PodCIDR != "" && got.Spec.PodCIDR != want.Spec.PodCIDR {
			return fmt.Errorf("node %s exists with podCIDR %s, this agent owns %s", want.Name, got.Spec.PodCIDR, want.Spec.PodCIDR)
		}
	}
	if err != nil {
		return fmt.Errorf("register node %s: %w", want.Name, err)
	}
	// The dataplane's agent may write the Node at the same time (Cilium
	// annotates it as it starts): on a conflict, read it again and retry.
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		got.Status = want.Status
		_, err := nodes.UpdateStatus(ctx, got, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			if fresh, gerr := nodes.Get(ctx, want.Name, metav1.GetOptions{}); gerr == nil {
				got = fresh
			}
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("post status of node %s: %w", want.Name, err)
	}
	a.nodeUID = got.UID
	return nil
}

// heartbeat renews the node lease every quarter of its duration and posts the
// Ready condition every minute, until ctx ends.
func (a *Agent) heartbeat(ctx context.Context) {
	leaseTick := time.NewTicker(leaseDuration / 4)
	defer leaseTick.Stop()
	statusTick := time.NewTicker(time.Minute)
	defer statusTick.Stop()
	for {
		if err := a.renewLease(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("renew node lease", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-leaseTick.C:
		case <-statusTick.C:
			if err := a.postReady(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("post node status", "err", err)
			}
		}
	}
}

func (a *Agent) renewLease(ctx context.Context) error {
	leases := a.client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	now := metav1.NewMicroTime(time.Now())
	l, err := leases.Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{
				Name: a.cfg.NodeName, Namespace: corev1.NamespaceNodeLease,
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: a.cfg.NodeName, UID: a.nodeUID}},
			},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity:       ptr.To(a.cfg.NodeName),
				LeaseDurationSeconds: ptr.To(int32(leaseDuration / time.Second)),
				RenewTime:            &now,
			},
		}, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	l.Spec.RenewTime = &now
	l.Spec.HolderIdentity = ptr.To(a.cfg.NodeName)
	_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
	return err
}

func (a *Agent) postReady(ctx context.Context) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := a.client.CoreV1().Nodes().Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		now := metav1.NewTime(time.Now())
		for i := range n.Status.Conditions {
			n.Status.Conditions[i].LastHeartbeatTime = now
		}
		_, err = a.client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
		return err
	})
}

// kubeClient is the subset the agent needs; a fake clientset satisfies it.
type kubeClient = kubernetes.Interface
