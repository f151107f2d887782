//go:build linux

package lab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"kube-netbench/internal/kube"
	"kube-netbench/internal/lab/cgroupbpf"
	"kube-netbench/internal/lab/netlab"
	"kube-netbench/internal/lab/netplan"
	"kube-netbench/internal/lab/node"
)

// Lab is a running lab.
type Lab struct {
	Options
	// Kubeconfig is the admin kubeconfig (the apiserver on loopback).
	Kubeconfig string
}

// Up creates a lab: it validates everything first and creates nothing on bad
// input or over an earlier lab's leftovers; on any later failure it removes
// what it made (Down) before returning the error.
func Up(ctx context.Context, o Options, log *slog.Logger) (_ *Lab, err error) {
	start := time.Now()
	// Input first (the address plan against the machine's routes), then the
	// machine (root, tools, built components): both before anything exists.
	machine, err := netlab.MachinePrefixes()
	if err != nil {
		return nil, err
	}
	if err := o.Plan.Validate(machine); err != nil {
		return nil, fmt.Errorf("lab address plan: %w", err)
	}
	if err := o.preflight(); err != nil {
		return nil, err
	}
	archives, sandbox, err := nodeImages(o.Cache, o.Dataplane)
	if err != nil {
		return nil, err
	}
	if left, err := Leftovers(o); err != nil {
		return nil, err
	} else if len(left) > 0 {
		return nil, fmt.Errorf("an earlier lab was not fully removed; run `make lab-down` (or `netbench lab down`) first:\n  %s",
			strings.Join(left, "\n  "))
	}
	for _, d := range []string{o.Dir, filepath.Join(o.Dir, "logs"), filepath.Join(o.Dir, "nodes")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	adoptOrphans()
	st := &state{Name: o.Name, Plan: o.Plan, Dataplane: o.Dataplane, Kwokctl: o.Cache.Binaries().Kwokctl, Kubectl: o.Cache.Binaries().Kubectl, Created: time.Now()}
	if err := st.save(o.Dir); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			log.Error("lab start failed; removing what it made", "err", err)
			if derr := Down(context.Background(), o.Dir, log); derr != nil {
				err = errors.Join(err, fmt.Errorf("and removing the half-made lab failed: %w", derr))
			}
		}
	}()

	log.Info("lab: network", "plan", "\n"+o.Plan.Describe())
	// Cilium carries pod traffic between nodes itself (VXLAN, or routes it
	// installs): its nodes get no pod routes from the lab.
	if err := netlab.UpWith(ctx, o.Plan, netlab.UpOptions{NoPodRoutes: o.Dataplane.Cilium()}); err != nil {
		return nil, err
	}
	if err := o.step("network"); err != nil {
		return nil, err
	}
	cp := newControlPlane(o.Dir, o.Name, o.Cache.Binaries().Kwokctl, o.Cache.Binaries().Kubectl)
	t := time.Now()
	admin, nodesKubeconfig, err := cp.create(ctx, o)
	if err != nil {
		return nil, err
	}
	log.Info("lab: control plane up", "took", time.Since(t).Round(time.Millisecond))
	if err := o.step("control-plane"); err != nil {
		return nil, err
	}
	client, err := clientFor(admin)
	if err != nil {
		return nil, err
	}
	nodesCfg, err := clientcmd.LoadFromFile(nodesKubeconfig)
	if err != nil {
		return nil, err
	}
	server := nodesCfg.Clusters[nodesCfg.Contexts[nodesCfg.CurrentContext].Cluster].Server
	var cg2 string
	var cg2Before map[string]int
	if o.Dataplane.Cilium() {
		if cg2, err = cgroupbpf.Root(); err != nil {
			return nil, err
		}
		if cg2 == "" {
			return nil, errors.New("cilium lab: no cgroup2 hierarchy is mounted on this machine; Cilium's socket load balancer needs one")
		}
		if cg2Before, err = cgroupbpf.Attached(cg2); err != nil {
			return nil, err
		}
		err = installCilium(ctx, o.Cache.Binaries().Kubectl, admin, o.Cache.CiliumCRDs(), o.Dataplane, o.Hubble, o.Plan.PodCIDR.String(), server)
	} else {
		err = installKubeProxy(ctx, o.Cache.Binaries().Kubectl, admin, o.Dataplane, o.Plan.PodCIDR.String(), server)
	}
	if err != nil {
		return nil, err
	}
	if err := startNodes(ctx, o, st, client, server, archives, sandbox); err != nil {
		return nil, err
	}
	if err := o.step("nodes"); err != nil {
		return nil, err
	}
	took, err := kube.WaitEvery(ctx, "the lab's nodes and their "+agentLabel(o.Dataplane)+" Ready", 3*time.Minute, 200*time.Millisecond,
		labReady(client, o.Plan.Nodes, agentLabel(o.Dataplane)))
	if err != nil {
		return nil, fmt.Errorf("%w (node logs: %s)", err, filepath.Join(o.Dir, "logs"))
	}
	log.Info("lab: nodes Ready and the dataplane agent Ready on every node", "agent", agentLabel(o.Dataplane), "took", took.Round(time.Millisecond))
	if o.Dataplane.Cilium() {
		took, err := kube.WaitEvery(ctx, "Cilium's socket load balancer on each node's own cgroup", time.Minute, 200*time.Millisecond,
			socketLBPlaced(cg2, cg2Before, o.Plan.Nodes))
		if err != nil {
			return nil, err
		}
		log.Info("lab: Cilium's socket load balancer is on each node's own cgroup, not on the machine's cgroup2 root", "root", cg2, "took", took.Round(time.Millisecond))
	}
	st.Ready = true
	if err := st.save(o.Dir); err != nil {
		return nil, err
	}
	log.Info("lab up", "dataplane", o.Dataplane, "nodes", o.Plan.Nodes, "kubeconfig", admin, "took", time.Since(start).Round(time.Millisecond))
	return &Lab{Options: o, Kubeconfig: admin}, nil
}

