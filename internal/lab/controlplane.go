//go:build linux

package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/e2e-framework/third_party/kwok"

	"kube-netbench/internal/lab/components"
	"kube-netbench/internal/lab/proc"
)

// kwokctlConfig is the KwokctlConfiguration of the lab's control plane: our
// own binaries (binary runtime, no downloads), every component on loopback
// but the apiserver, which nodes reach on the underlay (etcd serves plain
// HTTP: it must not be reachable from a lab namespace), a Service range sized for the
// scale steps, kubelets reached at their InternalIP (as kubeadm configures it),
// the apiserver certificate valid for the address nodes use, no
// client-side QPS limits in the components, no kwok-controller (each
// node runs a real kubelet), and RBAC and admission on, with Pod Security
// configured by admissionConfig. The controller manager and the scheduler
// run without leader election: they are alone, nothing restarts them, and
// an elected one exits once the apiserver has been silent for its renew
// deadline (10 s; the fault test stops the apiserver for 20 s).
func kwokctlConfig(o Options) string {
	b := o.Cache.Binaries()
	return fmt.Sprintf(`apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  runtime: binary
  kubeVersion: %s
  kubeApiserverBinary: %s
  kubeControllerManagerBinary: %s
  kubeSchedulerBinary: %s
  etcdBinary: %s
  kwokControllerBinary: %s
  bindAddress: 127.0.0.1
  kubeApiserverCertSANs: [%q]
  kubeAuthorization: true
  kubeAdmission: true
  disableQPSLimits: true
  disable: [kwok-controller]
componentsPatches:
- name: kube-apiserver
  extraArgs:
  - key: service-cluster-ip-range
    value: %s
  - key: kubelet-preferred-address-types
    value: InternalIP,ExternalIP,Hostname
  - key: bind-address
    value: 0.0.0.0
    override: true
  - key: kubelet-client-certificate
    value: %s
  - key: kubelet-client-key
    value: %s
  - key: admission-control-config-file
    value: %s
- name: kube-controller-manager
  extraArgs:
  - key: service-cluster-ip-range
    value: %s
  - key: leader-elect
    value: "false"
- name: kube-scheduler
  extraArgs:
  - key: leader-elect
    value: "false"
`, components.KubernetesVersion, b.KubeAPIServer, b.KubeControllerManager, b.KubeScheduler, b.Etcd, b.Kwok,
		o.Plan.RootIP().String(), o.Plan.ServiceCIDR.String(),
		filepath.Join(pkiDir(o.Dir, o.Name), "admin.crt"), filepath.Join(pkiDir(o.Dir, o.Name), "admin.key"),
		admissionConfigPath(o.Dir), o.Plan.ServiceCIDR.String())
}

// controlPlane drives kwokctl through e2e-framework's kwok provider. The
// provider runs kwokctl with this process's environment, so every call sets,
// for its duration only: KWOK_WORKDIR inside the lab's directory (Down removes
// it), KUBECONFIG to a lab file (kwokctl would otherwise add a context to the
// user's ~/.kube/config), and PATH with the lab's own kubectl first (kwokctl
// waits for the apiserver with the kubectl it finds, and would try to
// download one if none were there).
type controlPlane struct {
	dir, name  string
	kubectlDir string
	cluster    *kwok.Cluster
}

func newControlPlane(dir, name, kwokctl, kubectl string) *controlPlane {
	c := kwok.NewCluster(name)
	kwok.WithPath(kwokctl)(c)
	return &controlPlane{dir: dir, name: name, kubectlDir: filepath.Dir(kubectl), cluster: c}
}

// withEnv runs fn with kwokctl's environment set, restoring it afterwards.
func (cp *controlPlane) withEnv(fn func() error) error {
	set := map[string]string{
		"KWOK_WORKDIR": filepath.Join(cp.dir, "kwok"),
		"KUBECONFIG":   filepath.Join(cp.dir, "kwok", "kwokctl-contexts.yaml"),
		"PATH":         cp.kubectlDir + string(os.PathListSeparator) + os.Getenv("PATH"),
	}
	for k, v := range set {
		old, had := os.LookupEnv(k)
		if err := os.Setenv(k, v); err != nil {
			return err
		}
		defer func() {
			if had {
				_ = os.Setenv(k, old)
			} else {
				_ = os.Unsetenv(k)
			}
		}()
	}
	return fn()
}

// clusterDir is kwokctl's directory of the lab's cluster.
func (cp *controlPlane) clusterDir() string {
	return filepath.Join(cp.dir, "kwok", "clusters", cp.name)
}

