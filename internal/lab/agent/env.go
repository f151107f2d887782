package agent

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kube-netbench/internal/lab/runtime"
)

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// env builds a container's environment as the kubelet does: the image's
// variables, then HOSTNAME and the kubernetes Service's variables, then
// envFrom, then env with $(VAR) references expanded from what precedes them.
func (w *podWorker) env(ctx context.Context, pod *corev1.Pod, c corev1.Container, img runtime.Image) ([]string, error) {
	vars := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := vars[k]; !ok {
			order = append(order, k)
		}
		vars[k] = v
	}
	for _, kv := range img.Env {
		k, v, _ := strings.Cut(kv, "=")
		set(k, v)
	}
	if _, ok := vars["PATH"]; !ok {
		set("PATH", defaultPath)
	}
	host := pod.Name
	if pod.Spec.HostNetwork {
		host = w.a.cfg.NodeName
	}
	set("HOSTNAME", host)
	if w.a.serviceHost != "" {
		set("KUBERNETES_SERVICE_HOST", w.a.serviceHost)
		set("KUBERNETES_SERVICE_PORT", "443")
		set("KUBERNETES_SERVICE_PORT_HTTPS", "443")
	}
	for _, from := range c.EnvFrom {
		data, err := w.envFromSource(ctx, from)
		if err != nil {
			return nil, err
		}
		for k, v := range data {
			set(from.Prefix+k, v)
		}
	}
	lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			set(e.Name, runtime.Expand(e.Value, lookup))
			continue
		}
		v, err := w.envValueFrom(ctx, pod, e)
		if err != nil {
			return nil, err
		}
		set(e.Name, v)
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+vars[k])
	}
	return out, nil
}

func (w *podWorker) envValueFrom(ctx context.Context, pod *corev1.Pod, e corev1.EnvVar) (string, error) {
	src := e.ValueFrom
	switch {
	case src.FieldRef != nil:
		v, err := w.fieldValue(pod, src.FieldRef.FieldPath)
		if err != nil {
			return "", fmt.Errorf("env %s: %w", e.Name, err)
		}
		return v, nil
	case src.ConfigMapKeyRef != nil:
		ref := src.ConfigMapKeyRef
		cm, err := w.a.client.CoreV1().ConfigMaps(w.namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			if ref.Optional != nil && *ref.Optional {
				return "", nil
			}
			return "", fmt.Errorf("env %s: configmap %s: %w", e.Name, ref.Name, err)
		}
		v, ok := cm.Data[ref.Key]
		if !ok && !(ref.Optional != nil && *ref.Optional) {
			return "", fmt.Errorf("env %s: configmap %s has no key %q", e.Name, ref.Name, ref.Key)
		}
		return v, nil
	case src.SecretKeyRef != nil:
		ref := src.SecretKeyRef
		s, err := w.a.client.CoreV1().Secrets(w.namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			if ref.Optional != nil && *ref.Optional {
				return "", nil
			}
			return "", fmt.Errorf("env %s: secret %s: %w", e.Name, ref.Name, err)
		}
		v, ok := s.Data[ref.Key]
		if !ok && !(ref.Optional != nil && *ref.Optional) {
			return "", fmt.Errorf("env %s: secret %s has no key %q", e.Name, ref.Name, ref.Key)
		}
		return string(v), nil
	}
	return "", fmt.Errorf("env %s: this valueFrom source is not supported by the lab (fieldRef, configMapKeyRef and secretKeyRef are)", e.Name)
}

func (w *podWorker) envFromSource(ctx context.Context, from corev1.EnvFromSource) (map[string]string, error) {
	switch {
	case from.ConfigMapRef != nil:
		cm, err := w.a.client.CoreV1().ConfigMaps(w.namespace).Get(ctx, from.ConfigMapRef.Name, metav1.GetOptions{})
		if err != nil {
			if from.ConfigMapRef.Optional != nil && *from.ConfigMapRef.Optional {
				return nil, nil
			}
			return nil, fmt.Errorf("envFrom configmap %s: %w", from.ConfigMapRef.Name, err)
		}
		return cm.Data, nil
	case from.SecretRef != nil:
		s, err := w.a.client.CoreV1().Secrets(w.namespace).Get(ctx, from.SecretRef.Name, metav1.GetOptions{})
		if err != nil {
			if from.SecretRef.Optional != nil && *from.SecretRef.Optional {
				return nil, nil
			}
			return nil, fmt.Errorf("envFrom secret %s: %w", from.SecretRef.Name, err)
		}
		out := map[string]string{}
		for k, v := range s.Data {
			out[k] = string(v)
		}
		return out, nil
	}
	return nil, nil
}

// fieldValue resolves a downward-API field path.
func (w *podWorker) fieldValue(pod *corev1.Pod, path string) (string, error) {
	w.mu.Lock()
	ip := w.podIP
	w.mu.Unlock()
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.podIP", "status.podIPs":
		return ip.String(), nil
	case "status.hostIP", "status.hostIPs":
		return w.a.hostIP().String(), nil
	}
	if k, ok := strings.CutPrefix(path, "metadata.labels['"); ok {
		return pod.Labels[strings.TrimSuffix(k, "']")], nil
	}
	if k, ok := strings.CutPrefix(path, "metadata.annotations['"); ok {
		return pod.Annotations[strings.TrimSuffix(k, "']")], nil
	}
	return "", fmt.Errorf("field path %q is not supported by the lab", path)
}