func clientFor(kubeconfig string) (kubernetes.Interface, error) {
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(rc)
}

// agentLabel is the k8s-app label of the dataplane's per-node agent.
func agentLabel(d Dataplane) string {
	if d.Cilium() {
		return "cilium"
	}
	return "kube-proxy"
}

// labReady is a kube.Condition: every lab node is Ready, and so is the
// dataplane agent's pod (label k8s-app=<app>) on each of them: kube-proxy's
// readiness probe is its healthz, which answers 200 only after it programmed
// the node; cilium-agent's is its own status.
func labReady(c kubernetes.Interface, nodes int, app string) kube.Condition {
	return func(ctx context.Context) (bool, string, error) {
		nl, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		ready := 0
		var tainted []string
		for i := range nl.Items {
			n := &nl.Items[i]
			if !kube.NodeReady(n) {
				continue
			}
			// The node lifecycle controller lifts the not-ready taint a
			// moment after Ready: until then nothing can be scheduled there.
			if t := lifecycleTaint(n); t != "" {
				tainted = append(tainted, n.Name+": "+t)
				continue
			}
			ready++
		}
		if ready < nodes {
			return false, fmt.Sprintf("%d of %d nodes Ready and untainted %v", ready, nodes, tainted), nil
		}
		pl, err := c.CoreV1().Pods(metav1.NamespaceSystem).List(ctx, metav1.ListOptions{LabelSelector: "k8s-app=" + app})
		if err != nil {
			return false, err.Error(), nil
		}
		readyOn := map[string]bool{}
		var why []string
		for i := range pl.Items {
			if ok, w := kube.PodReady(&pl.Items[i]); ok {
				readyOn[pl.Items[i].Spec.NodeName] = true
			} else {
				why = append(why, w)
			}
		}
		if len(readyOn) < nodes {
			return false, fmt.Sprintf("%s Ready on %d of %d nodes; %s", app, len(readyOn), nodes, strings.Join(why, "; ")), nil
		}
		return true, "", nil
	}
}

