package e2e

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"kube-netbench/fixtures"
	"kube-netbench/internal/kube"
	"kube-netbench/internal/podexec"
	"kube-netbench/internal/tools/fortio"
)

// smoke is the state of the dataplane smoke feature: a fortio server on one
// worker, a client on another, a ClusterIP Service in front of the server.
type smoke struct {
	*run
	serverNode, clientNode string
	serverIP, serviceIP    string
}

// TestDataplaneSmoke proves the cluster's dataplane end to end: a client pod
// on one node reaches a server pod on another by pod IP and through a
// ClusterIP Service with every response a 200, and kube-proxy has programmed
// the Service on every node.
func TestDataplaneSmoke(t *testing.T) {
	s := &smoke{}
	f := features.New("dataplane smoke").
		WithLabel("dimension", "smoke").WithLabel("tier", "smoke").
		Setup(s.setup).
		Assess("pod IP across nodes: every response 200", s.assessURL(func() string { return s.serverIP })).
		Assess("ClusterIP Service across nodes: every response 200", s.assessURL(func() string { return s.serviceIP })).
		Assess("kube-proxy programmed the Service on every node", s.assessProgrammed).
		Feature()
	testEnv.Test(t, f)
}

func (s *smoke) setup(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
	s.run = startRun(ctx, t, cfg, "smoke", 2)
	c := s.client
	s.serverNode, s.clientNode = s.nodes[0].Name, s.nodes[1].Name
	for _, p := range []*corev1.Pod{
		fixtures.FortioServer(s.ns, "fortio-server", s.id, s.serverNode),
		fixtures.FortioClient(s.ns, "fortio-client", s.id, s.clientNode),
	} {
		if _, err := c.CoreV1().Pods(s.ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	svc, err := c.CoreV1().Services(s.ns).Create(ctx,
		fixtures.ClusterIPService(s.ns, "fortio", s.id, "fortio-server", fixtures.FortioHTTPPort), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.serviceIP = svc.Spec.ClusterIP
	took, err := kube.WaitFor(ctx, "fortio pods Ready", 2*time.Minute, kube.PodsReady(c, s.ns, "fortio-server", "fortio-client"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fortio pods Ready in %s (server on %s, client on %s)", took.Round(time.Millisecond), s.serverNode, s.clientNode)
	srv, err := c.CoreV1().Pods(s.ns).Get(ctx, "fortio-server", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.serverIP = srv.Status.PodIP
	return ctx
}

func (s *smoke) assessURL(host func() string) features.Func {
	return func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
		url := fmt.Sprintf("http://%s:%d/echo?size=512", host(), fixtures.FortioHTTPPort)
		load := fortio.Load{URL: url, Connections: 4, Requests: 400, Keepalive: true}
		argv, err := load.Argv()
		if err != nil {
			t.Fatal(err)
		}
		// The Service may not be programmed the moment its endpoints exist:
		// wait until one request answers, then measure.
		var res fortio.Result
		took, err := kube.WaitFor(ctx, "fortio "+url+" answers 200", time.Minute, func(ctx context.Context) (bool, string, error) {
			ectx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			out, err := podexec.Output(ectx, s.exec, podexec.Target{Namespace: s.ns, Pod: "fortio-client", Container: "fortio"}, argv...)
			if err != nil {
				return false, err.Error(), nil
			}
			if res, err = fortio.Parse(bytes.NewReader(out)); err != nil {
				return false, err.Error(), nil
			}
			if err := res.CheckOK(); err != nil {
				return false, err.Error(), nil
			}
			return true, "", nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Requests != int64(load.Requests) || res.RetCodes["200"] != int64(load.Requests) {
			t.Fatalf("want %d responses, all 200; got %d with codes %v", load.Requests, res.Requests, res.RetCodes)
		}
		p50, _ := res.Latency.Percentile(50)
		t.Logf("%s: %d requests, all 200, %.0f req/s, p50 %.0f us (fortio %s; answered after %s)",
			url, res.Requests, res.ActualQPS, p50*1e6, res.Version, took.Round(time.Millisecond))
		return ctx
	}
}

// assessProgrammed reads the rules kube-proxy wrote on each node, from the
// kube-proxy pod of that node: the Service's ClusterIP is in KUBE-SERVICES
// (iptables) or in kube-proxy's service-ips verdict map (nftables).
func (s *smoke) assessProgrammed(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	cm, err := s.client.CoreV1().ConfigMaps("kube-system").Get(ctx, "kube-proxy", metav1.GetOptions{})
	if err != nil {
		t.Skipf("no kube-proxy ConfigMap in kube-system (%v): this check is for kube-proxy dataplanes", err)
	}
	mode := "iptables"
	if strings.Contains(cm.Data["config.conf"], `mode: "nftables"`) || strings.Contains(cm.Data["config.conf"], "mode: nftables") {
		mode = "nftables"
	}
	pods, err := s.client.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{LabelSelector: "k8s-app=kube-proxy"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) == 0 {
		t.Fatal("no kube-proxy pods (k8s-app=kube-proxy) in kube-system")
	}
	for _, p := range pods.Items {
		target := podexec.Target{Namespace: "kube-system", Pod: p.Name, Container: p.Spec.Containers[0].Name}
		var argv []string
		var match func(string) bool
		switch mode {
		case "iptables":
			argv = []string{"iptables-save", "-t", "nat"}
			match = func(out string) bool {
				for _, l := range strings.Split(out, "\n") {
					if strings.HasPrefix(l, "-A KUBE-SERVICES ") && strings.Contains(l, "-d "+s.serviceIP+"/32") && strings.Contains(l, s.ns+"/fortio") {
						return true
					}
				}
				return false
			}
		default:
			argv = []string{"nft", "list", "map", "ip", "kube-proxy", "service-ips"}
			match = func(out string) bool { return strings.Contains(out, s.serviceIP+" . tcp . ") }
		}
		ectx, cancel := context.WithTimeout(ctx, 30*time.Second)
		out, err := podexec.Output(ectx, s.exec, target, argv...)
		cancel()
		if err != nil {
			t.Fatalf("node %s: %v", p.Spec.NodeName, err)
		}
		if !match(string(out)) {
			t.Errorf("node %s (%s mode): Service %s/fortio (%s) is not programmed; %s printed %d bytes",
				p.Spec.NodeName, mode, s.ns, s.serviceIP, strings.Join(argv, " "), len(out))
			continue
		}
		t.Logf("node %s: %s mode, Service %s found in `%s`", p.Spec.NodeName, mode, s.serviceIP, strings.Join(argv, " "))
	}
	return ctx
}
