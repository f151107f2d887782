package dataplane

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// ProxyModeProber reads url (kube-proxy's /proxyMode) from inside node's
// network namespace and returns the body: the only place kube-proxy's
// metrics port answers, as it listens on loopback by default.
type ProxyModeProber func(ctx context.Context, node, url string) (string, error)

// Options says which nodes detection asks and how.
type Options struct {
	// Nodes are the nodes whose kube-proxy is asked its mode: the run's
	// nodes. Empty: every node a kube-proxy pod runs on.
	Nodes []string
	// Probe reads /proxyMode on a node; nil skips that source.
	Probe ProxyModeProber
}

// kubeProxySelectors find kube-proxy pods: kubeadm's and EKS's DaemonSets
// (k8s-app), GKE's and RKE2's static pods (component).
var kubeProxySelectors = []string{"k8s-app=kube-proxy", "component=kube-proxy"}

// kubeProxyPods lists the running kube-proxy pods in every namespace, once
// each.
func kubeProxyPods(ctx context.Context, c kubernetes.Interface) ([]corev1.Pod, error) {
	seen := map[types.NamespacedName]bool{}
	var pods []corev1.Pod
	for _, sel := range kubeProxySelectors {
		list, err := c.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return nil, fmt.Errorf("list kube-proxy pods (%s): %w", sel, err)
		}
		for _, p := range list.Items {
			key := types.NamespacedName{Namespace: p.Namespace, Name: p.Name}
			if p.Status.Phase != corev1.PodRunning || seen[key] {
				continue
			}
			seen[key] = true
			pods = append(pods, p)
		}
	}
	return pods, nil
}

// kubeProxyContainer is the pod's container that runs kube-proxy.
func kubeProxyContainer(p *corev1.Pod) *corev1.Container {
	for i, c := range p.Spec.Containers {
		if c.Name == "kube-proxy" {
			return &p.Spec.Containers[i]
		}
	}
	for i, c := range p.Spec.Containers {
		for _, w := range append(slices.Clone(c.Command), c.Args...) {
			if path.Base(w) == "kube-proxy" || strings.Contains(w, "kube-proxy ") {
				return &p.Spec.Containers[i]
			}
		}
	}
	return &p.Spec.Containers[0]
}

// configured is what a kube-proxy pod was asked to run: its flags, or the
// config file it mounts from a ConfigMap.
type configured struct {
	ModeEvidence
	explicit bool
	metrics  string // metricsBindAddress of the config file
	err      error
}

func (c configured) where() string {
	if c.Source == SourceFlags {
		return "the flags of pod " + c.Of
	}
	return c.Of
}

// configMaps reads ConfigMaps once per detection.
type configMaps struct {
	c     kubernetes.Interface
	mu    sync.Mutex
	cache map[string]*corev1.ConfigMap
}

func (m *configMaps) get(ctx context.Context, ns, name string) (*corev1.ConfigMap, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := ns + "/" + name
	if cm, ok := m.cache[k]; ok {
		return cm, nil
	}
	cm, err := m.c.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	m.cache[k] = cm
	return cm, nil
}

// configuredOf reads a kube-proxy pod's own configuration: --proxy-mode
// without --config, else the file its --config names, through the ConfigMap
// volume mounted there.
func configuredOf(ctx context.Context, cms *configMaps, p *corev1.Pod) configured {
	ctr := kubeProxyContainer(p)
	argv := append(slices.Clone(ctr.Command), ctr.Args...)
	of := p.Namespace + "/" + p.Name
	mode, cfgPath, explicit, err := KubeProxyModeFromArgs(argv)
	if err != nil {
		return configured{err: err}
	}
	if cfgPath == "" {
		return configured{ModeEvidence: ModeEvidence{Mode: mode, Source: SourceFlags, Of: of}, explicit: explicit}
	}
	key, err := KubeProxyConfigMapOf(p, ctr.Name, cfgPath)
	if err != nil {
		return configured{err: err}
	}
	cm, err := cms.get(ctx, key.Namespace, key.Name)
	if err != nil {
		return configured{err: fmt.Errorf("%s: %w", key, err)}
	}
	conf, ok := cm.Data[key.Key]
	if !ok {
		return configured{err: fmt.Errorf("%s: no such key", key)}
	}
	mode, explicit, err = KubeProxyModeFromConfig(conf)
	if err != nil {
		return configured{err: fmt.Errorf("%s: %w", key, err)}
	}
	metrics, _ := KubeProxyMetricsFromConfig(conf)
	return configured{ModeEvidence: ModeEvidence{Mode: mode, Source: SourceConfigMap, Of: key.String()}, explicit: explicit, metrics: metrics}
}