// lifecycleTaint is the node lifecycle controller's taint on n, if any.
func lifecycleTaint(n *corev1.Node) string {
	for _, t := range n.Spec.Taints {
		if t.Key == corev1.TaintNodeNotReady || t.Key == corev1.TaintNodeUnreachable {
			return t.Key + ":" + string(t.Effect)
		}
	}
	return ""
}

// Down removes everything a lab made, in order: the nodes (each node's PID
// namespace, so its daemons and containers with it; its cgroups; the kernel
// tunables its kubelet changed), the control plane, the network (namespaces,
// links, root routes), and finally the state directory. It works on a
// half-made lab and on no lab at all, and returns an error listing what it
// could not remove.
func Down(ctx context.Context, dir string, log *slog.Logger) error {
	st, err := loadState(dir)
	if err != nil {
		return err
	}
	if st == nil {
		plan, err := netplan.FromEnv(os.Getenv)
		if err != nil {
			return fmt.Errorf("no lab record in %s, and the address plan from the environment is invalid: %w", dir, err)
		}
		st = &state{Name: ClusterName, Plan: plan}
	}
	if st.CgroupRoot == "" {
		// No record of the nodes' cgroups (no record at all, or a start that
		// failed before its nodes): remove the lab's cgroups if any are left,
		// once empty.
		if st.Cgroups, err = node.Hierarchies(); err != nil {
			return err
		}
		st.CgroupRoot = LabCgroup
	}
	var errs []error
	// Keep the logs before anything stops: a failed or flaky run is
	// diagnosed from them after the lab is gone.
	if dest, err := archiveLogs(dir, st.Name); err != nil {
		log.Warn("lab down: could not keep the lab's logs", "err", err)
	} else if dest != "" {
		log.Info("lab down: logs kept", "dir", dest)
	}
	if err := stopNodes(st, log.Info); err != nil {
		errs = append(errs, fmt.Errorf("stop nodes: %w", err))
	}
	if st.Kwokctl != "" {
		if err := newControlPlane(dir, st.Name, st.Kwokctl, st.Kubectl).destroy(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if err := netlab.Down(st.Plan); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("lab down left things behind (record kept in %s; run it again): %w", dir, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove lab directory: %w", err)
	}
	left, err := Leftovers(Options{Plan: st.Plan, Dir: dir, Name: st.Name})
	if err != nil {
		return err
	}
	if len(left) > 0 {
		return fmt.Errorf("lab down: still present after teardown:\n  %s", strings.Join(left, "\n  "))
	}
	log.Info("lab down: nothing left", "dir", dir)
	return nil
}

// Leftovers lists what of a lab is present on the machine: network
// namespaces, links and routes of the plan, the lab's cgroups, live
// processes a lab started, and the state directory.
func Leftovers(o Options) ([]string, error) {
	left, err := netlab.Leftovers(o.Plan)
	if err != nil {
		return nil, err
	}
	cgroups, err := cgroupLeftovers()
	if err != nil {
		return nil, err
	}
	left = append(left, cgroups...)
	if st, err := loadState(o.Dir); err != nil {
		left = append(left, err.Error())
	} else if st != nil {
		left = append(left, fmt.Sprintf("lab record %s (created %s)", filepath.Join(o.Dir, stateFile), st.Created.Format(time.RFC3339)))
		left = append(left, nodeLeftovers(st)...)
		for _, id := range newControlPlane(o.Dir, st.Name, st.Kwokctl, st.Kubectl).processes() {
			if id.Alive() {
				left = append(left, fmt.Sprintf("control-plane process %s (%s) still runs", id, id.Comm()))
			}
		}
	}
	return left, nil
}
