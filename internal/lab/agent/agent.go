package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/record"

	"kube-netbench/internal/lab/kubeletapi"
	"kube-netbench/internal/lab/proc"
	"kube-netbench/internal/lab/runtime"
)

// Agent is one node's agent.
type Agent struct {
	cfg     Config
	log     *slog.Logger
	client  kubernetes.Interface
	events  record.EventRecorder
	images  runtime.ImageMap
	net     *network
	nodeUID types.UID
	// serviceHost is the kubernetes Service's ClusterIP, for the
	// KUBERNETES_SERVICE_* variables every container gets.
	serviceHost string

	mu   sync.Mutex
	pods map[types.UID]*podWorker
	wg   sync.WaitGroup

	trackMu sync.Mutex
}

// Run runs the agent until ctx ends, then stops every pod it realized (their
// processes, network namespaces and CNI allocations) and returns.
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	rc, err := clientcmd.BuildConfigFromFlags("", cfg.Kubeconfig)
	if err != nil {
		return fmt.Errorf("agent kubeconfig: %w", err)
	}
	rc.QPS, rc.Burst = 50, 100
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("agent client: %w", err)
	}
	nw, err := newNetwork(cfg)
	if err != nil {
		return err
	}
	a := &Agent{
		cfg: cfg, log: log, client: client, net: nw,
		images: runtime.DefaultImages(runtime.Binaries(cfg.Binaries)),
		pods:   map[types.UID]*podWorker{},
	}
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	defer broadcaster.Shutdown()
	a.events = broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "kubelet", Host: cfg.NodeName})

	if err := a.registerNode(ctx); err != nil {
		return err
	}
	if svc, err := client.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{}); err == nil {
		a.serviceHost = svc.Spec.ClusterIP
	}
	hbCtx, stopHB := context.WithCancel(context.Background())
	defer stopHB()
	go a.heartbeat(hbCtx)

	serveErr := make(chan error, 1)
	go func() { serveErr <- a.serveKubeletAPI(ctx) }()

	factory := informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", cfg.NodeName).String()
		}))
	podInformer := factory.Core().V1().Pods().Informer()
	if _, err := podInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { a.sync(ctx, obj) },
		UpdateFunc: func(_, obj any) { a.sync(ctx, obj) },
		DeleteFunc: func(obj any) { a.forget(obj) },
	}); err != nil {
		return fmt.Errorf("pod informer: %w", err)
	}
	factory.Start(ctx.Done())
	log.Info("agent running", "node", cfg.NodeName, "ip", cfg.NodeIP, "podCIDR", cfg.PodCIDR)

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if err != nil {
			log.Error("kubelet API stopped", "err", err)
		}
	}
	factory.Shutdown()
	// Pod workers see ctx end and tear their pods down without deleting the
	// Pod objects (the node goes away, the pods do not).
	a.wg.Wait()
	log.Info("agent stopped; every pod torn down", "node", cfg.NodeName)
	return nil
}

// sync hands the latest version of a pod to its worker, starting one for a
// pod the agent has not seen.
func (a *Agent) sync(ctx context.Context, obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if w, ok := a.pods[pod.UID]; ok {
		w.update(pod)
		return
	}
	if pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		// Not ours to realize: deleted before we saw it, or already finished
		// (an agent restart). A deleted one still needs finalizing.
		if pod.DeletionTimestamp != nil {
			a.wg.Add(1)
			go func() { defer a.wg.Done(); a.finalize(ctx, pod) }()
		}
		return
	}
	w := newPodWorker(a, pod)
	a.pods[pod.UID] = w
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		w.run(ctx)
		a.mu.Lock()
		delete(a.pods, pod.UID)
		a.mu.Unlock()
	}()
}

// forget handles a pod that vanished from the API without passing through a
// graceful deletion the agent saw (a force delete): its worker tears it down.
func (a *Agent) forget(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if w, ok := a.pods[pod.UID]; ok {
		w.gone()
	}
}

// worker returns the pod worker of a running pod, for the kubelet API.
func (a *Agent) worker(ref kubeletapi.ContainerRef) (*podWorker, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for uid, w := range a.pods {
		if w.namespace == ref.Namespace && w.name == ref.Pod && (ref.UID == "" || ref.UID == uid) {
			return w, nil
		}
	}
	return nil, &kubeletapi.NotFoundError{Ref: ref, Missing: kubeletapi.MissingPod}
}

func (a *Agent) serveKubeletAPI(ctx context.Context) error {
	cert, err := kubeletapi.SelfSignedCert([]string{a.cfg.NodeIP.String(), a.cfg.NodeName}, 365*24*time.Hour)
	if err != nil {
		return err
	}
	addr := net.JoinHostPort(a.cfg.NodeIP.String(), strconv.Itoa(a.cfg.KubeletPort))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("kubelet API listen on %s: %w", addr, err)
	}
	srv := kubeletapi.New(kubeletRuntime{a}, kubeletapi.Options{Certificate: cert, Log: a.log})
	if err := srv.Serve(ctx, ln); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// hostIP is the node's address, reported as every pod's hostIP.
func (a *Agent) hostIP() netip.Addr { return a.cfg.NodeIP }

// track appends a started process's identity to the node's pids.jsonl, so
// that lab teardown can end it even if this agent dies first.
func (a *Agent) track(id proc.Ident) {
	a.trackMu.Lock()
	defer a.trackMu.Unlock()
	f, err := os.OpenFile(filepath.Join(a.cfg.StateDir, "pids.jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		a.log.Error("record container process", "err", err)
		return
	}
	defer f.Close()
	if err := json.NewEncoder(f).Encode(id); err != nil {
		a.log.Error("record container process", "err", err)
	}
}