// processes are the control-plane processes kwokctl started, from its pid
// files, so that teardown can verify they are gone.
func (cp *controlPlane) processes() []proc.Ident {
	files, _ := filepath.Glob(filepath.Join(cp.clusterDir(), "pids", "*.pid"))
	var out []proc.Ident
	for _, f := range files {
		if id, err := readPidFile(f); err == nil {
			out = append(out, id)
		}
	}
	return out
}

// component is the running process of one control-plane component
// ("kube-apiserver", "etcd"), from kwokctl's pid file.
func (cp *controlPlane) component(name string) (proc.Ident, error) {
	return readPidFile(filepath.Join(cp.clusterDir(), "pids", name+".pid"))
}

// readPidFile identifies the running process whose PID the file holds.
func readPidFile(path string) (proc.Ident, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return proc.Ident{}, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return proc.Ident{}, fmt.Errorf("pid file %s: %w", path, err)
	}
	return proc.Of(pid)
}

// create starts etcd, kube-apiserver, kube-controller-manager and
// kube-scheduler and writes the admin kubeconfig (root namespace, loopback)
// and the nodes' kubeconfig (the apiserver at the underlay root address).
func (cp *controlPlane) create(ctx context.Context, o Options) (admin, nodes string, err error) {
	cfgPath := filepath.Join(cp.dir, "kwokctl.yaml")
	if err := os.MkdirAll(filepath.Join(cp.dir, "kwok"), 0o700); err != nil {
		return "", "", err
	}
	if err := writeAdmissionConfig(o.Dir); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(cfgPath, []byte(kwokctlConfig(o)), 0o600); err != nil {
		return "", "", err
	}
	var tmp string
	err = cp.withEnv(func() (err error) {
		tmp, err = cp.cluster.CreateWithConfig(ctx, cfgPath)
		return err
	})
	if err != nil {
		return "", "", fmt.Errorf("start control plane (kwokctl, logs under %s): %w", filepath.Join(cp.dir, "kwok"), err)
	}
	defer os.Remove(tmp)
	admin = filepath.Join(cp.dir, "kubeconfig")
	if err := rewriteServer(tmp, admin, "127.0.0.1"); err != nil {
		return "", "", err
	}
	nodes = filepath.Join(cp.dir, "kubeconfig-nodes")
	if err := rewriteServer(tmp, nodes, o.Plan.RootIP().String()); err != nil {
		return "", "", err
	}
	return admin, nodes, nil
}

// destroy stops the control plane and verifies that every process kwokctl
// started is gone; a missing cluster is not an error.
func (cp *controlPlane) destroy(ctx context.Context) error {
	if _, err := os.Stat(cp.clusterDir()); os.IsNotExist(err) {
		return nil
	}
	procs := cp.processes()
	if err := cp.withEnv(func() error { return cp.cluster.Destroy(ctx) }); err != nil {
		return fmt.Errorf("stop control plane: %w", err)
	}
	var errs []error
	for _, id := range procs {
		if err := id.Terminate(10 * time.Second); err != nil {
			errs = append(errs, fmt.Errorf("control-plane process %s outlived `kwokctl delete cluster`: %w", id, err))
			continue
		}
		reap(id.PID)
	}
	return errors.Join(errs...)
}

// rewriteServer copies a kubeconfig with its servers' host replaced.
func rewriteServer(src, dst, host string) error {
	cfg, err := clientcmd.LoadFromFile(src)
	if err != nil {
		return fmt.Errorf("read kubeconfig from kwokctl: %w", err)
	}
	for name, c := range cfg.Clusters {
		u, err := url.Parse(c.Server)
		if err != nil {
			return fmt.Errorf("kubeconfig cluster %s: server %q: %w", name, c.Server, err)
		}
		u.Host = net.JoinHostPort(host, u.Port())
		c.Server = u.String()
	}
	if err := clientcmd.WriteToFile(*cfg, dst); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", dst, err)
	}
	return nil
}

// adoptOrphans makes this process the subreaper of what it starts: the
// control plane that kwokctl detaches is re-parented here rather than to the
// machine's init, so that teardown can reap it (an init that does not reap
// would keep every stopped component as a zombie).
func adoptOrphans() {
	_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}

// reap collects the exit status of pid, which has exited (Terminate saw it
// gone), if it is a child of this process: the wait returns at once for an
// exited child, and with ECHILD for any other process.
func reap(pid int) {
	var ws unix.WaitStatus
	_, _ = unix.Wait4(pid, &ws, 0, nil)
}