// nodeMode decides one node's kube-proxy mode from the strongest evidence
// that answers: its /proxyMode, its pod's start-up log line, its explicit
// configuration. The error lists why each source failed.
func nodeMode(ctx context.Context, node string, pod *corev1.Pod, cfg configured, logs logFunc, probe ProxyModeProber) (ModeEvidence, error) {
	var why []string
	if probe != nil {
		url, err := ProxyModeURL(cfg.metrics)
		if err == nil {
			var body string
			if body, err = probe(ctx, node, url); err == nil {
				var mode string
				if mode, err = ParseProxyModeResponse(body); err == nil {
					return ModeEvidence{Mode: mode, Source: SourceProxyMode, Of: node}, nil
				}
			}
		}
		why = append(why, fmt.Sprintf("%s: %v", SourceProxyMode, err))
	} else {
		why = append(why, fmt.Sprintf("%s: not asked", SourceProxyMode))
	}
	if pod == nil {
		why = append(why, "no kube-proxy pod on the node, so no log or configuration to read")
		return ModeEvidence{}, errors.New(strings.Join(why, "; "))
	}
	of := pod.Namespace + "/" + pod.Name
	log, err := logs(ctx, pod)
	if err == nil {
		var mode string
		if mode, err = KubeProxyModeFromLog(log); err == nil {
			return ModeEvidence{Mode: mode, Source: SourceLog, Of: of, Unanswered: why}, nil
		}
	}
	why = append(why, fmt.Sprintf("log of %s: %v", of, err))
	switch {
	case cfg.err != nil:
		why = append(why, fmt.Sprintf("configuration of %s: %v", of, cfg.err))
	case cfg.explicit:
		e := cfg.ModeEvidence
		e.Unanswered = why
		return e, nil
	default:
		why = append(why, fmt.Sprintf("configuration of %s: no mode set (%s), so kube-proxy runs its version's default, which only it can tell", of, cfg.Source))
	}
	return ModeEvidence{}, errors.New(strings.Join(why, "; "))
}

// detectKubeProxy reads the mode kube-proxy runs on every node of
// opts.Nodes, in parallel, and checks it against every kube-proxy pod's own
// configuration. kube-proxy embedded in another process (k3s, RKE2 agents
// without pods) is found through /proxyMode alone.
func detectKubeProxy(ctx context.Context, c kubernetes.Interface, logs logFunc, opts Options) (*KubeProxy, error) {
	pods, err := kubeProxyPods(ctx, c)
	if err != nil {
		return nil, err
	}
	kp := &KubeProxy{Pods: map[string]string{}}
	byNode := map[string]*corev1.Pod{}
	cms := &configMaps{c: c, cache: map[string]*corev1.ConfigMap{}}
	cfgs := map[string]configured{}
	for i := range pods {
		p := &pods[i]
		if prev, ok := byNode[p.Spec.NodeName]; ok {
			return nil, fmt.Errorf("two kube-proxy pods on node %s: %s/%s and %s/%s", p.Spec.NodeName, prev.Namespace, prev.Name, p.Namespace, p.Name)
		}
		byNode[p.Spec.NodeName] = p
		kp.Pods[p.Spec.NodeName] = p.Name
		kp.Namespace = p.Namespace
		if kp.Image == "" {
			kp.Image = kubeProxyContainer(p).Image
		}
		cfgs[p.Spec.NodeName] = configuredOf(ctx, cms, p)
	}
	nodes := opts.Nodes
	if len(nodes) == 0 {
		for n := range byNode {
			nodes = append(nodes, n)
		}
		sort.Strings(nodes)
	}
	if len(nodes) == 0 {
		return nil, fmt.Errorf("no running kube-proxy pod (labels %s, any namespace), no Cilium, and no node named to ask: the dataplane is unknown", strings.Join(kubeProxySelectors, " or "))
	}
	asked := map[string]string{}
	for _, n := range nodes {
		asked[n] = n
	}
	found, err := perNode(ctx, asked, func(ctx context.Context, node, _ string) (ModeEvidence, error) {
		return nodeMode(ctx, node, byNode[node], cfgs[node], logs, opts.Probe)
	})
	if err != nil {
		if len(pods) == 0 {
			return nil, fmt.Errorf("no running kube-proxy pod (labels %s, any namespace) and no Cilium, and no embedded kube-proxy answered: the dataplane is unknown (%w)", strings.Join(kubeProxySelectors, " or "), err)
		}
		return nil, fmt.Errorf("kube-proxy's mode cannot be read: %w", err)
	}
	modes := map[string][]string{}
	var evidence []ModeEvidence
	for _, node := range slices.Sorted(maps.Keys(found)) {
		evidence = append(evidence, found[node])
		modes[found[node].Mode] = append(modes[found[node].Mode], node)
	}
	if len(modes) > 1 {
		return nil, fmt.Errorf("kube-proxy runs in different modes on different nodes (%s): results would mix dataplanes", byNodes(modes))
	}
	kp.Mode = evidence[0].Mode
	kp.Evidence = evidence
	kp.Embedded = len(pods) == 0
	// What every kube-proxy was asked to run must be what runs: a config
	// changed without a restart measures something else than it says.
	for _, node := range slices.Sorted(maps.Keys(cfgs)) {
		cfg := cfgs[node]
		if cfg.err != nil || !cfg.explicit {
			continue
		}
		if cfg.Mode != kp.Mode {
			return nil, fmt.Errorf("%s (kube-proxy on node %s) says mode %q but the running kube-proxy uses %q (%s): restart kube-proxy or fix its configuration before benchmarking",
				cfg.where(), node, cfg.Mode, kp.Mode, evidence[0])
		}
		kp.ConfigMode = cfg.Mode
	}
	return kp, nil
}
