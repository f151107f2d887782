package lab

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"kube-netbench/internal/lab/components"
)

// KubeProxyImage is the image the lab's kube-proxy DaemonSet names; the lab
// maps it to the kube-proxy binary it built.
const KubeProxyImage = "registry.k8s.io/kube-proxy:" + components.KubernetesVersion

// kubeProxyConfig is the ConfigMap's config.conf, as kubeadm writes it, with
// the lab's choices: the mode, the pod range, healthz and metrics on every
// address of the node (so the apiserver's node proxy reaches them), and no
// conntrack sysctl changes (they would reach beyond the node's namespace).
func kubeProxyConfig(mode Dataplane, clusterCIDR string) string {
	return fmt.Sprintf(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
bindAddress: 0.0.0.0
clientConnection:
  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf
clusterCIDR: %s
conntrack:
  maxPerCore: 0
  min: 0
  tcpCloseWaitTimeout: 0s
  tcpEstablishedTimeout: 0s
healthzBindAddress: 0.0.0.0:10256
metricsBindAddress: 0.0.0.0:10249
mode: %q
`, clusterCIDR, string(mode))
}

// kubeProxyKubeconfig is the ConfigMap's kubeconfig.conf: the node-reachable
// apiserver address with the pod's service-account token, as kubeadm does.
func kubeProxyKubeconfig(server string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt
    server: %s
  name: default
contexts:
- context:
    cluster: default
    namespace: default
    user: default
  name: default
current-context: default
users:
- name: default
  user:
    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token
`, server)
}

// installKubeProxy creates kube-proxy's ServiceAccount, RBAC, ConfigMap and
// DaemonSet in kube-system, as a kubeadm cluster has them.
func installKubeProxy(ctx context.Context, c kubernetes.Interface, mode Dataplane, podCIDR, server string) error {
	labels := map[string]string{"k8s-app": "kube-proxy"}
	return installAgent(ctx, c, "system:node-proxier", "kubeadm:node-proxier",
		&corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "kube-proxy", Namespace: metav1.NamespaceSystem, Labels: map[string]string{"app": "kube-proxy"}},
			Data: map[string]string{
				"config.conf":     kubeProxyConfig(mode, podCIDR),
				"kubeconfig.conf": kubeProxyKubeconfig(server),
			},
		},
		kubeProxyDaemonSet(labels))
}

// installAgent creates a dataplane agent's objects in kube-system: a
// ServiceAccount named after the DaemonSet, bound to clusterRole by a
// ClusterRoleBinding named binding, its ConfigMap and its DaemonSet. Objects
// that exist already are kept.
func installAgent(ctx context.Context, c kubernetes.Interface, clusterRole, binding string, cm *corev1.ConfigMap, ds *appsv1.DaemonSet) error {
	const ns = metav1.NamespaceSystem
	sa := ds.Spec.Template.Spec.ServiceAccountName
	objs := []func() error{
		func() error {
			_, err := c.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{
				ObjectMeta: metav1.ObjectMeta{Name: sa, Namespace: ns}}, metav1.CreateOptions{})
			return err
		},
		func() error {
			_, err := c.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: binding},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: clusterRole},
				Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa, Namespace: ns}},
			}, metav1.CreateOptions{})
			return err
		},
		func() error {
			_, err := c.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{})
			return err
		},
		func() error {
			_, err := c.AppsV1().DaemonSets(ns).Create(ctx, ds, metav1.CreateOptions{})
			return err
		},
	}
	for _, create := range objs {
		if err := create(); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("install %s: %w", ds.Name, err)
		}
	}
	return nil
}

func kubeProxyDaemonSet(labels map[string]string) *appsv1.DaemonSet {
	hostPathFile := corev1.HostPathFileOrCreate
	return agentDaemonSet("kube-proxy", labels, labels, corev1.Container{
		Name:  "kube-proxy",
		Image: KubeProxyImage,
		Command: []string{"/usr/local/bin/kube-proxy",
			"--config=/var/lib/kube-proxy/config.conf", "--hostname-override=$(NODE_NAME)"},
		Env: []corev1.EnvVar{{Name: "NODE_NAME", ValueFrom: &corev1.EnvVarSource{
			FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}}},
		SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)},
		// Ready means kube-proxy has programmed the node: its
		// healthz answers 200 only after a successful sync.
		ReadinessProbe: &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(10256)}},
			PeriodSeconds: 5, TimeoutSeconds: 2, FailureThreshold: 3, SuccessThreshold: 1,
		},
		VolumeMounts: []corev1.VolumeMount{
			{Name: "kube-proxy", MountPath: "/var/lib/kube-proxy"},
			{Name: "xtables-lock", MountPath: "/run/xtables.lock"},
			{Name: "lib-modules", MountPath: "/lib/modules", ReadOnly: true},
		},
	}, []corev1.Volume{
		{Name: "kube-proxy", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "kube-proxy"}}}},
		{Name: "xtables-lock", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{
			Path: "/run/xtables.lock", Type: &hostPathFile}}},
		{Name: "lib-modules", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{
			Path: "/lib/modules"}}},
	})
}

// agentDaemonSet is a dataplane agent's DaemonSet in kube-system: host network,
// node-critical, on every node whatever its taints, with a ServiceAccount
// of its own name.
func agentDaemonSet(name string, selector, labels map[string]string, c corev1.Container, vols []corev1.Volume) *appsv1.DaemonSet {
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: metav1.NamespaceSystem, Labels: labels},
		Spec: appsv1.DaemonSetSpec{
			Selector:       &metav1.LabelSelector{MatchLabels: selector},
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					HostNetwork:                   true,
					PriorityClassName:             "system-node-critical",
					ServiceAccountName:            name,
					NodeSelector:                  map[string]string{corev1.LabelOSStable: "linux"},
					Tolerations:                   []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
					TerminationGracePeriodSeconds: ptr.To(int64(5)),
					Containers:                    []corev1.Container{c},
					Volumes:                       vols,
				},
			},
		},
	}
}
