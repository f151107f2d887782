package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// prepareVolumes materializes the pod's volumes under its directory and
// returns each volume's host path. hostPath volumes are node-scoped: a path
// that exists on the machine and is only read is bound as is; anything a pod
// may create or write lives in the node's own directory, so no lab pod writes
// to the machine's filesystem.
func (w *podWorker) prepareVolumes(ctx context.Context, pod *corev1.Pod) (map[string]string, error) {
	readOnly := readOnlyVolumes(pod)
	out := map[string]string{}
	for _, v := range pod.Spec.Volumes {
		dir := filepath.Join(w.dir, "volumes", v.Name)
		var err error
		switch {
		case v.EmptyDir != nil:
			err = os.MkdirAll(dir, 0o777)
		case v.ConfigMap != nil:
			err = w.configMapFiles(ctx, dir, v.ConfigMap.Name, v.ConfigMap.Items, v.ConfigMap.Optional)
		case v.Secret != nil:
			err = w.secretFiles(ctx, dir, v.Secret.SecretName, v.Secret.Items, v.Secret.Optional)
		case v.Projected != nil:
			err = w.projectedFiles(ctx, pod, dir, v.Projected)
		case v.DownwardAPI != nil:
			err = w.downwardFiles(pod, dir, v.DownwardAPI.Items)
		case v.HostPath != nil:
			dir, err = w.hostPath(v.HostPath, readOnly[v.Name])
		default:
			err = fmt.Errorf("this volume type is not supported by the lab (emptyDir, configMap, secret, projected, downwardAPI and hostPath are)")
		}
		if err != nil {
			return nil, fmt.Errorf("volume %q: %w", v.Name, err)
		}
		out[v.Name] = dir
	}
	return out, nil
}

// readOnlyVolumes reports the volumes every container mounts read-only.
func readOnlyVolumes(pod *corev1.Pod) map[string]bool {
	ro := map[string]bool{}
	rw := map[string]bool{}
	for _, c := range append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...) {
		for _, m := range c.VolumeMounts {
			if m.ReadOnly {
				ro[m.Name] = true
			} else {
				rw[m.Name] = true
			}
		}
	}
	for k := range rw {
		delete(ro, k)
	}
	return ro
}

func (w *podWorker) hostPath(hp *corev1.HostPathVolumeSource, readOnly bool) (string, error) {
	if _, err := os.Stat(hp.Path); err == nil && readOnly {
		return hp.Path, nil
	}
	local := filepath.Join(w.a.cfg.StateDir, "hostfs", filepath.Clean("/"+hp.Path))
	typ := corev1.HostPathUnset
	if hp.Type != nil {
		typ = *hp.Type
	}
	switch typ {
	case corev1.HostPathFileOrCreate, corev1.HostPathFile:
		if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
			return "", err
		}
		f, err := os.OpenFile(local, os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return "", err
		}
		return local, f.Close()
	default:
		return local, os.MkdirAll(local, 0o755)
	}
}

func writeFiles(dir string, files map[string][]byte, mode os.FileMode) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, data := range files {
		p := filepath.Join(dir, filepath.Clean("/"+name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, mode); err != nil {
			return err
		}
	}
	return nil
}

func selectItems(data map[string][]byte, items []corev1.KeyToPath, what string) (map[string][]byte, error) {
	if len(items) == 0 {
		return data, nil
	}
	out := map[string][]byte{}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			return nil, fmt.Errorf("%s has no key %q", what, it.Key)
		}
		out[it.Path] = v
	}
	return out, nil
}

func (w *podWorker) configMapData(ctx context.Context, name string, optional *bool) (map[string][]byte, error) {
	cm, err := w.a.client.CoreV1().ConfigMaps(w.namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		if optional != nil && *optional {
			return map[string][]byte{}, nil
		}
		return nil, fmt.Errorf("configmap %s/%s: %w", w.namespace, name, err)
	}
	data := map[string][]byte{}
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return data, nil
}

func (w *podWorker) secretData(ctx context.Context, name string, optional *bool) (map[string][]byte, error) {
	s, err := w.a.client.CoreV1().Secrets(w.namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		if optional != nil && *optional {
			return map[string][]byte{}, nil
		}
		return nil, fmt.Errorf("secret %s/%s: %w", w.namespace, name, err)
	}
	return s.Data, nil
}

func (w *podWorker) configMapFiles(ctx context.Context, dir, name string, items []corev1.KeyToPath, optional *bool) error {
	data, err := w.configMapData(ctx, name, optional)
	if err != nil {
		return err
	}
	files, err := selectItems(data, items, "configmap "+name)
	if err != nil {
		return err
	}
	return writeFiles(dir, files, 0o644)
}

func (w *podWorker) secretFiles(ctx context.Context, dir, name string, items []corev1.KeyToPath, optional *bool) error {
	data, err := w.secretData(ctx, name, optional)
	if err != nil {
		return err
	}
	files, err := selectItems(data, items, "secret "+name)
	if err != nil {
		return err
	}
	return writeFiles(dir, files, 0o600)
}

func (w *podWorker) downwardFiles(pod *corev1.Pod, dir string, items []corev1.DownwardAPIVolumeFile) error {
	files := map[string][]byte{}
	for _, it := range items {
		if it.FieldRef == nil {
			return fmt.Errorf("downwardAPI item %q: only fieldRef is supported by the lab", it.Path)
		}
		var v string
		switch it.FieldRef.FieldPath {
		case "metadata.labels":
			v = formatMap(pod.Labels)
		case "metadata.annotations":
			v = formatMap(pod.Annotations)
		default:
			var err error
			if v, err = w.fieldValue(pod, it.FieldRef.FieldPath); err != nil {
				return err
			}
		}
		files[it.Path] = []byte(v)
	}
	return writeFiles(dir, files, 0o644)
}

func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%q\n", k, m[k])
	}
	return b.String()
}

// projectedFiles writes a projected volume; a serviceAccountToken source gets
// a real token bound to the pod through the TokenRequest API, as the kubelet's.
func (w *podWorker) projectedFiles(ctx context.Context, pod *corev1.Pod, dir string, p *corev1.ProjectedVolumeSource) error {
	for _, src := range p.Sources {
		var err error
		switch {
		case src.ConfigMap != nil:
			err = w.configMapFiles(ctx, dir, src.ConfigMap.Name, src.ConfigMap.Items, src.ConfigMap.Optional)
		case src.Secret != nil:
			err = w.secretFiles(ctx, dir, src.Secret.Name, src.Secret.Items, src.Secret.Optional)
		case src.DownwardAPI != nil:
			err = w.downwardFiles(pod, dir, src.DownwardAPI.Items)
		case src.ServiceAccountToken != nil:
			err = w.tokenFile(ctx, pod, dir, src.ServiceAccountToken)
		default:
			err = fmt.Errorf("projected source not supported by the lab")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (w *podWorker) tokenFile(ctx context.Context, pod *corev1.Pod, dir string, src *corev1.ServiceAccountTokenProjection) error {
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: src.ExpirationSeconds,
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}}
	if src.Audience != "" {
		req.Spec.Audiences = []string{src.Audience}
	}
	tr, err := w.a.client.CoreV1().ServiceAccounts(w.namespace).CreateToken(ctx, sa, req, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("token for service account %s/%s: %w", w.namespace, sa, err)
	}
	return writeFiles(dir, map[string][]byte{src.Path: []byte(tr.Status.Token)}, 0o600)
}
